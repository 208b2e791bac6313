//! The reference system: a multi-tenant invoicing SaaS ("finanzas") that grows from one
//! Dokploy VPS to a Docker Swarm to K3s.
//!
//! ```text
//! cargo run --example finanzas -- build --out deploy
//! ```

fn main() -> std::process::ExitCode {
    escala::run(finanzas::system())
}

#[path = "system.rs"]
mod finanzas;
