//! A validated system, and its view at one phase.

use crate::{Diagnostics, Name, Phase, Route, Service, System};

/// A [`System`] that passed [`System::check`]: the only thing targets accept.
#[derive(Clone, Debug)]
pub struct Checked {
    system: System,
    warnings: Diagnostics,
}

impl Checked {
    pub(crate) fn new(system: System, warnings: Diagnostics) -> Self {
        Checked { system, warnings }
    }
    /// The validated system.
    pub fn system(&self) -> &System {
        &self.system
    }
    /// Warnings found by the check.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }
    /// The system as it runs in every phase, in declaration order.
    pub fn plans(&self) -> Vec<PhasePlan<'_>> {
        self.system
            .phases
            .iter()
            .map(|p| PhasePlan::new(&self.system, p))
            .collect()
    }
    /// The system as it runs in the phase `name`.
    pub fn plan(&self, name: &str) -> Option<PhasePlan<'_>> {
        self.system
            .phases
            .iter()
            .find(|p| p.name == name)
            .map(|p| PhasePlan::new(&self.system, p))
    }
}

/// The system as it runs in one phase: every service with that phase's overrides applied.
#[derive(Clone, Debug)]
pub struct PhasePlan<'a> {
    system: &'a System,
    phase: &'a Phase,
    services: Vec<Service>,
}

impl<'a> PhasePlan<'a> {
    fn new(system: &'a System, phase: &'a Phase) -> Self {
        let services = system
            .services
            .iter()
            .filter(|s| phase.runs(&s.name))
            .map(|s| effective(s, phase))
            .collect();
        PhasePlan {
            system,
            phase,
            services,
        }
    }
    /// The whole system (services without overrides applied).
    pub fn system(&self) -> &'a System {
        self.system
    }
    /// The phase.
    pub fn phase(&self) -> &'a Phase {
        self.phase
    }
    /// The services with this phase's overrides applied, in declaration order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }
    /// The routes to services this phase runs, in declaration order.
    pub fn routes(&self) -> Vec<&'a Route> {
        self.system
            .routes
            .iter()
            .filter(|r| self.phase.runs(&r.service))
            .collect()
    }
    /// The effective service named `name`.
    pub fn service(&self, name: &Name) -> Option<&Service> {
        self.services.iter().find(|s| &s.name == name)
    }
}

/// `service` with `phase`'s overrides applied.
pub fn effective(service: &Service, phase: &Phase) -> Service {
    let mut s = service.clone();
    if let Some(o) = phase.override_of(&service.name) {
        if let Some(r) = o.replicas {
            s.replicas = r;
        }
        if let Some(a) = &o.autoscale {
            s.autoscale = Some(a.clone());
        }
        if let Some(p) = &o.placement {
            s.placement = p.clone();
        }
        if let Some(r) = &o.resources {
            s.resources = r.clone();
        }
    }
    s
}
