//! A validated system, and its view at one phase.

use crate::{
    ByteSize, Cpu, Dependency, Diagnostics, Engine, InPhase, Name, Phase, Resources, Restart,
    Route, Service, System, Volume, Workload, UPKEEP_SERVICE,
};
use foldhash::HashMapExt;

/// A [`System`] that passed [`System::check`]: the only thing targets accept.
///
/// It borrows the system it checked, and copies only what a phase changes: each phase's
/// services (with its overrides applied, and the services it implies) are worked out once,
/// by the check, and shared by every [`PhasePlan`] of the phase.
#[derive(Clone, Debug)]
pub struct Checked<'a> {
    system: &'a System,
    warnings: Diagnostics,
    phases: std::sync::Arc<[PhaseData<'a>]>,
}

impl<'a> Checked<'a> {
    /// `services`: each phase's, in the system's phase order (see [`phase_services`]).
    pub(crate) fn new(
        system: &'a System,
        warnings: Diagnostics,
        services: Vec<Vec<InPhase<'a>>>,
    ) -> Self {
        // One per phase, in order, whatever `services` holds.
        let mut services = services.into_iter();
        let phases = system
            .phases
            .iter()
            .map(|phase| PhaseData {
                services: services
                    .next()
                    .unwrap_or_else(|| phase_services(system, phase)),
                indexed: std::sync::OnceLock::new(),
            })
            .collect();
        Checked {
            system,
            warnings,
            phases,
        }
    }
    /// The validated system.
    pub fn system(&self) -> &'a System {
        self.system
    }
    /// Warnings found by the check.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }
    /// The warnings found by the check, moved out (leaving none), for a caller that reports
    /// them itself and would otherwise copy them all.
    pub fn take_warnings(&mut self) -> Diagnostics {
        std::mem::take(&mut self.warnings)
    }
    /// The system as it runs in every phase, in declaration order.
    pub fn plans(&self) -> Vec<PhasePlan<'a>> {
        (0..self.system.phases.len())
            .map(|i| self.plan_at(i))
            .collect()
    }
    /// The system as it runs in the phase `name`.
    pub fn plan(&self, name: &str) -> Option<PhasePlan<'a>> {
        self.system
            .phases
            .iter()
            .position(|p| p.name == name)
            .map(|i| self.plan_at(i))
    }
    fn plan_at(&self, at: usize) -> PhasePlan<'a> {
        PhasePlan {
            system: self.system,
            phase: &self.system.phases[at],
            phases: std::sync::Arc::clone(&self.phases),
            at,
            root: ".".to_owned(),
            files: std::collections::BTreeMap::new(),
            binary: std::collections::BTreeMap::new(),
        }
    }
}

/// What a phase runs, worked out once per check.
#[derive(Debug)]
struct PhaseData<'a> {
    /// Borrowed from the system when the phase changes nothing in them (most services):
    /// a plan of 50,000 services copies only those it changes.
    services: Vec<InPhase<'a>>,
    /// Built the first time a plan of the phase asks: a check that renders one phase (or
    /// none) indexes only that one.
    indexed: std::sync::OnceLock<Indexed<'a>>,
}

/// A phase's volumes and its lookups by name.
#[derive(Debug)]
struct Indexed<'a> {
    /// The system's volumes, borrowed, then the ones the phase derives.
    volumes: Vec<std::borrow::Cow<'a, Volume>>,
    index: foldhash::HashMap<Name, usize>,
    used: Used,
}

/// The system as it runs in one phase: every service with that phase's overrides applied.
///
/// Cheap to clone: what the phase runs is shared with every other plan of the same check.
#[derive(Clone, Debug)]
pub struct PhasePlan<'a> {
    system: &'a System,
    phase: &'a Phase,
    /// Every phase's, in the system's phase order; this plan's is at `at`.
    phases: std::sync::Arc<[PhaseData<'a>]>,
    at: usize,
    root: String,
    files: std::collections::BTreeMap<String, String>,
    binary: std::collections::BTreeMap<String, Vec<u8>>,
}

/// The volumes, networks, secrets and configs the plan's services use, looked up once.
#[derive(Clone, Debug, Default)]
struct Used {
    volumes: foldhash::HashSet<Name>,
    networks: foldhash::HashSet<Name>,
    secrets: foldhash::HashSet<Name>,
    configs: foldhash::HashSet<Name>,
    /// The services in each service's network namespace (`network_of`), by index.
    sidecars: foldhash::HashMap<Name, Vec<usize>>,
    /// The system's secrets by name, by index.
    secrets_by_name: foldhash::HashMap<Name, usize>,
    /// The plan's volumes by name, by index.
    volumes_by_name: foldhash::HashMap<Name, usize>,
}

impl Used {
    fn of(services: &[InPhase<'_>]) -> Self {
        let mut used = Used::default();
        for (i, s) in services.iter().enumerate() {
            if let Some(host) = &s.network_of {
                used.sidecars.entry(host.clone()).or_default().push(i);
            }
        }
        for s in services {
            for m in &s.mounts {
                if let crate::MountSource::Volume(v) = &m.source {
                    used.volumes.insert(v.clone());
                }
            }
            used.networks.extend(s.networks.iter().cloned());
            used.secrets.extend(s.secrets.iter().cloned());
            used.configs
                .extend(s.configs.iter().map(|c| c.config.clone()));
        }
        used
    }
}

/// The content of a file the caller provided to a [`PhasePlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileContent<'a> {
    /// UTF-8 text.
    Text(&'a str),
    /// Anything else (an archive, an image): Kubernetes carries it as `binaryData`.
    Binary(&'a [u8]),
}

impl<'a> Indexed<'a> {
    fn new(system: &'a System, phase: &'a Phase, services: &[InPhase<'a>]) -> Self {
        // The first of a name wins (the check refuses a name given twice).
        let mut index = foldhash::HashMap::with_capacity(services.len());
        for (i, s) in services.iter().enumerate() {
            index.entry(s.name.clone()).or_insert(i);
        }
        let volumes = phase_volumes(system, phase);
        let mut used = Used::of(services);
        used.secrets_by_name = foldhash::HashMap::with_capacity(system.secrets.len());
        for (i, s) in system.secrets.iter().enumerate() {
            used.secrets_by_name.entry(s.name.clone()).or_insert(i);
        }
        used.volumes_by_name = foldhash::HashMap::with_capacity(volumes.len());
        for (i, v) in volumes.iter().enumerate() {
            used.volumes_by_name.entry(v.name.clone()).or_insert(i);
        }
        Indexed {
            volumes,
            index,
            used,
        }
    }
}

impl<'a> PhasePlan<'a> {
    fn data(&self) -> &PhaseData<'a> {
        &self.phases[self.at]
    }
    fn indexed(&self) -> &Indexed<'a> {
        let data = self.data();
        data.indexed
            .get_or_init(|| Indexed::new(self.system, self.phase, &data.services))
    }
    /// The services another phase of the same system runs (`None` when the system has no
    /// phase `name`), as that phase's own plan has them: to compare two phases, as a move
    /// from one to the other does.
    pub fn services_of(&self, name: &str) -> Option<&[InPhase<'a>]> {
        self.system
            .phases
            .iter()
            .position(|p| p.name == name)
            .and_then(|i| self.phases.get(i))
            .map(|d| d.services.as_slice())
    }
    /// The services that run in `name`'s network namespace (its sidecars), in model order.
    pub fn sidecars_of(&self, name: &Name) -> impl Iterator<Item = &Service> + use<'_, 'a> {
        self.indexed()
            .used
            .sidecars
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|i| self.data().services.get(*i))
            .map(|s| &**s)
    }
    /// The plan's volume `name`.
    pub fn volume(&self, name: &Name) -> Option<&Volume> {
        self.indexed()
            .used
            .volumes_by_name
            .get(name)
            .and_then(|i| self.indexed().volumes.get(*i))
            .map(|v| &**v)
    }
    /// The system's secret `name`, looked up by name once per plan.
    pub fn secret(&self, name: &Name) -> Option<&crate::Secret> {
        self.indexed()
            .used
            .secrets_by_name
            .get(name)
            .and_then(|i| self.system.secrets.get(*i))
    }
    /// Whether a service of the plan mounts the volume `name`.
    pub fn mounts_volume(&self, name: &Name) -> bool {
        self.indexed().used.volumes.contains(name)
    }
    /// Whether a service of the plan joins the network `name`.
    pub fn joins_network(&self, name: &Name) -> bool {
        self.indexed().used.networks.contains(name)
    }
    /// Whether a service of the plan mounts the secret `name`.
    pub fn mounts_secret(&self, name: &Name) -> bool {
        self.indexed().used.secrets.contains(name)
    }
    /// Whether a service of the plan mounts the config `name`.
    pub fn mounts_config(&self, name: &Name) -> bool {
        self.indexed().used.configs.contains(name)
    }
    /// Provides the content of a file the model names that is not UTF-8 text (a file of a
    /// [`ConfigSource::Dir`](crate::ConfigSource::Dir), or a binary
    /// [`ConfigSource::File`](crate::ConfigSource::File)).
    pub fn with_binary_file(mut self, path: impl Into<String>, content: Vec<u8>) -> Self {
        self.binary.insert(path.into(), content);
        self
    }
    /// The content of a file the model names, text or binary, if the caller provided it.
    pub fn content(&self, path: &str) -> Option<FileContent<'_>> {
        self.files
            .get(path)
            .map(|t| FileContent::Text(t))
            .or_else(|| self.binary.get(path).map(|b| FileContent::Binary(b)))
    }
    /// The files the caller provided directly under the folder `dir` (a
    /// [`ConfigSource::Dir`](crate::ConfigSource::Dir)), by name: `(name, content)`.
    pub fn files_in(&self, dir: &str) -> Vec<(&str, FileContent<'_>)> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let text = self
            .files
            .iter()
            .map(|(p, t)| (p, FileContent::Text(t.as_str())));
        let binary = self
            .binary
            .iter()
            .map(|(p, b)| (p, FileContent::Binary(b.as_slice())));
        let mut out: Vec<(&str, FileContent<'_>)> = text
            .chain(binary)
            .filter_map(|(p, c)| {
                p.strip_prefix(&prefix)
                    .filter(|name| !name.is_empty() && !name.contains('/'))
                    .map(|name| (name, c))
            })
            .collect();
        out.sort_by_key(|(name, _)| *name);
        out
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
    /// let system = System::new("x").phase(Phase::new("p", Engine::Compose));
    /// let checked = system.check().unwrap();
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
    /// The services with this phase's overrides applied, in declaration order (each a
    /// [`InPhase`]: use it as a `&Service`).
    pub fn services(&self) -> &[InPhase<'a>] {
        &self.data().services
    }
    /// The volumes of the system, then those the phase derives (a Citus worker's copy of the
    /// database's volumes), in declaration order.
    pub fn volumes(&self) -> impl ExactSizeIterator<Item = &Volume> + '_ {
        self.indexed().volumes.iter().map(|v| &**v)
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
        self.indexed()
            .index
            .get(name)
            .and_then(|&i| self.data().services.get(i))
            .map(|s| &**s)
    }

    /// The reverse proxy that serves the routes in this phase: the service named by
    /// [`System::proxy`](crate::System::proxy) if the phase runs it, otherwise the first of
    /// the phase's services whose image is Traefik's. `None` when the phase runs none (a
    /// platform's proxy, such as Dokploy's or K3s's, or one deployed elsewhere).
    pub fn proxy(&self) -> Option<&Service> {
        match &self.system().proxy {
            Some(name) => self.service(name),
            None => self
                .services()
                .iter()
                .find(|s| s.image.as_deref().is_some_and(is_traefik_image))
                .map(|s| &**s),
        }
    }
}

/// The services `phase` runs, with its overrides applied, in declaration order; then the jobs
/// the model implies (the partition upkeep, see [`Upkeep`](crate::Upkeep)).
pub fn phase_services<'a>(system: &'a System, phase: &Phase) -> Vec<InPhase<'a>> {
    let ix = PhaseIndex::of(phase);
    let mut out: Vec<InPhase<'a>> = system
        .services
        .iter()
        .filter(|s| !ix.without.contains(&s.name))
        .map(|s| with_override(s, ix.overrides.get(&s.name).copied()))
        .collect();
    if let (Some(cluster), Some(db)) = (
        crate::cluster::in_phase(system, phase),
        system.database.as_ref(),
    ) {
        if let Some(coordinator) = out.iter_mut().find(|s| s.name == db.service) {
            coordinator.to_mut().image = Some(cluster.image.clone());
            let coordinator = coordinator.clone().into_owned();
            out.extend(
                crate::cluster::services(system, phase, &coordinator)
                    .into_iter()
                    .map(InPhase::from),
            );
        }
    }
    if let Some(pooler) = crate::pooler::service(system, phase, &out) {
        out.push(InPhase::from(pooler));
    }
    let replica = crate::replica::services(system, phase, &out);
    out.extend(replica.into_iter().map(InPhase::from));
    if let Some(job) = upkeep_job(system, phase, &out) {
        out.push(InPhase::from(job));
    }
    let backups = crate::backup::services(system, phase, &out);
    out.extend(backups.into_iter().map(InPhase::from));
    // A secret passed as a file path is mounted, on every engine.
    for s in &mut out {
        let missing: Vec<Name> = s
            .env
            .values()
            .filter_map(|value| match value {
                crate::Env::SecretFile(name) if !s.secrets.contains(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        for name in missing {
            if !s.secrets.contains(&name) {
                s.to_mut().secrets.push(name);
            }
        }
    }
    out
}

/// The volumes of `phase`: the system's, borrowed, then those the phase derives (a Citus
/// worker's and the read replica's copies of the database's volumes).
pub(crate) fn phase_volumes<'a>(
    system: &'a System,
    phase: &Phase,
) -> Vec<std::borrow::Cow<'a, Volume>> {
    let mut volumes: Vec<std::borrow::Cow<'a, Volume>> = system
        .volumes
        .iter()
        .map(std::borrow::Cow::Borrowed)
        .collect();
    volumes.extend(
        crate::cluster::volumes(system, phase)
            .into_iter()
            .map(std::borrow::Cow::Owned),
    );
    if phase_services_run_replica(system, phase) {
        volumes.extend(
            crate::replica::volumes(system)
                .into_iter()
                .map(std::borrow::Cow::Owned),
        );
    }
    volumes
}

/// A phase's overrides (the first of each service's, as in `Phase::override_of`) and the
/// services it leaves out, by name: a phase may override or leave out thousands.
pub(crate) struct PhaseIndex<'p> {
    pub(crate) overrides: foldhash::HashMap<&'p Name, &'p crate::Override>,
    pub(crate) without: foldhash::HashSet<&'p Name>,
}

impl<'p> PhaseIndex<'p> {
    pub(crate) fn of(phase: &'p Phase) -> Self {
        let mut overrides = foldhash::HashMap::with_capacity(phase.overrides.len());
        for o in &phase.overrides {
            overrides.entry(&o.service).or_insert(o);
        }
        PhaseIndex {
            overrides,
            without: phase.without.iter().collect(),
        }
    }
}

/// Whether `phase` runs the database, and so its replica.
fn phase_services_run_replica(system: &System, phase: &Phase) -> bool {
    system
        .database
        .as_ref()
        .is_some_and(|d| d.replica.is_some() && phase.runs(&d.service))
}

/// Requests and limits of the small jobs the model implies.
pub(crate) fn small_job_resources() -> Resources {
    Resources::new()
        .cpu(Cpu::millis(50), Cpu::millis(200))
        .memory(ByteSize::mib(32), ByteSize::mib(128))
}

/// The partition upkeep job of `phase`, when the database plan asks for one and the phase
/// partitions tables and runs the database.
fn upkeep_job(system: &System, phase: &Phase, services: &[InPhase<'_>]) -> Option<Service> {
    let db = system.database.as_ref()?;
    let upkeep = db.upkeep.as_ref()?;
    if !db.partitions_in(&phase.database) {
        return None;
    }
    let database = services.iter().find(|s| s.name == db.service)?;
    let call = format!(
        "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -qAt -c 'SELECT * FROM {}.escala_partition_upkeep()'",
        db.schema
    );
    let (workload, restart, command) = match phase.engine {
        Engine::Kubernetes => (
            Workload::Scheduled {
                schedule: upkeep.schedule.clone(),
            },
            Restart::OnFailure {
                max_attempts: Some(3),
            },
            call,
        ),
        // No scheduler: run now (retrying each minute until the database answers), then at
        // each time of the schedule (UTC).
        Engine::Compose | Engine::Swarm => (
            Workload::Stateless,
            Restart::UnlessStopped,
            crate::cadence::shell_loop(&upkeep.schedule, &call, "partition upkeep", 60, true),
        ),
    };
    // Swarm starts services in no order (the loop retries instead); elsewhere, wait for it.
    let depends_on = match (phase.engine, database.health.is_some()) {
        (Engine::Swarm, _) => vec![],
        (_, true) => vec![Dependency::healthy(db.service.clone())],
        (_, false) => vec![Dependency::started(db.service.clone())],
    };
    let (env, prelude) = crate::database_node::secrets_as_files(
        phase.engine == Engine::Swarm,
        vec![("DATABASE_URL".into(), upkeep.url.clone())],
    );
    let command = format!("{prelude}{command}");
    let mut job = Service::builder()
        .name(UPKEEP_SERVICE)
        .command(["sh", "-c", command.as_str()])
        .env(env)
        .depends_on(depends_on)
        .networks(database.networks.clone())
        .resources(small_job_resources())
        .workload(workload)
        .restart(restart)
        .build();
    job.image = database.image.clone();
    job.placement = database.placement.clone();
    Some(job)
}

/// `service` with `phase`'s overrides applied.
pub fn effective<'a>(service: &'a Service, phase: &Phase) -> InPhase<'a> {
    with_override(service, phase.override_of(&service.name))
}

/// `service` with the override `o` (its phase's for it, if any) applied.
pub(crate) fn with_override<'a>(service: &'a Service, o: Option<&crate::Override>) -> InPhase<'a> {
    let Some(o) = o else {
        return InPhase::Model(service);
    };
    let mut s = service.clone();
    {
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
        if let Some(image) = &o.image {
            s.image = Some(image.clone());
        }
        if let Some(command) = &o.command {
            s.command = command.clone();
        }
        if let Some(entrypoint) = &o.entrypoint {
            s.entrypoint = entrypoint.clone();
        }
        for (key, value) in &o.env {
            s.env.insert(key.clone(), value.clone());
        }
    }
    InPhase::from(s)
}

/// Whether `image` is Traefik's: its repository's last segment is `traefik`
/// (`traefik:v3.6`, `docker.io/library/traefik:v3`, `traefik@sha256:…`).
fn is_traefik_image(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split(':').next() == Some("traefik")
}

#[cfg(test)]
mod tests {
    use super::is_traefik_image;

    #[test]
    fn traefik_images_are_recognised_by_their_repository() {
        for yes in [
            "traefik",
            "traefik:v3.6",
            "docker.io/library/traefik:v3",
            "traefik@sha256:ab",
            "registry.example.com:5000/ops/traefik:3",
        ] {
            assert!(is_traefik_image(yes), "{yes}");
        }
        for no in [
            "nginx:1.27",
            "traefik-forward-auth:2",
            "ghcr.io/traefik/whoami:1",
            "my-traefik",
        ] {
            assert!(!is_traefik_image(no), "{no}");
        }
    }
}
