//! # escala
//!
//! Describe a system **once**, in plain Rust, and compile it to the files each deployment
//! engine reads: docker compose (plain and Dokploy-ready) today; Swarm stacks, Kubernetes
//! manifests and Citus/partitioning SQL as their targets land.
//!
//! Add `escala` to your repository's `Cargo.toml`, write an `infra.rs` whose `main` calls
//! [`run`], and use `cargo run -- build | diff | check`:
//!
//! ```no_run
#![doc = include_str!("../examples/readme/main.rs")]
//! ```
//!
//! The model lives in [`escala_core`] (re-exported here), the backends in
//! [`targets`], the command line in [`cli`]. Nothing is written unless the whole model
//! checks clean; every problem is reported at once, with a code, a model path and a fix.

pub use escala_cli as cli;
pub use escala_core::*;
pub use escala_targets as targets;

/// Runs a user's `infra.rs`: `build`, `diff` or `check`, from the process arguments, with
/// every target compiled in. Returns the process exit code (0 ok, 1 findings or drift,
/// 2 usage or internal error).
pub fn run(system: System) -> std::process::ExitCode {
    escala_cli::run(system)
}
