//! The foreign-key file: every foreign key of the plan, last, after distribution.
//!
//! On Citus, a foreign key to a reference table fails once any other multi-shard statement ran
//! in the same transaction (`cannot modify table … because there was a parallel operation on a
//! distributed table in the transaction`, observed on Citus 13.2). The file therefore runs in
//! Citus's sequential mode and adds the keys to reference tables first, whatever order the
//! plan declares them in.

use escala_core::{Database, Distribution, ForeignKey, Phase, Table};

use super::text::{block, cols, intro, literal, object_name, SESSION};

/// The name escala gives a foreign key: `<table>_<columns>_fkey`, as PostgreSQL would.
pub(crate) fn fk_name(t: &Table, fk: &ForeignKey) -> String {
    object_name(t.name.as_str(), &fk.columns, "fkey")
}

/// `ALTER TABLE <on> ADD CONSTRAINT … FOREIGN KEY …` for a foreign key of `t`, without the
/// trailing `;`. `on` is `t`'s name, or that of the copy a migration builds.
pub(crate) fn add_fk(schema: &str, on: &str, t: &Table, fk: &ForeignKey) -> String {
    format!(
        "ALTER TABLE {schema}.{on} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {schema}.{} ({}) ON DELETE {} ON UPDATE {}",
        fk_name(t, fk),
        cols(&fk.columns),
        fk.table,
        cols(&fk.references),
        fk.on_delete.to_sql(),
        fk.on_update.to_sql(),
    )
}

/// Every foreign key of the plan: those that reference a reference table first (when the phase
/// distributes), then the others, each in declaration order.
pub(crate) fn ordered<'a>(db: &'a Database, phase: &Phase) -> Vec<(&'a Table, &'a ForeignKey)> {
    let all = db
        .tables
        .iter()
        .flat_map(|t| t.foreign_keys.iter().map(move |fk| (t, fk)));
    let to_reference = |fk: &ForeignKey| {
        phase.database.distribution
            && db
                .find_table(&fk.table)
                .is_some_and(|r| r.distribution == Distribution::Reference)
    };
    let (mut first, rest): (Vec<_>, Vec<_>) = all.partition(|(_, fk)| to_reference(fk));
    first.extend(rest);
    first
}

pub(crate) fn foreign_keys_sql(db: &Database, phase: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out = intro("Foreign keys, last: after distribution, as Citus requires.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n");
    if phase.database.distribution {
        out.push_str("-- Citus needs one connection per node once a foreign key to a reference table is involved.\nSET LOCAL citus.multi_shard_modify_mode TO 'sequential';\n");
    }
    out.push('\n');
    for (t, fk) in ordered(db, phase) {
        out.push_str(&block(&format!(
            "BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid = {}::regclass) THEN\n    {};\n  END IF;\n",
            literal(&fk_name(t, fk)),
            literal(&format!("{schema}.{}", t.name)),
            add_fk(schema, t.name.as_str(), t, fk),
        )));
    }
    out.push_str("\nCOMMIT;\n");
    out
}
