//! The README's 20-line `infra.rs`: a web app and its database on Dokploy.

use escala::prelude::*;

fn main() -> std::process::ExitCode {
    escala::run(system()) // cargo run -- build | diff | check
}

/// A web app behind Traefik and its database, deployed with Dokploy.
#[rustfmt::skip]
pub fn system() -> System {
    System::new("shop")
        .service(Service::builder().name("web").build_from(Build::new("./web"))
            .ports([Port::tcp(3000)]).health(HealthCheck::http("/health", 3000))
            .depends_on([Dependency::healthy("db")])
            .env([("DATABASE_URL", Env::secret("database-url"))]).build())
        .service(Service::builder().name("db").image("postgres:17")
            .mounts([Mount::volume("pgdata", "/var/lib/postgresql/data")])
            .health(HealthCheck::command(["pg_isready", "-U", "postgres"])).build())
        .volume(Volume::builder().name("pgdata").backup(true).build())
        .secret(Secret::from_env("database-url", "DATABASE_URL"))
        .route(Route::builder().host("shop.example.com").service("web").port(3000).build())
        .phase(Phase::new("prod", Engine::Compose).platform(Platform::Dokploy { isolated: false }))
}
