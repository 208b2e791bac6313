//! The whole system: what `infra.rs` builds and every target compiles.

use serde::{Deserialize, Serialize};

use crate::{
    Alerts, Backups, Checked, Config, Database, Diagnostics, Name, Network, Origin, Phase, Route,
    Secret,
};
use crate::{Service, Volume};

/// Everything a deployment is made of, independent of any engine.
///
/// Objects are kept in the order they were added, which is also the order of the output.
///
/// ```
/// use escala_core::prelude::*;
/// let system = System::new("shop")
///     .service(Service::builder().name("web").image("nginx:1.27").build())
///     .phase(Phase::new("prod", Engine::Compose));
/// assert!(system.check().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct System {
    /// The system's name (compose project, stack name, Kubernetes namespace).
    pub name: Name,
    /// Services, in order.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Named volumes.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Networks.
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Secrets (references only).
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// Configs.
    #[serde(default)]
    pub configs: Vec<Config>,
    /// Public routes.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Deployment phases.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Alert thresholds.
    #[serde(default)]
    pub alerts: Alerts,
    /// The database plan (tables, partitioning, distribution), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<Database>,
    /// Backups of the database and of the volumes marked for backup, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<Backups>,
    /// The service that serves the routes (the reverse proxy), when its image does not say
    /// so (builder method: `.proxy("edge-proxy")`). Unset, it is the phase's service whose
    /// image is Traefik's. See [`PhasePlan::proxy`](crate::PhasePlan::proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Name>,
}

impl System {
    /// An empty system named `name`.
    pub fn new(name: impl Into<Name>) -> Self {
        System {
            name: name.into(),
            services: Vec::new(),
            volumes: Vec::new(),
            networks: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
            routes: Vec::new(),
            phases: Vec::new(),
            alerts: Alerts::default(),
            database: None,
            backups: None,
            proxy: None,
        }
    }

    /// Names the service that serves the routes (the reverse proxy). Needed only when its
    /// image is not Traefik's (`traefik`, `traefik:v3.6`, `docker.io/library/traefik:…`),
    /// which is recognised. Routed services are reached on a network they share with it.
    pub fn proxy(mut self, service: impl Into<Name>) -> Self {
        self.proxy = Some(service.into());
        self
    }

    /// Backs up the database and the volumes marked for backup to S3-compatible storage.
    pub fn backups(mut self, backups: Backups) -> Self {
        self.backups = Some(backups);
        self
    }

    /// Sets the database plan.
    pub fn database(mut self, database: Database) -> Self {
        self.database = Some(database);
        self
    }

    /// Adds a service, remembering where in the source it was added.
    #[track_caller]
    pub fn service(mut self, service: Service) -> Self {
        self.add_service(service);
        self
    }

    /// Adds a service in place, remembering where in the source it was added.
    #[track_caller]
    pub fn add_service(&mut self, mut service: Service) {
        if service.origin.is_none() {
            service.origin = Some(Origin::caller());
        }
        self.services.push(service);
    }

    /// Adds a named volume.
    pub fn volume(mut self, volume: Volume) -> Self {
        self.volumes.push(volume);
        self
    }

    /// Adds a network.
    pub fn network(mut self, network: Network) -> Self {
        self.networks.push(network);
        self
    }

    /// Adds a secret.
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Adds a config.
    pub fn config(mut self, config: Config) -> Self {
        self.configs.push(config);
        self
    }

    /// Adds a route, remembering where in the source it was added.
    #[track_caller]
    pub fn route(mut self, mut route: Route) -> Self {
        if route.origin.is_none() {
            route.origin = Some(Origin::caller());
        }
        self.routes.push(route);
        self
    }

    /// Adds a phase.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phases.push(phase);
        self
    }

    /// Sets the alert thresholds.
    pub fn alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// The service named `name`.
    pub fn find_service(&self, name: &Name) -> Option<&Service> {
        self.services.iter().find(|s| &s.name == name)
    }

    /// Checks the whole model and returns it validated, or every problem found.
    ///
    /// Warnings alone do not fail the check; they travel with the [`Checked`] value.
    pub fn check(&self) -> Result<Checked<'_>, Diagnostics> {
        // Each phase's services, worked out once: the check reads them, and so do the plans.
        let services: Vec<Vec<crate::InPhase<'_>>> = self
            .phases
            .iter()
            .map(|p| crate::checked::phase_services(self, p))
            .collect();
        let diags = crate::validate::check(self, &services);
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(Checked::new(self, diags, services))
        }
    }
}
