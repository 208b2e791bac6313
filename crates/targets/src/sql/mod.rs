//! The SQL target: the database plan as ordered, idempotent migration files.
//!
//! For every phase of a system with a [`Database`] it writes, under `deploy/<phase>/sql/`:
//!
//! - `001_tables.sql`: schema, tables with their final keys, partitions (when the phase turns
//!   partitioning on) and indexes;
//! - `002_distribution.sql` (when the phase turns Citus on): reference tables first, then each
//!   colocation group's root with `colocate_with => 'none'`, then its members with an explicit
//!   `colocate_with`;
//! - `00N_foreign_keys.sql`: foreign keys last, after distribution, as Citus requires.
//!
//! Every file runs in one transaction, sets `TimeZone` and `DateStyle` so partition bounds
//! mean the same on every server, writes timestamptz bounds with an explicit `+00` offset,
//! and can run twice: statements are guarded by the catalogs (`pg_class` partition bounds,
//! `pg_constraint`, `pg_dist_partition`), not only by `IF NOT EXISTS`, which skips by name even
//! when the bounds differ. Apply with `psql -v ON_ERROR_STOP=1 -f FILE`, in order.

use escala_core::{
    header, Artifacts, Database, Date, Diagnostics, Distribution, Every, Ident, Phase, PhasePlan,
    SqlType, Table, Target, TargetError,
};

/// The SQL backend.
#[derive(Clone, Debug, Default)]
pub struct Sql {}

impl Sql {
    /// The SQL target.
    pub fn new() -> Self {
        Sql {}
    }
}

/// `'…'` with quotes doubled.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A generated identifier, cut to PostgreSQL's 63 bytes.
fn name(parts: &[&str]) -> String {
    let mut n = parts.join("_");
    n.truncate(63);
    n
}

fn cols(c: &[Ident]) -> String {
    c.iter().map(Ident::as_str).collect::<Vec<_>>().join(", ")
}

/// The partitions of a table: (name, from, to).
pub(crate) fn partitions(t: &Table) -> Vec<(String, Date, Date)> {
    let mut out = Vec::new();
    let Some(p) = &t.partitioning else { return out };
    for span in &p.spans {
        let mut from = span.from;
        while from < span.to {
            let Some(to) = from.next(span.every) else {
                break;
            };
            let suffix = match span.every {
                Every::Year => format!("{:04}", from.year()),
                Every::Month => format!("{:04}_{:02}", from.year(), from.month()),
                Every::Day => format!("{:04}_{:02}_{:02}", from.year(), from.month(), from.day()),
            };
            out.push((name(&[t.name.as_str(), &suffix]), from, to));
            from = to;
        }
    }
    out
}

/// A bound literal for the key's type, as `pg_get_expr` prints it under `TimeZone = 'UTC'`
/// and `DateStyle = 'ISO, YMD'`: explicit offsets, so no session time zone can shift it.
fn bound(ty: &SqlType, d: Date) -> String {
    match ty {
        SqlType::Timestamptz => format!("'{d} 00:00:00+00'"),
        SqlType::Timestamp => format!("'{d} 00:00:00'"),
        _ => format!("'{d}'"),
    }
}

const SESSION: &str = "SET TimeZone = 'UTC';\nSET DateStyle = 'ISO, YMD';\n";

fn intro(what: &str) -> String {
    format!("{}-- {what}\n-- Apply in order with `psql -v ON_ERROR_STOP=1 -f FILE`; running a file again changes nothing.\n", header("sql").replacen('#', "--", 1))
}

fn tables_sql(db: &Database, phase: &Phase) -> String {
    let schema = db.schema.as_str();
    let partitioned = |t: &Table| phase.database.partitioning && t.partitioning.is_some();
    let mut out = intro("Tables, partitions and indexes.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    out.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {schema};\n"));
    for t in &db.tables {
        let qualified = format!("{schema}.{}", t.name);
        out.push('\n');
        if partitioned(t) {
            // A plain table of an earlier phase must be migrated by hand first: creating
            // partitions on it would fail, and `IF NOT EXISTS` would hide why.
            out.push_str(&format!(
                "DO $$\nBEGIN\n  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n             WHERE n.nspname = {} AND c.relname = {} AND c.relkind <> 'p') THEN\n    RAISE EXCEPTION '{qualified} exists but is not partitioned; move its rows into a partitioned table first';\n  END IF;\nEND $$;\n",
                literal(schema),
                literal(t.name.as_str())
            ));
        }
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut l = format!("    {} {}", c.name, c.ty.to_sql());
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
                name(&[t.name.as_str(), "pkey"]),
                cols(&t.primary_key)
            ));
        }
        for u in &t.unique {
            let mut parts: Vec<&str> = vec![t.name.as_str()];
            parts.extend(u.iter().map(Ident::as_str));
            parts.push("key");
            lines.push(format!(
                "    CONSTRAINT {} UNIQUE ({})",
                name(&parts),
                cols(u)
            ));
        }
        out.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {qualified} (\n{}\n)",
            lines.join(",\n")
        ));
        match (&t.partitioning, partitioned(t)) {
            (Some(p), true) => out.push_str(&format!(" PARTITION BY RANGE ({});\n", p.column)),
            _ => out.push_str(";\n"),
        }
        if let (Some(p), true) = (&t.partitioning, partitioned(t)) {
            let ty = t
                .find_column(&p.column)
                .map_or(SqlType::Date, |c| c.ty.clone());
            for (part, from, to) in partitions(t) {
                let spec = format!(
                    "FOR VALUES FROM ({}) TO ({})",
                    bound(&ty, from),
                    bound(&ty, to)
                );
                out.push_str(&format!(
                    "DO $$\nDECLARE\n  current text;\nBEGIN\n  SELECT pg_get_expr(c.relpartbound, c.oid) INTO current\n    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n   WHERE n.nspname = {} AND c.relname = {};\n  IF NOT FOUND THEN\n    CREATE TABLE {schema}.{part} PARTITION OF {qualified} {spec};\n  ELSIF current IS DISTINCT FROM {} THEN\n    RAISE EXCEPTION 'partition {schema}.{part} exists with bounds %, not {}', current;\n  END IF;\nEND $$;\n",
                    literal(schema),
                    literal(&part),
                    literal(&spec),
                    spec.replace('\'', "''"),
                ));
            }
            if p.default_partition {
                out.push_str(&format!(
                    "CREATE TABLE IF NOT EXISTS {schema}.{} PARTITION OF {qualified} DEFAULT;\n",
                    name(&[t.name.as_str(), "default"])
                ));
            }
        }
        for ix in &t.indexes {
            let mut parts: Vec<&str> = vec![t.name.as_str()];
            parts.extend(ix.columns.iter().map(Ident::as_str));
            parts.push(if ix.unique { "key" } else { "idx" });
            let unique = if ix.unique { "UNIQUE " } else { "" };
            out.push_str(&format!(
                "CREATE {unique}INDEX IF NOT EXISTS {} ON {qualified} ({});\n",
                name(&parts),
                cols(&ix.columns)
            ));
        }
    }
    out.push_str("\nCOMMIT;\n");
    out
}

/// Reference tables in foreign-key order, then distributed tables root-first per group.
pub(crate) fn distribution_order(db: &Database) -> (Vec<&Table>, Vec<&Table>) {
    let mut references: Vec<&Table> = Vec::new();
    let pending: Vec<&Table> = db
        .tables
        .iter()
        .filter(|t| t.distribution == Distribution::Reference)
        .collect();
    let mut left = pending.clone();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|t| {
            let ready = t.foreign_keys.iter().all(|fk| {
                fk.table == t.name
                    || !pending.iter().any(|p| p.name == fk.table)
                    || references.iter().any(|r| r.name == fk.table)
            });
            if ready {
                references.push(t);
            }
            !ready
        });
        if left.len() == before {
            // A cycle among reference tables: any order works once FKs come last.
            references.append(&mut left);
        }
    }
    let mut distributed: Vec<&Table> = Vec::new();
    let mut left: Vec<&Table> = db
        .tables
        .iter()
        .filter(|t| t.distribution.column().is_some())
        .collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|t| {
            let ready = match &t.distribution {
                Distribution::Distributed {
                    colocate_with: Some(c),
                    ..
                } => distributed.iter().any(|d| &d.name == c),
                _ => true,
            };
            if ready {
                distributed.push(t);
            }
            !ready
        });
        if left.len() == before {
            distributed.append(&mut left);
        }
    }
    (references, distributed)
}

fn distribution_sql(db: &Database, phase: &Phase) -> String {
    let schema = db.schema.as_str();
    let mut out =
        intro("Citus: reference tables, then each colocation group's root, then its members.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    if phase.database.single_node_citus {
        out.push_str("-- One machine: register the coordinator and let it hold the shards.\n");
        out.push_str("SELECT citus_set_coordinator_host('localhost') WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0);\n");
        out.push_str("SELECT citus_set_node_property(nodename, nodeport, 'shouldhaveshards', true) FROM pg_dist_node WHERE groupid = 0 AND NOT shouldhaveshards;\n\n");
    }
    let guard = |q: &str| {
        format!(
            "WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = {}::regclass)",
            literal(q)
        )
    };
    let (references, distributed) = distribution_order(db);
    out.push_str(&drift_check(db, &references, &distributed));
    for t in references {
        let q = format!("{schema}.{}", t.name);
        out.push_str(&format!(
            "SELECT create_reference_table({}) {};\n",
            literal(&q),
            guard(&q)
        ));
    }
    for t in distributed {
        let Distribution::Distributed {
            column,
            colocate_with,
            shard_count,
        } = &t.distribution
        else {
            continue;
        };
        let q = format!("{schema}.{}", t.name);
        let coloc = match colocate_with {
            Some(c) => literal(&format!("{schema}.{c}")),
            None => "'none'".to_owned(),
        };
        let shards = match (colocate_with, shard_count) {
            (None, Some(n)) => format!(", shard_count => {n}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "SELECT create_distributed_table({}, {}, colocate_with => {coloc}{shards}) {};\n",
            literal(&q),
            literal(column.as_str()),
            guard(&q)
        ));
    }
    out.push_str("\nCOMMIT;\n");
    out
}

/// A statement that stops the file when a table is already Citus-managed in another way than
/// the plan says (another kind, distribution column or colocation group): the guards below
/// skip tables that are already distributed, and must not skip a wrong one in silence.
/// Changing a distribution takes `alter_distributed_table` or `undistribute_table`.
fn drift_check(db: &Database, references: &[&Table], distributed: &[&Table]) -> String {
    let schema = db.schema.as_str();
    let mut rows: Vec<String> = Vec::new();
    for t in references {
        rows.push(format!(
            "({}, {}, 'reference', NULL::text)",
            rows.len() + 1,
            literal(&format!("{schema}.{}", t.name))
        ));
    }
    for t in distributed {
        let Distribution::Distributed {
            column,
            colocate_with,
            ..
        } = &t.distribution
        else {
            continue;
        };
        rows.push(format!(
            "({}, {}, {}, {})",
            rows.len() + 1,
            literal(&format!("{schema}.{}", t.name)),
            literal(&format!("hash({column})")),
            colocate_with
                .as_ref()
                .map_or("NULL::text".to_owned(), |c| literal(&format!(
                    "{schema}.{c}"
                )))
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "-- Stop if a table is already distributed otherwise than planned; the guards below would skip it.
DO $$
DECLARE
  drift text;
BEGIN
  SELECT string_agg(format('%s is %s, the plan says %s', w.rel, d.kind, w.kind), '; ' ORDER BY w.n)
    INTO drift
    FROM (VALUES
      {}
    ) AS w(n, rel, kind, colocate_with)
    JOIN LATERAL (
      SELECT CASE
               WHEN p.partmethod = 'h' THEN format('hash(%s)', column_to_column_name(p.logicalrelid, p.partkey))
               WHEN p.repmodel = 't' THEN 'reference'
               ELSE 'a single-shard table'
             END
             || CASE
                  WHEN p.partmethod = 'h' AND w.colocate_with IS NOT NULL AND p.colocationid IS DISTINCT FROM
                    (SELECT c.colocationid FROM pg_dist_partition c WHERE c.logicalrelid = w.colocate_with::regclass)
                  THEN format(' not colocated with %s', w.colocate_with)
                  ELSE ''
                END AS kind
        FROM pg_dist_partition p
       WHERE p.logicalrelid = w.rel::regclass
    ) AS d ON true
   WHERE d.kind <> w.kind;
  IF drift IS NOT NULL THEN
    RAISE EXCEPTION 'Citus distribution differs from the plan: %', drift
      USING HINT = 'change it with alter_distributed_table (or undistribute_table), or change the plan in infra.rs';
  END IF;
END $$;

",
        rows.join(",\n      ")
    )
}

fn foreign_keys_sql(db: &Database) -> String {
    let schema = db.schema.as_str();
    let mut out = intro("Foreign keys, last: after distribution, as Citus requires.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    for t in &db.tables {
        for fk in &t.foreign_keys {
            let mut parts: Vec<&str> = vec![t.name.as_str()];
            parts.extend(fk.columns.iter().map(Ident::as_str));
            parts.push("fkey");
            let n = name(&parts);
            out.push_str(&format!(
                "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid = {}::regclass) THEN\n    ALTER TABLE {schema}.{} ADD CONSTRAINT {n} FOREIGN KEY ({}) REFERENCES {schema}.{} ({}) ON DELETE {} ON UPDATE {};\n  END IF;\nEND $$;\n",
                literal(&n),
                literal(&format!("{schema}.{}", t.name)),
                t.name,
                cols(&fk.columns),
                fk.table,
                cols(&fk.references),
                fk.on_delete.to_sql(),
                fk.on_update.to_sql(),
            ));
        }
    }
    out.push_str("\nCOMMIT;\n");
    out
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
        let Some(db) = &plan.system().database else {
            return Ok(artifacts);
        };
        let phase = plan.phase();
        artifacts.insert("001_tables.sql", tables_sql(db, phase));
        let mut n = 2;
        if phase.database.distribution {
            artifacts.insert("002_distribution.sql", distribution_sql(db, phase));
            n += 1;
        }
        if db.tables.iter().any(|t| !t.foreign_keys.is_empty()) {
            artifacts.insert(format!("{n:03}_foreign_keys.sql"), foreign_keys_sql(db));
        }
        Ok(artifacts)
    }
}
