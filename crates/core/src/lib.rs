//! # escala-core
//!
//! The target-neutral model of a system, its checks, and the [`Target`] trait backends
//! implement.
//!
//! A user builds a [`System`] in plain Rust (services, volumes, networks, secrets, configs,
//! routes, phases), calls [`System::check`] to get every problem at once as
//! [`Diagnostics`], and hands the resulting [`Checked`] value to targets, which render each
//! [`PhasePlan`] into files. This crate does no I/O and knows nothing of any engine's file
//! format; that is the job of `escala-targets`.
//!
//! ```
//! use escala_core::prelude::*;
//!
//! let system = System::new("shop")
//!     .service(
//!         Service::builder()
//!             .name("web")
//!             .image("nginx:1.27")
//!             .ports([Port::tcp(80)])
//!             .depends_on([Dependency::healthy("db")])
//!             .build(),
//!     )
//!     .phase(Phase::new("prod", Engine::Compose));
//!
//! let errors = system.check().unwrap_err();
//! assert_eq!(errors.codes(), ["escala::ref::unknown"]);
//! ```

pub mod alert;
pub mod backup;
pub mod cadence;
pub mod capacity;
pub mod checked;
pub mod cluster;
pub mod codes;
mod database_node;
pub mod diag;
pub mod in_phase;
pub mod name;
pub mod network;
pub mod partition;
pub mod phase;
pub mod pooler;
pub mod replica;
pub mod route;
pub mod secret;
pub mod service;
pub mod suggest;
pub mod system;
pub mod table;
pub mod target;
pub mod units;
mod validate;
pub mod volume;

pub use alert::{Alerts, Threshold};
pub use backup::Backups;
pub use checked::{Checked, FileContent, PhasePlan};
pub use cluster::CitusCluster;
pub use diag::{At, Diagnostic, Diagnostics, Origin, Severity};
pub use in_phase::InPhase;
pub use name::{Name, NameError};
pub use network::Network;
pub use partition::{Date, Every, Partitioning, Retention, Span};
pub use phase::{Accepted, Engine, IngressController, Node, Override, Phase, Platform};
pub use pooler::{PoolMode, Pooler};
pub use replica::Replica;
pub use route::{Route, Tls};
pub use secret::{looks_secret, Config, ConfigSource, Secret, SecretSource};
pub use service::{
    sysctl_is_namespaced, Autoscale, Build, Condition, ConfigMount, Dependency, Env, Exposure,
    HealthCheck, InitStep, Mount, MountSource, NodeRole, Placement, Port, Probe, Protocol,
    PullPolicy, Resources, Restart, Service, Spread, Ulimit, Workload, ULIMITS,
};
pub use system::System;
pub use table::{
    Action, Column, Database, DatabaseStage, Distribution, ForeignKey, Ident, Identity, Index,
    SqlType, Table, Upkeep, UPKEEP_SERVICE,
};
pub use target::{header, Artifacts, Target, TargetError, Unappliable, GENERATED_MARKER};
pub use units::{ByteSize, Cpu, Duration, UnitError};
pub use volume::{Access, Volume};

/// Everything an `infra.rs` needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Access, Action, Alerts, Autoscale, Backups, Build, ByteSize, CitusCluster, Column,
        Condition, Config, ConfigMount, Cpu, Database, Dependency, Distribution, Duration, Engine,
        Env, Exposure, ForeignKey, HealthCheck, IngressController, InitStep, Mount, MountSource,
        Network, Node, NodeRole, Partitioning, Phase, Placement, Platform, PoolMode, Pooler, Port,
        Protocol, PullPolicy, Resources, Restart, Route, Secret, Service, Spread, SqlType, System,
        Table, Threshold, Tls, Ulimit, Volume, Workload,
    };
}
