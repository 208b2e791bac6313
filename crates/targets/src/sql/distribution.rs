//! `002_distribution.sql`: Citus placement, on a fresh database or on one an earlier phase
//! built and filled.
//!
//! On a grown database the earlier phase's foreign keys already exist, and
//! `create_reference_table` would quietly add every table connected to the reference table by
//! a foreign key to Citus as a *local* table (`partmethod 'n'`, colocation 0), which a guard on
//! `pg_dist_partition` alone then takes for "already distributed" (observed on Citus 13.2,
//! `../shared/reference/citus-sql.md` §11). So this file treats a Citus local table as not
//! placed yet, and, while any planned table is not placed, first drops the plan's foreign keys
//! between the tables it places; the foreign-key file adds them back.

use escala_core::{Database, Distribution, Phase, Table};

use super::foreign_keys::fk_name;
use super::tables::extensions_sql;
use super::text::{block, intro, literal, SESSION};

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

/// `TRUE` when Citus already places `qualified` as a reference or distributed table. A Citus
/// local table (`partmethod 'n'`, colocation 0) is not placed.
fn placed(qualified: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = {}::regclass AND NOT (partmethod = 'n' AND colocationid = 0))",
        literal(qualified)
    )
}

pub(crate) fn distribution_sql(db: &Database, phase: &Phase, cluster: bool) -> String {
    let schema = db.schema.as_str();
    let mut out =
        intro("Citus: reference tables, then each colocation group's root, then its members.");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    out.push_str(&extensions_sql(&["citus".into()]));
    out.push('\n');
    if phase.database.single_node_citus {
        out.push_str("-- One machine: register the coordinator and let it hold the shards.\n");
        out.push_str("SELECT citus_set_coordinator_host('localhost') WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0);\n");
        out.push_str("SELECT citus_set_node_property(nodename, nodeport, 'shouldhaveshards', true) FROM pg_dist_node WHERE groupid = 0 AND NOT shouldhaveshards;\n\n");
    }
    if cluster {
        out.push_str(&format!(
            "-- The cluster's workers must be registered first (the `{}` job does it).\n{}\n",
            escala_core::cluster::NODES_JOB,
            block("BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid <> 0 AND isactive) THEN\n    RAISE EXCEPTION 'no Citus worker is registered in this database'\n      USING HINT = 'run the citus-nodes job (or citus_add_node for each worker) first';\n  END IF;\n")
        ));
    }
    let (references, distributed) = distribution_order(db);
    out.push_str(&drift_check(db, &references, &distributed));
    out.push_str(&release_foreign_keys(db, &references, &distributed));
    let q = |t: &Table| format!("{schema}.{}", t.name);
    for t in &references {
        let q = q(t);
        out.push_str(&format!(
            "SELECT create_reference_table({}) WHERE NOT {};\n",
            literal(&q),
            placed(&q)
        ));
    }
    for t in &distributed {
        let Distribution::Distributed {
            column,
            colocate_with,
            shard_count,
        } = &t.distribution
        else {
            continue;
        };
        let q = q(t);
        let coloc = match colocate_with {
            Some(c) => literal(&format!("{schema}.{c}")),
            None => "'none'".to_owned(),
        };
        let shards = match (colocate_with, shard_count) {
            (None, Some(n)) => format!(", shard_count => {n}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "SELECT create_distributed_table({}, {}, colocate_with => {coloc}{shards}) WHERE NOT {};\n",
            literal(&q),
            literal(column.as_str()),
            placed(&q)
        ));
    }
    if !references.is_empty() || !distributed.is_empty() {
        // Distributing a table with rows copies them into its shards and leaves the
        // originals on the coordinator's disk, invisible: free that space.
        let all: Vec<String> = references
            .iter()
            .chain(&distributed)
            .map(|t| format!("({}::regclass)", literal(&q(t))))
            .collect();
        out.push_str(&format!(
            "\n-- Free the rows the distribution copied into shards (nothing on a fresh database).\nSELECT truncate_local_data_after_distributing_table(t) FROM (VALUES {}) AS v(t);\n",
            all.join(", ")
        ));
    }
    out.push_str("\nCOMMIT;\n");
    out
}

/// On a grown database, drops the plan's foreign keys between the tables this file places,
/// while any of them is not placed yet: Citus cannot distribute a table that a reference or
/// local table references, and would turn the tables around a reference table into local
/// ones. The foreign-key file adds them back. A foreign key the plan does not declare stops
/// the file instead of being dropped: escala could not add it back.
fn release_foreign_keys(db: &Database, references: &[&Table], distributed: &[&Table]) -> String {
    let schema = db.schema.as_str();
    let tables: Vec<&Table> = references.iter().chain(distributed).copied().collect();
    if tables.is_empty() {
        return String::new();
    }
    let regclasses: Vec<String> = tables
        .iter()
        .map(|t| format!("{}::regclass", literal(&format!("{schema}.{}", t.name))))
        .collect();
    let mut known: Vec<String> = Vec::new();
    for t in &db.tables {
        for fk in &t.foreign_keys {
            known.push(literal(&fk_name(t, fk)));
        }
    }
    let not_placed: Vec<String> = tables
        .iter()
        .map(|t| format!("NOT {}", placed(&format!("{schema}.{}", t.name))))
        .collect();
    let known = if known.is_empty() {
        "NULL".to_owned()
    } else {
        known.join(", ")
    };
    format!(
        "-- A database grown from an earlier phase already has foreign keys between these tables:\n-- drop them before placing the tables (the foreign-key file adds them back).\n{}\n",
        block(&format!(
            "DECLARE\n  fk record;\n  unknown text;\nBEGIN\n  IF NOT ({}) THEN\n    RETURN;\n  END IF;\n  SELECT string_agg(format('%s on %s', conname, conrelid::regclass), ', ' ORDER BY conname) INTO unknown\n    FROM pg_constraint\n   WHERE contype = 'f' AND conparentid = 0 AND conname NOT IN ({known})\n     AND (conrelid IN ({rels}) OR confrelid IN ({rels}));\n  IF unknown IS NOT NULL THEN\n    RAISE EXCEPTION 'foreign keys the plan does not declare block the distribution: %', unknown\n      USING HINT = 'drop them before this file and add them back after the foreign-key file, or declare them in infra.rs';\n  END IF;\n  FOR fk IN SELECT conname, conrelid::regclass AS rel FROM pg_constraint\n             WHERE contype = 'f' AND conparentid = 0\n               AND (conrelid IN ({rels}) OR confrelid IN ({rels}))\n             ORDER BY conrelid::regclass::text, conname\n  LOOP\n    RAISE NOTICE 'dropping foreign key % on % until the tables are distributed', fk.conname, fk.rel;\n    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);\n  END LOOP;\n",
            not_placed.join("\n         OR "),
            rels = regclasses.join(", "),
        ))
    )
}

/// A statement that stops the file when a table is already Citus-managed in another way than
/// the plan says (another kind, distribution column or colocation group): the guards below
/// skip tables that are already distributed, and must not skip a wrong one in silence. A Citus
/// local table is not reported: it is placed below.
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
         AND NOT (p.partmethod = 'n' AND p.colocationid = 0)
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
