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
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use escala_core::{
    Exposure, MountSource, Name, PhasePlan, Protocol, Restart, Service as ModelService,
    TargetError, Workload,
};

use super::pod::pod_spec;
use super::{claim, meta, service_labels, Kubernetes, Manifest};

/// Kubernetes expands `$(VAR)` in commands, arguments and env values, and turns `$$` into
/// `$`: every literal `$` is written `$$`, so `$5`, `$$5` and `$(X)` reach the container
/// byte for byte.
pub(super) fn literal(s: &str) -> String {
    s.replace('$', "$$")
}

pub(super) fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The controller a service gets, following Kompose's choices.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Controller {
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Pod,
}

pub(super) fn controller(s: &ModelService) -> Controller {
    match (&s.workload, &s.restart) {
        (Workload::Stateful, _) => Controller::StatefulSet,
        (Workload::PerNode, _) => Controller::DaemonSet,
        (Workload::Scheduled { .. }, _) => Controller::CronJob,
        // Kompose turns `restart: no` / `on-failure` services into bare Pods.
        (Workload::Stateless, Restart::Never | Restart::OnFailure { .. }) => Controller::Pod,
        (Workload::Stateless, _) => Controller::Deployment,
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
        // A sensitive one's content is not read (its Secret is made when deploying).
        if (mounted || in_env) && !config.sensitive {
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
    // The model's labels are metadata: annotations on the Service and the workload, as
    // Kompose writes compose labels (Kubernetes labels are for selecting, and stricter).
    let object_meta = || {
        let mut m = meta(k, plan, name, Some(name));
        m.annotations = (!s.labels.is_empty()).then(|| {
            s.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        m
    };
    let selector = LabelSelector {
        match_labels: Some(labels.clone()),
        ..LabelSelector::default()
    };
    // The digest rolls the pods when a config changes: an escala addition, not in compat.
    let mut annotations = config_digest(plan, s)?
        .filter(|_| !k.compat)
        .map(|d| BTreeMap::from([(CONFIG_DIGEST.to_owned(), d)]))
        .unwrap_or_default();
    if k.compat {
        // Kompose writes the compose labels on the pod template too.
        annotations.extend(s.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    annotations.extend(s.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels.clone()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec(k, plan, s, templates)),
    };
    let ctl = controller(s);
    let hpa = s
        .autoscale
        .as_ref()
        .filter(|_| matches!(ctl, Controller::Deployment | Controller::StatefulSet));
    // An HPA owns the replica count; writing one would reset it on every apply (Kompose
    // writes it all the same, and so does compat mode).
    let replicas = (hpa.is_none() || k.compat).then(|| int(u64::from(s.replicas)));
    let mut out = Vec::new();

    // Kompose writes every Service first; file names keep each object in its own file.
    let headless = ctl == Controller::StatefulSet || s.exposure == Exposure::Headless;
    if !s.ports.is_empty() || headless {
        let ports = s
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| ServicePort {
                name: Some(match (&p.name, k.compat) {
                    (Some(n), false) => n.clone(),
                    (_, false) => p.container.to_string(),
                    // Kompose: the published port; a second protocol on it gets a suffix.
                    (_, true) => {
                        let port = p.publish.unwrap_or(p.container);
                        let again = s.ports[..i]
                            .iter()
                            .any(|q| q.publish.unwrap_or(q.container) == port);
                        match (again, p.protocol) {
                            (true, Protocol::Udp) => format!("{port}-udp"),
                            (true, Protocol::Tcp) => format!("{port}-tcp"),
                            (false, _) => port.to_string(),
                        }
                    }
                }),
                // Kompose's Service listens on the published port; escala's on the
                // container port, so in-cluster clients keep the address they use under
                // compose (`web:3000`).
                port: i32::from(if k.compat {
                    p.publish.unwrap_or(p.container)
                } else {
                    p.container
                }),
                target_port: Some(IntOrString::Int(i32::from(p.container))),
                protocol: (p.protocol == Protocol::Udp).then(|| "UDP".into()),
                ..ServicePort::default()
            })
            .collect::<Vec<_>>();
        let mut ports = ports;
        if ports.is_empty() && k.compat && s.exposure == Exposure::Headless {
            // Kompose gives a headless Service without ports a placeholder port.
            ports.push(ServicePort {
                name: Some("headless".into()),
                port: 55555,
                ..ServicePort::default()
            });
        }
        let (type_, local) = match s.exposure {
            Exposure::Internal => (None, false),
            // Kompose writes the type of a headless Service out.
            Exposure::Headless => (
                (k.compat && !s.ports.is_empty()).then_some("ClusterIP"),
                false,
            ),
            Exposure::NodePort => (Some("NodePort"), false),
            Exposure::LoadBalancer { local_traffic } => (Some("LoadBalancer"), local_traffic),
        };
        // Kompose writes a LoadBalancer Service per protocol, named after it (`<svc>-tcp`,
        // `<svc>-udp`).
        let split = k.compat && matches!(s.exposure, Exposure::LoadBalancer { .. });
        let groups: Vec<(Option<String>, Vec<ServicePort>)> = if split {
            let udp = |p: &ServicePort| p.protocol.as_deref() == Some("UDP");
            let (u, t): (Vec<ServicePort>, Vec<ServicePort>) = ports.into_iter().partition(udp);
            [("tcp", t), ("udp", u)]
                .into_iter()
                .filter(|(_, ports)| !ports.is_empty())
                .map(|(proto, ports)| (Some(format!("{name}-{proto}")), ports))
                .collect()
        } else {
            vec![(None, ports)]
        };
        for (lb_name, ports) in groups {
            let mut metadata = object_meta();
            if let Some(n) = &lb_name {
                metadata.name = Some(n.clone());
                metadata.labels = Some(service_labels(n));
            }
            let svc = Service {
                metadata,
                spec: Some(ServiceSpec {
                    // A StatefulSet's Service is headless: each replica keeps its DNS name.
                    cluster_ip: headless.then(|| "None".into()),
                    type_: type_.map(Into::into),
                    external_traffic_policy: local.then(|| "Local".into()),
                    ports: (!ports.is_empty()).then_some(ports),
                    selector: Some(labels.clone()),
                    ..ServiceSpec::default()
                }),
                ..Service::default()
            };
            out.push(Manifest::new(
                lb_name.as_deref().unwrap_or(name),
                "Service",
                &svc,
            )?);
        }
    }

    // Kompose: any volume entry forces Recreate.
    let uses_claims = s.mounts.iter().any(|m| match &m.source {
        MountSource::Volume(v) => !templates.contains_key(v),
        MountSource::Bind(_) => k.compat,
        MountSource::Tmpfs { .. } => false,
    });
    match ctl {
        Controller::Deployment => {
            let d = Deployment {
                metadata: object_meta(),
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
                        .volume(v)
                        .map(|vol| claim(k, plan, vol, m.read_only, true)),
                    _ => None,
                })
                .collect();
            let st = StatefulSet {
                metadata: object_meta(),
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
                metadata: object_meta(),
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
                metadata: object_meta(),
                spec: Some(CronJobSpec {
                    schedule,
                    concurrency_policy: Some("Forbid".into()),
                    job_template: JobTemplateSpec {
                        metadata: None,
                        spec: Some(JobSpec {
                            template,
                            // Swarm's replicated job runs `replicas` tasks to completion; so
                            // does each run of the CronJob.
                            parallelism: (s.replicas > 1).then(|| int(u64::from(s.replicas))),
                            completions: (s.replicas > 1).then(|| int(u64::from(s.replicas))),
                            // The retries the restart policy allows: none for `Never`.
                            backoff_limit: match s.restart {
                                Restart::Never => Some(0),
                                Restart::OnFailure {
                                    max_attempts: Some(n),
                                } => Some(int(u64::from(n))),
                                _ => None,
                            },
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
            let mut metadata = object_meta();
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
            metadata: meta(k, plan, name, None),
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
            metadata: meta(k, plan, name, Some(name)),
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
