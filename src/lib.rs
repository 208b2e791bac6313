//! # escala
//!
//! Describe a system **once**, in plain Rust, and compile it to the files each deployment
//! engine reads: docker compose (plain and Dokploy-ready), Docker Swarm stacks, Kubernetes
//! manifests, PostgreSQL/Citus SQL with the migrations between phases, and a `PLAN.md` per
//! phase.
//!
//! Add `escala` to your repository's `Cargo.toml`, write an `infra.rs` whose `main` calls
//! [`run`], and use `cargo run -- build | diff | check`:
//!
//! ```no_run
#![doc = include_str!("../examples/readme/main.rs")]
//! ```
//!
//! Another tool that links escala gets the same files in memory from [`render`]. The model
//! lives in [`escala_core`] (re-exported here), the backends in [`targets`], the command
//! line in [`cli`]. Nothing is written unless the whole model
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

/// Every phase's files, rendered by every target compiled in, in memory: the same bytes
/// `cargo run -- build --out <out>` writes, keyed by `<phase>/<target>/<file>`, with the
/// warnings `build` prints — for a tool that links escala rather than running it.
///
/// `out` is where the files would be written (relative to the current directory, which is
/// the project's root, or absolute): it fixes the relative paths the files hold
/// (`../../../certs/tls.pem`). Config files the model names are read from the current
/// directory, as `build` does. Nothing is written.
///
/// ```
/// use escala::prelude::*;
/// let system = System::new("shop")
///     .service(Service::builder().name("web").image("nginx:1.27").build())
///     .phase(Phase::new("prod", Engine::Compose));
/// let generated = escala::render(&system, "deploy").expect("a valid model");
/// let compose = &generated.files[std::path::Path::new("prod/compose/docker-compose.yml")];
/// assert!(compose.contains("image: \"nginx:1.27\""));
/// ```
///
/// # Errors
///
/// [`cli::GenerateError::Invalid`] with every diagnostic when the model (or a target's view
/// of it) has errors; the other variants are bugs.
pub fn render(
    system: &System,
    out: impl AsRef<std::path::Path>,
) -> Result<cli::Generated, cli::GenerateError> {
    let selection = cli::args::Selection {
        out: out.as_ref().to_owned(),
        phases: Vec::new(),
        targets: Vec::new(),
        deny_warnings: false,
        jobs: None,
    };
    cli::generate(system, &targets::all(), &selection)
}
