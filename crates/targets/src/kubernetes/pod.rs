//! A service's pod template, by concern: the container's environment, volumes and mounts,
//! resources, probes and security; the init containers that wait for dependencies; placement.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapVolumeSource,
    Container, ContainerPort, EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource,
    ExecAction, HTTPGetAction, HostAlias, HostPathVolumeSource, KeyToPath, NodeAffinity,
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolumeClaimVolumeSource,
    PodAffinity, PodAffinityTerm, PodSecurityContext, PodSpec, Probe, ResourceRequirements,
    SecretKeySelector, SecretVolumeSource, SecurityContext, Sysctl, TCPSocketAction,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use escala_core::{
    Condition, ConfigSource, Env, HealthCheck, MountSource, Name, PhasePlan, Probe as ModelProbe,
    Protocol, PullPolicy, Restart, Service as ModelService, Spread,
};

use super::workload::{controller, int, literal, Controller};
use super::{config_data_key, config_key, secret_ref, service_labels, Kubernetes};

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
    if k.compat {
        if !s.capabilities.is_empty() || !s.drop_capabilities.is_empty() {
            ctx.capabilities = Some(Capabilities {
                drop: (!s.drop_capabilities.is_empty()).then(|| s.drop_capabilities.clone()),
                add: (!s.capabilities.is_empty()).then(|| s.capabilities.clone()),
            });
        }
    } else {
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

/// The pod template of a service: its container (and its sidecars'), volumes, init
/// containers and placement.
pub(super) fn pod_spec(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
    templates: &BTreeMap<&Name, &Name>,
) -> PodSpec {
    let (main, mut volumes) = container(k, plan, s, templates);
    let mut containers = vec![main];
    // Services in this one's network namespace are containers of its pods.
    for t in plan.sidecars_of(&s.name) {
        let (c, vs) = container(k, plan, t, templates);
        containers.push(c);
        for v in vs {
            if !volumes.iter().any(|x| x.name == v.name) {
                volumes.push(v);
            }
        }
    }
    // Waiting for the dependencies first, then the service's own steps, in order.
    let mut init = wait_for_dependencies(k, plan, s);
    init.extend(s.init_steps.iter().map(|step| Container {
        name: step.name.to_string(),
        image: Some(step.image.clone()),
        command:
            (!step.command.is_empty()).then(|| step.command.iter().map(|a| literal(a)).collect()),
        ..Container::default()
    }));
    PodSpec {
        containers,
        init_containers: (!init.is_empty()).then_some(init),
        security_context: pod_security(k, s),
        termination_grace_period_seconds: s
            .stop_grace_period
            .map(|d| i64::try_from(d.as_secs_ceil()).unwrap_or(i64::MAX)),
        // The pod's `pause` process is then PID 1 of every container, and reaps zombies.
        share_process_namespace: s.init.then_some(true),
        host_aliases: host_aliases(s),
        volumes: (!volumes.is_empty()).then_some(volumes),
        restart_policy: restart_policy(k, s).map(Into::into),
        affinity: affinity(s, templates),
        topology_spread_constraints: spread(s),
        ..PodSpec::default()
    }
}

/// One service's container, and the volumes it mounts.
fn container(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
    templates: &BTreeMap<&Name, &Name>,
) -> (Container, Vec<Volume>) {
    let name = s.name.as_str();
    let (env, env_from) = env(k, plan, s);
    let (volumes, mounts) = volumes(k, plan, s, templates);
    let resources = resources(s);
    let (liveness, readiness, startup) = probes(k, s);
    let container = Container {
        name: s.container_name.clone().unwrap_or_else(|| name.to_owned()),
        image: Some(s.image.clone().unwrap_or_else(|| name.to_owned())),
        image_pull_policy: s.pull_policy.map(|p| {
            match p {
                PullPolicy::Always => "Always",
                PullPolicy::IfMissing => "IfNotPresent",
                PullPolicy::Never => "Never",
            }
            .to_owned()
        }),
        command: (!s.entrypoint.is_empty())
            .then(|| s.entrypoint.iter().map(|a| literal(a)).collect()),
        args: (!s.command.is_empty()).then(|| s.command.iter().map(|a| literal(a)).collect()),
        env: (!env.is_empty()).then_some(env),
        env_from: (!env_from.is_empty()).then_some(env_from),
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
        working_dir: s.working_dir.clone(),
        ..Container::default()
    };
    (container, volumes)
}

/// The key/value configs a service takes whole, each key under its own name: Kompose's
/// `envFrom` of an env file's ConfigMap (compat mode only; escala names each key).
pub(crate) fn whole_configs<'a>(
    k: &Kubernetes,
    plan: &'a PhasePlan<'_>,
    s: &ModelService,
) -> Vec<&'a Name> {
    if !k.compat {
        return Vec::new();
    }
    plan.system()
        .configs
        .iter()
        .filter(|c| {
            let escala_core::ConfigSource::Values(values) = &c.source else {
                return false;
            };
            // Every key the service's own, or overridden by its own value (`env` wins over
            // `envFrom` in Kubernetes, as `environment` over `env_file` in compose).
            let own = |key: &String| matches!(s.env.get(key), Some(Env::Config { config, key: k }) if *config == c.name && k == key);
            values.keys().any(own)
                && values.keys().all(|key| s.env.contains_key(key))

        })
        .map(|c| &c.name)
        .collect()
}

/// The container's environment, sorted by name as Kompose does, and the configs it takes
/// whole (`envFrom`).
fn env(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
) -> (Vec<EnvVar>, Vec<EnvFromSource>) {
    let whole = whole_configs(k, plan, s);
    let from = whole
        .iter()
        .map(|c| EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: c.to_string(),
                ..ConfigMapEnvSource::default()
            }),
            ..EnvFromSource::default()
        })
        .collect();
    let mut env: Vec<EnvVar> = s
        .env
        .iter()
        .filter(|(name, value)| !matches!(value, Env::Config { config, key } if whole.contains(&config) && key == *name))
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
    (env, from)
}

/// The pod's volumes and the container's mounts: the model's mounts, `/dev/shm`, secrets
/// (each file at `/run/secrets/<name>`) and configs.
fn volumes(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    s: &ModelService,
    templates: &BTreeMap<&Name, &Name>,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let name = s.name.as_str();
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
            sub_path: m.sub_path.clone(),
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
        let config = plan.system().configs.iter().find(|x| x.name == c.config);
        if let Some(x) = config.filter(|x| x.sensitive) {
            // A credential: the Secret `secrets.example` creates from the file or folder,
            // the file under its own name (as Kompose keys a file's ConfigMap).
            let file = match &x.source {
                ConfigSource::File(path) => Some(config_key(path)),
                _ => None,
            };
            let path = config_key(&c.target);
            volumes.push(Volume {
                name: c.config.to_string(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(c.config.to_string()),
                    items: file.map(|key| {
                        vec![KeyToPath {
                            key,
                            path: path.clone(),
                            ..KeyToPath::default()
                        }]
                    }),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                name: c.config.to_string(),
                mount_path: c.target.clone(),
                sub_path: matches!(x.source, ConfigSource::File(_)).then_some(path),
                read_only: Some(true),
                ..VolumeMount::default()
            });
            continue;
        }
        if matches!(config.map(|x| &x.source), Some(ConfigSource::Dir(_))) {
            // A folder: every key of the ConfigMap, a file each, mounted over the folder.
            volumes.push(Volume {
                name: c.config.to_string(),
                config_map: Some(ConfigMapVolumeSource {
                    name: c.config.to_string(),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                name: c.config.to_string(),
                mount_path: c.target.clone(),
                read_only: Some(true),
                ..VolumeMount::default()
            });
            continue;
        }
        let path = config_key(&c.target);
        let key = config.map_or_else(|| path.clone(), |x| config_data_key(k, plan, x));
        volumes.push(Volume {
            name: c.config.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: c.config.to_string(),
                items: Some(vec![KeyToPath {
                    key,
                    path: path.clone(),
                    ..KeyToPath::default()
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: c.config.to_string(),
            mount_path: c.target.clone(),
            sub_path: Some(path),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    (volumes, mounts)
}

/// Requests and limits.
fn resources(s: &ModelService) -> Option<ResourceRequirements> {
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
    if let Some(d) = r.ephemeral_storage_limit {
        limits.insert("ephemeral-storage".to_owned(), Quantity(d.to_kubernetes()));
    }
    if let Some(d) = r.ephemeral_storage_request {
        requests.insert("ephemeral-storage".to_owned(), Quantity(d.to_kubernetes()));
    }
    (!limits.is_empty() || !requests.is_empty()).then(|| ResourceRequirements {
        limits: (!limits.is_empty()).then_some(limits),
        requests: (!requests.is_empty()).then_some(requests),
        ..ResourceRequirements::default()
    })
}

/// Liveness, readiness and startup probes from the health and readiness checks.
///
/// Kompose-compatible output writes the health check as the liveness probe alone (its start
/// period as the initial delay), and a readiness probe only from the readiness check.
fn probes(k: &Kubernetes, s: &ModelService) -> (Option<Probe>, Option<Probe>, Option<Probe>) {
    let (liveness, mut readiness, startup) = match &s.health {
        None => (None, None, None),
        Some(h) if k.compat => (Some(probe(h, h.retries, true)), None, None),
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
    (liveness, readiness, startup)
}

/// An init container per dependency, waiting until its Service accepts connections.
fn wait_for_dependencies(k: &Kubernetes, plan: &PhasePlan<'_>, s: &ModelService) -> Vec<Container> {
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
    init
}

/// Node affinity from the placement's labels, and pod affinity beside the StatefulSet whose
/// single-writer claim the pod reads.
fn affinity(s: &ModelService, templates: &BTreeMap<&Name, &Name>) -> Option<Affinity> {
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
    match (node_affinity, pod_affinity) {
        (None, None) => None,
        (node, pod) => Some(Affinity {
            pod_affinity: pod,
            ..node.unwrap_or_default()
        }),
    }
}

/// Spreading over nodes or a label's values.
fn spread(s: &ModelService) -> Option<Vec<TopologySpreadConstraint>> {
    let name = s.name.as_str();
    s.placement.spread.as_ref().map(|sp| {
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
    })
}

/// The restart policy of a bare Pod or a CronJob's pods (the other controllers' default,
/// `Always`, written out only in Kompose-compatible output, as Kompose writes it).
fn restart_policy(k: &Kubernetes, s: &ModelService) -> Option<&'static str> {
    match controller(s) {
        Controller::Pod => Some(match s.restart {
            Restart::OnFailure { .. } => "OnFailure",
            _ => "Never",
        }),
        // Kompose keeps the compose policy (`no` → Never); escala retries a failed run.
        Controller::CronJob if k.compat && matches!(s.restart, Restart::Never) => Some("Never"),
        Controller::CronJob => Some("OnFailure"),
        _ if k.compat => Some("Always"),
        _ => None,
    }
}

/// Pod-level security: the group that owns the pod's volumes (`fsGroup`), and the kernel
/// parameters of the pod's namespaces (`sysctls`). Most volume plugins mount a fresh volume
/// owned by root, which a non-root process cannot write; with `fsGroup` the kubelet makes it
/// group-writable. The model's `fs_group`, else (outside compat mode) the group of a numeric
/// non-root `user` when the service mounts a volume.
fn pod_security(k: &Kubernetes, s: &ModelService) -> Option<PodSecurityContext> {
    let mounts_volume = s
        .mounts
        .iter()
        .any(|m| matches!(m.source, MountSource::Volume(_)));
    let derived = || {
        let user = s.user.as_deref()?;
        let (uid, gid) = user.split_once(':').unwrap_or((user, user));
        let gid: i64 = gid.parse().ok()?;
        let uid: i64 = uid.parse().ok()?;
        (uid != 0 && mounts_volume && !k.compat).then_some(gid)
    };
    let ctx = PodSecurityContext {
        fs_group: s.fs_group.map(i64::from).or_else(derived),
        supplemental_groups: (!s.groups.is_empty())
            .then(|| s.groups.iter().map(|g| i64::from(*g)).collect()),
        sysctls: (!s.sysctls.is_empty()).then(|| {
            s.sysctls
                .iter()
                .map(|(name, value)| Sysctl {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect()
        }),
        ..PodSecurityContext::default()
    };
    (ctx != PodSecurityContext::default()).then_some(ctx)
}

/// `/etc/hosts` entries, one alias list per address, in the model's order.
fn host_aliases(s: &ModelService) -> Option<Vec<HostAlias>> {
    let mut aliases: Vec<HostAlias> = Vec::new();
    for (host, ip) in &s.extra_hosts {
        match aliases.iter_mut().find(|a| &a.ip == ip) {
            Some(a) => a.hostnames.get_or_insert_with(Vec::new).push(host.clone()),
            None => aliases.push(HostAlias {
                ip: ip.clone(),
                hostnames: Some(vec![host.clone()]),
            }),
        }
    }
    (!aliases.is_empty()).then_some(aliases)
}
