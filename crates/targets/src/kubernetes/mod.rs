//! The Kubernetes target: typed k8s-openapi objects, one file per object, a kustomization.
//!
//! For every phase whose engine is [`Engine::Kubernetes`] it writes, under
//! `deploy/<phase>/kubernetes/`:
//!
//! - a `Namespace` named after the system;
//! - a workload per service, by workload kind — `Deployment` (stateless), `StatefulSet` with a
//!   headless Service and claim templates (stateful), `DaemonSet` (one per node), `CronJob`
//!   (scheduled), or a bare `Pod` for a stateless service that restarts `Never`/`OnFailure`,
//!   as Kompose does;
//! - a `Service` per service with ports, `PersistentVolumeClaim`s for shared volumes,
//!   `ConfigMap`s for configs, HPAs, PodDisruptionBudgets, one `Ingress` per route host (TLS
//!   through cert-manager), NetworkPolicies derived from `depends_on` and the routes, and a
//!   `PrometheusRule` with the system's alert thresholds;
//! - `kustomization.yaml` listing every file (`kubectl apply -k DIR`);
//! - `secrets.example`: the `kubectl create secret` commands for the Secrets the manifests
//!   reference. No Secret object, and so no secret value, is ever written.
//!
//! Names, the `io.kompose.service` labels and selectors, port naming, PVC names and the choice
//! of controller follow Kompose 1.38, so a team moving from `kompose convert` sees a small,
//! explainable diff. [`Kubernetes::compat`] drops escala's additions (NetworkPolicies, PDBs,
//! security defaults, dependency init containers, the HTTP → HTTPS redirect) for a
//! side-by-side comparison.

mod in_place;
mod monitoring;
mod network;
mod pod;
mod workload;

use foldhash::{HashMapExt, HashSetExt};
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde::Serialize;

use escala_core::{
    header, Access, Artifacts, ConfigSource, Diagnostics, Engine, FileContent, IngressController,
    MountSource, Name, Phase, PhasePlan, SecretSource, System, Target, TargetError, Unappliable,
    Volume, Workload,
};

/// What the ConfigMap of `config` holds, as text: the file or inline content, the alert rules
/// (for a Prometheus without the Operator, which reads no PrometheusRule), or the key/value
/// pairs one per line. `None` when a file could not be read (`check` reports it).
pub(super) fn config_content(
    plan: &PhasePlan<'_>,
    config: &escala_core::Config,
) -> Result<Option<String>, TargetError> {
    let text = |c: FileContent<'_>| match c {
        FileContent::Text(t) => t.to_owned(),
        FileContent::Binary(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    };
    Ok(match &config.source {
        ConfigSource::File(path) => plan.content(path).map(text),
        ConfigSource::Dir(path) => {
            let files = plan.files_in(path);
            (!files.is_empty()).then(|| {
                files
                    .into_iter()
                    .map(|(name, c)| format!("{name}\0{}\0", text(c)))
                    .collect()
            })
        }
        ConfigSource::Inline(content) => Some(content.clone()),
        ConfigSource::AlertRules => Some(crate::alerts::rules_file(
            "kubernetes",
            plan.system(),
            true,
        )?),
        ConfigSource::Values(values) => {
            Some(values.iter().map(|(k, v)| format!("{k}={v}\n")).collect())
        }
    })
}

/// The key a one-file config has in its ConfigMap: the basename of its first mount's target
/// (Kompose-compatible output: of the file itself, as Kompose names it).
pub(crate) fn config_data_key(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    config: &escala_core::Config,
) -> String {
    if let (true, ConfigSource::File(path)) = (k.compat, &config.source) {
        return config_key(path);
    }
    plan.services()
        .iter()
        .flat_map(|s| s.configs.iter())
        .find(|c| c.config == config.name)
        .map(|c| config_key(&c.target))
        .unwrap_or_else(|| config.name.to_string())
}

/// Diagnostic codes of the kubernetes target.
pub mod codes {
    /// A model feature Kubernetes output does not express.
    pub const DROPPED: &str = "escala::kubernetes::dropped";
    /// A config file the model names could not be read, so no ConfigMap can hold it.
    pub const MISSING_FILE: &str = "escala::kubernetes::missing_file";
    /// A bind mount: a host path has no portable equivalent in a cluster.
    pub const BIND_MOUNT: &str = "escala::kubernetes::bind_mount";
    /// A bind mount of a project path (relative), which no node has.
    pub const PROJECT_BIND: &str = "escala::kubernetes::project_bind_mount";
    /// An object over Kubernetes' size limit.
    pub const TOO_LARGE: &str = "escala::kubernetes::too_large";
    /// A workload over what a client-side `kubectl apply` takes (256 KiB).
    pub const CLIENT_APPLY: &str = "escala::kubernetes::too_large_for_client_apply";
    /// A sysctl the kubelet refuses unless told to allow it.
    pub const UNSAFE_SYSCTL: &str = "escala::kubernetes::unsafe_sysctl";
    /// Routes through an ingress controller whose pods escala cannot know.
    pub const INGRESS_CONTROLLER: &str = "escala::kubernetes::unknown_ingress_controller";
    /// Every code with its summary.
    pub const ALL: &[(&str, &str)] = &[
        (TOO_LARGE, "a ConfigMap would be over Kubernetes' 1 MiB limit, or a workload over its 1.5 MiB per object"),
        (CLIENT_APPLY, "a workload's values make it larger than a client-side `kubectl apply` takes (256 KiB): apply it on the server"),
        (UNSAFE_SYSCTL, "a sysctl outside Kubernetes' safe set: the kubelet refuses the pod unless started with `--allowed-unsafe-sysctls`"),
        (INGRESS_CONTROLLER, "the phase's ingress class (or a route's own) is not one escala knows, so its NetworkPolicies cannot let the controller's pods in"),
        (DROPPED, "Kubernetes output does not express a feature of the model (placement by node role, a dependency that is not waited for, a published host port)"),
        (MISSING_FILE, "a config file could not be read while building, so its ConfigMap cannot be written"),
        (BIND_MOUNT, "a bind mount becomes a hostPath volume, tied to whatever node the pod lands on"),
        (PROJECT_BIND, "a bind mount of a path in the project (relative) cannot become a hostPath: no node has the project's files"),
    ];
}

/// The most bytes the API server stores for one object (etcd's request limit), and the most a
/// client-side `kubectl apply` takes (the object is copied into the
/// `last-applied-configuration` annotation; annotations hold 256 KiB in all). Both seen on a
/// kube-apiserver v1.33.
const OBJECT_MAX: usize = 1_572_864;
const CLIENT_APPLY_MAX: usize = 262_144;
/// Room for the rest of a workload's manifest beside its values (names, probes, volumes): the
/// thresholds are approximate by about this much.
const MANIFEST_ROOM: usize = 1024;

/// The sysctls every kubelet allows (Kubernetes 1.32's safe set); others need
/// `--allowed-unsafe-sysctls`.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

/// The label Kompose puts on every object and uses as the selector.
pub(crate) const SERVICE_LABEL: &str = "io.kompose.service";

/// The Kubernetes backend and its options.
#[derive(Clone, Debug)]
pub struct Kubernetes {
    compat: bool,
    ingress_class: String,
    default_issuer: String,
}

impl Default for Kubernetes {
    fn default() -> Self {
        Kubernetes {
            compat: false,
            ingress_class: "traefik".into(),
            default_issuer: "letsencrypt".into(),
        }
    }
}

impl Kubernetes {
    /// The Kubernetes target with K3s defaults (Traefik ingress class, a cert-manager
    /// `ClusterIssuer` named `letsencrypt`).
    pub fn new() -> Self {
        Self::default()
    }
    /// Drops escala's additions (NetworkPolicies, PodDisruptionBudgets, security defaults,
    /// dependency init containers, the HTTP → HTTPS redirect) to compare side by side with
    /// `kompose convert`.
    pub fn compat(mut self, on: bool) -> Self {
        self.compat = on;
        self
    }
    /// The ingress class of every Ingress when the phase names no ingress controller
    /// (default `traefik`, K3s's built-in controller). Prefer
    /// [`Phase::ingress`](escala_core::Phase::ingress), which also says where the
    /// controller's pods run.
    pub fn ingress_class(mut self, class: impl Into<String>) -> Self {
        self.ingress_class = class.into();
        self
    }
    /// The ingress controller of `plan`'s phase: the phase's own, else the one the target's
    /// class is usually installed as (`None` for a class escala does not know).
    pub(crate) fn controller(&self, plan: &PhasePlan<'_>) -> Option<IngressController> {
        plan.phase()
            .ingress
            .clone()
            .or_else(|| IngressController::for_class(&self.ingress_class))
    }
    /// The controller that serves `route` in `plan`: the phase's, unless the route names
    /// another ingress class (then the known controller of that class, if any).
    pub(crate) fn route_controller(
        &self,
        plan: &PhasePlan<'_>,
        route: &escala_core::Route,
    ) -> Option<IngressController> {
        match &route.ingress_class {
            Some(class) if *class != self.class(plan) => IngressController::for_class(class),
            _ => self.controller(plan),
        }
    }
    /// The ingress class of `plan`'s Ingresses.
    pub(crate) fn class(&self, plan: &PhasePlan<'_>) -> String {
        plan.phase()
            .ingress
            .as_ref()
            .map_or_else(|| self.ingress_class.clone(), |i| i.class.clone())
    }
    /// The cert-manager `ClusterIssuer` used when a route names none (default `letsencrypt`).
    pub fn default_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.default_issuer = issuer.into();
        self
    }
}

/// Labels `{io.kompose.service: name}`.
pub(crate) fn service_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(SERVICE_LABEL.to_owned(), name.to_owned())])
}

/// The namespace of `plan`'s objects: the phase's own, else the system's name — except in
/// Kompose-compatible output, which (like `kompose convert` without `-n`) names one only
/// when the phase does. `compat` is the target's own switch; the phase's is read here.
pub(crate) fn namespace(plan: &PhasePlan<'_>, compat: bool) -> Option<String> {
    namespace_of(plan.system(), plan.phase(), compat)
}

/// [`namespace`] for any phase of `system` (the plan of a move reads the previous phase's).
pub(crate) fn namespace_of(system: &System, phase: &Phase, compat: bool) -> Option<String> {
    match &phase.namespace {
        Some(ns) => Some(ns.to_string()),
        None if compat || phase.kompose_compat => None,
        None => Some(system.name.to_string()),
    }
}

/// Metadata with a name, the namespace and Kompose's label.
pub(crate) fn meta(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    name: &str,
    label: Option<&str>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace(plan, k.compat),
        labels: label.map(service_labels),
        ..ObjectMeta::default()
    }
}

/// One object to write: its file name (`<name>-<kind>.yaml`, as Kompose names them) and its
/// file's text (header, then YAML).
pub(crate) struct Manifest {
    pub file: String,
    pub text: String,
}

impl Manifest {
    pub(crate) fn new<T: Serialize>(
        name: &str,
        kind: &str,
        object: &T,
    ) -> Result<Self, TargetError> {
        // One manifest per object, so made without `format!`: the name, then the kind in
        // lowercase, in one allocation.
        let mut file = String::with_capacity(name.len() + kind.len() + ".yaml".len() + 1);
        file.push_str(name);
        file.push('-');
        file.extend(kind.chars().map(|c| c.to_ascii_lowercase()));
        file.push_str(".yaml");
        let text = crate::yaml::to_string_after(manifest_header(), object).map_err(|e| {
            TargetError::Serialize {
                target: "kubernetes",
                path: file.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(Manifest { file, text })
    }
}

/// The header of every Kubernetes manifest ([`header`]), made once.
fn manifest_header() -> &'static str {
    static HEADER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HEADER.get_or_init(|| header("kubernetes"))
}

/// The volumes that become claim templates of a StatefulSet: mounted by exactly one
/// service of the plan, which is stateful.
pub(crate) fn claim_template_volumes<'a>(plan: &'a PhasePlan<'_>) -> BTreeMap<&'a Name, &'a Name> {
    // Per volume: the services that write to it, and whether others only read it.
    let mut writers: BTreeMap<&Name, Vec<&escala_core::Service>> = BTreeMap::new();
    let mut readers: BTreeMap<&Name, bool> = BTreeMap::new();
    for s in plan.services() {
        for m in &s.mounts {
            if let MountSource::Volume(v) = &m.source {
                if m.read_only {
                    readers.insert(v, true);
                    writers.entry(v).or_default();
                } else {
                    let list = writers.entry(v).or_default();
                    if !list.iter().any(|x| x.name == s.name) {
                        list.push(s);
                    }
                }
            }
        }
    }
    writers
        .into_iter()
        .filter_map(|(v, list)| match list.as_slice() {
            // A StatefulSet's own claim; a reader (a backup job) mounts its only replica's
            // claim, on the same node.
            [only]
                if only.workload == Workload::Stateful
                    && (!readers.contains_key(v) || only.replicas == 1) =>
            {
                Some((v, &only.name))
            }
            _ => None,
        })
        .collect()
}

/// A claim for `volume`, named after it (Kompose's rule); size defaults to Kompose's 100Mi.
pub(crate) fn claim(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    volume: &Volume,
    read_only: bool,
    template: bool,
) -> PersistentVolumeClaim {
    let access = match (volume.access, read_only) {
        (Access::ReadWriteMany, _) => "ReadWriteMany",
        (Access::ReadOnlyMany, _) | (_, true) => "ReadOnlyMany",
        (Access::SingleWriter, false) => "ReadWriteOnce",
    };
    let size = volume
        .size
        .map_or_else(|| "100Mi".to_owned(), |s| s.to_kubernetes());
    let mut metadata = meta(k, plan, volume.name.as_str(), Some(volume.name.as_str()));
    if template {
        // Claim templates take the StatefulSet's namespace.
        metadata.namespace = None;
    }
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access.to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(size))])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: volume.storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// The file name a config gets inside its ConfigMap: the basename of its mount target.
pub(crate) fn config_key(target: &str) -> String {
    target.rsplit('/').next().unwrap_or(target).to_owned()
}

impl Target for Kubernetes {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn accepts(&self, phase: &Phase) -> bool {
        phase.engine == Engine::Kubernetes
    }

    fn check(&self, plan: &PhasePlan<'_>, diags: &mut Diagnostics) {
        self.for_phase(plan.phase()).check_phase(plan, diags);
    }

    fn unappliable(&self, path: &str, old: &str, new: &str) -> Vec<Unappliable> {
        if path.ends_with(".yaml") {
            in_place::unappliable(old, new)
        } else {
            Vec::new()
        }
    }

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let mut artifacts = Artifacts::new();
        self.render_into(plan, &mut |path, content| artifacts.insert(path, content))?;
        Ok(artifacts)
    }
    fn render_into(
        &self,
        plan: &PhasePlan<'_>,
        emit: &mut dyn FnMut(String, String),
    ) -> Result<(), TargetError> {
        self.for_phase(plan.phase()).render_phase(plan, emit)
    }
}

impl Kubernetes {
    /// This target with the options `phase` sets on itself (compat mode, issuer), which win
    /// over the target's own.
    fn for_phase(&self, phase: &Phase) -> Kubernetes {
        let mut k = self.clone();
        k.compat |= phase.kompose_compat;
        if let Some(issuer) = &phase.cert_issuer {
            k.default_issuer = issuer.clone();
        }
        k
    }

    fn check_phase(&self, plan: &PhasePlan<'_>, diags: &mut Diagnostics) {
        let p = &plan.phase().name;
        if !self.compat && !plan.routes().is_empty() && self.controller(plan).is_none() {
            let class = self.class(plan);
            diags
                .error(codes::INGRESS_CONTROLLER, "routes", format!("phase `{p}` routes through the ingress class `{class}`, whose controller escala does not know, so its NetworkPolicies (which deny all other ingress) cannot let the controller reach the routed services"))
                .help(format!("name its pods on the phase: `.ingress(IngressController::new(\"{class}\", \"<its namespace>\", [(\"app.kubernetes.io/name\", \"<its pods' label>\")]))`"));
        }
        if !self.compat {
            let phase_class = self.class(plan);
            for (i, r) in plan.system().routes.iter().enumerate() {
                let Some(class) = r.ingress_class.as_ref().filter(|c| **c != phase_class) else {
                    continue;
                };
                if plan.routes().iter().any(|x| std::ptr::eq(*x, r))
                    && IngressController::for_class(class).is_none()
                {
                    diags
                        .error(codes::INGRESS_CONTROLLER, format!("routes[{i}].ingress_class"), format!("route `{}` goes through the ingress class `{class}` in phase `{p}`, whose controller escala does not know, so the NetworkPolicies (which deny all other ingress) cannot let it reach `{}`", r.host, r.service))
                        .help(format!("make `{class}` the phase's controller (`.ingress(IngressController::new(\"{class}\", \"<its namespace>\", [(\"app.kubernetes.io/name\", \"<its pods' label>\")]))`), or use the phase's class `{phase_class}`"))
                        .origin(r.origin.as_ref());
                }
            }
        }
        for s in plan.services() {
            let at = escala_core::At::service(s.name.as_str());
            let o = s.origin.as_ref();
            if !s.ulimits.is_empty() {
                diags
                    .warning(codes::DROPPED, format!("{at}.ulimits"), format!("Kubernetes sets no process limits per pod; in phase `{p}`, `{}` gets the container runtime's (`ulimit -n` is often 1048576 under containerd)", s.name))
                    .help("set them in the container runtime's configuration on the nodes, or raise them in the image's entrypoint (`ulimit -n …`, up to the hard limit)")
                    .origin(o);
            }
            for key in s
                .sysctls
                .keys()
                .filter(|k| !SAFE_SYSCTLS.contains(&k.as_str()))
            {
                diags
                    .warning(codes::UNSAFE_SYSCTL, format!("{at}.sysctls.{key}"), format!("`{key}` is not one of Kubernetes' safe sysctls: in phase `{p}`, the kubelet refuses to run `{}` unless it allows it", s.name))
                    .help(format!("start the kubelets with `--allowed-unsafe-sysctls={key}` (K3s: `--kubelet-arg=allowed-unsafe-sysctls={key}`), or drop it"))
                    .origin(o);
            }
            if s.placement.role.is_some() {
                diags
                    .warning(codes::DROPPED, format!("{at}.placement"), format!("Kubernetes schedules no workload by node role; the role constraint of `{}` is ignored in phase `{p}`", s.name))
                    .help("select nodes by label instead (`Placement::label`), which becomes a node selector")
                    .origin(o);
            }
            if s.ports.iter().any(|p| p.publish.is_some()) {
                diags
                    .warning(codes::DROPPED, format!("{at}.ports"), format!("host ports are not published in phase `{p}`; `{}` is reached through its Service (and an Ingress for routes)", s.name))
                    .help("add a route for HTTP traffic; other protocols need a LoadBalancer or NodePort Service")
                    .origin(o);
            }
            for (i, m) in s.mounts.iter().enumerate() {
                if let MountSource::Bind(path) = &m.source {
                    if !path.starts_with('/') {
                        diags
                            .error(codes::PROJECT_BIND, format!("{at}.mounts[{i}]"), format!("bind mount `{path}` of `{}` is a path in the project; in phase `{p}` no Kubernetes node has it, and a hostPath must be absolute", s.name))
                            .help("ship the files as a Config (`Config::file` mounted with `.configs([...])`, a ConfigMap), bake them into the image, or run the service elsewhere (`Phase::without`)")
                            .origin(o);
                        continue;
                    }
                    diags
                        .warning(codes::BIND_MOUNT, format!("{at}.mounts[{i}]"), format!("bind mount `{path}` of `{}` becomes a hostPath volume in phase `{p}`: the path must exist on whatever node the pod lands on", s.name))
                        .help("prefer a Config (files) or a Volume (data)")
                        .origin(o);
                }
            }
            for (i, d) in s.depends_on.iter().enumerate() {
                let waits = !self.compat
                    && plan
                        .service(&d.service)
                        .is_some_and(|t| !t.ports.is_empty())
                    && d.condition != escala_core::Condition::Completed;
                if !waits {
                    diags
                        .warning(codes::DROPPED, format!("{at}.depends_on[{i}]"), format!("in phase `{p}`, `{}` starts without waiting for `{}` (Kubernetes has no start order{})", s.name, d.service, if self.compat { "; compat mode adds no init container" } else { ", and it has no port to wait on" }))
                        .help("make the program retry until its dependency answers")
                        .origin(o);
                }
            }
        }
        // The API server refuses any object over 1.5 MiB (etcd's request limit), and a
        // client-side `kubectl apply` any over 256 KiB (it copies the object into an
        // annotation, and annotations hold 256 KiB in all). Each value is under Linux's
        // 128 KiB (a check of its own), so only several large ones add up to this.
        for s in plan.services() {
            let env: usize = s
                .env
                .iter()
                .map(|(k, v)| {
                    k.len()
                        + match v {
                            escala_core::Env::Literal(x) | escala_core::Env::NotSecret(x) => {
                                x.len()
                            }
                            _ => 0,
                        }
                })
                .sum();
            let args: usize = s.command.iter().chain(&s.entrypoint).map(String::len).sum();
            let labels: usize = s.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
            let total = env + args + 2 * labels;
            let kind = if s.workload == Workload::Stateful {
                "StatefulSet"
            } else {
                "Deployment"
            };
            let at = escala_core::At::service(s.name.as_str());
            if total > OBJECT_MAX - MANIFEST_ROOM {
                diags
                    .error(codes::TOO_LARGE, at, format!("the environment, command and labels of `{}` hold {total} bytes: its {kind} would be over the 1.5 MiB (1572864 bytes) the API server stores for one object in phase `{p}` (`etcdserver: request is too large`)", s.name))
                    .help("move the large values into a config file mounted as a volume (`Config::file`), or a volume")
                    .origin(s.origin.as_ref());
            } else if total > CLIENT_APPLY_MAX - MANIFEST_ROOM {
                diags
                    .warning(codes::CLIENT_APPLY, at, format!("the environment, command and labels of `{}` hold {total} bytes: a client-side `kubectl apply` of its {kind} fails in phase `{p}` (`metadata.annotations: Too long: may not be more than 262144 bytes`)", s.name))
                    .help("apply on the server: `kubectl apply --server-side -k …`; or move the large values into a config file")
                    .origin(s.origin.as_ref());
            }
        }
        // The API server refuses a ConfigMap whose data exceeds 1 MiB.
        for (name, len) in crate::usage::oversized_configs(plan, 1024 * 1024) {
            diags
                .error(codes::TOO_LARGE, format!("configs.{name}"), format!("config `{name}` holds {len} bytes; Kubernetes refuses a ConfigMap over 1 MiB (1048576 bytes) in phase `{p}`"))
                .help("mount a volume with the file instead, or make it smaller");
        }
        for (name, path) in crate::usage::unreadable_config_files(plan) {
            diags
                .error(codes::MISSING_FILE, format!("configs.{name}"), format!("config file `{path}` could not be read, so the ConfigMap `{name}` of phase `{p}` cannot hold it"))
                .help(crate::usage::MISSING_FILE_HELP);
        }
    }

    /// Renders the phase file by file into `emit`: each manifest as soon as it is made.
    fn render_phase(
        &self,
        plan: &PhasePlan<'_>,
        emit: &mut dyn FnMut(String, String),
    ) -> Result<(), TargetError> {
        let system = plan.system();
        let mut manifests = Emitted {
            emit,
            seen: foldhash::HashSet::new(),
            files: Vec::new(),
        };
        if let Some(ns) = namespace(plan, self.compat) {
            manifests.push(Manifest::new(
                &ns,
                "Namespace",
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(ns.clone()),
                        // `kompose convert -n` writes the namespace on the Namespace too.
                        namespace: (self.compat).then(|| ns.clone()),
                        ..ObjectMeta::default()
                    },
                    ..Namespace::default()
                },
            )?);
        }
        let templates = claim_template_volumes(plan);
        // A sidecar is a container of the pods of the service it runs beside.
        for s in plan.services().iter().filter(|s| s.network_of.is_none()) {
            manifests.extend_from(workload::render(self, plan, s, &templates)?);
        }
        // Standalone claims for every mounted volume that is not a claim template.
        // Per volume: whether every mount of it is read-only (absent: not mounted).
        let mut read_only_mounts: foldhash::HashMap<&Name, bool> = foldhash::HashMap::new();
        for m in plan.services().iter().flat_map(|s| s.mounts.iter()) {
            if let MountSource::Volume(x) = &m.source {
                *read_only_mounts.entry(x).or_insert(true) &= m.read_only;
            }
        }
        for v in plan.volumes() {
            if templates.contains_key(&v.name) {
                continue;
            }
            let Some(&read_only) = read_only_mounts.get(&v.name) else {
                continue;
            };
            manifests.push(Manifest::new(
                v.name.as_str(),
                "PersistentVolumeClaim",
                &claim(self, plan, v, read_only, false),
            )?);
        }
        for config in &system.configs {
            // A sensitive one is a Secret created from `secrets.example`, never a ConfigMap.
            if !crate::usage::mounts_config(plan, &config.name) || config.sensitive {
                continue;
            }
            let mut data = BTreeMap::new();
            let mut binary = BTreeMap::new();
            let mut put = |key: String, content: FileContent<'_>| match content {
                FileContent::Text(t) => {
                    data.insert(key, t.to_owned());
                }
                FileContent::Binary(b) => {
                    binary.insert(key, ByteString(b.to_vec()));
                }
            };
            match &config.source {
                ConfigSource::File(path) => match plan.content(path) {
                    Some(c) => put(config_data_key(self, plan, config), c),
                    None => continue,
                },
                ConfigSource::Dir(path) => {
                    for (name, c) in plan.files_in(path) {
                        put(name.to_owned(), c);
                    }
                }
                ConfigSource::Values(_) => continue,
                ConfigSource::Inline(_) | ConfigSource::AlertRules => {
                    match config_content(plan, config)? {
                        Some(content) => put(
                            config_data_key(self, plan, config),
                            FileContent::Text(&content),
                        ),
                        None => continue,
                    }
                }
            }
            let mut metadata = meta(self, plan, config.name.as_str(), None);
            if self.compat {
                // Kompose labels a mounted file's ConfigMap with the (first) service, and
                // marks a one-file one as mounted by subPath.
                metadata.labels = plan
                    .services()
                    .iter()
                    .filter(|s| s.configs.iter().any(|c| c.config == config.name))
                    .map(|s| s.name.as_str())
                    .min()
                    .map(service_labels);
                if matches!(config.source, ConfigSource::File(_)) {
                    metadata.annotations = Some(BTreeMap::from([(
                        "use-subpath".to_owned(),
                        "true".to_owned(),
                    )]));
                }
            }
            let cm = ConfigMap {
                metadata,
                data: (!data.is_empty()).then_some(data),
                binary_data: (!binary.is_empty()).then_some(binary),
                ..ConfigMap::default()
            };
            manifests.push(Manifest::new(config.name.as_str(), "ConfigMap", &cm)?);
        }
        // Key/value configs read from the environment become ConfigMaps too.
        for config in &system.configs {
            let ConfigSource::Values(values) = &config.source else {
                continue;
            };
            let used = plan.services().iter().any(|s| {
                s.env.values().any(|e| matches!(e, escala_core::Env::Config { config: c, .. } if c == &config.name))
            });
            if used {
                // Kompose labels an env file's ConfigMap `<service>-<configmap>`.
                // Kompose walks services by name; the first one's label stays.
                let label = plan
                    .services()
                    .iter()
                    .filter(|s| pod::whole_configs(self, plan, s).contains(&&config.name))
                    .map(|s| s.name.as_str())
                    .min()
                    .map(|s| format!("{s}-{}", config.name));
                let cm = ConfigMap {
                    metadata: meta(self, plan, config.name.as_str(), label.as_deref()),
                    data: Some(values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                    ..ConfigMap::default()
                };
                manifests.push(Manifest::new(config.name.as_str(), "ConfigMap", &cm)?);
            }
        }
        network::ingresses(self, plan, &mut |m| manifests.push(m))?;
        if !self.compat {
            network::policies(self, plan, &mut |m| manifests.push(m))?;
        }
        if !self.compat {
            // A custom resource: `kubectl apply` fails on a cluster without the Prometheus
            // Operator, so Kompose-compatible output leaves it out.
            manifests.push(monitoring::prometheus_rule(self, plan)?);
        }

        let mut files = manifests.files;
        // Each once (`Emitted` refuses a second), so an unstable sort gives the same order.
        files.sort_unstable();
        let kustomization = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: files,
        };
        let text =
            crate::yaml::to_string_after(manifest_header(), &kustomization).map_err(|e| {
                TargetError::Serialize {
                    target: "kubernetes",
                    path: "kustomization.yaml".into(),
                    message: e.to_string(),
                }
            })?;
        (manifests.emit)("kustomization.yaml".into(), text);
        (manifests.emit)("secrets.example".into(), secrets_example(self, plan));
        Ok(())
    }
}

/// The manifests handed out so far: each file once (same kind and name: the first wins, as
/// in Kompose), and the names for the kustomization.
struct Emitted<'e> {
    emit: &'e mut dyn FnMut(String, String),
    seen: foldhash::HashSet<String>,
    files: Vec<String>,
}

impl Emitted<'_> {
    fn push(&mut self, m: Manifest) {
        if !self.seen.insert(m.file.clone()) {
            return;
        }
        self.files.push(m.file.clone());
        (self.emit)(m.file, m.text);
    }

    fn extend_from(&mut self, ms: impl IntoIterator<Item = Manifest>) {
        for m in ms {
            self.push(m);
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
}

/// The Secret (name, key) a model secret is read from in the cluster.
pub(crate) fn secret_ref(plan: &PhasePlan<'_>, name: &Name) -> (String, String) {
    match plan.secret(name).map(|s| &s.source) {
        Some(SecretSource::External(external)) => (external.clone(), name.to_string()),
        _ => (name.to_string(), name.to_string()),
    }
}

fn secrets_example(k: &Kubernetes, plan: &PhasePlan<'_>) -> String {
    let mut out = header("kubernetes");
    match namespace(plan, k.compat) {
        Some(ns) => out.push_str(&format!(
            "# The manifests reference these Secrets and never hold their values. Create them once,\n# before `kubectl apply -k .`, from the same variables the other phases use (or with\n# sealed-secrets / an external secret store). Run from this folder: the namespace first,\n# from the manifest `kubectl apply -k .` applies too.\n{}\n",
            namespace_command(&ns, ".")
        )),
        None => out.push_str(
            "# The manifests reference these Secrets and never hold their values. Create them once,\n# before `kubectl apply -k .`, in the namespace kubectl's context names (the manifests\n# name none), from the same variables the other phases use (or with sealed-secrets / an\n# external secret store).\n",
        ),
    }
    for line in secret_commands_in(plan, namespace(plan, k.compat).as_deref()) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The command that creates the namespace `ns` from its manifest in `dir`, before the
/// Secrets that live in it (`kubectl apply -k` applies the same object again, unchanged).
pub(crate) fn namespace_command(ns: &str, dir: &str) -> String {
    format!("kubectl apply -f {dir}/{ns}-namespace.yaml")
}

/// The `kubectl create secret` line of every Secret the manifests reference (values never
/// shown: they come from variables or files).
pub(crate) fn secret_commands(plan: &PhasePlan<'_>) -> Vec<String> {
    secret_commands_in(plan, namespace(plan, false).as_deref())
}

/// [`secret_commands`] for the namespace `ns` (`None`: kubectl's current one).
fn secret_commands_in(plan: &PhasePlan<'_>, ns: Option<&str>) -> Vec<String> {
    let ns = ns.map(|ns| format!(" -n {ns}")).unwrap_or_default();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let in_env: foldhash::HashSet<&Name> = plan
        .services()
        .iter()
        .flat_map(|s| s.env.values())
        .filter_map(|e| match e {
            escala_core::Env::Secret(n) => Some(n),
            _ => None,
        })
        .collect();
    for secret in &plan.system().secrets {
        if !plan.mounts_secret(&secret.name) && !in_env.contains(&secret.name) {
            continue;
        }
        let (name, key) = secret_ref(plan, &secret.name);
        if !seen.insert(name.clone()) {
            continue;
        }
        let from = match &secret.source {
            SecretSource::Env(var) => format!("--from-literal={key}=\"${var}\""),
            SecretSource::File(path) => format!("--from-file={key}={}", plan.host_path(path)),
            SecretSource::External(_) => format!("--from-literal={key}=…"),
        };
        out.push(format!("kubectl{ns} create secret generic {name} {from}"));
    }
    // Sensitive file and folder configs: the Secret their volume names, from the files.
    for config in plan.system().configs.iter().filter(|c| c.sensitive) {
        if !plan.mounts_config(&config.name) || !seen.insert(config.name.to_string()) {
            continue;
        }
        let from = match &config.source {
            ConfigSource::File(path) => {
                format!("--from-file={}={}", config_key(path), plan.host_path(path))
            }
            ConfigSource::Dir(path) => format!("--from-file={}", plan.host_path(path)),
            _ => continue,
        };
        out.push(format!(
            "kubectl{ns} create secret generic {} {from}",
            config.name
        ));
    }
    out
}
