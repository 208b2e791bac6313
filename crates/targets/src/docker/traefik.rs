//! Traefik v3 labels for routes: the docker provider reads them as container labels
//! (compose), the swarm provider as service labels (`deploy.labels` in a stack). Only the
//! provider's own network key differs; escala never emits both, which Traefik refuses.
//!
//! Per route: a router on `websecure` with the certificate resolver, and a router on `web`
//! that only redirects to HTTPS; without TLS, one router on `web`. The service port is
//! always explicit. Router names are `<system>-<service>-<n>`, which is unique on a Traefik
//! shared by several projects and never starts with a Dokploy app name, so Dokploy's domain
//! feature does not delete them.

use escala_core::{Route, Service, System};

use super::dollar;
use super::file::Map;

/// Where the labels will be read and what the environment around Traefik is called.
pub(crate) struct Conventions {
    /// `docker` or `swarm`: the Traefik provider that reads the labels.
    pub provider: &'static str,
    /// Value of `traefik.docker.network`.
    pub network: String,
    /// Middleware the HTTP router uses to redirect to HTTPS.
    pub redirect: String,
    /// Label-defined middleware, if the redirect must be declared here.
    pub define_redirect: Option<String>,
}

/// Labels for every route that goes to `service`, in route order.
pub(crate) fn labels(
    system: &System,
    service: &Service,
    routes: &[&Route],
    conv: &Conventions,
) -> Map<String, String> {
    let mut l = Map::default();
    if routes.is_empty() {
        return l;
    }
    l.insert("traefik.enable".into(), "true".into());
    l.insert(
        format!("traefik.{}.network", conv.provider),
        conv.network.clone(),
    );
    if let Some(m) = &conv.define_redirect {
        if routes.iter().any(|r| r.tls.is_some()) {
            l.insert(
                format!("traefik.http.middlewares.{m}.redirectscheme.scheme"),
                "https".into(),
            );
        }
    }
    for (n, route) in routes.iter().enumerate() {
        let name = format!("{}-{}-{n}", system.name, service.name);
        let rule = dollar(&rule(route));
        // Made often (eight keys a route with TLS): joined in one allocation of the right
        // size rather than through `format!`.
        let router =
            |suffix: &str, key: &str| ["traefik.http.routers.", &name, suffix, ".", key].concat();
        l.insert(router("", "rule"), rule.clone());
        match &route.tls {
            Some(tls) => {
                l.insert(router("", "entrypoints"), "websecure".into());
                let resolver = tls.cert_resolver.as_deref().unwrap_or("letsencrypt");
                l.insert(router("", "tls.certresolver"), dollar(resolver));
                l.insert(router("", "service"), name.clone());
                l.insert(router("-http", "rule"), rule);
                l.insert(router("-http", "entrypoints"), "web".into());
                l.insert(router("-http", "middlewares"), conv.redirect.clone());
                l.insert(router("-http", "service"), name.clone());
            }
            None => {
                l.insert(router("", "entrypoints"), "web".into());
                l.insert(router("", "service"), name.clone());
            }
        }
        l.insert(
            format!("traefik.http.services.{name}.loadbalancer.server.port"),
            route.port.to_string(),
        );
    }
    l
}

/// ``Host(`h`)``, with ``&& PathPrefix(`/p`)`` when a path is set (Traefik v3 syntax).
pub(crate) fn rule(route: &Route) -> String {
    match &route.path {
        Some(p) if p != "/" => format!("Host(`{}`) && PathPrefix(`{p}`)", route.host),
        _ => format!("Host(`{}`)", route.host),
    }
}
