//! Traffic: an Ingress per route host, and NetworkPolicies from the dependency graph.

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyIngressRule,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use escala_core::{PhasePlan, Protocol, Route, TargetError};

use super::{meta, service_labels, Kubernetes, Manifest};

/// `api.example.com` → `api-example-com` (`*.` → `wildcard-`).
fn host_name(host: &str) -> String {
    host.replace("*.", "wildcard-").replace('.', "-")
}

/// Each manifest goes to `out` as soon as it is made (a large plan has thousands).
pub(super) fn ingresses(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    out: &mut dyn FnMut(Manifest),
) -> Result<(), TargetError> {
    if k.compat {
        return per_service(k, plan, out);
    }
    let mut by_host: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for r in plan.routes() {
        by_host.entry(r.host.as_str()).or_default().push(r);
    }
    let mut needs_redirect = false;
    for (host, routes) in by_host {
        let name = host_name(host);
        let paths = routes
            .iter()
            .map(|r| HTTPIngressPath {
                path: Some(r.path_or_root().to_owned()),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: r.service.to_string(),
                        port: Some(ServiceBackendPort {
                            number: Some(i32::from(r.port)),
                            ..ServiceBackendPort::default()
                        }),
                    }),
                    ..IngressBackend::default()
                },
            })
            .collect();
        let tls = routes.iter().find_map(|r| r.tls.as_ref());
        let mut metadata = meta(k, plan, &name, None);
        if let Some(t) = tls.filter(|t| t.secret.is_none()) {
            let issuer = t.issuer.clone().unwrap_or_else(|| k.default_issuer.clone());
            let mut annotations =
                BTreeMap::from([("cert-manager.io/cluster-issuer".to_owned(), issuer)]);
            if redirects(k, plan) {
                annotations.insert(
                    "traefik.ingress.kubernetes.io/router.middlewares".to_owned(),
                    format!("{}-{REDIRECT}@kubernetescrd", plan.system().name),
                );
                needs_redirect = true;
            }
            metadata.annotations = Some(annotations);
        }
        let ingress = Ingress {
            metadata,
            spec: Some(IngressSpec {
                ingress_class_name: Some(class_of(k, plan, &routes)),
                rules: Some(vec![IngressRule {
                    host: Some(host.to_owned()),
                    http: Some(HTTPIngressRuleValue { paths }),
                }]),
                tls: tls.map(|t| {
                    vec![IngressTLS {
                        hosts: Some(vec![host.to_owned()]),
                        secret_name: Some(
                            t.secret.clone().unwrap_or_else(|| format!("{name}-tls")),
                        ),
                    }]
                }),
                ..IngressSpec::default()
            }),
            ..Ingress::default()
        };
        out(Manifest::new(&name, "Ingress", &ingress)?);
    }
    if needs_redirect {
        out(redirect_middleware(k, plan)?);
    }
    Ok(())
}

/// Kompose's Ingresses: one per routed service, named after it, a rule per host, and TLS for
/// every host when any route has it; none for a LoadBalancer service (Kompose's rule).
fn per_service(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    out: &mut dyn FnMut(Manifest),
) -> Result<(), TargetError> {
    // In the order of each service's first route.
    let mut by_service: Vec<(&escala_core::Name, Vec<&Route>)> = Vec::new();
    let mut at: foldhash::HashMap<&escala_core::Name, usize> = foldhash::HashMap::new();
    for r in plan.routes() {
        match at.get(&r.service) {
            Some(&i) => by_service[i].1.push(r),
            None => {
                at.insert(&r.service, by_service.len());
                by_service.push((&r.service, vec![r]));
            }
        }
    }
    for (service, routes) in by_service {
        let exposure = plan.service(service).map(|s| s.exposure);
        if matches!(exposure, Some(escala_core::Exposure::LoadBalancer { .. })) {
            continue;
        }
        // The Service's port that reaches the route's container port.
        let port = |r: &Route| {
            plan.service(service)
                .and_then(|s| s.ports.iter().find(|p| p.container == r.port))
                .map_or(r.port, |p| p.publish.unwrap_or(p.container))
        };
        let mut hosts: Vec<&str> = Vec::new();
        for r in &routes {
            if !hosts.contains(&r.host.as_str()) {
                hosts.push(&r.host);
            }
        }
        let rules = hosts
            .iter()
            .map(|host| IngressRule {
                host: Some((*host).to_owned()),
                http: Some(HTTPIngressRuleValue {
                    paths: routes
                        .iter()
                        .filter(|r| r.host == *host)
                        .map(|r| HTTPIngressPath {
                            path: Some(r.path_or_root().to_owned()),
                            path_type: "Prefix".into(),
                            backend: IngressBackend {
                                service: Some(IngressServiceBackend {
                                    name: service.to_string(),
                                    port: Some(ServiceBackendPort {
                                        number: Some(i32::from(port(r))),
                                        ..ServiceBackendPort::default()
                                    }),
                                }),
                                ..IngressBackend::default()
                            },
                        })
                        .collect(),
                }),
            })
            .collect();
        let tls = routes.iter().find_map(|r| r.tls.as_ref());
        let mut metadata = meta(k, plan, service.as_str(), Some(service.as_str()));
        if let Some(t) = tls.filter(|t| t.secret.is_none()) {
            let issuer = t.issuer.clone().unwrap_or_else(|| k.default_issuer.clone());
            metadata.annotations = Some(BTreeMap::from([(
                "cert-manager.io/cluster-issuer".to_owned(),
                issuer,
            )]));
        }
        let ingress = Ingress {
            metadata,
            spec: Some(IngressSpec {
                ingress_class_name: Some(class_of(k, plan, &routes)),
                rules: Some(rules),
                tls: tls.map(|t| {
                    vec![IngressTLS {
                        hosts: Some(hosts.iter().map(|h| (*h).to_owned()).collect()),
                        secret_name: Some(
                            t.secret.clone().unwrap_or_else(|| format!("{service}-tls")),
                        ),
                    }]
                }),
                ..IngressSpec::default()
            }),
            ..Ingress::default()
        };
        out(Manifest::new(service.as_str(), "Ingress", &ingress)?);
    }
    Ok(())
}

/// The ingress class of an Ingress holding `routes`: the first a route names, else the
/// phase's.
fn class_of(k: &Kubernetes, plan: &PhasePlan<'_>, routes: &[&Route]) -> String {
    routes
        .iter()
        .find_map(|r| r.ingress_class.clone())
        .unwrap_or_else(|| k.class(plan))
}

/// The name of the Traefik middleware that redirects HTTP to HTTPS.
const REDIRECT: &str = "https-redirect";

/// Whether TLS Ingresses get the HTTP → HTTPS redirect: Traefik serves an Ingress on every
/// entrypoint, plain HTTP included, unless a middleware redirects it. Only for the Traefik
/// class (K3s's own), whose CRDs K3s installs; compat mode leaves it out, like Kompose.
fn redirects(k: &Kubernetes, plan: &PhasePlan<'_>) -> bool {
    k.class(plan) == "traefik" && !k.compat
}

/// Traefik's `Middleware` CRD (traefik.io/v1alpha1) has no k8s-openapi type; this is the
/// part of its shape escala writes.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Middleware {
    api_version: &'static str,
    kind: &'static str,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: MiddlewareSpec,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct MiddlewareSpec {
    redirect_scheme: RedirectScheme,
}

#[derive(serde::Serialize)]
struct RedirectScheme {
    scheme: &'static str,
    permanent: bool,
}

/// A `redirectScheme` middleware: a request on HTTP gets a permanent redirect to HTTPS; one
/// already on HTTPS passes through, so the same Ingress serves both entrypoints.
fn redirect_middleware(k: &Kubernetes, plan: &PhasePlan<'_>) -> Result<Manifest, TargetError> {
    let m = Middleware {
        api_version: "traefik.io/v1alpha1",
        kind: "Middleware",
        metadata: meta(k, plan, REDIRECT, None),
        spec: MiddlewareSpec {
            redirect_scheme: RedirectScheme {
                scheme: "https",
                permanent: true,
            },
        },
    };
    Manifest::new(REDIRECT, "Middleware", &m)
}

fn pods(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(service_labels(name)),
        ..LabelSelector::default()
    }
}

/// Default-deny ingress for the namespace, then exactly the declared edges: each service
/// accepts its dependents (`depends_on`) on its ports, the nodes of a Citus cluster accept
/// each other (the coordinator reaches the workers, and workers reach the coordinator and each
/// other), and routed services accept the ingress controller (K3s's Traefik in `kube-system`)
/// on their routed ports.
pub(super) fn policies(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
    out: &mut dyn FnMut(Manifest),
) -> Result<(), TargetError> {
    let deny = NetworkPolicy {
        metadata: meta(k, plan, "default-deny-ingress", None),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into()]),
            ..NetworkPolicySpec::default()
        }),
    };
    out(Manifest::new(
        "default-deny-ingress",
        "NetworkPolicy",
        &deny,
    )?);
    // Who depends on whom, and which ports are routed, in one pass each.
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for d in plan.services() {
        for dep in &d.depends_on {
            dependents
                .entry(dep.service.as_str())
                .or_default()
                .push(d.name.as_str());
        }
    }
    if let (Some(cluster), Some(db)) = (
        escala_core::cluster::in_phase(plan.system(), plan.phase()),
        plan.system().database.as_ref(),
    ) {
        let nodes: Vec<String> = std::iter::once(db.service.to_string())
            .chain(
                (1..=cluster.workers)
                    .map(|n| escala_core::cluster::worker_name(&db.service, n).to_string()),
            )
            .collect();
        for a in &nodes {
            let Some(target) = plan.services().iter().find(|s| s.name.as_str() == a) else {
                continue;
            };
            for b in nodes.iter().filter(|b| *b != a) {
                if let Some(peer) = plan.services().iter().find(|s| s.name.as_str() == b) {
                    dependents
                        .entry(target.name.as_str())
                        .or_default()
                        .push(peer.name.as_str());
                }
            }
        }
    }
    // Per routed service, the controllers that serve its routes (the phase's, or the one a
    // route's own ingress class names) with the ports each reaches. An unknown controller is
    // an error of `check`: no rule can name its pods.
    let mut routed: HashMap<&str, Vec<(escala_core::IngressController, Vec<u16>)>> = HashMap::new();
    for r in plan.routes() {
        let Some(controller) = k.route_controller(plan, r) else {
            continue;
        };
        let by = routed.entry(r.service.as_str()).or_default();
        match by.iter_mut().find(|(c, _)| *c == controller) {
            Some((_, ports)) => ports.push(r.port),
            None => by.push((controller, vec![r.port])),
        }
    }
    for s in plan.services() {
        if s.ports.is_empty() {
            continue;
        }
        let ports: Vec<NetworkPolicyPort> = s
            .ports
            .iter()
            .map(|p| NetworkPolicyPort {
                port: Some(IntOrString::Int(i32::from(p.container))),
                protocol: Some(match p.protocol {
                    Protocol::Tcp => "TCP".into(),
                    Protocol::Udp => "UDP".into(),
                }),
                ..NetworkPolicyPort::default()
            })
            .collect();
        let mut rules = Vec::new();
        let mut from: Vec<&str> = dependents.get(s.name.as_str()).cloned().unwrap_or_default();
        from.sort_unstable();
        from.dedup();
        let dependents: Vec<NetworkPolicyPeer> = from
            .into_iter()
            .map(|d| NetworkPolicyPeer {
                pod_selector: Some(pods(d)),
                ..NetworkPolicyPeer::default()
            })
            .collect();
        if !dependents.is_empty() {
            rules.push(NetworkPolicyIngressRule {
                from: Some(dependents),
                ports: Some(ports.clone()),
            });
        }
        for (controller, ports) in routed.get(s.name.as_str()).into_iter().flatten() {
            let mut route_ports = ports.clone();
            route_ports.sort_unstable();
            route_ports.dedup();
            rules.push(NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([(
                            "kubernetes.io/metadata.name".to_owned(),
                            controller.namespace.clone(),
                        )])),
                        ..LabelSelector::default()
                    }),
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(
                            controller
                                .pod_labels
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        ),
                        ..LabelSelector::default()
                    }),
                    ..NetworkPolicyPeer::default()
                }]),
                ports: Some(
                    route_ports
                        .into_iter()
                        .map(|p| NetworkPolicyPort {
                            port: Some(IntOrString::Int(i32::from(p))),
                            protocol: Some("TCP".into()),
                            ..NetworkPolicyPort::default()
                        })
                        .collect(),
                ),
            });
        }
        if rules.is_empty() {
            continue;
        }
        let name = format!("allow-{}", s.name);
        let policy = NetworkPolicy {
            metadata: meta(k, plan, &name, None),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(pods(s.name.as_str())),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: Some(rules),
                ..NetworkPolicySpec::default()
            }),
        };
        out(Manifest::new(&name, "NetworkPolicy", &policy)?);
    }
    Ok(())
}
