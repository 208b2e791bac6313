//! Traefik labels → routes.

use std::collections::BTreeMap;

use escala_core::prelude::*;

use super::map::*;
use super::yaml::Pos;

/// A Traefik label, where it was found, and whether the model now holds what it said.
pub(super) struct Label {
    pub(super) path: String,
    pub(super) key: String,
    pub(super) value: String,
    pub(super) pos: Pos,
    used: bool,
}

impl Label {
    pub(super) fn new(labels: &str, key: String, value: String, pos: Pos) -> Self {
        Self {
            path: format!("{labels}.{key}"),
            key,
            value,
            pos,
            used: false,
        }
    }
}

/// Traefik routers become routes: `Host(…)` (several with `||`) and `PathPrefix(…)`, the
/// service port, TLS when the router is on `websecure` or has a resolver. Routers that only
/// redirect to HTTPS, and the redirect middleware, are what escala generates for every TLS
/// route. Every other label (middlewares, priorities, TCP routers, load-balancer options…)
/// is reported: nothing is dropped in silence.
pub(super) fn routes(ctx: &mut Ctx<'_>, s: &mut Service, mut labels: Vec<Label>, at: &str) {
    // Router name → label indices; service name → its port.
    let mut routers: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut ports: BTreeMap<String, u16> = BTreeMap::new();
    let mut enabled = true;
    for (i, l) in labels.iter_mut().enumerate() {
        if let Some(rest) = l.key.strip_prefix("traefik.http.routers.") {
            if let Some((router, _)) = rest.split_once('.') {
                routers.entry(router.to_owned()).or_default().push(i);
            }
        } else if let Some(svc) = l
            .key
            .strip_prefix("traefik.http.services.")
            .and_then(|r| r.strip_suffix(".loadbalancer.server.port"))
        {
            if let Ok(port) = l.value.parse() {
                ports.insert(svc.to_owned(), port);
                l.used = true;
            }
        } else if l.key == "traefik.docker.network" || l.key == "traefik.swarm.network" {
            // escala chooses the network Traefik uses from the platform.
            ctx.dokploy |= l.value == "dokploy-network";
            l.used = true;
        } else if l.key == "traefik.enable" {
            enabled = l.value != "false";
            l.used = enabled;
        }
    }
    let field = |labels: &[Label], idx: &[usize], name: &str| {
        idx.iter()
            .map(|&i| &labels[i])
            .find(|l| field_of(&l.key) == name)
            .map(|l| (l.value.clone(), l.pos))
    };
    let mut redirects: Vec<String> = Vec::new();
    for (router, idx) in routers {
        if !enabled {
            continue;
        }
        let Some((rule, rpos)) = field(&labels, &idx, "rule") else {
            continue;
        };
        // A router on `web` without TLS whose middleware redirects is the HTTP → HTTPS
        // companion of a serving router; escala makes it for every TLS route.
        let plain_http = field(&labels, &idx, "entrypoints").is_some_and(|(e, _)| e == "web")
            && field(&labels, &idx, "tls").is_none()
            && field(&labels, &idx, "tls.certresolver").is_none();
        if let Some((m, _)) = field(&labels, &idx, "middlewares")
            .filter(|(m, _)| plain_http && m.contains("redirect"))
        {
            redirects.extend(
                m.split(',')
                    .map(|m| m.trim().split('@').next().unwrap_or_default().to_owned()),
            );
            for &i in &idx {
                labels[i].used = true;
            }
            continue;
        }
        let port = field(&labels, &idx, "service")
            .and_then(|(svc, _)| ports.get(&svc).copied())
            .or_else(|| {
                (ports.len() == 1)
                    .then(|| ports.values().next().copied())
                    .flatten()
            })
            .or_else(|| s.ports.first().map(|p| p.container));
        let Some(port) = port else {
            ctx.warn(
                codes::UNSUPPORTED,
                &format!("{at}.labels"),
                rpos,
                format!(
                    "router `{router}` names no port and the service exposes none; it was left out"
                ),
                "add `traefik.http.services.<name>.loadbalancer.server.port`",
            );
            for &i in &idx {
                labels[i].used = true;
            }
            continue;
        };
        let hosts: Vec<String> = rule
            .split("Host(`")
            .skip(1)
            .filter_map(|r| r.split('`').next().map(str::to_owned))
            .collect();
        if hosts.is_empty() {
            // Reported below with the rule's own label.
            continue;
        }
        // Traefik reaches the port whether or not compose lists it; the model declares it.
        if s.port(port).is_none() {
            s.ports.push(Port::tcp(port));
        }
        let entrypoints = field(&labels, &idx, "entrypoints").map(|(e, _)| e);
        let tls = field(&labels, &idx, "tls.certresolver").is_some()
            || field(&labels, &idx, "tls").is_some_and(|(t, _)| t != "false")
            || entrypoints
                .as_deref()
                .is_some_and(|e| e.contains("websecure"));
        let resolver = field(&labels, &idx, "tls.certresolver")
            .map(|(r, _)| r)
            .filter(|r| r != "letsencrypt");
        let path = rule
            .split("PathPrefix(`")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .map(str::to_owned);
        for &i in &idx {
            let known = matches!(
                field_of(&labels[i].key),
                "rule" | "tls" | "tls.certresolver" | "service"
            ) || (field_of(&labels[i].key) == "entrypoints"
                && labels[i]
                    .value
                    .split(',')
                    .all(|e| matches!(e.trim(), "web" | "websecure")));
            labels[i].used |= known;
        }
        for host in hosts {
            if ctx.routes.iter().any(|r| r.host == host && r.path == path) {
                continue;
            }
            let mut route = Route::builder()
                .host(host)
                .service(s.name.clone())
                .port(port)
                .build();
            route.path = path.clone();
            route.tls = tls.then(|| match &resolver {
                Some(r) => Tls::auto().resolver(r.clone()),
                None => Tls::auto(),
            });
            ctx.routes.push(route);
        }
    }
    for l in &mut labels {
        if let Some(rest) = l.key.strip_prefix("traefik.http.middlewares.") {
            let name = rest.split('.').next().unwrap_or_default();
            l.used |= redirects.iter().any(|r| r == name) && rest.contains(".redirectscheme.");
        }
    }
    for l in labels.into_iter().filter(|l| !l.used) {
        let (message, help) = if !enabled {
            (
                format!(
                    "`{}` belongs to a service with `traefik.enable=false`; it was left out",
                    l.key
                ),
                "escala routes a service only when the model has a route to it",
            )
        } else if l.key.starts_with("traefik.http.middlewares.")
            || field_of(&l.key) == "middlewares"
        {
            (
                format!("the Traefik middleware label `{}` has no equivalent in the model; it was left out", l.key),
                "escala generates only the HTTP→HTTPS redirect; keep other middlewares as labels added by hand, or in Traefik's file provider",
            )
        } else if field_of(&l.key) == "rule" {
            (
                format!("the rule `{}` has no `Host(…)`; it was left out", l.value),
                "escala routes by host and, optionally, a path prefix",
            )
        } else if field_of(&l.key) == "entrypoints" {
            (
                format!(
                    "entrypoints `{}`: escala routes on `web` and `websecure` only",
                    l.value
                ),
                "the route was imported on `websecure` when it has TLS, else on `web`",
            )
        } else {
            (
                format!("the Traefik label `{}` has no equivalent in the model; it was left out", l.key),
                "escala's routes hold a host, path prefix, port and TLS; anything else needs a hand-written label",
            )
        };
        ctx.warn(codes::UNSUPPORTED, &l.path, l.pos, message, help);
    }
}

/// The router field a label sets: `rule`, `tls.certresolver`, … of
/// `traefik.http.routers.<router>.<field>`.
pub(super) fn field_of(key: &str) -> &str {
    key.strip_prefix("traefik.http.routers.")
        .and_then(|r| r.split_once('.'))
        .map_or("", |(_, f)| f)
}
