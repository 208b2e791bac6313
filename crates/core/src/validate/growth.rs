//! Moving the database from one phase to the next: what escala can generate a migration for.
//!
//! Phases are a growth path, in declaration order. The SQL target writes, for each phase, the
//! migration from the one before it (`deploy/<phase>/sql/from-<previous>/`). These rules
//! refuse the moves it cannot write, before any file is generated.

use crate::codes::DB_MIGRATION;
use crate::{Diagnostics, System};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    let Some(db) = &system.database else { return };
    for pair in system.phases.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let at = format!("phases.{}.database", to.name);
        if from.database.partitioning && !to.database.partitioning {
            diags
                .warning(DB_MIGRATION, format!("{at}.partitioning"), format!("phase `{}` turns partitioning off after `{}`; escala writes no migration that merges partitions back into one table", to.name, from.name))
                .help("keep partitioning on in later phases, or treat the two phases as separate systems");
        }
        if from.database.distribution && !to.database.distribution {
            diags
                .warning(DB_MIGRATION, format!("{at}.distribution"), format!("phase `{}` turns Citus off after `{}`; escala writes no migration back (that is `undistribute_table`)", to.name, from.name))
                .help("keep Citus on in later phases, or undistribute the tables by hand");
        }
        if from.database.partitioning || !to.database.partitioning {
            continue;
        }
        for t in db.tables.iter().filter(|t| t.partitioning.is_some()) {
            let tat = format!("database.tables.{}", t.name);
            if t.primary_key.is_empty() {
                diags
                    .error(DB_MIGRATION, format!("{tat}.primary_key"), format!("`{}` becomes partitioned in phase `{}`, and the migration copies its rows in batches by primary key, but it has none", t.name, to.name))
                    .help(format!("give `{}` a primary key that carries the partition column", t.name));
            }
            if from.database.distribution && t.distribution.column().is_some() {
                diags
                    .error(DB_MIGRATION, format!("{tat}.partitioning"), format!("`{}` is already distributed in phase `{}` and becomes partitioned in `{}`; escala partitions tables before Citus distributes them, not after", t.name, from.name, to.name))
                    .help("turn partitioning on in the same phase as Citus or earlier (`Phase::citus()` turns on both)");
            }
        }
    }
}
