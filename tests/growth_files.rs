//! The growth path's files without a server: foreign keys to reference tables first, the
//! extensions each phase creates, identity and migration rules, and the partition upkeep job
//! per engine.

use escala::prelude::*;
use escala::{codes, Severity};

use crate::sql::{render, with_database};
use crate::systems;

fn forum(first_to_reference: bool) -> System {
    let to_users = ForeignKey::new(["author_id"], "users", ["id"]);
    let to_communities = ForeignKey::new(
        ["tenant_id", "community_id"],
        "communities",
        ["tenant_id", "id"],
    );
    let posts = Table::new("posts")
        .column(Column::new("tenant_id", SqlType::BigInt))
        .column(Column::new("id", SqlType::BigInt).identity())
        .column(Column::new("community_id", SqlType::BigInt))
        .column(Column::new("author_id", SqlType::BigInt))
        .column(Column::new("embedding", SqlType::Vector(384)).nullable())
        .primary_key(["tenant_id", "id"])
        .distribute(Distribution::by("tenant_id").colocate_with("communities"));
    let posts = if first_to_reference {
        posts.foreign_key(to_users).foreign_key(to_communities)
    } else {
        posts.foreign_key(to_communities).foreign_key(to_users)
    };
    System::new("forum")
        .service(
            Service::builder()
                .name("postgres")
                .image("citusdata/citus:13.2")
                .build(),
        )
        .database(
            Database::new("postgres", "app")
                .tenant_key("tenant_id")
                .extension("pg_trgm")
                .table(
                    Table::new("users")
                        .column(Column::new("id", SqlType::BigInt).identity())
                        .primary_key(["id"])
                        .distribute(Distribution::Reference),
                )
                .table(
                    Table::new("communities")
                        .column(Column::new("tenant_id", SqlType::BigInt))
                        .column(Column::new("id", SqlType::BigInt).identity())
                        .primary_key(["tenant_id", "id"])
                        .distribute(Distribution::by("tenant_id")),
                )
                .table(posts),
        )
        .phase(Phase::new("k8s", Engine::Kubernetes).citus())
}

#[test]
fn keys_to_reference_tables_come_first_in_sequential_mode_whatever_the_declared_order() {
    for first in [false, true] {
        let files = render(&forum(first), "k8s");
        let text = files.get("003_foreign_keys.sql").expect("fk file");
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(
            at("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'") < at("ADD CONSTRAINT")
        );
        assert!(
            at("ADD CONSTRAINT posts_author_id_fkey")
                < at("ADD CONSTRAINT posts_tenant_id_community_id_fkey"),
            "declared first: {first}"
        );
    }
    // A phase without Citus has nothing to say about Citus's modes.
    let plain = render(&systems::ALL[0].1(), "swarm");
    assert!(!plain
        .get("002_foreign_keys.sql")
        .expect("fk file")
        .contains("citus"));
}

#[test]
fn each_phase_creates_the_extensions_it_needs() {
    let files = render(&forum(true), "k8s");
    let tables = files.get("001_tables.sql").expect("tables");
    assert!(
        tables.contains(
            "CREATE EXTENSION IF NOT EXISTS vector;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
        ),
        "{tables}"
    );
    assert!(tables.find("EXTENSION IF NOT EXISTS vector") < tables.find("CREATE TABLE"));
    assert!(tables.contains("embedding vector(384)"));
    assert!(tables.contains("id bigint GENERATED ALWAYS AS IDENTITY NOT NULL"));
    assert!(
        !tables.contains("citus"),
        "citus needs shared_preload_libraries: created by the Citus file"
    );
    let dist = files.get("002_distribution.sql").expect("citus file");
    assert!(
        dist.find("CREATE EXTENSION IF NOT EXISTS citus;") < dist.find("create_reference_table")
    );
    let single = render(&systems::ALL[0].1(), "single-node");
    assert!(!single
        .get("001_tables.sql")
        .expect("tables")
        .contains("EXTENSION"));
}

#[test]
fn identity_and_growth_rules() {
    use crate::support::errors_at as codes_at;
    let mut bad = forum(true);
    if let Some(db) = bad.database.as_mut() {
        db.tables[1].columns[1] = Column::new("id", SqlType::Int).identity();
        db.tables[2].columns[1] = Column::new("id", SqlType::BigInt).identity().default("1");
        db.tables[0].columns[0] = Column::new("id", SqlType::Text).identity();
    }
    let found = codes_at(&bad);
    for (code, path) in [
        (
            codes::DB_IDENTITY,
            "database.tables.communities.columns[1].ty",
        ),
        (
            codes::DB_IDENTITY,
            "database.tables.posts.columns[1].default",
        ),
        (codes::DB_IDENTITY, "database.tables.users.columns[0].ty"),
    ] {
        assert!(
            found.contains(&(code.to_owned(), path.to_owned())),
            "{code} at {path}: {found:?}"
        );
    }
    // A raw `serial` or `bigserial` column: a sequence the migrations would not carry.
    for raw in ["serial", "BIGSERIAL"] {
        let mut serial = forum(true);
        if let Some(db) = serial.database.as_mut() {
            db.tables[1].columns[1] = Column::new("id", SqlType::Other(raw.into()));
        }
        assert!(
            codes_at(&serial).contains(&(
                codes::DB_IDENTITY.to_owned(),
                "database.tables.communities.columns[1].ty".to_owned()
            )),
            "{raw}"
        );
    }
    // Becoming partitioned needs a primary key to copy by; retention keeps at least a period.
    let grows = |t: Table| {
        with_database(Database::new("postgres", "app").table(t))
            .phase(Phase::new("a", Engine::Compose))
            .phase(Phase::new("b", Engine::Swarm).partitioning())
    };
    let t = Table::new("logs")
        .column(Column::new("at", SqlType::Date))
        .partition_by(
            Partitioning::range("at")
                .monthly("2024-01-01", "2024-03-01")
                .drop_after(0),
        );
    let found = codes_at(&grows(t));
    assert!(
        found.contains(&(
            codes::DB_MIGRATION.to_owned(),
            "database.tables.logs.primary_key".to_owned()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            codes::DB_UPKEEP.to_owned(),
            "database.tables.logs.partitioning.retention.keep".to_owned()
        )),
        "{found:?}"
    );
}

#[test]
fn the_upkeep_job_is_scheduled_per_engine_and_checked() {
    let s = systems::ALL[0].1();
    let checked = s.check().expect("the example checks");
    assert!(
        checked
            .warnings()
            .iter()
            .all(|d| d.code != codes::DB_UPKEEP),
        "the example schedules its upkeep"
    );
    let job = |phase: &str| {
        checked
            .plan(phase)
            .and_then(|p| p.service(&"partition-upkeep".into()).cloned())
    };
    assert!(job("single-node").is_none(), "nothing is partitioned yet");
    let swarm = job("swarm").expect("a job on Swarm");
    assert_eq!(
        swarm.workload,
        Workload::Stateless,
        "Swarm has no scheduler"
    );
    // Runs at start, then sleeps until the schedule's next time (daily at 03:17 UTC).
    let command = swarm.command.join(" ");
    assert!(
        command.contains(&format!(
            "next=$(( now / 86400 * 86400 + {} ))",
            3 * 3600 + 17 * 60
        )),
        "{command}"
    );
    assert!(
        swarm.depends_on.is_empty(),
        "Swarm starts services in no order"
    );
    let k3s = job("k3s").expect("a job on K3s");
    assert_eq!(
        k3s.workload,
        Workload::Scheduled {
            schedule: "17 3 * * *".into()
        }
    );
    assert_eq!(
        k3s.env.get("DATABASE_URL"),
        Some(&Env::secret("database-url"))
    );
    assert!(k3s
        .command
        .join(" ")
        .contains("SELECT * FROM app.escala_partition_upkeep()"));

    let with = |upkeep: Option<Env>, extra: Option<&str>| {
        let mut s = systems::ALL[0].1();
        if let Some(db) = s.database.as_mut() {
            db.upkeep = None;
            if let Some(url) = upkeep {
                *db = db.clone().upkeep_at(url, "0 3 * *");
            }
        }
        if let Some(name) = extra {
            s = s.service(Service::builder().name(name).image("busybox:1.37").build());
        }
        match s.check() {
            Ok(checked) => checked.warnings().clone(),
            Err(all) => all,
        }
    };
    let none = with(None, None);
    assert!(
        none.iter().any(|d| d.code == codes::DB_UPKEEP
            && d.path == "database.upkeep"
            && d.severity == Severity::Warning),
        "{none}"
    );
    let bad = with(
        Some(Env::literal("postgresql://app:hunter2@postgres/app")),
        Some("partition-upkeep"),
    );
    let found: Vec<(&str, &str)> = bad
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    for expected in [
        (codes::DB_UPKEEP, "database.upkeep.url"),
        (codes::WORKLOAD_SCHEDULE, "database.upkeep.schedule"),
        (codes::DB_UPKEEP, "services.partition-upkeep"),
    ] {
        assert!(found.contains(&expected), "{expected:?}: {bad}");
    }
    let unknown = with(Some(Env::secret("databse-url")), None);
    assert!(
        unknown.iter().any(|d| d.path == "database.upkeep.url"
            && d.help.as_deref() == Some("did you mean `database-url`?")),
        "{unknown}"
    );
}
