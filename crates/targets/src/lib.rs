//! # escala-targets
//!
//! The backends that turn a checked [`escala_core::System`] into files, one module tree per
//! engine behind [`escala_core::Target`], each behind a cargo feature:
//!
//! - [`compose`] (feature `compose`): `docker-compose.yml` and `.env.example`, plain or
//!   Dokploy-ready.
//! - [`swarm`] (feature `swarm`): `stack.yml` for `docker stack deploy`, plain or in Dokploy's
//!   stack mode.
//! - [`sql`] (feature `sql`): the database plan as ordered, idempotent migrations
//!   (partition DDL, Citus distribution, foreign keys).
//! - [`plan`] (always): `PLAN.md` per phase, the architecture, capacity, cost, the move from
//!   the previous phase and its checklist.
//! - `kubernetes` (feature `kubernetes`): typed k8s-openapi manifests and a kustomization,
//!   Kompose-compatible. k8s-openapi needs exactly one `v1_*` feature, chosen by the final
//!   binary (the `escala` facade picks one by default).
//!
//! Every target is pure (no I/O, no clock) and deterministic, so its output can be
//! snapshot-tested and diffed against what is on disk.
//!
//! ```
//! use escala_core::prelude::*;
//! use escala_core::Target;
//!
//! let system = System::new("shop")
//!     .service(Service::builder().name("web").image("nginx:1.27").build())
//!     .phase(Phase::new("prod", Engine::Compose));
//! // The checked system borrows the model: checking copies nothing.
//! let checked = system.check().expect("a valid model");
//! let plan = checked.plan("prod").expect("declared above");
//! let files = escala_targets::compose::Compose::new().render(&plan).expect("renders");
//! assert!(files.get("docker-compose.yml").is_some());
//! ```

#[cfg(any(feature = "compose", feature = "swarm", feature = "kubernetes"))]
mod alerts;
#[cfg(feature = "compose")]
pub mod compose;
#[cfg(any(feature = "swarm", feature = "kubernetes"))]
mod digest;
#[cfg(any(feature = "compose", feature = "swarm"))]
mod docker;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
pub mod plan;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "swarm")]
pub mod swarm;
#[cfg(any(feature = "compose", feature = "swarm", feature = "kubernetes"))]
// The Kubernetes target alone uses only some of these helpers.
#[cfg_attr(not(any(feature = "compose", feature = "swarm")), allow(dead_code))]
mod usage;
pub mod yaml;

use escala_core::Target;

/// Every target compiled in, in a stable order.
#[allow(clippy::vec_init_then_push)] // each push sits behind its own feature
pub fn all() -> Vec<Box<dyn Target>> {
    #[allow(unused_mut)]
    let mut targets: Vec<Box<dyn Target>> = Vec::new();
    #[cfg(feature = "compose")]
    targets.push(Box::new(compose::Compose::new()));
    #[cfg(feature = "swarm")]
    targets.push(Box::new(swarm::Swarm::new()));
    #[cfg(feature = "kubernetes")]
    targets.push(Box::new(kubernetes::Kubernetes::new()));
    #[cfg(feature = "sql")]
    targets.push(Box::new(sql::Sql::new()));
    targets.push(Box::new(plan::Plan::new()));
    targets
}

/// Every diagnostic code the compiled-in targets can emit, with a summary.
pub fn codes() -> Vec<(&'static str, &'static str)> {
    #[allow(unused_mut)]
    let mut all = Vec::new();
    #[cfg(feature = "compose")]
    all.extend_from_slice(compose::codes::ALL);
    #[cfg(feature = "swarm")]
    all.extend_from_slice(swarm::codes::ALL);
    #[cfg(feature = "kubernetes")]
    all.extend_from_slice(kubernetes::codes::ALL);
    all
}
