//! The growth path of the database on a real PostgreSQL server: a database built by one phase
//! and filled with rows, migrated to the next phase, ends with the same catalog and rows as a
//! fresh install of that phase; partitions are kept ahead of the clock; the Citus file places
//! the tables of a grown database (against a stand-in of the Citus catalog).

use escala::prelude::*;
use escala::Artifacts;

use crate::sql::{fresh_db, psql, render, with_database, CITUS_STAND_IN};
use crate::support::conformance;
use crate::systems;

/// 20 tenants with 50 clients each; 12 000 invoices from 2023-11 to 2027-09 (the ones before
/// 2024 land in the DEFAULT partition) and one transaction per invoice.
pub const FINANZAS_ROWS: &str = r#"
INSERT INTO app.tenants (id, nombre, creado_en)
  SELECT ('00000000-0000-0000-0000-' || lpad(t::text, 12, '0'))::uuid, 'tenant ' || t, '2023-01-01 00:00:00+00'
    FROM generate_series(1, 20) t;
INSERT INTO app.clientes (tenant_id, id, nombre, email, creado_en)
  SELECT ('00000000-0000-0000-0000-' || lpad(t::text, 12, '0'))::uuid,
         ('00000000-0000-0000-0001-' || lpad((t * 1000 + c)::text, 12, '0'))::uuid, 'c', 'c' || c || '@x',
         '2023-01-01 00:00:00+00'
    FROM generate_series(1, 20) t, generate_series(1, 50) c;
INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision)
  SELECT ('00000000-0000-0000-0000-' || lpad(t::text, 12, '0'))::uuid,
         ('00000000-0000-0000-0002-' || lpad((t * 100000 + i)::text, 12, '0'))::uuid,
         ('00000000-0000-0000-0001-' || lpad((t * 1000 + 1 + i % 50)::text, 12, '0'))::uuid,
         'F-' || i, (i % 997) + t + 0.5,
         timestamptz '2024-01-01 00:00:00+00' + i * interval '2 days 7 hours' - interval '60 days'
    FROM generate_series(1, 20) t, generate_series(1, 600) i;
INSERT INTO app.transacciones (tenant_id, id, factura_id, fecha_emision, monto, creada_en)
  SELECT tenant_id, ('00000000-0000-0000-0003-' || substr(id::text, 25))::uuid, id, fecha_emision, total / 2, fecha_emision
    FROM app.facturas;
"#;

/// What must be equal between a grown and a fresh database: relations and partition bounds,
/// constraints and their definitions, indexes, the upkeep functions, and the rows of every
/// table of the plan. The plain tables a migration keeps (`*_unpartitioned`) are left out.
/// For the per-partition copies PostgreSQL makes of a foreign key that references a
/// partitioned table, names (numbered by creation order) and `convalidated` (PostgreSQL 15
/// does not carry a `VALIDATE CONSTRAINT` down to them) are left out too.
fn catalog(db: &str, tables: &[&str]) -> String {
    let mut sql = String::from(
        r#"SET TimeZone = 'UTC';
SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '')
  FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace AND c.relkind IN ('r', 'p', 'S') AND c.relname NOT LIKE '%unpartitioned%' ORDER BY 1;
SELECT 'con ' || conrelid::regclass || ' ' || CASE WHEN conparentid = 0 THEN conname || ' ' || convalidated ELSE '(copy)' END
       || ' ' || replace(pg_get_constraintdef(oid), ' NOT VALID', '')
  FROM pg_constraint WHERE connamespace = 'app'::regnamespace AND conrelid::regclass::text NOT LIKE '%unpartitioned%' ORDER BY 1;
SELECT 'idx ' || pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'app'::regnamespace AND indrelid::regclass::text NOT LIKE '%unpartitioned%' ORDER BY 1;
SELECT 'fn ' || proname FROM pg_proc WHERE pronamespace = 'app'::regnamespace ORDER BY 1;
"#,
    );
    for t in tables {
        sql.push_str(&format!(
            "SELECT 'rows {t} ' || count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '-') FROM app.{t} x;\n"
        ));
    }
    psql(db, &["-c", &sql], None).expect("catalog query")
}

/// Applies `files` in order: the migration folder (when `migrate`), then the phase's files;
/// Citus's file only when `citus` (a real Citus or the stand-in).
fn apply(db: &str, files: &Artifacts, migrate: bool, citus: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut ordered: Vec<(&str, &str)> = files
        .iter()
        .filter(|(p, _)| migrate && p.starts_with("from-"))
        .collect();
    ordered.extend(
        files
            .iter()
            .filter(|(p, _)| !p.contains('/') && p.ends_with(".sql"))
            .filter(|(p, _)| citus || !p.ends_with("_distribution.sql")),
    );
    for (path, text) in ordered {
        let file = dir.path().join(path.replace('/', "_"));
        // The stand-in is not an extension: it is installed by the test instead.
        let text = text.replace("CREATE EXTENSION IF NOT EXISTS citus;\n", "");
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        psql(db, &["-f", file.to_str().unwrap_or_default()], None)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn finanzas_tables() -> Vec<&'static str> {
    vec!["tenants", "clientes", "facturas", "transacciones"]
}

#[test]
fn single_node_grown_to_swarm_equals_a_fresh_swarm_install() {
    if !conformance("a grown database migrated on a real PostgreSQL server") {
        return;
    }
    let s = systems::ALL[0].1();
    let (single, swarm) = (render(&s, "single-node"), render(&s, "swarm"));
    assert!(
        swarm.get("from-single-node/002_copy.sql").is_some(),
        "the swarm phase migrates from single-node"
    );
    let grown = fresh_db("escala_grown");
    apply(&grown, &single, false, false).expect("single-node files");
    psql(&grown, &["-c", FINANZAS_ROWS], None).expect("rows");
    let before = psql(
        &grown,
        &["-c", "SELECT count(*), sum(total) FROM app.facturas"],
        None,
    )
    .expect("count");
    for run in 1..=2 {
        apply(&grown, &swarm, true, false).unwrap_or_else(|e| panic!("run {run}: {e}"));
    }
    let fresh = fresh_db("escala_fresh");
    apply(&fresh, &swarm, false, false).expect("swarm files");
    psql(&fresh, &["-c", FINANZAS_ROWS], None).expect("rows");
    let (g, f) = (
        catalog(&grown, &finanzas_tables()),
        catalog(&fresh, &finanzas_tables()),
    );
    similar_asserts(&g, &f);
    assert!(g.contains("rel facturas p"), "facturas is partitioned: {g}");
    assert!(g.contains("rows facturas 12000"), "{g}");
    // The plain table is kept, with every row, until the user drops it.
    let q = |sql: &str| psql(&grown, &["-c", sql], None).expect("query");
    assert_eq!(
        q("SELECT count(*), sum(total) FROM app.facturas_unpartitioned"),
        before
    );
    assert_eq!(q("SELECT count(*), sum(total) FROM app.facturas"), before);
    // Rows went to their years: those before 2024 to the DEFAULT partition, none elsewhere.
    assert_eq!(
        q("SELECT count(*) FROM app.facturas_default WHERE fecha_emision >= '2024-01-01 00:00:00+00'")
            .trim(),
        "0"
    );
    assert_eq!(
        q("SELECT count(*) FROM app.facturas_2025 WHERE fecha_emision < '2025-01-01 00:00:00+00' OR fecha_emision >= '2026-01-01 00:00:00+00'")
            .trim(),
        "0"
    );
    // Per-tenant sums are those of the plain table.
    assert_eq!(
        q("SELECT tenant_id, count(*), sum(total) FROM app.facturas GROUP BY 1 ORDER BY 1"),
        q("SELECT tenant_id, count(*), sum(total) FROM app.facturas_unpartitioned GROUP BY 1 ORDER BY 1")
    );
}

/// A line-by-line diff in the panic message, rather than two 100-line strings.
#[track_caller]
fn similar_asserts(grown: &str, fresh: &str) {
    if grown != fresh {
        let diff = similar::TextDiff::from_lines(fresh, grown)
            .unified_diff()
            .header("fresh", "grown")
            .to_string();
        panic!("the grown database differs from a fresh install:\n{diff}");
    }
}

#[test]
fn writes_during_the_migration_reach_the_partitioned_table() {
    if !conformance("writes during a migration, on a real PostgreSQL server") {
        return;
    }
    let s = systems::ALL[0].1();
    let swarm = render(&s, "swarm");
    let db = fresh_db("escala_live");
    apply(&db, &render(&s, "single-node"), false, false).expect("single-node files");
    psql(&db, &["-c", FINANZAS_ROWS], None).expect("rows");
    let dir = tempfile::tempdir().expect("tmp");
    let run = |step: &str| {
        let file = dir.path().join(step);
        std::fs::write(
            &file,
            swarm
                .get(&format!("from-single-node/{step}"))
                .expect("step file"),
        )
        .expect("write");
        psql(&db, &["-f", file.to_str().expect("utf-8")], None)
            .unwrap_or_else(|e| panic!("{step}: {e}"))
    };
    let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
    run("001_prepare.sql");
    // The application keeps writing to the plain table between the steps.
    q("INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision) VALUES ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0003-000000000001', '00000000-0000-0000-0001-000000003001', 'NEW-1', 77, '2026-05-05 12:00:00+00')");
    q("UPDATE app.facturas SET total = total + 1000 WHERE numero = 'F-7'");
    q("DELETE FROM app.facturas WHERE numero = 'F-8'");
    run("002_copy.sql");
    q("INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision) VALUES ('00000000-0000-0000-0000-000000000004', '00000000-0000-0000-0003-000000000002', '00000000-0000-0000-0001-000000004001', 'NEW-2', 88, '2025-02-02 12:00:00+00')");
    q("UPDATE app.facturas SET total = 1 WHERE numero = 'F-9'");
    q("DELETE FROM app.clientes WHERE id = '00000000-0000-0000-0001-000000005011'");
    run("003_swap.sql");
    run("004_validate.sql");
    let only = |a: &str, b: &str| {
        q(&format!(
            "SELECT count(*) FROM (SELECT * FROM app.{a} EXCEPT SELECT * FROM app.{b}) x"
        ))
        .trim()
        .to_owned()
    };
    assert_eq!(only("facturas", "facturas_unpartitioned"), "0");
    assert_eq!(only("facturas_unpartitioned", "facturas"), "0");
    assert_eq!(
        q("SELECT count(*) FROM app.facturas WHERE numero IN ('NEW-1', 'NEW-2')").trim(),
        "2"
    );
    assert_eq!(
        q("SELECT count(*) FROM app.facturas WHERE numero = 'F-8'").trim(),
        "0"
    );
    // The cascade from the deleted client reached the copy too.
    assert_eq!(
        q("SELECT count(*) FROM app.facturas WHERE cliente_id = '00000000-0000-0000-0001-000000005011'").trim(),
        "0"
    );
}

#[test]
fn rows_no_partition_would_take_stop_the_migration() {
    if !conformance("a migration refusing rows outside every partition") {
        return;
    }
    let table = |with_default: bool| {
        let mut p = Partitioning::range("fecha").yearly("2024-01-01", "2026-01-01");
        if with_default {
            p = p.with_default();
        }
        Table::new("eventos")
            .column(Column::new("tenant_id", SqlType::Uuid))
            .column(Column::new("id", SqlType::BigInt).identity())
            .column(Column::new("fecha", SqlType::Date))
            .primary_key(["tenant_id", "id", "fecha"])
            .partition_by(p)
    };
    let system = |with_default: bool| {
        with_database(Database::new("postgres", "app").table(table(with_default)))
            .phase(Phase::new("one", Engine::Compose))
            .phase(Phase::new("two", Engine::Compose).partitioning())
    };
    let db = fresh_db("escala_outside");
    apply(&db, &render(&system(false), "one"), false, false).expect("plain table");
    psql(&db, &["-c", "INSERT INTO app.eventos (tenant_id, fecha) SELECT gen_random_uuid(), date '2023-06-01' + g FROM generate_series(0, 999) g"], None).expect("rows");
    let err = apply(&db, &render(&system(false), "two"), true, false)
        .expect_err("rows before 2024 fit no partition");
    assert!(
        err.contains("269 rows of app.eventos have fecha outside every partition (2024-01-01 to 2026-01-01) and there is no DEFAULT partition"),
        "{err}"
    );
    assert!(err.contains("HINT:  widen the spans"), "{err}");
    // With a DEFAULT partition they go there, ids and the sequence carried over.
    apply(&db, &render(&system(true), "two"), true, false).expect("migrates");
    let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
    // 2023-06-01 to 2023-12-31 stay in the DEFAULT partition; 2026-01-01 to 2026-02-24 went
    // there too, and the phase's upkeep (on today's clock, after 2026) moved them into
    // eventos_2026 when it created it.
    assert_eq!(q("SELECT count(*) FROM app.eventos_default").trim(), "214");
    assert_eq!(q("SELECT count(*) FROM app.eventos_2026").trim(), "55");
    assert_eq!(
        q("SELECT min(id), max(id) FROM app.eventos").trim(),
        "1|1000"
    );
    q("INSERT INTO app.eventos (tenant_id, fecha) VALUES (gen_random_uuid(), '2025-01-01')");
    assert_eq!(
        q("SELECT id FROM app.eventos WHERE fecha = '2025-01-01' ORDER BY id DESC LIMIT 1").trim(),
        "1001",
        "the identity sequence goes on where the plain table's stopped"
    );
    let fresh = fresh_db("escala_outside_fresh");
    apply(&fresh, &render(&system(true), "two"), false, false).expect("fresh");
    let relations = |db: &str| {
        catalog(db, &[])
            .lines()
            .filter(|l| !l.starts_with("rows"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    similar_asserts(&relations(&db), &relations(&fresh));
}

#[test]
fn upkeep_keeps_partitions_ahead_of_a_clock_moved_forward() {
    if !conformance("partition upkeep on a real PostgreSQL server") {
        return;
    }
    let s = systems::ALL[0].1();
    let db = fresh_db("escala_upkeep");
    apply(&db, &render(&s, "swarm"), false, false).expect("swarm files");
    let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
    let created = q("SELECT * FROM app.escala_partition_upkeep('2031-06-01')");
    let partitions = q("SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'app.facturas'::regclass");
    assert_eq!(
        partitions.trim(),
        "facturas_2024 facturas_2025 facturas_2026 facturas_2027 facturas_2028 facturas_2029 facturas_2030 facturas_2031 facturas_2032 facturas_2033 facturas_default",
        "two years after 2031 exist ({created})"
    );
    assert!(created.contains("created app.facturas_2033"), "{created}");
    assert_eq!(
        q("SELECT * FROM app.escala_partition_upkeep('2031-06-01')").trim(),
        "",
        "a second run does nothing"
    );
    // A month of invoices in every year up to 2033: none lands in the DEFAULT partition.
    psql(
        &db,
        &[
            "-c",
            FINANZAS_ROWS
                .split("INSERT INTO app.facturas")
                .next()
                .unwrap_or_default(),
        ],
        None,
    )
    .expect("tenants");
    q("INSERT INTO app.facturas (tenant_id, cliente_id, numero, total, fecha_emision) SELECT '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0001-000000001001', 'U', 1, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 month' FROM generate_series(0, 119) g");
    assert_eq!(q("SELECT count(*) FROM app.facturas_default").trim(), "0");
    // A row far ahead lands in the DEFAULT partition, referenced by a transaction; when the
    // clock gets there, the upkeep moves it into its partition and keeps the foreign key.
    q("INSERT INTO app.facturas (tenant_id, id, cliente_id, numero, total, fecha_emision) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0004-000000000001', '00000000-0000-0000-0001-000000001001', 'FAR', 5, '2040-02-02 00:00:00+00')");
    q("INSERT INTO app.transacciones (tenant_id, factura_id, fecha_emision, monto) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0004-000000000001', '2040-02-02 00:00:00+00', 5)");
    assert_eq!(q("SELECT count(*) FROM app.facturas_default").trim(), "1");
    let moved = q("SELECT * FROM app.escala_partition_upkeep('2039-03-01')");
    assert!(
        moved.contains(
            "created app.facturas_2040 and moved 1 rows into it from app.facturas_default"
        ),
        "{moved}"
    );
    assert_eq!(q("SELECT count(*) FROM app.facturas_default").trim(), "0");
    assert_eq!(
        q("SELECT tableoid::regclass FROM app.facturas WHERE numero = 'FAR'").trim(),
        "app.facturas_2040"
    );
    assert_eq!(
        q("SELECT conname || ' ' || convalidated FROM pg_constraint WHERE conrelid = 'app.transacciones'::regclass AND contype = 'f' AND conparentid = 0").trim(),
        "transacciones_tenant_id_factura_id_fecha_emision_fkey true"
    );
    // Deleting the invoice still cascades to its transaction.
    q("DELETE FROM app.facturas WHERE numero = 'FAR'");
    assert_eq!(
        q("SELECT count(*) FROM app.transacciones WHERE monto = 5").trim(),
        "0"
    );
}

fn retention_system(detach: bool) -> System {
    let p = Partitioning::range("dia")
        .monthly("2024-01-01", "2024-07-01")
        .premake(1);
    let p = if detach {
        p.detach_after(3)
    } else {
        p.drop_after(3)
    };
    with_database(
        Database::new("postgres", "app")
            .table(
                Table::new("lecturas")
                    .column(Column::new("id", SqlType::BigInt).identity())
                    .column(Column::new("dia", SqlType::Date))
                    .primary_key(["id", "dia"])
                    .partition_by(p),
            )
            .table(
                Table::new("notas")
                    .column(Column::new("id", SqlType::BigInt).identity())
                    .column(Column::new("lectura_id", SqlType::BigInt))
                    .column(Column::new("dia", SqlType::Date))
                    .primary_key(["id"])
                    .foreign_key(
                        ForeignKey::new(["lectura_id", "dia"], "lecturas", ["id", "dia"])
                            .on_delete(Action::Cascade),
                    ),
            ),
    )
    .phase(Phase::new("p", Engine::Compose).partitioning())
}

#[test]
fn retention_drops_or_detaches_old_partitions() {
    if !conformance("partition retention on a real PostgreSQL server") {
        return;
    }
    for detach in [false, true] {
        let db = fresh_db("escala_retention");
        // The file's own catch-up runs on today's clock; this test sets the clock itself.
        let mut files = render(&retention_system(detach), "p");
        let upkeep = files
            .get("003_partition_upkeep.sql")
            .expect("upkeep file")
            .replace("SELECT * FROM app.escala_partition_upkeep();\n", "");
        files.insert("003_partition_upkeep.sql", upkeep);
        apply(&db, &files, false, false).expect("files");
        let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
        q("INSERT INTO app.lecturas (dia) SELECT date '2024-01-01' + g FROM generate_series(0, 180) g");
        if !detach {
            q("INSERT INTO app.notas (lectura_id, dia) SELECT id, dia FROM app.lecturas");
        }
        let out = q("SELECT * FROM app.escala_partition_upkeep('2024-09-15')");
        let kept = q("SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'app.lecturas'::regclass");
        // September 2024 minus 3 months: partitions ending by 2024-06-01 go.
        assert_eq!(
            kept.trim(),
            "lecturas_2024_06 lecturas_2024_07 lecturas_2024_08 lecturas_2024_09 lecturas_2024_10",
            "{out}"
        );
        assert_eq!(q("SELECT min(dia) FROM app.lecturas").trim(), "2024-06-01");
        let verb = if detach { "detached" } else { "dropped" };
        assert!(
            out.contains(&format!("{verb} app.lecturas_2024_05")),
            "{out}"
        );
        if detach {
            // Kept as plain tables, rows and all.
            assert_eq!(q("SELECT count(*) FROM app.lecturas_2024_01").trim(), "31");
        } else {
            assert_eq!(
                q("SELECT to_regclass('app.lecturas_2024_01') IS NULL").trim(),
                "t"
            );
            // The notes of the dropped days followed their foreign key's ON DELETE CASCADE.
            assert_eq!(q("SELECT min(dia) FROM app.notas").trim(), "2024-06-01");
        }
    }
}

// ------------------------------------------------ Citus on a grown database (stand-in)

#[test]
fn the_citus_file_places_every_table_of_a_grown_database() {
    if !conformance("the Citus file on a grown database (real PostgreSQL, Citus catalog stand-in)")
    {
        return;
    }
    let s = systems::ALL[0].1();
    let db = fresh_db("escala_grown_citus");
    apply(&db, &render(&s, "swarm"), false, false).expect("swarm files");
    psql(&db, &["-c", FINANZAS_ROWS], None).expect("rows");
    psql(&db, &["-c", CITUS_STAND_IN], None).expect("stand-in");
    let k3s = render(&s, "k3s");
    let q = |sql: &str| psql(&db, &["-c", sql], None).expect("query");
    let state = "SELECT string_agg(logicalrelid::text || ' ' || partmethod::text || ' ' || coalesce(partkey, '-') || ' ' || colocationid, ', ' ORDER BY logicalrelid::text) FROM pg_dist_partition";
    let fks = "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND connamespace = 'app'::regnamespace";
    let keys_before = q(fks);
    for run in 1..=2 {
        apply(&db, &k3s, false, true).unwrap_or_else(|e| panic!("run {run}: {e}"));
        assert_eq!(
            q(state).trim(),
            "app.clientes h tenant_id 2, app.facturas h tenant_id 2, app.tenants n - 1, app.transacciones h tenant_id 2",
            "run {run}: every tenant table is distributed, none left as a Citus local table"
        );
        assert_eq!(q(fks), keys_before, "run {run}: the foreign keys are back");
    }
    assert_eq!(q("SELECT count(*) FROM app.facturas").trim(), "12000");
}

// ------------------------------------------------------------------------ property

mod props {
    use proptest::prelude::*;

    use super::*;
    use escala::Every;

    /// A table plan that is plain in phase `a` and partitioned in phase `b`, and how many rows
    /// the database holds when it grows.
    #[derive(Debug, Clone)]
    struct Case {
        key: SqlType,
        identity: bool,
        year: i32,
        every: Every,
        periods: u32,
        default: bool,
        rows: u32,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            prop::sample::select(vec![
                SqlType::Date,
                SqlType::Timestamp,
                SqlType::Timestamptz,
            ]),
            any::<bool>(),
            2019i32..2027,
            prop::sample::select(vec![Every::Year, Every::Month]),
            1u32..4,
            any::<bool>(),
            0u32..3000,
        )
            .prop_map(
                |(key, identity, year, every, periods, default, rows)| Case {
                    key,
                    identity,
                    year,
                    every,
                    periods,
                    default,
                    rows,
                },
            )
    }

    fn system(c: &Case) -> System {
        let from = format!("{:04}-01-01", c.year);
        let to = match c.every {
            Every::Year => format!("{:04}-01-01", c.year + c.periods as i32),
            _ => format!("{:04}-{:02}-01", c.year, 1 + c.periods),
        };
        let mut p = match c.every {
            Every::Year => Partitioning::range("at").yearly(&from, &to),
            _ => Partitioning::range("at").monthly(&from, &to),
        };
        if c.default {
            p = p.with_default();
        }
        let id = Column::new("id", SqlType::BigInt);
        let id = if c.identity { id.identity() } else { id };
        with_database(
            Database::new("postgres", "app").table(
                Table::new("t")
                    .column(Column::new("tenant_id", SqlType::Uuid))
                    .column(id)
                    .column(Column::new("at", c.key.clone()))
                    .column(Column::new("note", SqlType::Text).nullable())
                    .primary_key(["tenant_id", "id", "at"])
                    .unique(["tenant_id", "at", "id", "note"])
                    .index(["at"])
                    .partition_by(p),
            ),
        )
        .phase(Phase::new("a", Engine::Compose))
        .phase(Phase::new("b", Engine::Swarm).partitioning())
    }

    /// `rows` rows spread over the declared range, and, with a DEFAULT partition, some before
    /// it; the same statement for the grown and the fresh database.
    fn rows(c: &Case) -> String {
        let span_days = match c.every {
            Every::Year => 365 * c.periods,
            _ => 28 * c.periods,
        };
        let before = if c.default { 40 } else { 0 };
        let id = if c.identity { "" } else { "g, " };
        let id_col = if c.identity { "" } else { "id, " };
        format!(
            "INSERT INTO app.t (tenant_id, {id_col}at, note) SELECT md5((g % 7)::text)::uuid, {id}(date '{:04}-01-01' - {before} + (g % {}))::{}, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, {}) g ORDER BY g",
            c.year,
            span_days + before,
            c.key.to_sql(),
            c.rows
        )
    }

    /// A table partitioned by `every` from 2024, with a DEFAULT partition, premaking `premake`.
    fn upkept(every: Every, premake: u32) -> System {
        let p = match every {
            Every::Year => Partitioning::range("at").yearly("2024-01-01", "2025-01-01"),
            _ => Partitioning::range("at").monthly("2024-01-01", "2024-02-01"),
        };
        with_database(
            Database::new("postgres", "app").table(
                Table::new("t")
                    .column(Column::new("id", SqlType::BigInt).identity())
                    .column(Column::new("at", SqlType::Timestamptz))
                    .primary_key(["id", "at"])
                    .partition_by(p.with_default().premake(premake)),
            ),
        )
        .phase(Phase::new("p", Engine::Compose).partitioning())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

        /// Whatever the clock says, after the upkeep every row dated up to `premake` periods
        /// ahead has a partition: none lands in the DEFAULT partition.
        #[test]
        fn after_the_upkeep_no_row_up_to_the_horizon_lands_in_the_default(
            every in prop::sample::select(vec![Every::Year, Every::Month]),
            premake in 0u32..4,
            year in 2024i32..2045,
            month in 1u32..13,
        ) {
            if std::env::var("ESCALA_CONFORMANCE").as_deref() != Ok("1") {
                return Ok(());
            }
            let s = upkept(every, premake);
            let db = fresh_db("escala_prop_upkeep");
            let mut files = render(&s, "p");
            let upkeep = files
                .get("002_partition_upkeep.sql")
                .map(|t| t.replace("SELECT * FROM app.escala_partition_upkeep();\n", ""))
                .ok_or_else(|| TestCaseError::fail("no upkeep file"))?;
            files.insert("002_partition_upkeep.sql", upkeep);
            apply(&db, &files, false, false).map_err(TestCaseError::fail)?;
            let at = format!("{year:04}-{month:02}-15 12:00:00+00");
            psql(&db, &["-c", &format!("SELECT * FROM app.escala_partition_upkeep('{at}')")], None)
                .map_err(TestCaseError::fail)?;
            // The last moment the horizon covers: the end of the current period plus `premake`.
            let (unit, step) = match every {
                Every::Year => ("year", "1 year"),
                _ => ("month", "1 month"),
            };
            let insert = format!(
                "SET TimeZone = 'UTC'; INSERT INTO app.t (at) SELECT g FROM generate_series(timestamptz '2024-01-01 00:00:00+00', date_trunc('{unit}', timestamptz '{at}') + interval '{step}' * {} - interval '1 second', interval '9 days') g",
                premake + 1
            );
            psql(&db, &["-c", &insert], None).map_err(TestCaseError::fail)?;
            let stray = psql(&db, &["-c", "SELECT count(*) FROM app.t_default"], None)
                .map_err(TestCaseError::fail)?;
            prop_assert_eq!(stray.trim(), "0", "clock {}", at);
        }
    }

    proptest! {
        // Each case creates two databases and migrates one.
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn a_grown_database_equals_a_fresh_install(c in case()) {
            let s = system(&c);
            let checked = s.check();
            prop_assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
            if std::env::var("ESCALA_CONFORMANCE").as_deref() != Ok("1") {
                return Ok(());
            }
            let grown = fresh_db("escala_prop_grown");
            apply(&grown, &render(&s, "a"), false, false).map_err(TestCaseError::fail)?;
            psql(&grown, &["-c", &rows(&c)], None).map_err(TestCaseError::fail)?;
            for _ in 0..2 {
                apply(&grown, &render(&s, "b"), true, false).map_err(TestCaseError::fail)?;
            }
            let fresh = fresh_db("escala_prop_fresh");
            apply(&fresh, &render(&s, "b"), false, false).map_err(TestCaseError::fail)?;
            psql(&fresh, &["-c", &rows(&c)], None).map_err(TestCaseError::fail)?;
            let (g, f) = (catalog(&grown, &["t"]), catalog(&fresh, &["t"]));
            prop_assert_eq!(g, f);
        }
    }
}
