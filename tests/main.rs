//! escala's integration tests, one binary (ripgrep's layout).
//!
//! - `model`: the builder API and serde round trips
//! - `validate`: one test per check rule, asserting its code
//! - `targets`: snapshots of every fixture × target, schema validation, determinism
//! - `kubernetes`: Kompose-compatibility rules, the reference manifests, typed round trips
//! - `sql`: the database plan's rules, and its SQL on a real PostgreSQL server
//! - `growth`: a database grown phase by phase equals a fresh install; partition upkeep
//! - `growth_files`: the growth path's files and rules, without a server
//! - `services`: database services on real programs (backups through a real S3 server)
//! - `swarm`: the Swarm target's checks and the reference stack file
//! - `import`: compose files → infra.rs (golden files, round trip, never panics)
//! - `cli`: build / diff / check against a real directory, diagnostics output
//! - `props`: proptest invariants
//! - `conformance`: real consumers (`ESCALA_CONFORMANCE=1`)
//! - `ui`: compile errors users see (trybuild)
//! - `docs`: the README shows the example that compiles

mod support;
#[path = "fixtures/systems.rs"]
mod systems;

mod cli;
mod conformance;
mod deploy;
mod docs;
mod growth;
mod growth_files;
mod import;
mod kompose;
mod kubernetes;
mod model;
mod props;
mod services;
mod sql;
mod swarm;
mod targets;
mod ui;
mod validate;
