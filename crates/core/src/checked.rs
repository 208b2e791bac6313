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
    index: std::collections::HashMap<Name, usize>,
    root: String,
    files: std::collections::BTreeMap<String, String>,
}

impl<'a> PhasePlan<'a> {
    fn new(system: &'a System, phase: &'a Phase) -> Self {
        let services = phase_services(system, phase);
        let index = services
            .iter()
            .enumerate()
            .map(|(i, s): (usize, &Service)| (s.name.clone(), i))
            .collect();
        PhasePlan {
            system,
            phase,
            services,
            index,
            root: ".".to_owned(),
            files: std::collections::BTreeMap::new(),
        }
    }
    /// Provides the content of a file the model names (a [`ConfigSource::File`](crate::ConfigSource::File)),
    /// read by the caller. Targets that must embed a file (Kubernetes ConfigMaps) take it from
    /// here, so they stay pure; the CLI reads every such file before rendering.
    pub fn with_file(mut self, path: impl Into<String>, content: impl Into<String>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }
    /// The content of a file the model names, if the caller provided it.
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }
    /// Sets where the project root is, seen from the directory the generated files will be
    /// written to (`../../..` for `deploy/<phase>/<target>/`). Engines resolve relative host
    /// paths (build contexts, bind mounts, files) against the directory of the file they
    /// read, so targets render those paths through [`PhasePlan::host_path`].
    pub fn with_project_root(mut self, root: impl Into<String>) -> Self {
        self.root = root.into();
        self
    }
    /// The project root as seen from the output directory (`.` unless set).
    pub fn project_root(&self) -> &str {
        &self.root
    }
    /// A path of the model (relative to the project root, or absolute) as seen from the
    /// output directory.
    ///
    /// ```
    /// use escala_core::prelude::*;
    /// let checked = System::new("x").phase(Phase::new("p", Engine::Compose)).check().unwrap();
    /// let plan = checked.plan("p").unwrap().with_project_root("../../..");
    /// assert_eq!(plan.host_path("./frontend"), "../../../frontend");
    /// assert_eq!(plan.host_path("/var/run/docker.sock"), "/var/run/docker.sock");
    /// ```
    pub fn host_path(&self, path: &str) -> String {
        if path.starts_with('/') {
            return path.to_owned();
        }
        let rest = path.trim_start_matches("./").trim_end_matches('/');
        match (self.root.as_str(), rest) {
            (root, "" | ".") => root.to_owned(),
            (".", rest) if rest.starts_with("../") => rest.to_owned(),
            (".", rest) => format!("./{rest}"),
            (root, rest) => format!("{root}/{rest}"),
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
        self.index.get(name).map(|&i| &self.services[i])
    }
}

/// The services `phase` runs, with its overrides applied, in declaration order.
pub fn phase_services(system: &System, phase: &Phase) -> Vec<Service> {
    system
        .services
        .iter()
        .filter(|s| phase.runs(&s.name))
        .map(|s| effective(s, phase))
        .collect()
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
