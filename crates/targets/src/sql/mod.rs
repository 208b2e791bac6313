//! The SQL target: the database plan as ordered, idempotent migration files.
//!
//! For every phase of a system with a [`Database`](escala_core::Database) it writes, under
//! `deploy/<phase>/sql/`:
//!
//! - `001_tables.sql`: extensions (`vector`, declared ones), schema, tables with their final
//!   keys, partitions (when the phase turns partitioning on) and indexes;
//! - `002_distribution.sql` (when the phase turns Citus on): `CREATE EXTENSION citus`,
//!   reference tables first, then each colocation group's root with `colocate_with => 'none'`,
//!   then its members with an explicit `colocate_with`; on a database an earlier phase grew,
//!   the foreign keys between these tables are dropped first and Citus local tables are
//!   treated as not distributed yet;
//! - `00N_foreign_keys.sql`: foreign keys after distribution, keys to reference tables first,
//!   in Citus's sequential mode on Citus;
//! - `00N_partition_upkeep.sql` (when the phase partitions): the function that keeps
//!   partitions made ahead of time and retires old ones, and a first run of it;
//! - `from-<previous phase>/` (when this phase partitions tables the previous one kept
//!   plain): the online migration of those tables, in four steps;
//! - `restore.sh` (when the system backs up its database): restores the newest backup into
//!   an empty database in the phase's shape (with the phase's own files) and prints every
//!   table's row count.
//!
//! Every file sets `TimeZone` and `DateStyle` so partition bounds mean the same on every
//! server, writes timestamptz bounds with an explicit `+00` offset, and can run twice:
//! statements are guarded by the catalogs (`pg_class` partition bounds, `pg_constraint`,
//! `pg_dist_partition`), not only by `IF NOT EXISTS`, which skips by name even when the bounds
//! differ. Apply with `psql -v ON_ERROR_STOP=1 -f FILE`, in order.

mod distribution;
mod foreign_keys;
mod migrate;
mod tables;
mod text;
mod upkeep;

use escala_core::{Artifacts, Diagnostics, Phase, PhasePlan, Target, TargetError};

/// The SQL backend.
#[derive(Clone, Debug, Default)]
pub struct Sql {}

impl Sql {
    /// The SQL target.
    pub fn new() -> Self {
        Sql {}
    }
}

/// The phase before `phase` in the system's growth path, if any.
fn previous<'a>(phases: &'a [Phase], phase: &Phase) -> Option<&'a Phase> {
    let at = phases.iter().position(|p| p.name == phase.name)?;
    at.checked_sub(1).and_then(|i| phases.get(i))
}

impl Target for Sql {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn accepts(&self, _phase: &Phase) -> bool {
        true
    }

    fn check(&self, _plan: &PhasePlan<'_>, _diags: &mut Diagnostics) {}

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let mut artifacts = Artifacts::new();
        let system = plan.system();
        let Some(db) = &system.database else {
            return Ok(artifacts);
        };
        let phase = plan.phase();
        let migration = previous(&system.phases, phase)
            .map(|from| (migrate::folder(from), migrate::files(db, from, phase)))
            .filter(|(_, files)| !files.is_empty());
        artifacts.insert(
            "001_tables.sql",
            tables::tables_sql(db, phase, migration.as_ref().map(|(dir, _)| dir.as_str())),
        );
        let mut n = 2;
        let mut next = |what: &str| {
            let path = format!("{n:03}_{what}.sql");
            n += 1;
            path
        };
        if phase.database.distribution {
            artifacts.insert(
                next("distribution"),
                distribution::distribution_sql(
                    db,
                    phase,
                    escala_core::cluster::in_phase(system, phase).is_some(),
                ),
            );
        }
        if db.tables.iter().any(|t| !t.foreign_keys.is_empty()) {
            artifacts.insert(
                next("foreign_keys"),
                foreign_keys::foreign_keys_sql(db, phase),
            );
        }
        if upkeep::needed(db, phase) {
            artifacts.insert(next("partition_upkeep"), upkeep::upkeep_sql(db));
        }
        for (path, text) in migration.map(|(_, files)| files).unwrap_or_default() {
            artifacts.insert(path, text);
        }
        let phase_files: Vec<String> = artifacts
            .iter()
            .map(|(p, _)| p.to_owned())
            .filter(|p| !p.contains('/') && p.ends_with(".sql"))
            .collect();
        if let Some(script) = escala_core::backup::restore_script(system, &phase_files) {
            artifacts.insert("restore.sh", script);
        }
        Ok(artifacts)
    }
}
