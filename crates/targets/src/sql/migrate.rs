//! `from-<previous phase>/`: the migration of a database that the previous phase built and
//! filled, for the tables this phase partitions.
//!
//! A plain table with rows cannot become partitioned in place. For each such table the files
//! build a partitioned copy beside it, keep the copy in sync with a trigger while rows are
//! copied in bounded batches (each batch its own short transaction, resumable from a cursor),
//! then swap the two by rename in one short transaction and keep the old table as
//! `<table>_unpartitioned` until the user drops it. Keys, indexes, identity sequences and
//! foreign keys are carried over with the names a fresh install gives them, so a grown database
//! and a fresh one end with the same catalog. Then the phase's own files run as usual.

use escala_core::{Database, Identity, Phase, Table};

use super::foreign_keys::{add_fk, fk_name};
use super::tables::{columns_and_keys, index_name};
use super::text::{
    bound, cols, intro, key_type, literal, name, object_name, partitions, range_spec, SESSION,
};

/// Rows per batch of the copy: small enough that a batch's locks and WAL stay short.
pub(crate) const BATCH: u32 = 5000;

/// The tables that become partitioned between `from` and `to`.
pub(crate) fn migrating<'a>(db: &'a Database, from: &Phase, to: &Phase) -> Vec<&'a Table> {
    if from.database.partitioning || !to.database.partitioning {
        return Vec::new();
    }
    db.tables
        .iter()
        .filter(|t| t.partitioning.is_some() && !t.primary_key.is_empty())
        .collect()
}

/// The folder's name.
pub(crate) fn folder(from: &Phase) -> String {
    format!("from-{}", from.name)
}

fn new_name(t: &Table) -> String {
    name(&[t.name.as_str(), "", "new"])
}
fn old_name(t: &Table) -> String {
    name(&[t.name.as_str(), "unpartitioned"])
}
fn cursor_name(t: &Table) -> String {
    name(&[t.name.as_str(), "", "cursor"])
}
fn sync_name(t: &Table) -> String {
    name(&[t.name.as_str(), "", "sync"])
}

/// `OVERRIDING SYSTEM VALUE ` when the table has a `GENERATED ALWAYS` identity column.
fn overriding(t: &Table) -> &'static str {
    if t.columns
        .iter()
        .any(|c| c.identity == Some(Identity::Always))
    {
        "OVERRIDING SYSTEM VALUE "
    } else {
        ""
    }
}

fn column_list(t: &Table) -> String {
    t.columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every index-backed name of `t` (primary key, unique constraints, indexes) as built from
/// `owner`, in a fixed order.
fn index_names(t: &Table, owner: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !t.primary_key.is_empty() {
        out.push(name(&[owner, "pkey"]));
    }
    for u in &t.unique {
        out.push(object_name(owner, u, "key"));
    }
    for ix in &t.indexes {
        out.push(index_name(owner, &ix.columns, ix.unique));
    }
    out
}

fn identity_sequences(t: &Table, owner: &str) -> Vec<String> {
    t.columns
        .iter()
        .filter(|c| c.identity.is_some())
        .map(|c| name(&[owner, c.name.as_str(), "seq"]))
        .collect()
}

/// A header naming the step.
fn step(from: &Phase, to: &Phase, n: usize, what: &str) -> String {
    intro(&format!(
        "Migration from phase `{}` to `{}`, step {n} of 4: {what}\n-- Run the steps in order on the database phase `{}` built, then the files of ../ as usual.",
        from.name, to.name, from.name
    ))
}

/// The files of the folder, or none when nothing migrates.
pub(crate) fn files(db: &Database, from: &Phase, to: &Phase) -> Vec<(String, String)> {
    let tables = migrating(db, from, to);
    if tables.is_empty() {
        return Vec::new();
    }
    let dir = folder(from);
    vec![
        (
            format!("{dir}/001_prepare.sql"),
            prepare(db, &tables, from, to),
        ),
        (format!("{dir}/002_copy.sql"), copy(db, &tables, from, to)),
        (format!("{dir}/003_swap.sql"), swap(db, &tables, from, to)),
        (
            format!("{dir}/004_validate.sql"),
            validate(db, &tables, from, to),
        ),
    ]
}

/// `TRUE` when `t` still is the previous phase's plain table.
fn still_plain(schema: &str, t: &Table) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {} AND c.relkind = 'r')",
        literal(schema),
        literal(t.name.as_str())
    )
}

fn is_migrating(tables: &[&Table], name: &escala_core::Ident) -> bool {
    tables.iter().any(|t| &t.name == name)
}

fn prepare(db: &Database, tables: &[&Table], from: &Phase, to: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out = step(
        from,
        to,
        1,
        "build each partitioned table beside the plain one, and keep it in sync while rows are copied.",
    );
    out.push_str(SESSION);
    out.push_str("BEGIN;\n");
    let known: Vec<String> = db
        .tables
        .iter()
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .map(move |fk| literal(&fk_name(t, fk)))
        })
        .collect();
    for t in tables {
        let table = t.name.as_str();
        let new = new_name(t);
        let p = t.partitioning.as_ref();
        let key = p.map(|p| p.column.as_str()).unwrap_or_default();
        let ty = key_type(t);
        let mut body = String::new();
        // Rows no partition would take stop the migration before anything is built.
        let parts = partitions(t);
        if let (Some(p), Some(first), Some(last)) = (p, parts.first(), parts.last()) {
            if !p.default_partition {
                body.push_str(&format!(
                    "  SELECT count(*) INTO outside FROM {schema}.{table} WHERE NOT ({key} >= {} AND {key} < {});\n  IF outside > 0 THEN\n    RAISE EXCEPTION '% rows of {schema}.{table} have {key} outside every partition ({} to {}) and there is no DEFAULT partition', outside\n      USING HINT = 'widen the spans in infra.rs to cover them, or add .with_default()';\n  END IF;\n",
                    bound(&ty, first.1),
                    bound(&ty, last.2),
                    first.1,
                    last.2
                ));
            }
        }
        body.push_str(&format!(
            "  SELECT string_agg(format('%s on %s', conname, conrelid::regclass), ', ') INTO unknown\n    FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid = '{schema}.{table}'::regclass\n     AND conname NOT IN ({});\n  IF unknown IS NOT NULL THEN\n    RAISE EXCEPTION 'foreign keys the plan does not declare reference {schema}.{table}: %', unknown\n      USING HINT = 'declare them in infra.rs, or drop them before the migration and add them back after';\n  END IF;\n",
            if known.is_empty() { "NULL".to_owned() } else { known.join(", ") }
        ));
        body.push_str(&format!(
            "  IF to_regclass('{schema}.{new}') IS NOT NULL THEN\n    RETURN;\n  END IF;\n  CREATE TABLE {schema}.{new} (\n{}\n  ) PARTITION BY RANGE ({key});\n",
            columns_and_keys(t, &new).replace("\n    ", "\n      ").replacen("    ", "      ", 1)
        ));
        for (part, lo, hi) in &parts {
            body.push_str(&format!(
                "  CREATE TABLE {schema}.{part} PARTITION OF {schema}.{new} {};\n",
                range_spec(&ty, *lo, *hi)
            ));
        }
        if p.is_some_and(|p| p.default_partition) {
            body.push_str(&format!(
                "  CREATE TABLE {schema}.{} PARTITION OF {schema}.{new} DEFAULT;\n",
                name(&[table, "default"])
            ));
        }
        for ix in &t.indexes {
            let unique = if ix.unique { "UNIQUE " } else { "" };
            body.push_str(&format!(
                "  CREATE {unique}INDEX {} ON {schema}.{new} ({});\n",
                index_name(&new, &ix.columns, ix.unique),
                cols(&ix.columns)
            ));
        }
        // Keys to tables that stay as they are are checked row by row as rows arrive.
        for fk in t
            .foreign_keys
            .iter()
            .filter(|fk| !is_migrating(tables, &fk.table))
        {
            body.push_str(&format!("  {};\n", add_fk(schema, &new, t, fk)));
        }
        let pk = cols(&t.primary_key);
        let pk_types: Vec<String> = t
            .primary_key
            .iter()
            .filter_map(|c| t.find_column(c))
            .map(|c| format!("{} {}", c.name, c.ty.to_sql()))
            .collect();
        body.push_str(&format!(
            "  CREATE TABLE {schema}.{} ({}, copied bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false);\n  INSERT INTO {schema}.{} DEFAULT VALUES;\n",
            cursor_name(t),
            pk_types.join(", "),
            cursor_name(t)
        ));
        let columns = column_list(t);
        let values: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("NEW.{}", c.name))
            .collect();
        let updatable: Vec<String> = t
            .columns
            .iter()
            .filter(|c| !t.primary_key.contains(&c.name) && c.identity != Some(Identity::Always))
            .map(|c| format!("{0} = EXCLUDED.{0}", c.name))
            .collect();
        let conflict = if updatable.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            format!("DO UPDATE SET {}", updatable.join(", "))
        };
        let old_key: Vec<String> = t.primary_key.iter().map(|c| format!("OLD.{c}")).collect();
        body.push_str(&format!(
            "  CREATE FUNCTION {schema}.{sync}() RETURNS trigger LANGUAGE plpgsql AS $sync$\n  BEGIN\n    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n      DELETE FROM {schema}.{new} WHERE ({pk}) = ({});\n    END IF;\n    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n      INSERT INTO {schema}.{new} ({columns}) {}VALUES ({})\n        ON CONFLICT ({pk}) {conflict};\n    END IF;\n    RETURN NULL;\n  END\n  $sync$;\n  CREATE TRIGGER {sync} AFTER INSERT OR UPDATE OR DELETE ON {schema}.{table}\n    FOR EACH ROW EXECUTE FUNCTION {schema}.{sync}();\n",
            old_key.join(", "),
            overriding(t),
            values.join(", "),
            sync = sync_name(t),
        ));
        out.push_str(&format!(
            "\n-- {schema}.{table}: a partitioned copy, {schema}.{new}, kept in sync by a trigger.\nDO $$\nDECLARE\n  outside bigint;\n  unknown text;\nBEGIN\n  IF NOT {} THEN\n    RAISE NOTICE '{schema}.{table} is not a plain table (already migrated, or new): nothing to prepare';\n    RETURN;\n  END IF;\n{body}END $$;\n",
            still_plain(schema, t)
        ));
    }
    out.push_str("\nCOMMIT;\n");
    out
}

fn copy(db: &Database, tables: &[&Table], from: &Phase, to: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out = step(
        from,
        to,
        2,
        &format!("copy the rows in batches of {BATCH}, one short transaction each. Interrupted, it resumes where it stopped."),
    );
    out.push_str("-- Run it outside a transaction block (psql -f, not -1): each batch commits.\n");
    out.push_str(SESSION);
    for t in tables {
        let table = t.name.as_str();
        let new = new_name(t);
        let cursor = cursor_name(t);
        let pk = cols(&t.primary_key);
        let desc: Vec<String> = t.primary_key.iter().map(|c| format!("{c} DESC")).collect();
        let last: Vec<String> = t.primary_key.iter().map(|c| format!("last.{c}")).collect();
        let at: Vec<String> = t.primary_key.iter().map(|c| format!("c.{c}")).collect();
        let columns = column_list(t);
        let batch = |filter: &str| {
            format!(
                "      WITH chunk AS (SELECT {columns} FROM {schema}.{table}{filter} ORDER BY {pk} LIMIT {BATCH} FOR SHARE),\n           copied AS (INSERT INTO {schema}.{new} ({columns}) {}SELECT {columns} FROM chunk ON CONFLICT DO NOTHING),\n           last AS (SELECT {pk} FROM chunk ORDER BY {} LIMIT 1)\n      UPDATE {schema}.{cursor} SET ({pk}) = ({}), copied = copied + (SELECT count(*) FROM chunk) FROM last;\n",
                overriding(t),
                desc.join(", "),
                if last.len() == 1 { format!("ROW({})", last[0]) } else { last.join(", ") },
            )
        };
        let first = t
            .primary_key
            .first()
            .map(|c| c.as_str())
            .unwrap_or_default();
        out.push_str(&format!(
            "\n-- {schema}.{table} into {schema}.{new}: rows are read in primary-key order and locked FOR SHARE\n-- while a batch copies them, so a concurrent update or delete waits and then reaches the copy\n-- through the trigger.\nDO $$\nDECLARE\n  c record;\n  n bigint;\nBEGIN\n  IF to_regclass('{schema}.{cursor}') IS NULL THEN\n    RAISE NOTICE '{schema}.{table}: nothing to copy (not prepared, or already swapped)';\n    RETURN;\n  END IF;\n  LOOP\n    SELECT * INTO c FROM {schema}.{cursor};\n    EXIT WHEN c.done;\n    IF c.{first} IS NULL THEN\n{}    ELSE\n{}    END IF;\n    GET DIAGNOSTICS n = ROW_COUNT;\n    IF n = 0 THEN\n      UPDATE {schema}.{cursor} SET done = true;\n    END IF;\n    COMMIT;\n  END LOOP;\n  RAISE NOTICE '{schema}.{table}: % rows copied', (SELECT copied FROM {schema}.{cursor});\nEND $$;\n",
            batch(""),
            batch(&format!(" WHERE ({pk}) > ({})", at.join(", "))),
        ));
    }
    out
}

/// The foreign keys the swap adds: those that reference a migrating table, and those of a
/// migrating table to another one. (`true` when it can be added `NOT VALID` and validated
/// later: PostgreSQL 15 refuses `NOT VALID` on a partitioned referencing table.)
fn swapped_keys<'a>(
    db: &'a Database,
    tables: &[&Table],
    to: &Phase,
) -> Vec<(&'a Table, &'a escala_core::ForeignKey, bool)> {
    let mut out = Vec::new();
    for t in &db.tables {
        for fk in &t.foreign_keys {
            if is_migrating(tables, &fk.table) {
                let partitioned = to.database.partitioning && t.partitioning.is_some();
                out.push((t, fk, !partitioned));
            }
        }
    }
    out
}

fn swap(db: &Database, tables: &[&Table], from: &Phase, to: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out = step(
        from,
        to,
        3,
        "swap the tables by rename, in one short transaction; the plain ones stay as <table>_unpartitioned.",
    );
    out.push_str(SESSION);
    out.push_str("BEGIN;\n-- Never queue behind a long transaction while holding the locks: fail fast and run again.\nSET LOCAL lock_timeout = '10s';\n");
    for t in tables {
        let table = t.name.as_str();
        let new = new_name(t);
        let old = old_name(t);
        let mut body = format!(
            "  IF to_regclass('{schema}.{new}') IS NULL THEN\n    RAISE NOTICE '{schema}.{table}: already swapped';\n    RETURN;\n  END IF;\n  IF NOT (SELECT done FROM {schema}.{}) THEN\n    RAISE EXCEPTION '{schema}.{table}: the copy has not finished' USING HINT = 'run 002_copy.sql, then this file again';\n  END IF;\n  LOCK TABLE {schema}.{table} IN ACCESS EXCLUSIVE MODE;\n  DROP TRIGGER {sync} ON {schema}.{table};\n  DROP FUNCTION {schema}.{sync}();\n  DROP TABLE {schema}.{};\n  FOR fk IN SELECT conrelid::regclass AS rel, conname FROM pg_constraint\n             WHERE contype = 'f' AND conparentid = 0\n               AND (conrelid = '{schema}.{table}'::regclass OR confrelid = '{schema}.{table}'::regclass)\n             ORDER BY 1, 2\n  LOOP\n    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);\n  END LOOP;\n  ALTER TABLE {schema}.{table} RENAME TO {old};\n",
            cursor_name(t),
            cursor_name(t),
            sync = sync_name(t),
        );
        for (mine, theirs) in index_names(t, table).iter().zip(index_names(t, &old)) {
            body.push_str(&format!(
                "  ALTER INDEX IF EXISTS {schema}.{mine} RENAME TO {theirs};\n"
            ));
        }
        for (mine, theirs) in identity_sequences(t, table)
            .iter()
            .zip(identity_sequences(t, &old))
        {
            body.push_str(&format!(
                "  ALTER SEQUENCE IF EXISTS {schema}.{mine} RENAME TO {theirs};\n"
            ));
        }
        body.push_str(&format!(
            "  ALTER TABLE {schema}.{new} RENAME TO {table};\n"
        ));
        for (temp, fin) in index_names(t, &new).iter().zip(index_names(t, table)) {
            body.push_str(&format!("  ALTER INDEX {schema}.{temp} RENAME TO {fin};\n"));
        }
        for ((temp, fin), old_seq) in identity_sequences(t, &new)
            .iter()
            .zip(identity_sequences(t, table))
            .zip(identity_sequences(t, &old))
        {
            body.push_str(&format!(
                "  ALTER SEQUENCE {schema}.{temp} RENAME TO {fin};\n  IF to_regclass('{schema}.{old_seq}') IS NOT NULL THEN\n    PERFORM setval('{schema}.{fin}', s.last_value, s.is_called) FROM {schema}.{old_seq} s;\n  END IF;\n"
            ));
        }
        out.push_str(&format!(
            "\n-- {schema}.{table}\nDO $$\nDECLARE\n  fk record;\nBEGIN\n{body}END $$;\n"
        ));
    }
    let keys = swapped_keys(db, tables, to);
    if !keys.is_empty() {
        out.push_str("\n-- The foreign keys that referenced the plain tables, now on the partitioned ones. NOT VALID\n-- where PostgreSQL allows it: new rows are checked at once, old ones by 004_validate.sql\n-- without blocking writes.\n");
    }
    for (t, fk, not_valid) in keys {
        out.push_str(&format!(
            "DO $$\nBEGIN\n  IF to_regclass({rel}) IS NOT NULL AND to_regclass({target}) IS NOT NULL\n     AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid = to_regclass({rel})) THEN\n    {}{};\n  END IF;\nEND $$;\n",
            literal(&fk_name(t, fk)),
            add_fk(schema, t.name.as_str(), t, fk),
            if not_valid { " NOT VALID" } else { "" },
            rel = literal(&format!("{schema}.{}", t.name)),
            target = literal(&format!("{schema}.{}", fk.table)),
        ));
    }
    out.push_str("\nCOMMIT;\n");
    out
}

fn validate(db: &Database, tables: &[&Table], from: &Phase, to: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out = step(
        from,
        to,
        4,
        "validate the foreign keys the swap added NOT VALID (reads every row, blocks no writes).",
    );
    out.push_str(SESSION);
    for (t, fk, not_valid) in swapped_keys(db, tables, to) {
        if !not_valid {
            continue;
        }
        let n = fk_name(t, fk);
        out.push_str(&format!(
            "DO $$\nBEGIN\n  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid = to_regclass({}) AND NOT convalidated) THEN\n    ALTER TABLE {schema}.{} VALIDATE CONSTRAINT {n};\n  END IF;\nEND $$;\n",
            literal(&n),
            literal(&format!("{schema}.{}", t.name)),
            t.name,
        ));
    }
    out
}
