//! The database plan: every check rule, and the SQL on a real PostgreSQL server.

use std::process::Command;

use escala::codes;
use escala::prelude::*;
use escala::{Diagnostics, Severity, Target};

use crate::support::conformance;
use crate::systems;

/// A system whose database plan `db` is run by a `postgres:15` service.
pub fn with_database(db: Database) -> System {
    System::new("x")
        .service(
            Service::builder()
                .name("postgres")
                .image("postgres:15")
                .build(),
        )
        .database(db)
}

fn db_system(db: Database, phase: Phase) -> System {
    with_database(db).phase(phase)
}

fn errors(s: &System) -> Diagnostics {
    s.check().err().unwrap_or_default()
}

#[track_caller]
fn fails_with(s: System, code: &str, path: &str) {
    let d = errors(&s);
    let found: Vec<(&str, &str)> = d
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| (x.code.as_str(), x.path.as_str()))
        .collect();
    assert!(
        found.contains(&(code, path)),
        "expected {code} at {path}, got {d}"
    );
}

fn facturas() -> Table {
    Table::new("facturas")
        .column(Column::new("tenant_id", SqlType::Uuid))
        .column(Column::new("id", SqlType::Uuid))
        .column(Column::new("fecha_emision", SqlType::Timestamptz))
        .primary_key(["tenant_id", "id", "fecha_emision"])
        .partition_by(Partitioning::range("fecha_emision").yearly("2024-01-01", "2026-01-01"))
        .distribute(Distribution::by("tenant_id"))
}

fn one(t: Table) -> System {
    db_system(
        Database::new("postgres", "app")
            .tenant_key("tenant_id")
            .table(t),
        Phase::new("p", Engine::Compose).partitioning(),
    )
}

#[test]
fn the_seeds_uncorrected_table_is_rejected() {
    // The seed: `id UUID PRIMARY KEY … PARTITION BY RANGE (fecha_emision)`, sharded by tenant.
    let mut seed = facturas();
    seed.primary_key = vec!["id".into()];
    let d = errors(&one(seed));
    let got: Vec<&str> = d
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.code.as_str())
        .collect();
    assert_eq!(
        got,
        [codes::DB_PARTITION_KEY, codes::DB_DISTRIBUTION_KEY],
        "{d}"
    );
    let first = d.iter().next().expect("one");
    assert_eq!(first.path, "database.tables.facturas.primary_key");
    assert!(
        first.message.contains(
            "unique constraint on partitioned table must include all partitioning columns"
        ),
        "{}",
        first.message
    );
    assert_eq!(
        first.help.as_deref(),
        Some("add `fecha_emision` to it, e.g. (id, fecha_emision)")
    );
    assert!(one(facturas()).check().is_ok(), "the corrected key passes");
}

#[test]
fn unknown_columns_and_tables() {
    fails_with(
        one(facturas().index(["tenant_id", "fecha"])),
        codes::DB_UNKNOWN,
        "database.tables.facturas.indexes[0][1]",
    );
    fails_with(
        one(facturas().foreign_key(ForeignKey::new(["tenant_id"], "tenant", ["id"]))),
        codes::DB_UNKNOWN,
        "database.tables.facturas.foreign_keys[0].table",
    );
    let mut bad = facturas();
    bad.columns[0].name = "Tenant".into();
    fails_with(
        one(bad),
        codes::DB_NAME,
        "database.tables.facturas.columns[0].name",
    );
}

#[test]
fn partitioning_rules() {
    let with = |p: Partitioning| {
        let mut t = facturas();
        t.partitioning = Some(p);
        one(t)
    };
    fails_with(
        with(Partitioning::range("id").yearly("2024-01-01", "2025-01-01")),
        codes::DB_PARTITIONING,
        "database.tables.facturas.partitioning.column",
    );
    fails_with(
        with(Partitioning::range("fecha_emision").yearly("2024-03-01", "2025-01-01")),
        codes::DB_PARTITIONING,
        "database.tables.facturas.partitioning.spans[0]",
    );
    fails_with(
        with(Partitioning::range("fecha_emision").monthly("2025-01-01", "2024-01-01")),
        codes::DB_PARTITIONING,
        "database.tables.facturas.partitioning.spans[0]",
    );
    fails_with(
        with(Partitioning::range("fecha_emision")),
        codes::DB_PARTITIONING,
        "database.tables.facturas.partitioning",
    );
    let mut nullable = facturas();
    nullable.columns[2] = Column::new("fecha_emision", SqlType::Timestamptz).nullable();
    fails_with(
        one(nullable),
        codes::DB_PARTITIONING,
        "database.tables.facturas.partitioning.column",
    );
}

#[test]
fn partition_ranges_that_overlap_or_leave_gaps() {
    let with = |p: Partitioning| {
        let mut t = facturas();
        t.partitioning = Some(p);
        one(t)
    };
    fails_with(
        with(
            Partitioning::range("fecha_emision")
                .yearly("2024-01-01", "2026-01-01")
                .monthly("2025-06-01", "2026-06-01"),
        ),
        codes::DB_RANGES,
        "database.tables.facturas.partitioning.spans[1]",
    );
    fails_with(
        with(
            Partitioning::range("fecha_emision")
                .yearly("2022-01-01", "2023-01-01")
                .yearly("2024-01-01", "2025-01-01"),
        ),
        codes::DB_RANGES,
        "database.tables.facturas.partitioning.spans[1]",
    );
    assert!(with(
        Partitioning::range("fecha_emision")
            .yearly("2022-01-01", "2024-01-01")
            .monthly("2024-01-01", "2024-07-01")
    )
    .check()
    .is_ok());
}

#[test]
fn distribution_rules() {
    let with = |d: Distribution| facturas().distribute(d);
    let mut json = facturas();
    json.columns[0] = Column::new("tenant_id", SqlType::Other("json".into()));
    fails_with(
        one(json),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.column",
    );
    let mut nullable = facturas();
    nullable.columns[0] = Column::new("tenant_id", SqlType::Uuid).nullable();
    fails_with(
        one(nullable),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.column",
    );
    let by_id = with(Distribution::by("id"));
    fails_with(
        one(by_id),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.column",
    );
    fails_with(
        one(with(Distribution::by("tenant_id").shards(0))),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.shard_count",
    );
    let mut reference = facturas();
    reference.distribution = Distribution::Reference;
    fails_with(
        one(reference),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution",
    );
}

fn clientes(ty: SqlType) -> Table {
    Table::new("clientes")
        .column(Column::new("tenant_id", ty))
        .column(Column::new("id", SqlType::Uuid))
        .primary_key(["tenant_id", "id"])
        .distribute(Distribution::by("tenant_id").shards(32))
}

fn two(a: Table, b: Table) -> System {
    db_system(
        Database::new("postgres", "app")
            .tenant_key("tenant_id")
            .table(a)
            .table(b),
        Phase::new("p", Engine::Compose).citus(),
    )
}

#[test]
fn colocation_rules() {
    let f = facturas().distribute(Distribution::by("tenant_id").colocate_with("clientes"));
    fails_with(
        two(clientes(SqlType::BigInt), f.clone()),
        codes::DB_COLOCATION,
        "database.tables.facturas.distribution.colocate_with",
    );
    assert!(errors(&two(clientes(SqlType::Uuid), f.clone()))
        .iter()
        .all(|d| d.severity != Severity::Error));
    let both = facturas().distribute(
        Distribution::by("tenant_id")
            .colocate_with("clientes")
            .shards(16),
    );
    fails_with(
        two(clientes(SqlType::Uuid), both),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.shard_count",
    );
    let local = clientes(SqlType::Uuid).distribute(Distribution::Local);
    fails_with(
        two(local, f),
        codes::DB_DISTRIBUTION,
        "database.tables.facturas.distribution.colocate_with",
    );
}

#[test]
fn foreign_key_rules() {
    let fk = || ForeignKey::new(["tenant_id", "id"], "clientes", ["tenant_id", "id"]);
    let colocated =
        || facturas().distribute(Distribution::by("tenant_id").colocate_with("clientes"));
    assert!(
        errors(&two(clientes(SqlType::Uuid), colocated().foreign_key(fk())))
            .iter()
            .all(|d| d.severity != Severity::Error)
    );
    // Not colocated.
    fails_with(
        two(clientes(SqlType::Uuid), facturas().foreign_key(fk())),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0]",
    );
    // The distribution column at another position.
    let swapped = ForeignKey::new(["id", "tenant_id"], "clientes", ["tenant_id", "id"]);
    fails_with(
        two(clientes(SqlType::Uuid), colocated().foreign_key(swapped)),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0]",
    );
    // Not a key of the referenced table.
    let partial = ForeignKey::new(["id"], "clientes", ["id"]);
    fails_with(
        two(clientes(SqlType::Uuid), colocated().foreign_key(partial)),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0].references",
    );
    // Distributed → local, reference → distributed, local → distributed.
    let local = clientes(SqlType::Uuid).distribute(Distribution::Local);
    fails_with(
        two(local.clone(), facturas().foreign_key(fk())),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0]",
    );
    let referencing = |d: Distribution| {
        let t = Table::new("notas")
            .column(Column::new("tenant_id", SqlType::Uuid))
            .column(Column::new("id", SqlType::Uuid))
            .primary_key(["tenant_id", "id"])
            .foreign_key(fk())
            .distribute(d);
        two(clientes(SqlType::Uuid), t)
    };
    fails_with(
        referencing(Distribution::Reference),
        codes::DB_FOREIGN_KEY,
        "database.tables.notas.foreign_keys[0]",
    );
    fails_with(
        referencing(Distribution::Local),
        codes::DB_FOREIGN_KEY,
        "database.tables.notas.foreign_keys[0]",
    );
    let d = errors(&referencing(Distribution::Local));
    assert!(
        d.iter().any(|x| x.message.contains("does not enforce")),
        "{d}"
    );
    // Actions that would change the distribution column.
    fails_with(
        two(
            clientes(SqlType::Uuid),
            colocated().foreign_key(fk().on_delete(Action::SetNull)),
        ),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0].on_delete",
    );
    fails_with(
        two(
            clientes(SqlType::Uuid),
            colocated().foreign_key(fk().on_update(Action::Cascade)),
        ),
        codes::DB_FOREIGN_KEY,
        "database.tables.facturas.foreign_keys[0].on_update",
    );
}

#[test]
fn citus_on_an_image_without_citus_is_a_warning() {
    let mut finanzas = systems::ALL[0].1();
    if let Some(db) = finanzas.database.as_mut() {
        db.cluster = None;
    }
    let checked = finanzas.check().expect("only warnings");
    let w: Vec<_> = checked
        .warnings()
        .iter()
        .filter(|d| d.code == codes::DB_NO_CITUS)
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "services.postgres.image");
    assert!(w[0].help.as_deref().is_some_and(|h| h.contains("Citus 14")));
}

pub fn render(system: &System, phase: &str) -> escala::Artifacts {
    let checked = system.check().expect("valid");
    let plan = checked.plan(phase).expect("phase");
    escala::targets::sql::Sql::new()
        .render(&plan)
        .expect("renders")
}

#[test]
fn files_are_ordered_and_foreign_keys_come_last() {
    let s = systems::ALL[0].1();
    let names = |phase: &str| {
        render(&s, phase)
            .iter()
            .map(|(p, _)| p.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("single-node"),
        ["001_tables.sql", "002_foreign_keys.sql", "restore.sh"]
    );
    assert_eq!(
        names("k3s"),
        [
            "001_tables.sql",
            "002_distribution.sql",
            "003_foreign_keys.sql",
            "004_partition_upkeep.sql",
            "restore.sh"
        ]
    );
    assert_eq!(
        names("swarm"),
        [
            "001_tables.sql",
            "002_foreign_keys.sql",
            "003_partition_upkeep.sql",
            "from-single-node/001_prepare.sql",
            "from-single-node/002_copy.sql",
            "from-single-node/003_swap.sql",
            "from-single-node/004_validate.sql",
            "restore.sh"
        ]
    );
    let single = render(&s, "single-node");
    assert!(
        !single
            .get("001_tables.sql")
            .expect("file")
            .contains("PARTITION BY"),
        "partitioning comes in a later phase"
    );
    let swarm = render(&s, "swarm");
    assert!(swarm
        .get("001_tables.sql")
        .expect("file")
        .contains("PARTITION BY RANGE (fecha_emision)"));
    let dist = render(&s, "k3s");
    let text = dist.get("002_distribution.sql").expect("file");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(
        at("create_reference_table('app.tenants')") < at("create_distributed_table('app.clientes'")
    );
    assert!(at("create_distributed_table('app.clientes', 'tenant_id', colocate_with => 'none', shard_count => 32)") < at("create_distributed_table('app.facturas', 'tenant_id', colocate_with => 'app.clientes')"));
}

// ---------------------------------------------------------------- a real PostgreSQL server

/// `psql` against the server `.ci/run` starts (`ESCALA_PG_HOST`, `ESCALA_PG_PORT`,
/// `ESCALA_PG_USER`), stopping at the first error.
pub fn psql(db: &str, args: &[&str], tz: Option<&str>) -> Result<String, String> {
    let host = std::env::var("ESCALA_PG_HOST")
        .map_err(|_| "ESCALA_PG_HOST is not set: start PostgreSQL as .ci/run does".to_owned())?;
    let port = std::env::var("ESCALA_PG_PORT").unwrap_or_else(|_| "5432".into());
    let user = std::env::var("ESCALA_PG_USER").unwrap_or_else(|_| "postgres".into());
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        &host,
        "-p",
        &port,
        "-U",
        &user,
        "-d",
        db,
    ])
    .args(args);
    if let Some(tz) = tz {
        // A session in another time zone: the files must not depend on it.
        cmd.env("PGTZ", tz);
    }
    let out = cmd.output().map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub fn fresh_db(name: &str) -> String {
    psql(
        "postgres",
        &[
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ],
        None,
    )
    .expect("create database");
    name.to_owned()
}

/// Runs every file of a phase except Citus' (no Citus here), in order, twice.
pub fn apply_twice(db: &str, files: &escala::Artifacts) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for run in 0..2 {
        for (path, text) in files
            .iter()
            .filter(|(p, _)| p.ends_with(".sql") && !p.ends_with("_distribution.sql"))
        {
            let file = dir.path().join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&file, text).map_err(|e| e.to_string())?;
            let tz = (run == 1).then_some("America/Bogota");
            psql(db, &["-f", file.to_str().unwrap_or_default()], tz)
                .map_err(|e| format!("{path} (run {}): {e}", run + 1))?;
        }
    }
    Ok(())
}

#[test]
fn finanzas_sql_runs_twice_and_the_catalogs_hold_the_plan() {
    if !conformance("the example's SQL on a real PostgreSQL server") {
        return;
    }
    let s = systems::ALL[0].1();
    for phase in ["single-node", "swarm", "k3s"] {
        let db = fresh_db(&format!("escala_finanzas_{}", phase.replace('-', "_")));
        apply_twice(&db, &render(&s, phase)).unwrap_or_else(|e| panic!("{phase}: {e}"));
        let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
        let pk = q("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'app.facturas'::regclass AND contype = 'p'");
        assert_eq!(
            pk.trim(),
            "PRIMARY KEY (tenant_id, id, fecha_emision)",
            "{phase}"
        );
        let fks = q("SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'app.transacciones'::regclass AND contype = 'f' AND conparentid = 0");
        assert_eq!(fks.trim(), "transacciones_tenant_id_factura_id_fecha_emision_fkey FOREIGN KEY (tenant_id, factura_id, fecha_emision) REFERENCES app.facturas(tenant_id, id, fecha_emision) ON DELETE CASCADE", "{phase}");
        let tree = q("SET TimeZone = 'UTC'; SELECT c.relname || ' ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '') FROM pg_partition_tree('app.facturas') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf ORDER BY 1");
        let leaves: Vec<&str> = tree.lines().collect();
        if phase == "single-node" {
            assert!(leaves.is_empty(), "no partitions in phase 1: {leaves:?}");
            assert_eq!(
                q("SELECT relkind FROM pg_class WHERE oid = 'app.facturas'::regclass").trim(),
                "r",
                "a plain table"
            );
        } else {
            // The upkeep adds the years after 2027 that today's clock needs (two ahead).
            let (declared, added) = leaves.split_at(4);
            for (i, leaf) in added.iter().take(added.len().saturating_sub(1)).enumerate() {
                let year = 2028 + i;
                assert_eq!(
                    *leaf,
                    format!("facturas_{year} FOR VALUES FROM ('{year}-01-01 00:00:00+00') TO ('{}-01-01 00:00:00+00')", year + 1),
                    "{phase}"
                );
            }
            assert_eq!(added.last().copied(), Some("facturas_default DEFAULT"));
            assert_eq!(
                declared,
                [
                    "facturas_2024 FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
                    "facturas_2025 FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2026-01-01 00:00:00+00')",
                    "facturas_2026 FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')",
                    "facturas_2027 FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2028-01-01 00:00:00+00')",
                ],
                "{phase}"
            );
        }
        // The keys do their job: a row lands in its year; a duplicate is refused.
        q("INSERT INTO app.tenants (id, nombre) VALUES ('00000000-0000-0000-0000-000000000001', 't')");
        q("INSERT INTO app.clientes (tenant_id, id, nombre) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000c1', 'c')");
        q("INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c1', 'F-1', 10, '2025-03-01 10:00:00+00')");
        if phase != "single-node" {
            assert_eq!(q("SELECT count(*) FROM app.facturas_2025").trim(), "1");
        }
        assert!(psql(&db, &["-c", "INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c1', 'F-1', 10, '2025-03-01 10:00:00+00')"], None).is_err());
    }
}

#[test]
fn changed_partition_bounds_are_reported_not_skipped() {
    if !conformance("partition drift on a real PostgreSQL server") {
        return;
    }
    let db = fresh_db("escala_drift");
    let s = one(facturas());
    apply_twice(&db, &render(&s, "p")).expect("applies");
    // Reshape facturas_2025 by hand; the same file must now refuse to continue.
    let mut moved = facturas();
    moved.partitioning =
        Some(Partitioning::range("fecha_emision").yearly("2025-01-01", "2026-01-01"));
    psql(&db, &["-c", "ALTER TABLE app.facturas DETACH PARTITION app.facturas_2025", "-c", "ALTER TABLE app.facturas ATTACH PARTITION app.facturas_2025 FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2025-07-01 00:00:00+00')"], None).expect("reshape");
    let err =
        apply_twice(&db, &render(&one(moved), "p")).expect_err("drift must stop the migration");
    assert!(
        err.contains("partition app.facturas_2025 exists with bounds"),
        "{err}"
    );
}

/// A stand-in for the part of Citus the distribution file touches, with Citus 12–14's
/// signatures (`../shared/reference/citus-sql.md` §2, §7), that also does what a real
/// Citus 13.2 did to a grown database (`../shared/reference/citus-sql.md` §11): a reference
/// table pulls every table connected to it by a foreign key into Citus as a *local* table
/// (`partmethod 'n'`, colocation 0), and a table that foreign keys connect to reference or
/// local tables cannot be distributed. It runs the file's PL/pgSQL and guards on real
/// PostgreSQL; it is not Citus.
pub const CITUS_STAND_IN: &str = r#"
CREATE TABLE public.pg_dist_node (nodeid serial, groupid integer, nodename text, nodeport integer, isactive boolean);
INSERT INTO public.pg_dist_node (groupid, nodename, nodeport, isactive) VALUES (1, 'postgres-worker-1', 5432, true);
CREATE TABLE public.pg_dist_partition (
  logicalrelid regclass PRIMARY KEY, partmethod "char", partkey text, colocationid integer, repmodel "char");
CREATE FUNCTION public.column_to_column_name(table_name regclass, column_var_text text)
  RETURNS text LANGUAGE sql AS $$ SELECT column_var_text $$;
CREATE FUNCTION public.truncate_local_data_after_distributing_table(function_name regclass)
  RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION public.create_reference_table(table_name regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pg_dist_partition VALUES (table_name, 'n', NULL, 1, 't')
    ON CONFLICT (logicalrelid) DO UPDATE SET partmethod = 'n', partkey = NULL, colocationid = 1, repmodel = 't';
  -- Tables connected by a foreign key become Citus local tables.
  INSERT INTO pg_dist_partition
    SELECT DISTINCT other, 'n', NULL, 0, 's' FROM (
      SELECT conrelid AS other FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid = table_name
      UNION SELECT confrelid FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND conrelid = table_name) o
    WHERE other <> table_name
    ON CONFLICT DO NOTHING;
END $$;
CREATE FUNCTION public.create_distributed_table(table_name regclass, distribution_column text,
    distribution_type text DEFAULT 'hash', colocate_with text DEFAULT 'default', shard_count integer DEFAULT NULL)
  RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid = table_name) THEN
    RAISE EXCEPTION 'cannot create foreign key constraint since foreign keys from reference tables and local tables to distributed tables are not supported';
  END IF;
  INSERT INTO pg_dist_partition VALUES (table_name, 'h', distribution_column,
      CASE WHEN colocate_with IN ('none', 'default')
           THEN (SELECT coalesce(max(colocationid), 1) + 1 FROM pg_dist_partition)
           ELSE (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = colocate_with::regclass) END,
      's')
    ON CONFLICT (logicalrelid) DO UPDATE SET partmethod = 'h', partkey = EXCLUDED.partkey,
      colocationid = EXCLUDED.colocationid, repmodel = 's';
END $$;
"#;

#[test]
fn a_table_distributed_otherwise_than_planned_stops_the_citus_file() {
    if !conformance("the Citus file's guards on a real PostgreSQL server (Citus catalog stand-in)")
    {
        return;
    }
    let files = render(&systems::ALL[0].1(), "k3s");
    let db = fresh_db("escala_citus_drift");
    apply_twice(&db, &files).expect("tables apply");
    psql(&db, &["-c", CITUS_STAND_IN], None).expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("002_distribution.sql");
    // The stand-in is installed by this test, not as an extension.
    std::fs::write(
        &file,
        files
            .get("002_distribution.sql")
            .expect("citus file")
            .replace("CREATE EXTENSION IF NOT EXISTS citus;\n", ""),
    )
    .expect("write");
    let run = || psql(&db, &["-f", file.to_str().expect("utf-8")], None);
    let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
    let state = "SELECT string_agg(logicalrelid::text || ' ' || partmethod::text || ' ' || coalesce(partkey, '-') || ' ' || colocationid, ', ' ORDER BY logicalrelid::text) FROM pg_dist_partition";
    run().expect("first run");
    let first = q(state);
    assert_eq!(
        first.trim(),
        "app.clientes h tenant_id 2, app.facturas h tenant_id 2, app.tenants n - 1, app.transacciones h tenant_id 2",
        "reference table, then a colocation group rooted at clientes"
    );
    run().expect("second run");
    assert_eq!(q(state), first, "running the file again changes nothing");
    // Someone distributed facturas by another column: the file must stop, not skip it.
    q("UPDATE pg_dist_partition SET partkey = 'id' WHERE logicalrelid = 'app.facturas'::regclass");
    let err = run().expect_err("a drifted distribution column stops the file");
    assert!(
        err.contains("app.facturas is hash(id), the plan says hash(tenant_id)"),
        "{err}"
    );
    q("UPDATE pg_dist_partition SET partkey = 'tenant_id', colocationid = 9 WHERE logicalrelid = 'app.transacciones'::regclass");
    let err = run().expect_err("a table outside its colocation group stops the file");
    assert!(
        err.contains("app.transacciones is hash(tenant_id) not colocated with app.clientes"),
        "{err}"
    );
    q("UPDATE pg_dist_partition SET partmethod = 'n', partkey = NULL, repmodel = 't' WHERE logicalrelid = 'app.transacciones'::regclass");
    let err = run().expect_err("a reference table planned as distributed stops the file");
    assert!(err.contains("app.transacciones is reference"), "{err}");
}

// ------------------------------------------------ the Citus file, parsed by PostgreSQL's parser

/// What a statement does, in file order: creates a table, or calls a Citus function.
#[derive(Debug, PartialEq)]
#[cfg_attr(not(feature = "pg-query"), allow(dead_code))]
enum Event {
    Created(String),
    Call {
        function: String,
        table: String,
        colocate_with: Option<String>,
    },
}

#[cfg(feature = "pg-query")]
fn events(sql: &str) -> Vec<Event> {
    use serde_json::Value;
    fn sval(v: &Value) -> Option<String> {
        v.pointer("/node/AConst/val/Sval/sval")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
    fn walk(v: &Value, out: &mut Vec<Event>) {
        match v {
            Value::Object(map) => {
                if let Some(create) = map.get("CreateStmt") {
                    let schema = create
                        .pointer("/relation/schemaname")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let rel = create
                        .pointer("/relation/relname")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    out.push(Event::Created(format!("{schema}.{rel}")));
                }
                if let Some(call) = map.get("FuncCall") {
                    let function = call["funcname"]
                        .as_array()
                        .and_then(|n| n.last())
                        .and_then(|n| n.pointer("/node/String/sval"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if function.starts_with("create_") {
                        let args = call["args"].as_array().cloned().unwrap_or_default();
                        let table = args.first().and_then(sval).unwrap_or_default();
                        let colocate_with = args.iter().find_map(|a| {
                            let named = a.pointer("/node/NamedArgExpr")?;
                            (named["name"] == "colocate_with")
                                .then(|| named.get("arg").and_then(sval))
                                .flatten()
                        });
                        out.push(Event::Call {
                            function,
                            table,
                            colocate_with,
                        });
                    }
                }
                for v in map.values() {
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for stmt in pg_query::split_with_parser(sql).expect("the file splits into statements") {
        let parsed = pg_query::parse(stmt, pg_query::ParserOptions::DEFAULT)
            .unwrap_or_else(|e| panic!("PostgreSQL's parser rejects `{stmt}`: {e}"));
        walk(
            &serde_json::to_value(&parsed.protobuf).expect("JSON"),
            &mut out,
        );
    }
    out
}

#[cfg(not(feature = "pg-query"))]
fn events(_sql: &str) -> Vec<Event> {
    panic!("parsing SQL needs the `pg-query` feature: `cargo test --features pg-query` (building it needs libclang)")
}

/// Every distributed table exists before it is distributed; reference tables come first;
/// every colocation target is distributed before the tables that join it.
fn check_order(tables_sql: &str, distribution_sql: &str) -> Result<Vec<String>, String> {
    let created: Vec<String> = events(tables_sql)
        .into_iter()
        .filter_map(|e| match e {
            Event::Created(t) => Some(t),
            _ => None,
        })
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut seen_distributed = false;
    for e in events(distribution_sql) {
        let Event::Call {
            function,
            table,
            colocate_with,
        } = e
        else {
            continue;
        };
        if !created.contains(&table) {
            return Err(format!("{function}({table}) before the table is created"));
        }
        match function.as_str() {
            "create_reference_table" if seen_distributed => {
                return Err(format!("reference table {table} after a distributed one"))
            }
            "create_distributed_table" => {
                seen_distributed = true;
                match colocate_with.as_deref() {
                    None => return Err(format!("{table} has no explicit colocate_with")),
                    Some("none") => {}
                    Some(target) if done.iter().any(|d| d == target) => {}
                    Some(target) => {
                        return Err(format!(
                            "{table} colocates with {target}, which is not distributed yet"
                        ))
                    }
                }
            }
            _ => {}
        }
        done.push(table);
    }
    Ok(done)
}

#[test]
fn the_citus_file_parses_and_is_ordered() {
    if !conformance("the Citus file parsed with PostgreSQL's own parser (pg_query)") {
        return;
    }
    let files = render(&systems::ALL[0].1(), "k3s");
    let order = check_order(
        files.get("001_tables.sql").expect("tables"),
        files.get("002_distribution.sql").expect("distribution"),
    )
    .expect("ordered");
    assert_eq!(
        order,
        [
            "app.tenants",
            "app.clientes",
            "app.facturas",
            "app.transacciones"
        ]
    );
}

#[test]
fn the_order_check_can_fail() {
    if !conformance("the Citus order check rejects a wrong order") {
        return;
    }
    let tables = "CREATE TABLE app.a (x int); CREATE TABLE app.b (x int);";
    assert!(check_order(
        tables,
        "SELECT create_distributed_table('app.b', 'x', colocate_with => 'app.a');"
    )
    .is_err());
    assert!(check_order(
        tables,
        "SELECT create_distributed_table('app.c', 'x', colocate_with => 'none');"
    )
    .is_err());
    assert!(check_order(tables, "SELECT create_distributed_table('app.a', 'x', colocate_with => 'none'); SELECT create_reference_table('app.b');").is_err());
    assert!(check_order(tables, "SELECT create_distributed_table('app.a', 'x', colocate_with => 'none'); SELECT create_distributed_table('app.b', 'x', colocate_with => 'app.a');").is_ok());
}

// ------------------------------------------------------------------------ property

mod props {
    use proptest::prelude::*;

    use super::*;
    use escala::Every;

    /// Valid table plans: keys carry the tenant and partition columns; spans chain.
    fn plan() -> impl Strategy<Value = System> {
        let table = (
            prop::sample::select(vec![
                SqlType::Date,
                SqlType::Timestamp,
                SqlType::Timestamptz,
            ]),
            prop::option::of((
                2000i32..2030,
                1usize..4,
                prop::sample::select(vec![Every::Year, Every::Month]),
                any::<bool>(),
            )),
            any::<bool>(),
            any::<bool>(),
        );
        prop::collection::vec(table, 1..4).prop_map(|tables| {
            let mut db = Database::new("postgres", "app").tenant_key("tenant_id");
            for (i, (ty, part, unique, index)) in tables.into_iter().enumerate() {
                let mut t = Table::new(format!("t{i}"))
                    .column(Column::new("tenant_id", SqlType::Uuid))
                    .column(Column::new("id", SqlType::BigInt))
                    .column(Column::new("at", ty))
                    .column(Column::new("note", SqlType::Text).nullable())
                    .primary_key(["tenant_id", "id", "at"]);
                if unique {
                    t = t.unique(["tenant_id", "at", "note"]);
                }
                if index {
                    t = t.index(["at"]);
                }
                if let Some((year, n, every, default)) = part {
                    let from = format!("{year:04}-01-01");
                    let to = match every {
                        Every::Year => format!("{:04}-01-01", year + n as i32),
                        _ => format!("{year:04}-{:02}-01", 1 + n),
                    };
                    let mut p = match every {
                        Every::Year => Partitioning::range("at").yearly(&from, &to),
                        _ => Partitioning::range("at").monthly(&from, &to),
                    };
                    if default {
                        p = p.with_default();
                    }
                    t = t.partition_by(p);
                }
                db = db.table(t.distribute(Distribution::by("tenant_id")));
            }
            db_system(db, Phase::new("p", Engine::Compose).citus())
        })
    }

    proptest! {
        // Each case creates a database and applies every file twice.
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        #[test]
        fn valid_table_plans_run_on_a_real_server(system in plan()) {
            let checked = system.check();
            prop_assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
            if std::env::var("ESCALA_CONFORMANCE").as_deref() != Ok("1") {
                return Ok(());
            }
            let db = fresh_db("escala_prop");
            let verdict = apply_twice(&db, &render(&system, "p"));
            prop_assert!(verdict.is_ok(), "{}", verdict.err().unwrap_or_default());
        }
    }
}

#[test]
fn single_node_citus_registers_the_coordinator_with_shards() {
    let mut s = systems::ALL[0].1();
    s.phases[2] = s.phases[2].clone().citus_single_node();
    let files = render(&s, "k3s");
    let text = files.get("002_distribution.sql").expect("file");
    let coordinator = text
        .find("citus_set_coordinator_host('localhost')")
        .expect("registers the coordinator");
    let shards = text
        .find("'shouldhaveshards', true")
        .expect("lets it hold shards");
    let first = text
        .find("create_reference_table")
        .expect("then distributes");
    assert!(coordinator < shards && shards < first);
    let plain = render(&systems::ALL[0].1(), "k3s");
    assert!(!plain
        .get("002_distribution.sql")
        .expect("file")
        .contains("citus_set_coordinator_host"));
}

#[test]
fn a_table_error_points_at_the_line_that_added_the_table() {
    let mut seed = facturas();
    seed.primary_key = vec!["id".into()];
    let line = line!() + 4;
    let system = db_system(
        Database::new("postgres", "app")
            .tenant_key("tenant_id")
            .table(seed),
        Phase::new("p", Engine::Compose).partitioning(),
    );
    let d = errors(&system);
    let e = d
        .iter()
        .find(|x| x.path.starts_with("database.tables.facturas"))
        .unwrap_or_else(|| panic!("{d}"));
    let origin = e.origin.as_ref().expect("a source location");
    assert!(origin.file.ends_with("sql.rs"), "{origin:?}");
    assert_eq!(origin.line, line, "{d}");
}
