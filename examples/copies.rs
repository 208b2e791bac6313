//! A system of `ESCALA_COPIES` copies (default 1,000) of a five-service stack — a routed
//! front end and API, a worker, PostgreSQL and Redis with their volumes and secrets — in a
//! compose (Dokploy), a Swarm and a Kubernetes phase: the load of the whole-process
//! benchmark (`cargo bench --bench whole_process`).
//!
//! ```text
//! ESCALA_COPIES=1000 cargo run --release --example copies -- build --out /dev/shm/deploy
//! ```

use escala::prelude::*;

fn stack(system: System, i: usize) -> System {
    let db = format!("db-{i}");
    let cache = format!("cache-{i}");
    system
        .service(
            Service::builder()
                .name(format!("web-{i}"))
                .image("ghcr.io/acme/web:1.4.2")
                .ports([Port::tcp(3000)])
                .env([
                    ("API_URL", Env::literal(format!("http://api-{i}:8080"))),
                    ("NODE_ENV", Env::literal("production")),
                ])
                .health(HealthCheck::http("/health", 3000))
                .resources(Resources::new().cpu(Cpu::millis(100), Cpu::millis(500)))
                .replicas(2)
                .build(),
        )
        .service(
            Service::builder()
                .name(format!("api-{i}"))
                .image("ghcr.io/acme/api:2.0.1")
                .ports([Port::tcp(8080)])
                .env([
                    ("DATABASE_URL", Env::secret(format!("database-url-{i}"))),
                    ("REDIS_URL", Env::literal(format!("redis://{cache}:6379"))),
                ])
                .depends_on([
                    Dependency::healthy(db.as_str()),
                    Dependency::started(cache.as_str()),
                ])
                .health(HealthCheck::http("/health", 8080))
                .resources(Resources::new().memory(ByteSize::mib(256), ByteSize::mib(512)))
                .replicas(2)
                .build(),
        )
        .service(
            Service::builder()
                .name(format!("worker-{i}"))
                .image("ghcr.io/acme/api:2.0.1")
                .command(["bun", "run", "worker"])
                .env([("REDIS_URL", Env::literal(format!("redis://{cache}:6379")))])
                .depends_on([Dependency::started(cache.as_str())])
                .build(),
        )
        .service(
            Service::builder()
                .name(db.as_str())
                .image("postgres:17")
                .ports([Port::tcp(5432)])
                .env([
                    ("POSTGRES_DB", Env::literal("app")),
                    (
                        "POSTGRES_PASSWORD_FILE",
                        Env::secret_file(format!("db-password-{i}")),
                    ),
                ])
                .mounts([Mount::volume(
                    format!("pgdata-{i}"),
                    "/var/lib/postgresql/data",
                )])
                .health(HealthCheck::command(["pg_isready", "-U", "postgres"]))
                .workload(Workload::Stateful)
                .placement(Placement::anywhere().role(NodeRole::Manager))
                .build(),
        )
        .service(
            Service::builder()
                .name(cache.as_str())
                .image("redis:7.4")
                .ports([Port::tcp(6379)])
                .mounts([Mount::volume(format!("redis-{i}"), "/data")])
                .placement(Placement::anywhere().role(NodeRole::Manager))
                .build(),
        )
        .volume(
            Volume::builder()
                .name(format!("pgdata-{i}"))
                .size(ByteSize::gib(10))
                .build(),
        )
        .volume(Volume::builder().name(format!("redis-{i}")).build())
        .secret(Secret::from_env(
            format!("database-url-{i}"),
            format!("DATABASE_URL_{i}"),
        ))
        .secret(Secret::from_env(
            format!("db-password-{i}"),
            format!("DB_PASSWORD_{i}"),
        ))
        .route(
            Route::builder()
                .host(format!("web-{i}.example.com"))
                .service(format!("web-{i}"))
                .port(3000)
                .build(),
        )
        .route(
            Route::builder()
                .host(format!("api-{i}.example.com"))
                .service(format!("api-{i}"))
                .port(8080)
                .build(),
        )
}

/// The system of `copies` stacks, with a Traefik proxy.
pub fn system(copies: usize) -> System {
    let mut system = System::new("copies").service(
        Service::builder()
            .name("traefik")
            .image("traefik:v3.3")
            .ports([Port::tcp(80).publish(80), Port::tcp(443).publish(443)])
            .build(),
    );
    for i in 0..copies {
        system = stack(system, i);
    }
    system
        .phase(Phase::new("vps", Engine::Compose).platform(Platform::Dokploy { isolated: false }))
        .phase(Phase::new("swarm", Engine::Swarm))
        .phase(Phase::new("k3s", Engine::Kubernetes))
}

fn main() -> std::process::ExitCode {
    let copies = std::env::var("ESCALA_COPIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    escala::run(system(copies))
}
