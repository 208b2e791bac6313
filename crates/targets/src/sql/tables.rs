//! `001_tables.sql`: extensions, the schema, tables with their final keys, partitions and
//! indexes.

use escala_core::{Database, Ident, Phase, Table};

use super::text::{
    block, cols, intro, key_type, literal, name, object_name, partitions, range_spec, SESSION,
};

/// The columns and keys of `t`, with constraint names built from `owner` (the table's own
/// name, or the name of the copy a migration builds beside it).
pub(crate) fn columns_and_keys(t: &Table, owner: &str) -> String {
    let mut lines: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let mut l = format!("    {} {}", c.name, c.ty.to_sql());
            if let Some(identity) = c.identity {
                l.push(' ');
                l.push_str(identity.to_sql());
            }
            if !c.nullable {
                l.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                l.push_str(&format!(" DEFAULT {d}"));
            }
            l
        })
        .collect();
    if !t.primary_key.is_empty() {
        lines.push(format!(
            "    CONSTRAINT {} PRIMARY KEY ({})",
            name(&[owner, "pkey"]),
            cols(&t.primary_key)
        ));
    }
    for u in &t.unique {
        lines.push(format!(
            "    CONSTRAINT {} UNIQUE ({})",
            object_name(owner, u, "key"),
            cols(u)
        ));
    }
    lines.join(",\n")
}

/// The name of an index of `t` built from `owner`.
pub(crate) fn index_name(owner: &str, columns: &[Ident], unique: bool) -> String {
    object_name(owner, columns, if unique { "key" } else { "idx" })
}

/// Partitions of a partitioned table, each guarded by its bounds in `pg_class` (`IF NOT
/// EXISTS` would skip by name even when the bounds differ), then its DEFAULT partition.
pub(crate) fn partitions_sql(schema: &str, t: &Table, parent: &str) -> String {
    let mut out = String::new();
    let ty = key_type(t);
    for (part, from, to) in partitions(t) {
        let spec = range_spec(&ty, from, to);
        out.push_str(&block(&format!(
            "DECLARE\n  current text;\nBEGIN\n  SELECT pg_get_expr(c.relpartbound, c.oid) INTO current\n    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n   WHERE n.nspname = {} AND c.relname = {};\n  IF NOT FOUND THEN\n    CREATE TABLE {schema}.{part} PARTITION OF {schema}.{parent} {spec};\n  ELSIF current IS DISTINCT FROM {} THEN\n    RAISE EXCEPTION 'partition {schema}.{part} exists with bounds %, not {}', current;\n  END IF;\n",
            literal(schema),
            literal(&part),
            literal(&spec),
            spec.replace('\'', "''"),
        )));
    }
    if t.partitioning.as_ref().is_some_and(|p| p.default_partition) {
        out.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.{} PARTITION OF {schema}.{parent} DEFAULT;\n",
            name(&[t.name.as_str(), "default"])
        ));
    }
    out
}

/// `CREATE INDEX IF NOT EXISTS` for every index of `t`, named after `owner`.
pub(crate) fn indexes_sql(schema: &str, t: &Table, owner: &str) -> String {
    let mut out = String::new();
    for ix in &t.indexes {
        let unique = if ix.unique { "UNIQUE " } else { "" };
        out.push_str(&format!(
            "CREATE {unique}INDEX IF NOT EXISTS {} ON {schema}.{owner} ({});\n",
            index_name(owner, &ix.columns, ix.unique),
            cols(&ix.columns)
        ));
    }
    out
}

/// `CREATE EXTENSION IF NOT EXISTS` for each of `names`.
pub(crate) fn extensions_sql(names: &[Ident]) -> String {
    names
        .iter()
        .map(|e| format!("CREATE EXTENSION IF NOT EXISTS {e};\n"))
        .collect()
}

/// The whole file. `migration` names the folder that moves a plain table of the previous
/// phase into a partitioned one, when there is such a folder.
pub(crate) fn tables_sql(db: &Database, phase: &Phase, migration: Option<&str>) -> String {
    let schema = db.schema.as_str();
    let partitioned = |t: &Table| phase.database.partitioning && t.partitioning.is_some();
    let mut out = intro("Extensions, tables, partitions and indexes.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    // Citus is created by the distribution file: it needs `shared_preload_libraries`, and
    // this file must also run on the plain PostgreSQL of the earlier phases.
    let extensions: Vec<Ident> = db
        .extensions_for(&phase.database)
        .into_iter()
        .filter(|e| e.as_str() != "citus")
        .collect();
    out.push_str(&extensions_sql(&extensions));
    out.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {schema};\n"));
    for t in &db.tables {
        let table = t.name.as_str();
        out.push('\n');
        if partitioned(t) {
            // A plain table of an earlier phase is moved by the migration folder: creating
            // partitions on it would fail, and `IF NOT EXISTS` would hide why.
            let how = match migration {
                Some(dir) => format!(
                    "run the files in {dir}/ first, which move its rows into a partitioned table"
                ),
                None => "move its rows into a partitioned table first".to_owned(),
            };
            out.push_str(&block(&format!(
                "BEGIN\n  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n             WHERE n.nspname = {} AND c.relname = {} AND c.relkind <> 'p') THEN\n    RAISE EXCEPTION '{schema}.{table} exists but is not partitioned; {how}';\n  END IF;\n",
                literal(schema),
                literal(table)
            )));
        }
        out.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} (\n{}\n)",
            columns_and_keys(t, table)
        ));
        match (&t.partitioning, partitioned(t)) {
            (Some(p), true) => out.push_str(&format!(" PARTITION BY RANGE ({});\n", p.column)),
            _ => out.push_str(";\n"),
        }
        if partitioned(t) {
            out.push_str(&partitions_sql(schema, t, table));
        }
        out.push_str(&indexes_sql(schema, t, table));
    }
    out.push_str("\nCOMMIT;\n");
    out
}
