//! Phases: the stages a system grows through, each on one engine, each with its own
//! replicas, autoscaling, placement and resources.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::{Autoscale, ByteSize, Cpu, DatabaseStage, Env, Name, NodeRole, Placement, Resources};

/// The engine that runs a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// `docker compose` on one machine.
    Compose,
    /// Docker Swarm (`docker stack deploy`).
    Swarm,
    /// Kubernetes (K3s and others).
    Kubernetes,
}

impl Engine {
    /// `compose`, `swarm` or `kubernetes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Compose => "compose",
            Engine::Swarm => "swarm",
            Engine::Kubernetes => "kubernetes",
        }
    }
}

/// The platform that drives the engine, which changes conventions of the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// The engine's own CLI, by hand or from CI.
    #[default]
    Plain,
    /// Dokploy, which deploys compose files and stacks behind its own Traefik.
    Dokploy {
        /// Dokploy's "isolated deployments": each app on its own network named after it,
        /// instead of the shared `dokploy-network`.
        #[serde(default)]
        isolated: bool,
    },
}

/// A machine the phase runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[builder(doc)]
pub struct Node {
    /// The node's name (its hostname).
    #[builder(setter(into))]
    pub name: Name,
    /// Manager or worker.
    pub role: NodeRole,
    /// Node labels placement constraints can select on.
    #[builder(default, setter(transform = |labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// CPU the node offers.
    pub cpu: Cpu,
    /// Memory the node offers.
    pub memory: ByteSize,
    /// What the node costs a month, in whole currency units (the seed counts $40 a VPS).
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_month: Option<u32>,
    /// Where in `infra.rs` the node was declared (filled by [`Phase::node`]).
    #[builder(default, setter(skip))]
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: Option<crate::Origin>,
}

impl Node {
    /// Whether a service with `placement` may run on this node.
    pub fn satisfies(&self, placement: &Placement) -> bool {
        placement.role.is_none_or(|r| r == self.role)
            && placement
                .labels
                .iter()
                .all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// What a phase changes about one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Override {
    /// The service overridden.
    pub service: Name,
    /// Replicas in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Autoscaling in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// Placement in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Resources in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// The image in this phase (a Citus image where the database is distributed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The command (the image's `CMD`, Kubernetes' `args`) in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The entrypoint (Kubernetes' `command`) in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Environment variables added or replaced in this phase, in order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, Env>,
    /// Where in `infra.rs` the phase first overrode the service (filled by the builder
    /// methods), for diagnostics.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: Option<crate::Origin>,
}

/// A deployment stage: one engine, its nodes, and per-service overrides.
///
/// ```
/// use escala_core::prelude::*;
/// let swarm = Phase::new("swarm", Engine::Swarm)
///     .replicas("backend", 6)
///     .placement("postgres", Placement::anywhere().role(NodeRole::Manager));
/// assert_eq!(swarm.overrides.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Phase {
    /// The phase's name; also the first directory of its output.
    pub name: Name,
    /// The engine that runs it.
    pub engine: Engine,
    /// The platform that drives the engine.
    #[serde(default)]
    pub platform: Platform,
    /// The machines it runs on (used to check placement and capacity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
    /// Per-service changes, in the order they were declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    /// Services this phase does not run (for example Traefik where the platform brings its
    /// own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<Name>,
    /// What the phase turns on in the database plan.
    #[serde(default)]
    pub database: DatabaseStage,
    /// Losses a target reports for this phase that the team has acknowledged: they are no
    /// longer printed (nor fatal with `--deny-warnings`), and `PLAN.md` still lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<Accepted>,
    /// The ingress controller of a Kubernetes phase (builder method: `.ingress(..)`): the
    /// class its Ingresses name, and the pods its NetworkPolicies let in. Unset, K3s's
    /// built-in Traefik ([`IngressController::k3s_traefik`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressController>,
    /// The cert-manager `ClusterIssuer` of a Kubernetes phase's TLS routes that name none
    /// (builder method: `.cert_issuer(..)`; default `letsencrypt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_issuer: Option<String>,
    /// Kompose-compatible output for a Kubernetes phase (builder method:
    /// `.kompose_compat()`): escala's additions left out, to compare with `kompose convert`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub kompose_compat: bool,
    /// The Kubernetes namespace of this phase's objects (builder method: `.namespace(..)`).
    /// Unset, the system's name; in Kompose-compatible output, no namespace at all (like
    /// `kompose convert` without `-n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The ingress controller that serves a Kubernetes phase's routes: the `ingressClassName` of
/// its Ingresses, and where its pods run, so the NetworkPolicies (which deny all other
/// ingress) let them reach the routed services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngressController {
    /// The ingress class (`traefik`, `nginx`).
    pub class: String,
    /// The namespace the controller's pods run in.
    pub namespace: String,
    /// Labels that select the controller's pods in that namespace.
    pub pod_labels: IndexMap<String, String>,
}

impl IngressController {
    /// K3s's built-in Traefik: class `traefik`, pods labelled
    /// `app.kubernetes.io/name=traefik` in `kube-system`. The default.
    pub fn k3s_traefik() -> Self {
        IngressController::new(
            "traefik",
            "kube-system",
            [("app.kubernetes.io/name", "traefik")],
        )
    }
    /// Traefik installed by its Helm chart into `namespace` (the chart's pods carry
    /// `app.kubernetes.io/name=traefik`).
    pub fn traefik(namespace: impl Into<String>) -> Self {
        IngressController::new(
            "traefik",
            namespace,
            [("app.kubernetes.io/name", "traefik")],
        )
    }
    /// ingress-nginx as its manifests and Helm chart install it: class `nginx`, pods labelled
    /// `app.kubernetes.io/name=ingress-nginx` in `ingress-nginx`.
    pub fn nginx() -> Self {
        IngressController::new(
            "nginx",
            "ingress-nginx",
            [("app.kubernetes.io/name", "ingress-nginx")],
        )
    }
    /// Any controller: its class, its pods' namespace and the labels that select them.
    pub fn new(
        class: impl Into<String>,
        namespace: impl Into<String>,
        pod_labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        IngressController {
            class: class.into(),
            namespace: namespace.into(),
            pod_labels: pod_labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
    /// The controller the common classes are installed as: `traefik` (K3s's), `nginx`;
    /// `None` for any other class, whose pods escala cannot guess.
    pub fn for_class(class: &str) -> Option<Self> {
        match class {
            "traefik" => Some(IngressController::k3s_traefik()),
            "nginx" => Some(IngressController::nginx()),
            _ => None,
        }
    }
}

/// An acknowledged loss: a diagnostic code, and the model path it is reported at (or any path
/// under it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Accepted {
    /// The code, `escala::swarm::dropped`.
    pub code: String,
    /// The path, or a prefix of it: `services.backend.readiness`, `services.backend`.
    pub path: String,
    /// Why it is acceptable, for the reader of `PLAN.md`.
    pub reason: String,
}

impl Accepted {
    /// Whether `d` is this loss.
    pub fn covers(&self, d: &crate::Diagnostic) -> bool {
        d.code == self.code
            && d.path.strip_prefix(self.path.as_str()).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
    }
}

impl Phase {
    /// A phase named `name` on `engine`, run by the engine's own CLI.
    pub fn new(name: impl Into<Name>, engine: Engine) -> Self {
        Phase {
            name: name.into(),
            engine,
            platform: Platform::Plain,
            nodes: Vec::new(),
            overrides: Vec::new(),
            without: Vec::new(),
            database: DatabaseStage::default(),
            accepted: Vec::new(),
            ingress: None,
            cert_issuer: None,
            kompose_compat: false,
            namespace: None,
        }
    }
    /// The Kubernetes namespace of this phase's objects (default: the system's name). In
    /// Kompose-compatible output it is what `kompose convert -n` sets.
    ///
    /// ```
    /// use escala_core::prelude::*;
    /// let k8s = Phase::new("k8s", Engine::Kubernetes).namespace("web");
    /// assert_eq!(k8s.namespace.as_ref().map(|n| n.as_str()), Some("web"));
    /// ```
    pub fn namespace(mut self, namespace: impl Into<Name>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
    /// The cert-manager `ClusterIssuer` of this Kubernetes phase's TLS routes that name
    /// none (default `letsencrypt`).
    pub fn cert_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.cert_issuer = Some(issuer.into());
        self
    }
    /// Kompose-compatible output in this Kubernetes phase: no NetworkPolicies,
    /// PodDisruptionBudgets, security defaults, dependency init containers or HTTPS
    /// redirect, to compare side by side with `kompose convert` (secrets stay references).
    pub fn kompose_compat(mut self) -> Self {
        self.kompose_compat = true;
        self
    }
    /// The ingress controller of a Kubernetes phase (default: K3s's Traefik).
    ///
    /// ```
    /// use escala_core::prelude::*;
    /// let k8s = Phase::new("k8s", Engine::Kubernetes).ingress(IngressController::nginx());
    /// assert_eq!(k8s.ingress.map(|i| i.class).as_deref(), Some("nginx"));
    /// ```
    pub fn ingress(mut self, controller: IngressController) -> Self {
        self.ingress = Some(controller);
        self
    }
    /// Acknowledges a loss a target reports in this phase (as `#[allow]` does in Rust): the
    /// code, the model path (or a prefix of it) and why it is acceptable.
    pub fn accept(
        mut self,
        code: impl Into<String>,
        path: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        self.accepted.push(Accepted {
            code: code.into(),
            path: path.into(),
            reason: reason.into(),
        });
        self
    }
    /// The acknowledgement that covers `d`, if any.
    pub fn accepted_loss(&self, d: &crate::Diagnostic) -> Option<&Accepted> {
        self.accepted.iter().find(|a| a.covers(d))
    }
    /// Turns on range partitioning of the tables that declare it.
    pub fn partitioning(mut self) -> Self {
        self.database.partitioning = true;
        self
    }
    /// Turns on Citus distribution of the tables that declare it (and partitioning).
    pub fn citus(mut self) -> Self {
        self.database.partitioning = true;
        self.database.distribution = true;
        self
    }
    /// Citus on one machine: the coordinator also holds the shards.
    pub fn citus_single_node(mut self) -> Self {
        self = self.citus();
        self.database.single_node_citus = true;
        self
    }
    /// Leaves `service` out of this phase.
    pub fn without(mut self, service: impl Into<Name>) -> Self {
        self.without.push(service.into());
        self
    }
    /// Whether this phase runs `service`.
    pub fn runs(&self, service: &Name) -> bool {
        !self.without.contains(service)
    }
    /// Sets the platform (for example Dokploy).
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }
    /// Declares a node, remembering where in the source it was declared.
    #[track_caller]
    pub fn node(mut self, mut node: Node) -> Self {
        if node.origin.is_none() {
            node.origin = Some(crate::Origin::caller());
        }
        self.nodes.push(node);
        self
    }
    #[track_caller]
    fn entry(&mut self, service: Name) -> &mut Override {
        let at = match self.overrides.iter().position(|o| o.service == service) {
            Some(at) => at,
            None => {
                self.overrides.push(Override {
                    service,
                    replicas: None,
                    autoscale: None,
                    placement: None,
                    resources: None,
                    image: None,
                    command: None,
                    entrypoint: None,
                    env: IndexMap::new(),
                    origin: Some(crate::Origin::caller()),
                });
                self.overrides.len() - 1
            }
        };
        &mut self.overrides[at]
    }
    /// Runs `n` replicas of `service` in this phase.
    #[track_caller]
    pub fn replicas(mut self, service: impl Into<Name>, n: u32) -> Self {
        self.entry(service.into()).replicas = Some(n);
        self
    }
    /// Autoscales `service` in this phase.
    #[track_caller]
    pub fn autoscale(mut self, service: impl Into<Name>, autoscale: Autoscale) -> Self {
        self.entry(service.into()).autoscale = Some(autoscale);
        self
    }
    /// Places `service` in this phase.
    #[track_caller]
    pub fn placement(mut self, service: impl Into<Name>, placement: Placement) -> Self {
        self.entry(service.into()).placement = Some(placement);
        self
    }
    /// Gives `service` these resources in this phase.
    #[track_caller]
    pub fn resources(mut self, service: impl Into<Name>, resources: Resources) -> Self {
        self.entry(service.into()).resources = Some(resources);
        self
    }
    /// Runs `service` from `image` in this phase, instead of two copies of the service and
    /// `without` (Traefik's swarm build, a Citus image where the database is distributed).
    #[track_caller]
    pub fn image(mut self, service: impl Into<Name>, image: impl Into<String>) -> Self {
        self.entry(service.into()).image = Some(image.into());
        self
    }
    /// Runs `service` with this command (`CMD`) in this phase (Traefik's provider flags, say).
    #[track_caller]
    pub fn command(
        mut self,
        service: impl Into<Name>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.entry(service.into()).command = Some(args.into_iter().map(Into::into).collect());
        self
    }
    /// Runs `service` with this entrypoint in this phase.
    #[track_caller]
    pub fn entrypoint(
        mut self,
        service: impl Into<Name>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.entry(service.into()).entrypoint = Some(args.into_iter().map(Into::into).collect());
        self
    }
    /// Sets (adds or replaces) the environment variable `key` of `service` in this phase;
    /// checked like the service's own.
    ///
    /// ```
    /// use escala_core::prelude::*;
    /// let swarm = Phase::new("swarm", Engine::Swarm)
    ///     .image("postgres", "citusdata/citus:13.2")
    ///     .env("backend", "DB_POOL_SIZE", Env::literal("20"));
    /// let o = swarm.override_of(&"postgres".into()).expect("override");
    /// assert_eq!(o.image.as_deref(), Some("citusdata/citus:13.2"));
    /// ```
    #[track_caller]
    pub fn env(mut self, service: impl Into<Name>, key: impl Into<String>, value: Env) -> Self {
        self.entry(service.into()).env.insert(key.into(), value);
        self
    }
    /// The override of `service`, if any.
    pub fn override_of(&self, service: &Name) -> Option<&Override> {
        self.overrides.iter().find(|o| &o.service == service)
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, Phase};
    use crate::{Diagnostic, Severity};

    fn at(code: &str, path: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code: code.into(),
            path: path.into(),
            message: String::new(),
            help: None,
            origin: None,
        }
    }

    #[test]
    fn an_accepted_loss_covers_its_path_and_what_is_under_it_only() {
        let phase = Phase::new("swarm", Engine::Swarm).accept("escala::x", "services.api", "known");
        for covered in ["services.api", "services.api.readiness", "services.api[2]"] {
            assert!(
                phase.accepted_loss(&at("escala::x", covered)).is_some(),
                "{covered}"
            );
        }
        for not in [
            "services.api2",
            "services.ap",
            "services",
            "services.apix.readiness",
        ] {
            assert!(
                phase.accepted_loss(&at("escala::x", not)).is_none(),
                "{not}"
            );
        }
        assert!(phase
            .accepted_loss(&at("escala::y", "services.api"))
            .is_none());
    }
}
