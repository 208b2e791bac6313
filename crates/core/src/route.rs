//! Routes: public hosts and paths that reach a service's port.

use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::Name;

/// How a route's TLS certificate is obtained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tls {
    /// Traefik certificate resolver (compose and Swarm); targets default to `letsencrypt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    /// cert-manager issuer (Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// An existing Kubernetes Secret holding the certificate (`tls.crt`, `tls.key`), used
    /// instead of asking cert-manager for one. Kubernetes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Tls {
    /// TLS with the target's default certificate resolver or issuer.
    pub fn auto() -> Self {
        Self::default()
    }
    /// Uses the Traefik certificate resolver `name`.
    pub fn resolver(mut self, name: impl Into<String>) -> Self {
        self.cert_resolver = Some(name.into());
        self
    }
    /// Uses the cert-manager issuer `name`.
    pub fn issuer(mut self, name: impl Into<String>) -> Self {
        self.issuer = Some(name.into());
        self
    }
    /// On Kubernetes, serves the certificate of the existing Secret `name` (made by hand or
    /// by another tool) rather than one cert-manager issues.
    pub fn secret(mut self, name: impl Into<String>) -> Self {
        self.secret = Some(name.into());
        self
    }
}

/// A public host (and optional path prefix) routed to one port of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[builder(doc)]
pub struct Route {
    /// The host name (`api.example.com`).
    #[builder(setter(into))]
    pub host: String,
    /// Only requests whose path starts with this prefix (`/api`).
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The service that serves it.
    #[builder(setter(into))]
    pub service: Name,
    /// The container port that serves it; the service must declare it.
    pub port: u16,
    /// TLS; on by default. `None` serves plain HTTP.
    #[builder(default = Some(Tls::auto()))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// The Kubernetes ingress class that serves this route (default: the phase's ingress
    /// controller's).
    #[builder(default, setter(strip_option, into))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class: Option<String>,
    /// Where in `infra.rs` the route was added (filled by [`System::route`](crate::System::route)).
    #[builder(default, setter(skip))]
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: Option<crate::Origin>,
}

impl Route {
    /// The path prefix, `/` when none is set.
    pub fn path_or_root(&self) -> &str {
        self.path.as_deref().unwrap_or("/")
    }
}
