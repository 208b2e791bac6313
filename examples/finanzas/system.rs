//! The model of the finanzas SaaS, shared by the example binary, the tests and the book.

use escala::prelude::*;

/// The release every image is tagged with.
const TAG: &str = "1.0.0";

fn image(name: &str) -> String {
    format!("ghcr.io/finanzas/{name}:{TAG}")
}

/// SvelteKit front end (adapter-node), served at `app.`.
// ANCHOR: frontend
fn frontend() -> Service {
    Service::builder()
        .name("frontend")
        .image(image("frontend"))
        .build_from(Build::new("./frontend"))
        .ports([Port::tcp(3000).named("http")])
        .env([
            ("NODE_ENV", Env::literal("production")),
            ("ORIGIN", Env::literal("https://app.finanzas.example")),
            (
                "PUBLIC_API_URL",
                Env::literal("https://api.finanzas.example"),
            ),
        ])
        .networks(["edge"])
        .health(HealthCheck::http("/", 3000).interval(Duration::secs(15)))
        .resources(
            Resources::new()
                .cpu(Cpu::millis(100), Cpu::millis(500))
                .memory(ByteSize::mib(128), ByteSize::mib(256)),
        )
        .build()
}
// ANCHOR_END: frontend

/// Bun/Elysia API, served at `api.`.
// ANCHOR: backend
fn backend() -> Service {
    Service::builder()
        .name("backend")
        .image(image("backend"))
        .build_from(Build::new("./backend"))
        .ports([Port::tcp(4000).named("http")])
        .env([
            ("NODE_ENV", Env::literal("production")),
            ("PORT", Env::literal("4000")),
            ("DATABASE_URL", Env::secret("database-url")),
            ("REDIS_URL", Env::literal("redis://redis:6379")),
            ("EMBEDDING_URL", Env::literal("http://embedding:8000")),
        ])
        .networks(["edge", "data"])
        .depends_on([
            Dependency::healthy("postgres"),
            Dependency::healthy("redis"),
            Dependency::started("embedding"),
        ])
        .health(
            HealthCheck::http("/health", 4000)
                .interval(Duration::secs(10))
                .timeout(Duration::secs(3))
                .start_period(Duration::secs(20)),
        )
        // Ready for traffic only once its database and cache answer.
        .readiness(
            HealthCheck::http("/ready", 4000)
                .interval(Duration::secs(5))
                .timeout(Duration::secs(3)),
        )
        .resources(
            Resources::new()
                .cpu(Cpu::millis(250), Cpu::cores(1))
                .memory(ByteSize::mib(256), ByteSize::mib(512)),
        )
        .user("1000")
        .read_only_root(true)
        .mounts([Mount::tmpfs("/tmp")])
        .build()
}
// ANCHOR_END: backend

/// Python embedding service (sentence embeddings for pgvector).
fn embedding() -> Service {
    Service::builder()
        .name("embedding")
        .image(image("embedding"))
        .ports([Port::tcp(8000).named("http")])
        .networks(["data", "edge"])
        .health(HealthCheck::http("/health", 8000).start_period(Duration::secs(60)))
        .resources(
            Resources::new()
                .cpu(Cpu::cores(1), Cpu::cores(2))
                .memory(ByteSize::gib(2), ByteSize::gib(4)),
        )
        .build()
}

/// BullMQ workers: the backend image running the queue consumer. It declares the same build
/// as the backend, so `docker compose up --build` never tries to pull an image that only
/// exists once built.
fn worker() -> Service {
    Service::builder()
        .name("bullmq-worker")
        .image(image("backend"))
        .build_from(Build::new("./backend"))
        .command(["bun", "run", "src/worker.ts"])
        .env([
            ("NODE_ENV", Env::literal("production")),
            ("DATABASE_URL", Env::secret("database-url")),
            ("REDIS_URL", Env::literal("redis://redis:6379")),
            ("EMBEDDING_URL", Env::literal("http://embedding:8000")),
        ])
        .networks(["data", "edge"])
        .depends_on([
            Dependency::healthy("postgres"),
            Dependency::healthy("redis"),
            Dependency::started("embedding"),
            Dependency::started("backend"),
        ])
        .resources(
            Resources::new()
                .cpu(Cpu::millis(250), Cpu::cores(1))
                .memory(ByteSize::mib(256), ByteSize::mib(512)),
        )
        .build()
}

/// PostgreSQL 18 with pgvector. PostgreSQL 18 images keep their data under
/// `/var/lib/postgresql/18/docker`, so the volume is mounted at `/var/lib/postgresql`.
// ANCHOR: postgres
fn postgres() -> Service {
    Service::builder()
        .name("postgres")
        .image("pgvector/pgvector:pg18")
        .ports([Port::tcp(5432).named("postgres")])
        .env([
            ("POSTGRES_USER", Env::literal("finanzas")),
            ("POSTGRES_DB", Env::literal("finanzas")),
            (
                "POSTGRES_PASSWORD_FILE",
                Env::literal("/run/secrets/postgres-password"),
            ),
        ])
        .secrets(["postgres-password"])
        .mounts([Mount::volume("pgdata", "/var/lib/postgresql")])
        .networks(["data"])
        .health(
            HealthCheck::command(["pg_isready", "-U", "finanzas", "-d", "finanzas"])
                .interval(Duration::secs(10))
                .timeout(Duration::secs(5))
                .retries(5)
                .start_period(Duration::secs(30)),
        )
        .resources(
            Resources::new()
                .cpu(Cpu::millis(500), Cpu::cores(2))
                .memory(ByteSize::gib(1), ByteSize::gib(4)),
        )
        // Docker's and Kubernetes' 64 MB `/dev/shm` is too small for parallel queries.
        .shm_size(ByteSize::mib(512))
        // The image's entrypoint starts as root, fixes ownership, then drops to `postgres`.
        .capabilities(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"])
        .workload(Workload::Stateful)
        .build()
}
// ANCHOR_END: postgres

/// Redis 8 with append-only persistence (BullMQ needs it).
fn redis() -> Service {
    Service::builder()
        .name("redis")
        .image("redis:8.2-alpine")
        .command(["redis-server", "--appendonly", "yes"])
        .ports([Port::tcp(6379).named("redis")])
        .mounts([Mount::volume("redisdata", "/data")])
        .networks(["data"])
        .health(HealthCheck::command(["redis-cli", "ping"]).interval(Duration::secs(10)))
        .resources(
            Resources::new()
                .cpu(Cpu::millis(100), Cpu::millis(500))
                .memory(ByteSize::mib(128), ByteSize::mib(512)),
        )
        // The image's entrypoint drops from root to `redis`.
        .capabilities(["SETGID", "SETUID"])
        .workload(Workload::Stateful)
        .build()
}

/// Traefik v3 as the Swarm ingress. Dokploy and K3s bring their own Traefik, so those
/// phases leave this service out.
fn traefik() -> Service {
    Service::builder()
        .name("traefik")
        .image("traefik:v3.6")
        .command([
            "--providers.swarm.exposedByDefault=false",
            "--entrypoints.web.address=:80",
            "--entrypoints.websecure.address=:443",
            "--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web",
            "--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json",
            "--certificatesresolvers.letsencrypt.acme.email=ops@finanzas.example",
        ])
        // Host mode: Traefik sees its clients' addresses (the mesh would hide them).
        .ports([
            Port::tcp(80).named("web").publish(80).host_mode(),
            Port::tcp(443).named("websecure").publish(443).host_mode(),
        ])
        .mounts([
            Mount::bind("/var/run/docker.sock", "/var/run/docker.sock").read_only(),
            Mount::volume("letsencrypt", "/letsencrypt"),
        ])
        .networks(["edge"])
        .workload(Workload::Stateful)
        .build()
}

/// Prometheus, scraping the services; its configuration comes from the repository.
// ANCHOR: prometheus
fn prometheus() -> Service {
    Service::builder()
        .name("prometheus")
        .image("prom/prometheus:v3.5.0")
        .ports([Port::tcp(9090).named("http")])
        .configs([
            ConfigMount::new("prometheus-config", "/etc/prometheus/prometheus.yml"),
            ConfigMount::new("alert-rules", "/etc/prometheus/rules/escala.rules.yml"),
        ])
        .mounts([Mount::volume("promdata", "/prometheus")])
        .networks(["data", "edge"])
        // It scrapes these; declaring the edges also lets the NetworkPolicies allow them.
        .depends_on([
            Dependency::started("backend"),
            Dependency::started("embedding"),
        ])
        .health(HealthCheck::http("/-/healthy", 9090))
        .workload(Workload::Stateful)
        .build()
}
// ANCHOR_END: prometheus

/// Grafana, served at `grafana.`.
fn grafana() -> Service {
    Service::builder()
        .name("grafana")
        .image("grafana/grafana:12.1.0")
        .ports([Port::tcp(3000).named("http")])
        .env([
            (
                "GF_SECURITY_ADMIN_PASSWORD__FILE",
                Env::literal("/run/secrets/grafana-admin-password"),
            ),
            (
                "GF_SERVER_ROOT_URL",
                Env::literal("https://grafana.finanzas.example"),
            ),
        ])
        .secrets(["grafana-admin-password"])
        .mounts([Mount::volume("grafanadata", "/var/lib/grafana")])
        .networks(["edge"])
        .depends_on([Dependency::healthy("prometheus")])
        .health(HealthCheck::http("/api/health", 3000))
        .workload(Workload::Stateful)
        .build()
}

fn node(name: &str, role: NodeRole, labels: &[(&str, &str)]) -> Node {
    Node::builder()
        .name(name)
        .role(role)
        .labels(labels.iter().copied())
        .cpu(Cpu::cores(4))
        .memory(ByteSize::gib(16))
        // The seed counts $40 a month for each such VPS.
        .price_per_month(40)
        .build()
}

/// The database plan: tenants as a reference table; clientes, facturas and transacciones
/// sharded by `tenant_id` and colocated; facturas partitioned by year of `fecha_emision`.
/// The seed's `PRIMARY KEY (id)` on facturas is rejected by the check: the key must carry the
/// partition and distribution columns, `(tenant_id, id, fecha_emision)`.
// ANCHOR: database
fn database() -> Database {
    use SqlType::{Numeric, Text, Timestamptz, Uuid};
    Database::new("postgres", "app")
        .tenant_key("tenant_id")
        // A job keeps next years' partitions created (CronJob on K3s, a daily loop on Swarm).
        .upkeep(Env::secret("database-url"))
        // On K3s: a coordinator and two workers, on an image with Citus 14 and pgvector for
        // PostgreSQL 18 (the book's "Database services" chapter shows how to build it).
        .citus_cluster(
            CitusCluster::workers(2).image("registry.finanzas.example/citus-pgvector:14.0-pg18"),
        )
        // "PgBouncer (connection pooling)": in front of postgres (the coordinator on K3s).
        .pooler(Pooler::pgbouncer(
            "registry.finanzas.example/pgbouncer:1.24",
            ["finanzas"],
            "pgbouncer-userlist",
        ))
        // "Read replicas para reportes": reports read `replica_env()` (postgres-replica).
        .read_replica("replication-password")
        .table(
            Table::new("tenants")
                .column(Column::new("id", Uuid).default("gen_random_uuid()"))
                .column(Column::new("nombre", Text))
                .column(Column::new("creado_en", Timestamptz).default("now()"))
                .primary_key(["id"])
                .distribute(Distribution::Reference),
        )
        .table(
            Table::new("clientes")
                .column(Column::new("tenant_id", Uuid))
                .column(Column::new("id", Uuid).default("gen_random_uuid()"))
                .column(Column::new("nombre", Text))
                .column(Column::new("email", Text).nullable())
                .column(Column::new("creado_en", Timestamptz).default("now()"))
                .primary_key(["tenant_id", "id"])
                .unique(["tenant_id", "email"])
                .foreign_key(
                    ForeignKey::new(["tenant_id"], "tenants", ["id"]).on_delete(Action::Cascade),
                )
                .distribute(Distribution::by("tenant_id").shards(32)),
        )
        .table(
            Table::new("facturas")
                .column(Column::new("tenant_id", Uuid))
                .column(Column::new("id", Uuid).default("gen_random_uuid()"))
                .column(Column::new("cliente_id", Uuid))
                .column(Column::new("numero", Text))
                .column(Column::new("total", Numeric(14, 2)))
                .column(Column::new("fecha_emision", Timestamptz))
                .primary_key(["tenant_id", "id", "fecha_emision"])
                .foreign_key(
                    ForeignKey::new(["tenant_id", "cliente_id"], "clientes", ["tenant_id", "id"])
                        .on_delete(Action::Cascade),
                )
                .index(["tenant_id", "fecha_emision"])
                .partition_by(
                    Partitioning::range("fecha_emision")
                        .yearly("2024-01-01", "2028-01-01")
                        .with_default()
                        // Two years ahead always exist, so the DEFAULT partition stays empty.
                        .premake(2),
                )
                .distribute(Distribution::by("tenant_id").colocate_with("clientes")),
        )
        .table(
            Table::new("transacciones")
                .column(Column::new("tenant_id", Uuid))
                .column(Column::new("id", Uuid).default("gen_random_uuid()"))
                .column(Column::new("factura_id", Uuid))
                .column(Column::new("fecha_emision", Timestamptz))
                .column(Column::new("monto", Numeric(14, 2)))
                .column(Column::new("creada_en", Timestamptz).default("now()"))
                .primary_key(["tenant_id", "id"])
                .foreign_key(
                    ForeignKey::new(
                        ["tenant_id", "factura_id", "fecha_emision"],
                        "facturas",
                        ["tenant_id", "id", "fecha_emision"],
                    )
                    .on_delete(Action::Cascade),
                )
                .index(["tenant_id", "creada_en"])
                .distribute(Distribution::by("tenant_id").colocate_with("clientes")),
        )
}
// ANCHOR_END: database

/// The losses of the compose and Swarm engines this team has looked at and accepts (listed
/// in each phase's PLAN.md; a new loss is still printed).
fn known_losses(phase: Phase, engine: &str) -> Phase {
    let code = |what: &str| format!("escala::{engine}::{what}");
    let mut phase = phase
        .accept(
            code("health_assumes_tool"),
            "services",
            "the images are Alpine- or busybox-based and have `wget`",
        )
        .accept(
            code("dropped"),
            "services.backend.readiness",
            "one health check per container; the readiness check matters on Kubernetes",
        )
        .accept(
            code("dropped"),
            "volumes",
            "sizes are for Kubernetes claims; the nodes' disks hold these volumes",
        );
    if engine == "swarm" {
        for s in ["backend", "bullmq-worker", "prometheus", "grafana"] {
            phase = phase.accept(
                code("dropped"),
                format!("services.{s}.depends_on"),
                "it retries until its dependencies answer",
            );
        }
    }
    phase
}

/// The whole system and its three phases.
// ANCHOR: phases
pub fn system() -> System {
    System::new("finanzas")
        .database(database())
        .service(traefik())
        .service(frontend())
        .service(backend())
        .service(embedding())
        .service(worker())
        .service(postgres())
        .service(redis())
        .service(prometheus())
        .service(grafana())
        .volume(
            Volume::builder()
                .name("pgdata")
                .size(ByteSize::gib(50))
                .backup(true)
                .build(),
        )
        .volume(
            Volume::builder()
                .name("redisdata")
                .size(ByteSize::gib(5))
                .backup(true)
                .build(),
        )
        .volume(
            Volume::builder()
                .name("promdata")
                .size(ByteSize::gib(20))
                .build(),
        )
        .volume(
            Volume::builder()
                .name("grafanadata")
                .size(ByteSize::gib(1))
                .build(),
        )
        .volume(
            Volume::builder()
                .name("letsencrypt")
                .size(ByteSize::mib(64))
                .build(),
        )
        .network(Network::builder().name("edge").build())
        .network(
            Network::builder()
                .name("data")
                .internal(true)
                .encrypted(true)
                .build(),
        )
        .secret(Secret::from_env("database-url", "DATABASE_URL"))
        .secret(Secret::from_env("postgres-password", "POSTGRES_PASSWORD"))
        .secret(Secret::from_env(
            "grafana-admin-password",
            "GRAFANA_ADMIN_PASSWORD",
        ))
        .secret(Secret::from_env("pgbouncer-userlist", "PGBOUNCER_USERLIST"))
        .secret(Secret::from_env(
            "replication-password",
            "REPLICATION_PASSWORD",
        ))
        .secret(Secret::from_env(
            "backup-access-key-id",
            "BACKUP_ACCESS_KEY_ID",
        ))
        .secret(Secret::from_env(
            "backup-secret-access-key",
            "BACKUP_SECRET_ACCESS_KEY",
        ))
        // "Dump de PostgreSQL verificado en S3": pg_dump -Fc daily, and the Redis volume, kept
        // 14 days; deploy/<phase>/sql/restore.sh restores the newest dump.
        .backups(
            Backups::s3(
                "https://s3.eu-west-1.amazonaws.com",
                "finanzas-backups",
                Env::secret("backup-access-key-id"),
                Env::secret("backup-secret-access-key"),
                "registry.finanzas.example/pg-backup:18",
            )
            .region("eu-west-1")
            .database_url(Env::secret("database-url")),
        )
        .config(Config::file(
            "prometheus-config",
            "examples/finanzas/monitoring/prometheus.yml",
        ))
        // The alert thresholds as a rules file, which prometheus.yml loads with `rule_files`.
        .config(Config::alert_rules("alert-rules"))
        .route(
            Route::builder()
                .host("app.finanzas.example")
                .service("frontend")
                .port(3000)
                .build(),
        )
        .route(
            Route::builder()
                .host("api.finanzas.example")
                .service("backend")
                .port(4000)
                .build(),
        )
        .route(
            Route::builder()
                .host("grafana.finanzas.example")
                .service("grafana")
                .port(3000)
                .build(),
        )
        // Phase 1: one 4 vCPU / 16 GB VPS running Dokploy, which brings its own Traefik.
        .phase(
            known_losses(
                Phase::new("single-node", Engine::Compose)
                    .platform(Platform::Dokploy { isolated: false })
                    .node(node("vps-1", NodeRole::Manager, &[]))
                    .without("traefik")
                    .replicas("backend", 2),
                "compose",
            )
            .accept(
                "escala::compose::dropped",
                "networks[1]",
                "one machine: no traffic crosses a wire",
            ),
            // Plain tables and indexes.
        )
        // Phase 2: a Swarm of one manager and two workers.
        .phase(
            known_losses(Phase::new("swarm", Engine::Swarm), "swarm")
                // CI pushes the images the build sections describe.
                .accept(
                    "escala::swarm::dropped",
                    "services.frontend.build",
                    "CI pushes the image",
                )
                .accept(
                    "escala::swarm::dropped",
                    "services.backend.build",
                    "CI pushes the image",
                )
                .accept(
                    "escala::swarm::dropped",
                    "services.bullmq-worker.build",
                    "CI pushes the image",
                )
                .accept(
                    "escala::swarm::secret_must_exist",
                    "secrets",
                    "PLAN.md lists the `docker secret create` lines",
                )
                // The API and the worker read DATABASE_URL from their environment only.
                .accept(
                    "escala::swarm::secret_in_spec",
                    "services.backend.env.DATABASE_URL",
                    "only the ops team can `docker service inspect` on the managers",
                )
                .accept(
                    "escala::swarm::secret_in_spec",
                    "services.bullmq-worker.env.DATABASE_URL",
                    "only the ops team can `docker service inspect` on the managers",
                )
                // facturas partitioned by year.
                .partitioning()
                .node(node("manager-1", NodeRole::Manager, &[]))
                .node(node("worker-1", NodeRole::Worker, &[("embedding", "true")]))
                .node(node("worker-2", NodeRole::Worker, &[("embedding", "true")]))
                .replicas("frontend", 4)
                .placement(
                    "frontend",
                    Placement::anywhere()
                        .role(NodeRole::Worker)
                        .spread(Spread::Nodes),
                )
                .replicas("backend", 6)
                .placement("backend", Placement::anywhere().spread(Spread::Nodes))
                .replicas("embedding", 2)
                .placement(
                    "embedding",
                    Placement::anywhere().label("embedding", "true"),
                )
                .replicas("bullmq-worker", 3)
                .placement("postgres", Placement::anywhere().role(NodeRole::Manager))
                .placement("redis", Placement::anywhere().role(NodeRole::Manager))
                .placement("traefik", Placement::anywhere().role(NodeRole::Manager))
                .placement("prometheus", Placement::anywhere().role(NodeRole::Manager))
                .placement("grafana", Placement::anywhere().role(NodeRole::Manager)),
        )
        // Phase 3: K3s (which ships Traefik as its ingress controller).
        .phase(
            Phase::new("k3s", Engine::Kubernetes)
                // Sharded by tenant with Citus.
                .citus()
                .node(node("k3s-server", NodeRole::Manager, &[]))
                .node(node(
                    "k3s-agent-1",
                    NodeRole::Worker,
                    &[("embedding", "true")],
                ))
                .node(node(
                    "k3s-agent-2",
                    NodeRole::Worker,
                    &[("embedding", "true")],
                ))
                .without("traefik")
                .replicas("frontend", 2)
                .replicas("backend", 2)
                .autoscale("backend", Autoscale::between(2, 6).cpu(70).memory(80))
                .replicas("embedding", 2)
                .placement(
                    "embedding",
                    Placement::anywhere().label("embedding", "true"),
                )
                .replicas("bullmq-worker", 3),
        )
}
// ANCHOR_END: phases
