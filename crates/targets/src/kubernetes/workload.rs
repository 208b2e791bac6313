//! One service → its workload (Deployment, StatefulSet, DaemonSet, CronJob or Pod), its
//! Service, and its HPA and PodDisruptionBudget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy, StatefulSet,
    StatefulSetSpec,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapKeySelector, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, HTTPGetAction, HostPathVolumeSource,
    KeyToPath, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PersistentVolumeClaimVolumeSource, Pod, PodAffinity, PodAffinityTerm, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SecretKeySelector, SecretVolumeSource, SecurityContext, Service,
    ServicePort, ServiceSpec, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use escala_core::{
    Condition, Env, HealthCheck, MountSource, Name, PhasePlan, Probe as ModelProbe, Protocol,
    Restart, Service as ModelService, Spread, TargetError, Workload,
};

use super::{claim, config_key, meta, secret_ref, service_labels, Kubernetes, Manifest};

/// Kubernetes expands `$(VAR)` in commands, arguments and env values; a literal `$(` must be
/// written `$$(`.
fn literal(s: &str) -> String {
    s.replace("$(", "$$(")
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The controller a service gets, following Kompose's choices.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Controller {
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Pod,
}

fn controller(s: &ModelService) -> Controller {
    match (&s.workload, &s.restart) {
        (Workload::Stateful, _) => Controller::StatefulSet,
        (Workload::PerNode, _) => Controller::DaemonSet,
        (Workload::Scheduled { .. }, _) => Controller::CronJob,
        // Kompose turns `restart: no` / `on-failure` services into bare Pods.
        (Workload::Stateless, Restart::Never | Restart::OnFailure { .. }) => Controller::Pod,
        (Workload::Stateless, _) => Controller::Deployment,
    }
}

fn probe(h: &HealthCheck, failure_threshold: u32, initial: bool) -> Probe {
    let (http_get, tcp_socket, exec) = match &h.probe {
        ModelProbe::Http { path, port } => (
            Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::Int(i32::from(*port)),
                ..HTTPGetAction::default()
            }),
            None,
            None,
        ),
        ModelProbe::Tcp { port } => (
            None,
            Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(*port)),
                ..TCPSocketAction::default()
            }),
            None,
        ),
        ModelProbe::Command(args) => (
            None,
            None,
            Some(ExecAction {
                command: Some(args.clone()),
            }),
        ),
    };
    Probe {
        http_get,
        tcp_socket,
        exec,
        period_seconds: Some(int(h.interval.as_secs_ceil().max(1))),
        timeout_seconds: Some(int(h.timeout.as_secs_ceil().max(1))),
        failure_threshold: Some(int(u64::from(failure_threshold.max(1)))),
        initial_delay_seconds: initial
            .then(|| int(h.start_period.as_secs_ceil()))
            .filter(|s| *s > 0),
        ..Probe::default()
    }
}

fn security(k: &Kubernetes, s: &ModelService) -> Option<SecurityContext> {
    let (uid, gid) = s
        .user
        .as_deref()
        .map(|u| {
            let (a, b) = u.split_once(':').unwrap_or((u, ""));
            (a.parse::<i64>().ok(), b.parse::<i64>().ok())
        })
        .unwrap_or((None, None));
    let mut ctx = SecurityContext {
        run_as_user: uid,
        run_as_group: gid,
        read_only_root_filesystem: s.read_only_root.then_some(true),
        ..SecurityContext::default()
    };
    if !k.compat {
        ctx.allow_privilege_escalation = Some(s.privilege_escalation);
        ctx.capabilities = Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: (!s.capabilities.is_empty()).then(|| s.capabilities.clone()),
        });
        if s.user
            .as_deref()
            .is_some_and(|u| u != "0" && !u.starts_with("0:") && u != "root")
        {
            ctx.run_as_non_root = Some(true);
        }
    }
    (ctx != SecurityContext::default()).then_some(ctx)
}

/// The pod template of a service: its container, volumes, init containers and placement.
fn pod_spec(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
    templates: &BTreeMap<&Name, &Name>,
) -> PodSpec {
    let name = s.name.as_str();
    let mut env: Vec<EnvVar> = s
        .env
        .iter()
        .map(|(key, value)| match value {
            Env::SecretFile(_) => EnvVar {
                name: key.clone(),
                value: value.path(),
                ..EnvVar::default()
            },
            Env::Literal(v) | Env::NotSecret(v) => EnvVar {
                name: key.clone(),
                value: Some(literal(v)),
                ..EnvVar::default()
            },
            Env::Config { config, key: k } => EnvVar {
                name: key.clone(),
                value_from: Some(EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name: config.to_string(),
                        key: k.clone(),
                        ..ConfigMapKeySelector::default()
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
            Env::Secret(secret) => {
                let (secret_name, secret_key) = secret_ref(plan, secret);
                EnvVar {
                    name: key.clone(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: secret_name,
                            key: secret_key,
                            ..SecretKeySelector::default()
                        }),
                        ..EnvVarSource::default()
                    }),
                    ..EnvVar::default()
                }
            }
        })
        .collect();
    // Kompose sorts the environment by name.
    env.sort_by(|a, b| a.name.cmp(&b.name));

    let mut volumes: Vec<Volume> = Vec::new();
    let mut mounts: Vec<VolumeMount> = Vec::new();
    for (i, m) in s.mounts.iter().enumerate() {
        let (volume_name, volume) = match &m.source {
            MountSource::Volume(v) => {
                let claim = match templates.get(v) {
                    // Its own claim template: the StatefulSet mounts it.
                    Some(owner) if *owner == &s.name => None,
                    // Another StatefulSet's: its one replica's claim, `<volume>-<owner>-0`.
                    Some(owner) => Some(format!("{v}-{owner}-0")),
                    None => Some(v.to_string()),
                };
                let vol = claim.map(|claim_name| Volume {
                    name: v.to_string(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name,
                        read_only: m.read_only.then_some(true),
                    }),
                    ..Volume::default()
                });
                (v.to_string(), vol)
            }
            MountSource::Bind(path) => {
                let n = format!("{name}-hostpath{i}");
                let vol = Volume {
                    name: n.clone(),
                    host_path: Some(HostPathVolumeSource {
                        path: path.clone(),
                        ..HostPathVolumeSource::default()
                    }),
                    ..Volume::default()
                };
                (n, Some(vol))
            }
            MountSource::Tmpfs { size } => {
                let n = format!("{name}-tmpfs{i}");
                let vol = Volume {
                    name: n.clone(),
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium: Some("Memory".into()),
                        size_limit: size.map(|b| Quantity(b.to_kubernetes())),
                    }),
                    ..Volume::default()
                };
                (n, Some(vol))
            }
        };
        if let Some(v) = volume {
            if !volumes.iter().any(|x| x.name == v.name) {
                volumes.push(v);
            }
        }
        mounts.push(VolumeMount {
            name: volume_name,
            mount_path: m.target.clone(),
            read_only: m.read_only.then_some(true),
            ..VolumeMount::default()
        });
    }
    if let Some(shm) = s.shm_size {
        // Kubernetes gives containers a 64 MB `/dev/shm`; a memory-backed emptyDir replaces it.
        let n = format!("{name}-shm");
        volumes.push(Volume {
            name: n.clone(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity(shm.to_kubernetes())),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: n,
            mount_path: "/dev/shm".into(),
            ..VolumeMount::default()
        });
    }
    for secret in &s.secrets {
        let (secret_name, key) = secret_ref(plan, secret);
        volumes.push(Volume {
            name: secret.to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_name),
                items: Some(vec![KeyToPath {
                    key: key.clone(),
                    path: key.clone(),
                    ..KeyToPath::default()
                }]),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        // The file itself at /run/secrets/<name>, not a directory over /run/secrets.
        mounts.push(VolumeMount {
            name: secret.to_string(),
            mount_path: format!("/run/secrets/{secret}"),
            sub_path: Some(key),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    for c in &s.configs {
        let key = config_key(&c.target);
        volumes.push(Volume {
            name: c.config.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: c.config.to_string(),
                items: Some(vec![KeyToPath {
                    key: key.clone(),
                    path: key.clone(),
                    ..KeyToPath::default()
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: c.config.to_string(),
            mount_path: c.target.clone(),
            sub_path: Some(key),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }

    let r = &s.resources;
    let mut limits = BTreeMap::new();
    let mut requests = BTreeMap::new();
    if let Some(c) = r.cpu_limit {
        limits.insert("cpu".to_owned(), Quantity(c.to_kubernetes()));
    }
    if let Some(m) = r.memory_limit {
        limits.insert("memory".to_owned(), Quantity(m.to_kubernetes()));
    }
    if let Some(c) = r.cpu_request {
        requests.insert("cpu".to_owned(), Quantity(c.to_kubernetes()));
    }
    if let Some(m) = r.memory_request {
        requests.insert("memory".to_owned(), Quantity(m.to_kubernetes()));
    }
    let resources = (!limits.is_empty() || !requests.is_empty()).then(|| ResourceRequirements {
        limits: (!limits.is_empty()).then_some(limits),
        requests: (!requests.is_empty()).then_some(requests),
        ..ResourceRequirements::default()
    });

    let (liveness, mut readiness, startup) = match &s.health {
        None => (None, None, None),
        Some(h) if h.start_period.as_millis() > 0 => {
            // A start period becomes a startup probe: liveness only begins once it passes.
            let budget = h
                .start_period
                .as_millis()
                .div_ceil(h.interval.as_millis().max(1));
            let startup = probe(
                h,
                u32::try_from(budget)
                    .unwrap_or(u32::MAX)
                    .saturating_add(h.retries),
                false,
            );
            (
                Some(probe(h, h.retries, false)),
                Some(probe(h, h.retries, false)),
                Some(startup),
            )
        }
        Some(h) => (
            Some(probe(h, h.retries, false)),
            Some(probe(h, h.retries, false)),
            None,
        ),
    };

    if let Some(r) = &s.readiness {
        readiness = Some(probe(r, r.retries, false));
    }
    let container = Container {
        name: name.to_owned(),
        image: Some(s.image.clone().unwrap_or_else(|| name.to_owned())),
        command: (!s.entrypoint.is_empty())
            .then(|| s.entrypoint.iter().map(|a| literal(a)).collect()),
        args: (!s.command.is_empty()).then(|| s.command.iter().map(|a| literal(a)).collect()),
        env: (!env.is_empty()).then_some(env),
        ports: (!s.ports.is_empty()).then(|| {
            s.ports
                .iter()
                .map(|p| ContainerPort {
                    container_port: i32::from(p.container),
                    protocol: Some(match p.protocol {
                        Protocol::Tcp => "TCP".into(),
                        Protocol::Udp => "UDP".into(),
                    }),
                    name: p.name.clone().filter(|_| !k.compat),
                    ..ContainerPort::default()
                })
                .collect()
        }),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        liveness_probe: liveness,
        readiness_probe: readiness,
        startup_probe: startup,
        resources,
        security_context: security(k, s),
        ..Container::default()
    };

    let mut init = Vec::new();
    if !k.compat {
        for d in &s.depends_on {
            if d.condition == Condition::Completed {
                continue;
            }
            let Some(port) = plan.service(&d.service).and_then(|t| t.ports.first()) else {
                continue;
            };
            // A Service only routes to ready pods, so a TCP connect through it succeeds
            // once the dependency passes its readiness probe: `depends_on … healthy`.
            init.push(Container {
                name: format!("wait-for-{}", d.service),
                image: Some("busybox:1.37".into()),
                command: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    format!(
                        "until nc -z -w 2 {svc} {port}; do echo waiting for {svc}; sleep 2; done",
                        svc = d.service,
                        port = port.container
                    ),
                ]),
                security_context: Some(SecurityContext {
                    allow_privilege_escalation: Some(false),
                    capabilities: Some(Capabilities {
                        drop: Some(vec!["ALL".into()]),
                        add: None,
                    }),
                    run_as_non_root: Some(true),
                    run_as_user: Some(65534),
                    read_only_root_filesystem: Some(true),
                    ..SecurityContext::default()
                }),
                ..Container::default()
            });
        }
    }

    // A pod that reads another StatefulSet's single-writer claim runs beside it.
    let beside: Vec<&Name> = s
        .mounts
        .iter()
        .filter_map(|m| match &m.source {
            MountSource::Volume(v) => templates.get(v).copied().filter(|o| *o != &s.name),
            _ => None,
        })
        .collect();
    let pod_affinity = beside.first().map(|owner| PodAffinity {
        required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some(service_labels(owner.as_str())),
                ..LabelSelector::default()
            }),
            topology_key: "kubernetes.io/hostname".into(),
            ..PodAffinityTerm::default()
        }]),
        ..PodAffinity::default()
    });
    let node_affinity = (!s.placement.labels.is_empty()).then(|| Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(
                        s.placement
                            .labels
                            .iter()
                            .map(|(key, value)| NodeSelectorRequirement {
                                key: key.clone(),
                                operator: "In".into(),
                                values: Some(vec![value.clone()]),
                            })
                            .collect(),
                    ),
                    ..NodeSelectorTerm::default()
                }],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    });
    let affinity = match (node_affinity, pod_affinity) {
        (None, None) => None,
        (node, pod) => Some(Affinity {
            pod_affinity: pod,
            ..node.unwrap_or_default()
        }),
    };
    let spread = s.placement.spread.as_ref().map(|sp| {
        vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: match sp {
                Spread::Nodes => "kubernetes.io/hostname".into(),
                Spread::Label(l) => l.clone(),
            },
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(service_labels(name)),
                ..LabelSelector::default()
            }),
            ..TopologySpreadConstraint::default()
        }]
    });
    let restart_policy = match controller(s) {
        Controller::Pod => Some(match s.restart {
            Restart::OnFailure { .. } => "OnFailure",
            _ => "Never",
        }),
        Controller::CronJob => Some("OnFailure"),
        _ => None,
    };
    PodSpec {
        containers: vec![container],
        init_containers: (!init.is_empty()).then_some(init),
        volumes: (!volumes.is_empty()).then_some(volumes),
        restart_policy: restart_policy.map(Into::into),
        affinity,
        topology_spread_constraints: spread,
        ..PodSpec::default()
    }
}

/// The pod-template annotation that holds [`config_digest`].
const CONFIG_DIGEST: &str = "escala/config-digest";

/// A digest of every config the service mounts or reads in its environment. Pods read a
/// ConfigMap when they start (and a `subPath` mount never sees an update), so the digest in
/// the pod template makes a changed config roll the pods on the next apply.
fn config_digest(plan: &PhasePlan<'_>, s: &ModelService) -> Result<Option<String>, TargetError> {
    let mut used = String::new();
    for config in &plan.system().configs {
        let mounted = s.configs.iter().any(|c| c.config == config.name);
        let in_env = s
            .env
            .values()
            .any(|e| matches!(e, escala_core::Env::Config { config: c, .. } if c == &config.name));
        if mounted || in_env {
            let content = super::config_content(plan, config)?.unwrap_or_default();
            used.push_str(&format!("{}\0{content}\0", config.name));
        }
    }
    Ok((!used.is_empty()).then(|| crate::digest::short(&used)))
}

/// Everything one service renders to.
pub(super) fn render(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
    templates: &BTreeMap<&Name, &Name>,
) -> Result<Vec<Manifest>, TargetError> {
    let name = s.name.as_str();
    let labels = service_labels(name);
    let selector = LabelSelector {
        match_labels: Some(labels.clone()),
        ..LabelSelector::default()
    };
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels.clone()),
            annotations: config_digest(plan, s)?
                .map(|d| BTreeMap::from([(CONFIG_DIGEST.to_owned(), d)])),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec(k, plan, s, templates)),
    };
    let ctl = controller(s);
    let hpa = s
        .autoscale
        .as_ref()
        .filter(|_| matches!(ctl, Controller::Deployment | Controller::StatefulSet));
    // An HPA owns the replica count; writing one would reset it on every apply.
    let replicas = hpa.is_none().then(|| int(u64::from(s.replicas)));
    let mut out = Vec::new();

    // Kompose writes every Service first; file names keep each object in its own file.
    if !s.ports.is_empty() || ctl == Controller::StatefulSet {
        let ports = s
            .ports
            .iter()
            .map(|p| ServicePort {
                name: Some(match (&p.name, k.compat) {
                    (Some(n), false) => n.clone(),
                    _ => p.container.to_string(),
                }),
                port: i32::from(p.container),
                target_port: Some(IntOrString::Int(i32::from(p.container))),
                protocol: (p.protocol == Protocol::Udp).then(|| "UDP".into()),
                ..ServicePort::default()
            })
            .collect::<Vec<_>>();
        let svc = Service {
            metadata: meta(plan, name, Some(name)),
            spec: Some(ServiceSpec {
                // A StatefulSet's Service is headless: each replica keeps its DNS name.
                cluster_ip: (ctl == Controller::StatefulSet).then(|| "None".into()),
                ports: (!ports.is_empty()).then_some(ports),
                selector: Some(labels.clone()),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        out.push(Manifest::new(name, "Service", &svc)?);
    }

    let uses_claims = s
        .mounts
        .iter()
        .any(|m| matches!(&m.source, MountSource::Volume(v) if !templates.contains_key(v)));
    match ctl {
        Controller::Deployment => {
            let d = Deployment {
                metadata: meta(plan, name, Some(name)),
                spec: Some(DeploymentSpec {
                    replicas,
                    selector,
                    // Kompose: any volume forces Recreate (a single-writer claim cannot be
                    // attached to the old and the new pod at once).
                    strategy: uses_claims.then(|| DeploymentStrategy {
                        type_: Some("Recreate".into()),
                        ..DeploymentStrategy::default()
                    }),
                    template,
                    ..DeploymentSpec::default()
                }),
                ..Deployment::default()
            };
            out.push(Manifest::new(name, "Deployment", &d)?);
        }
        Controller::StatefulSet => {
            let claims: Vec<_> = s
                .mounts
                .iter()
                .filter_map(|m| match &m.source {
                    MountSource::Volume(v) if templates.contains_key(v) => plan
                        .volumes()
                        .iter()
                        .find(|x| &x.name == v)
                        .map(|vol| claim(plan, vol, m.read_only, true)),
                    _ => None,
                })
                .collect();
            let st = StatefulSet {
                metadata: meta(plan, name, Some(name)),
                spec: Some(StatefulSetSpec {
                    replicas,
                    selector,
                    service_name: Some(name.to_owned()),
                    template,
                    volume_claim_templates: (!claims.is_empty()).then_some(claims),
                    ..StatefulSetSpec::default()
                }),
                ..StatefulSet::default()
            };
            out.push(Manifest::new(name, "StatefulSet", &st)?);
        }
        Controller::DaemonSet => {
            let ds = DaemonSet {
                metadata: meta(plan, name, Some(name)),
                spec: Some(DaemonSetSpec {
                    selector,
                    template,
                    ..DaemonSetSpec::default()
                }),
                ..DaemonSet::default()
            };
            out.push(Manifest::new(name, "DaemonSet", &ds)?);
        }
        Controller::CronJob => {
            let schedule = match &s.workload {
                Workload::Scheduled { schedule } => schedule.clone(),
                _ => String::new(),
            };
            let cj = CronJob {
                metadata: meta(plan, name, Some(name)),
                spec: Some(CronJobSpec {
                    schedule,
                    concurrency_policy: Some("Forbid".into()),
                    job_template: JobTemplateSpec {
                        metadata: None,
                        spec: Some(JobSpec {
                            template,
                            ..JobSpec::default()
                        }),
                    },
                    ..CronJobSpec::default()
                }),
                ..CronJob::default()
            };
            out.push(Manifest::new(name, "CronJob", &cj)?);
        }
        Controller::Pod => {
            let mut metadata = meta(plan, name, Some(name));
            metadata.labels = Some(labels.clone());
            let pod = Pod {
                metadata,
                spec: template.spec,
                ..Pod::default()
            };
            out.push(Manifest::new(name, "Pod", &pod)?);
        }
    }

    if let Some(a) = hpa {
        let kind = if ctl == Controller::StatefulSet {
            "StatefulSet"
        } else {
            "Deployment"
        };
        let metric = |resource: &str, percent: u8| MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(i32::from(percent)),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        };
        let metrics: Vec<MetricSpec> = a
            .cpu_percent
            .map(|p| metric("cpu", p))
            .into_iter()
            .chain(a.memory_percent.map(|p| metric("memory", p)))
            .collect();
        let h = HorizontalPodAutoscaler {
            metadata: meta(plan, name, None),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: kind.into(),
                    name: name.to_owned(),
                },
                min_replicas: Some(int(u64::from(a.min))),
                max_replicas: int(u64::from(a.max)),
                metrics: Some(metrics),
                ..HorizontalPodAutoscalerSpec::default()
            }),
            ..HorizontalPodAutoscaler::default()
        };
        out.push(Manifest::new(name, "HorizontalPodAutoscaler", &h)?);
    }

    let least = hpa.map_or(s.replicas, |a| a.min);
    if !k.compat && least >= 2 && matches!(ctl, Controller::Deployment | Controller::StatefulSet) {
        let pdb = PodDisruptionBudget {
            metadata: meta(plan, name, Some(name)),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(labels),
                    ..LabelSelector::default()
                }),
                ..PodDisruptionBudgetSpec::default()
            }),
            ..PodDisruptionBudget::default()
        };
        out.push(Manifest::new(name, "PodDisruptionBudget", &pdb)?);
    }
    Ok(out)
}
