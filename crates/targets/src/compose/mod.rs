//! The docker compose target, plain and Dokploy flavour.
//!
//! Renders every phase whose engine is [`Engine::Compose`] into
//! `docker-compose.yml` (valid against the compose-spec schema, no `version:` key) and
//! `.env.example` (every variable the file interpolates). The flavour follows the phase's
//! [`Platform`]: with Dokploy, routed services join the external `dokploy-network` (or rely
//! on Dokploy's isolated network), bind mounts point into `../files/`, routed services
//! publish no host port, and the project name is left to Dokploy.
//!
//! What compose cannot express is reported by [`Target::check`] as a warning (a fidelity
//! report) or, when the output would be wrong, as an error.

mod file;
mod traefik;

use std::collections::HashMap;

use indexmap::IndexMap;

use escala_core::{
    header, Artifacts, Condition, ConfigSource, Diagnostics, Engine, Env, MountSource, Name, Phase,
    PhasePlan, Platform, Probe, Restart, Route, SecretSource, Service, Target, TargetError,
    Workload,
};

use file::{
    BuildSpec, ComposeFile, ConfigSpec, DependsSpec, DeploySpec, FileRef, HealthSpec, MountSpec,
    NetworkSpec, PortSpec, ResourceValues, ResourcesSpec, SecretSpec, ServiceSpec, TmpfsSpec,
    VolumeSpec,
};

/// Diagnostic codes of the compose target.
pub mod codes {
    /// A model feature compose ignores (placement, autoscaling, schedules, volume sizes…).
    pub const DROPPED: &str = "escala::compose::dropped";
    /// A health check that needs a tool inside the image.
    pub const HEALTH_TOOL: &str = "escala::compose::health_assumes_tool";
    /// A secret compose cannot provide (external secrets; file secrets as env vars).
    pub const SECRET: &str = "escala::compose::secret_unsupported";
    /// A published host port with several replicas.
    pub const PORT_CONFLICT: &str = "escala::compose::published_port_replicas";
    /// Every code with its summary.
    pub const ALL: &[(&str, &str)] = &[
        (DROPPED, "compose ignores a feature of the model (placement, autoscaling, schedules, volume sizes, encryption, published ports of routed services on Dokploy)"),
        (HEALTH_TOOL, "an HTTP or TCP health check runs `wget` or `nc` inside the container, which the image must provide"),
        (SECRET, "compose cannot provide an external secret, or a file secret as an environment variable"),
        (PORT_CONFLICT, "several replicas cannot publish the same host port"),
    ];
}

/// The docker compose backend. Options come from each phase's [`Platform`].
#[derive(Clone, Debug, Default)]
pub struct Compose {}

impl Compose {
    /// The compose target.
    pub fn new() -> Self {
        Compose {}
    }
}

const FILE: &str = "docker-compose.yml";
const ENV_EXAMPLE: &str = ".env.example";
const DOKPLOY_NETWORK: &str = "dokploy-network";

/// Writes `$` as `$$`: compose interpolates every string value.
pub(crate) fn dollar(s: &str) -> String {
    s.replace('$', "$$")
}

fn dokploy(phase: &Phase) -> Option<bool> {
    match phase.platform {
        Platform::Dokploy { isolated } => Some(isolated),
        Platform::Plain => None,
    }
}

/// The plan's routes grouped by service, in declaration order (one pass, not one per service).
fn routes_by_service<'a>(plan: &PhasePlan<'a>) -> HashMap<&'a Name, Vec<&'a Route>> {
    let mut by: HashMap<&Name, Vec<&Route>> = HashMap::new();
    for r in plan.routes() {
        by.entry(&r.service).or_default().push(r);
    }
    by
}

impl Target for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn accepts(&self, phase: &Phase) -> bool {
        phase.engine == Engine::Compose
    }

    fn check(&self, plan: &PhasePlan<'_>, diags: &mut Diagnostics) {
        let system = plan.system();
        let phase = plan.phase();
        let p = &phase.name;
        let dokploy = dokploy(phase);
        let routes = routes_by_service(plan);
        for s in plan.services() {
            let at = format!("services.{}", s.name);
            let o = s.origin.as_ref();
            let routed = routes.contains_key(&s.name);
            if !s.placement.is_empty() {
                diags
                    .warning(codes::DROPPED, format!("{at}.placement"), format!("compose runs on one machine; the placement of `{}` is ignored in phase `{p}`", s.name))
                    .help("placement takes effect in Swarm and Kubernetes phases")
                    .origin(o);
            }
            if s.autoscale.is_some() {
                diags
                    .warning(codes::DROPPED, format!("{at}.autoscale"), format!("compose cannot autoscale; `{}` runs a fixed {} replica(s) in phase `{p}`", s.name, s.replicas))
                    .help("autoscaling takes effect in Kubernetes phases")
                    .origin(o);
            }
            if let Workload::Scheduled { schedule } = &s.workload {
                diags
                    .warning(codes::DROPPED, format!("{at}.workload"), format!("compose has no scheduler; in phase `{p}`, `{}` runs once at startup instead of on `{schedule}`", s.name))
                    .help("run it from the host's cron (`docker compose run`), or use a Kubernetes phase")
                    .origin(o);
            }
            match &s.health.as_ref().map(|h| &h.probe) {
                Some(Probe::Http { .. }) => {
                    diags
                        .warning(codes::HEALTH_TOOL, format!("{at}.health"), format!("in phase `{p}`, the HTTP health check of `{}` runs `wget` inside the container", s.name))
                        .help("make sure the image has `wget` (busybox and alpine do), or use `HealthCheck::command`")
                        .origin(o);
                }
                Some(Probe::Tcp { .. }) => {
                    diags
                        .warning(
                            codes::HEALTH_TOOL,
                            format!("{at}.health"),
                            format!(
                                "in phase `{p}`, the TCP health check of `{}` runs `nc -z` inside the container",
                                s.name
                            ),
                        )
                        .help("make sure the image has `nc`, or use `HealthCheck::command`")
                        .origin(o);
                }
                _ => {}
            }
            for (key, value) in &s.env {
                let Env::Secret(name) = value else { continue };
                let Some(secret) = system.secrets.iter().find(|x| &x.name == name) else {
                    continue;
                };
                if !matches!(secret.source, SecretSource::Env(_)) {
                    diags
                        .error(codes::SECRET, format!("{at}.env.{key}"), format!("in phase `{p}`, compose can only put a secret into an environment variable when the secret comes from the environment; `{name}` does not"))
                        .help(format!("declare `{name}` with `Secret::from_env`, or mount it (`.secrets([\"{name}\"])`) and point the program at `/run/secrets/{name}`"))
                        .origin(o);
                }
            }
            let published: Vec<_> = s.ports.iter().filter(|p| p.publish.is_some()).collect();
            if !published.is_empty() && dokploy.is_some() && routed {
                diags
                    .warning(codes::DROPPED, format!("{at}.ports"), format!("on Dokploy (phase `{p}`), routed service `{}` publishes no host port; Traefik reaches it over the network", s.name))
                    .help("remove `.publish(..)` from its ports, or drop the route")
                    .origin(o);
            } else if !published.is_empty() && s.replicas > 1 {
                diags
                    .error(codes::PORT_CONFLICT, format!("{at}.ports"), format!("{} replicas of `{}` in phase `{p}` cannot all publish host port {}", s.replicas, s.name, published[0].publish.unwrap_or_default()))
                    .help("publish no host port (route to it instead), or run one replica in this phase")
                    .origin(o);
            }
            if dokploy.is_some() {
                for (i, m) in s.mounts.iter().enumerate() {
                    if let MountSource::Bind(path) = &m.source {
                        if path.starts_with('/') {
                            diags
                                .warning(codes::DROPPED, format!("{at}.mounts[{i}]"), format!("absolute bind mount `{path}` in phase `{p}`: Dokploy cleans host paths up during deployments"))
                                .help("use a path relative to the project; it is mapped into Dokploy's `../files/`")
                                .origin(o);
                        }
                    }
                }
            }
        }
        for (i, secret) in system.secrets.iter().enumerate() {
            if matches!(secret.source, SecretSource::External(_))
                && plan
                    .services()
                    .iter()
                    .any(|s| s.secrets.contains(&secret.name))
            {
                diags
                    .error(codes::SECRET, format!("secrets[{i}]"), format!("compose cannot use external secret `{}` in phase `{p}` (external secrets need Swarm or Kubernetes)", secret.name))
                    .help("give this phase the secret from the environment (`Secret::from_env`) or a file (`Secret::from_file`)");
            }
        }
        let mounted = |v: &escala_core::Name| {
            plan.services().iter().any(|s| {
                s.mounts
                    .iter()
                    .any(|m| matches!(&m.source, MountSource::Volume(x) if x == v))
            })
        };
        for (i, v) in system.volumes.iter().enumerate() {
            if mounted(&v.name) && (v.size.is_some() || v.storage_class.is_some()) {
                diags
                    .warning(codes::DROPPED, format!("volumes[{i}]"), format!("compose volumes have no size or storage class; those of `{}` are ignored in phase `{p}`", v.name))
                    .help("they take effect in Kubernetes phases");
            }
        }
        for (i, n) in system.networks.iter().enumerate() {
            if n.encrypted && plan.services().iter().any(|s| s.networks.contains(&n.name)) {
                diags
                    .warning(codes::DROPPED, format!("networks[{i}]"), format!("compose bridge networks stay on one machine; encryption of `{}` is ignored in phase `{p}`", n.name))
                    .help("encryption takes effect on Swarm overlay networks");
            }
        }
    }

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let mut vars: IndexMap<String, String> = IndexMap::new();
        let file = compose_file(plan, &mut vars);
        let yaml = crate::yaml::to_string(&file).map_err(|e| TargetError::Serialize {
            target: "compose",
            path: FILE.into(),
            message: e.to_string(),
        })?;
        let mut artifacts = Artifacts::new();
        artifacts.insert(FILE, format!("{}{yaml}", header("compose")));
        artifacts.insert(ENV_EXAMPLE, env_example(plan.phase(), &vars));
        Ok(artifacts)
    }
}

fn env_example(phase: &Phase, vars: &IndexMap<String, String>) -> String {
    let mut out = header("compose");
    out.push_str(&format!(
        "# Variables {FILE} reads. Copy this file to `.env` next to it{} and fill in the values;\n# never commit the filled-in copy.\n",
        if dokploy(phase).is_some() { " (or paste into Dokploy's Environment tab)" } else { "" }
    ));
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort();
    for (var, why) in sorted {
        out.push_str(&format!("\n# {why}\n{var}=\n"));
    }
    out
}

fn compose_file(plan: &PhasePlan<'_>, vars: &mut IndexMap<String, String>) -> ComposeFile {
    let system = plan.system();
    let phase = plan.phase();
    let dokploy = dokploy(phase);
    let mut file = ComposeFile {
        // Dokploy sets the project name itself (`-p <appName>`).
        name: dokploy.is_none().then(|| system.name.to_string()),
        ..ComposeFile::default()
    };
    let mut uses_dokploy_network = false;
    let by_service = routes_by_service(plan);
    for s in plan.services() {
        let routes = by_service.get(&s.name).cloned().unwrap_or_default();
        let mut spec = service(plan, s, dokploy, !routes.is_empty(), vars);
        if !routes.is_empty() {
            let conv = match dokploy {
                Some(false) => {
                    uses_dokploy_network = true;
                    if spec.networks.is_empty() {
                        spec.networks.push("default".into());
                    }
                    spec.networks.push(DOKPLOY_NETWORK.into());
                    traefik::Conventions {
                        network: DOKPLOY_NETWORK.into(),
                        redirect: "redirect-to-https@file".into(),
                        define_redirect: None,
                    }
                }
                Some(true) => {
                    vars.insert(
                        "APP_NAME".into(),
                        "set by Dokploy: the app's name, which is also its isolated network".into(),
                    );
                    traefik::Conventions {
                        network: "${APP_NAME}".into(),
                        redirect: "redirect-to-https@file".into(),
                        define_redirect: None,
                    }
                }
                None => {
                    let net = s.networks.first().map_or("default", |n| n.as_str());
                    let m = format!("{}-https-redirect", system.name);
                    traefik::Conventions {
                        network: format!("{}_{net}", system.name),
                        redirect: format!("{m}@docker"),
                        define_redirect: Some(m),
                    }
                }
            };
            spec.labels
                .extend(traefik::labels(system, s, &routes, &conv));
        }
        file.services.insert(s.name.to_string(), spec);
    }
    let joins =
        |name: &escala_core::Name| plan.services().iter().any(|s| s.networks.contains(name));
    for n in system.networks.iter().filter(|n| joins(&n.name)) {
        file.networks.insert(
            n.name.to_string(),
            NetworkSpec {
                external: false,
                internal: n.internal,
            },
        );
    }
    if uses_dokploy_network {
        file.networks.insert(
            DOKPLOY_NETWORK.into(),
            NetworkSpec {
                external: true,
                internal: false,
            },
        );
    }
    let mounts = |name: &escala_core::Name| {
        plan.services().iter().any(|s| {
            s.mounts
                .iter()
                .any(|m| matches!(&m.source, MountSource::Volume(v) if v == name))
        })
    };
    for v in system.volumes.iter().filter(|v| mounts(&v.name)) {
        let mut spec = VolumeSpec::default();
        if v.backup {
            spec.labels.insert("escala.backup".into(), "true".into());
        }
        file.volumes.insert(v.name.to_string(), spec);
    }
    let used = |name: &escala_core::Name| plan.services().iter().any(|s| s.secrets.contains(name));
    for secret in system.secrets.iter().filter(|x| used(&x.name)) {
        let spec = match &secret.source {
            SecretSource::Env(var) => {
                vars.insert(var.clone(), format!("secret `{}`", secret.name));
                SecretSpec::Environment(var.clone())
            }
            SecretSource::File(path) => SecretSpec::File(host_path(plan, path, dokploy)),
            // Refused by `check`; never reached for a checked plan.
            SecretSource::External(name) => SecretSpec::Environment(name.clone()),
        };
        file.secrets.insert(secret.name.to_string(), spec);
    }
    let mounted = |name: &escala_core::Name| {
        plan.services()
            .iter()
            .any(|s| s.configs.iter().any(|c| &c.config == name))
    };
    for config in system.configs.iter().filter(|c| mounted(&c.name)) {
        let spec = match &config.source {
            ConfigSource::File(path) => ConfigSpec::File(host_path(plan, path, dokploy)),
            ConfigSource::Inline(content) => ConfigSpec::Content(dollar(content)),
            ConfigSource::Values(_) => continue,
        };
        file.configs.insert(config.name.to_string(), spec);
    }
    file
}

/// A file the deployment reads (bind mount, file config or secret) as seen from the output
/// directory. Dokploy keeps such files in its File Mounts folder, `files/`, beside the
/// checkout of the repository: `<root>/../files/<path>`.
fn host_path(plan: &PhasePlan<'_>, path: &str, dokploy: Option<bool>) -> String {
    match dokploy {
        Some(_) if !path.starts_with('/') => {
            let rest = path.trim_start_matches("./");
            let rest = rest.strip_prefix("../files/").unwrap_or(rest);
            plan.host_path(&format!("../files/{rest}"))
        }
        _ => plan.host_path(path),
    }
}

fn service(
    plan: &PhasePlan<'_>,
    s: &Service,
    dokploy: Option<bool>,
    routed: bool,
    vars: &mut IndexMap<String, String>,
) -> ServiceSpec {
    let system = plan.system();
    let mut spec = ServiceSpec {
        image: s.image.as_deref().map(dollar),
        build: s.build.as_ref().map(|b| BuildSpec {
            context: plan.host_path(&b.context),
            dockerfile: b.dockerfile.clone(),
            args: b.args.iter().map(|(k, v)| (k.clone(), dollar(v))).collect(),
            target: b.target.clone(),
        }),
        entrypoint: s.entrypoint.iter().map(|a| dollar(a)).collect(),
        command: s.command.iter().map(|a| dollar(a)).collect(),
        user: s.user.as_deref().map(dollar),
        read_only: s.read_only_root,
        restart: restart(s),
        ..ServiceSpec::default()
    };
    for (key, value) in &s.env {
        let rendered = match value {
            Env::Literal(v) => dollar(v),
            Env::Config { config, key: k } => system
                .configs
                .iter()
                .find(|c| &c.name == config)
                .and_then(|c| match &c.source {
                    ConfigSource::Values(values) => values.get(k).map(|v| dollar(v)),
                    _ => None,
                })
                .unwrap_or_default(),
            Env::Secret(name) => match system
                .secrets
                .iter()
                .find(|x| &x.name == name)
                .map(|x| &x.source)
            {
                Some(SecretSource::Env(var)) => {
                    vars.insert(var.clone(), format!("secret `{name}`"));
                    format!("${{{var}:?{var} must be set}}")
                }
                // Refused by `check`: compose cannot put a file or external secret into env.
                _ => String::new(),
            },
        };
        spec.environment.insert(key.clone(), rendered);
    }
    for p in &s.ports {
        match p.publish {
            Some(host) if !(routed && dokploy.is_some()) => spec.ports.push(PortSpec {
                name: p.name.clone(),
                target: p.container,
                published: host,
                protocol: p.protocol.as_str(),
            }),
            _ => spec.expose.push(match p.protocol {
                escala_core::Protocol::Tcp => p.container.to_string(),
                escala_core::Protocol::Udp => format!("{}/udp", p.container),
            }),
        }
    }
    for m in &s.mounts {
        spec.volumes.push(match &m.source {
            MountSource::Volume(v) => MountSpec {
                kind: "volume",
                source: Some(v.to_string()),
                target: m.target.clone(),
                read_only: m.read_only,
                tmpfs: None,
            },
            MountSource::Bind(path) => MountSpec {
                kind: "bind",
                source: Some(dollar(&host_path(plan, path, dokploy))),
                target: m.target.clone(),
                read_only: m.read_only,
                tmpfs: None,
            },
            MountSource::Tmpfs { size } => MountSpec {
                kind: "tmpfs",
                source: None,
                target: m.target.clone(),
                read_only: m.read_only,
                tmpfs: size.map(|b| TmpfsSpec { size: b.as_bytes() }),
            },
        });
    }
    spec.secrets = s
        .secrets
        .iter()
        .map(|n| FileRef {
            source: n.to_string(),
            target: format!("/run/secrets/{n}"),
        })
        .collect();
    spec.configs = s
        .configs
        .iter()
        .map(|c| FileRef {
            source: c.config.to_string(),
            target: c.target.clone(),
        })
        .collect();
    spec.networks = s.networks.iter().map(|n| n.to_string()).collect();
    for d in &s.depends_on {
        let condition = match d.condition {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::Completed => "service_completed_successfully",
        };
        spec.depends_on
            .insert(d.service.to_string(), DependsSpec { condition });
    }
    spec.healthcheck = s.health.as_ref().map(|h| HealthSpec {
        test: match &h.probe {
            Probe::Command(args) => std::iter::once("CMD".to_owned())
                .chain(args.iter().map(|a| dollar(a)))
                .collect(),
            Probe::Http { path, port } => vec![
                "CMD-SHELL".into(),
                dollar(&format!(
                    "wget -q -O /dev/null http://127.0.0.1:{port}{path} || exit 1"
                )),
            ],
            Probe::Tcp { port } => vec![
                "CMD-SHELL".into(),
                format!("nc -z 127.0.0.1 {port} || exit 1"),
            ],
        },
        interval: h.interval.to_go(),
        timeout: h.timeout.to_go(),
        retries: h.retries,
        start_period: h.start_period.to_go(),
    });
    let r = &s.resources;
    let values = |cpu: Option<escala_core::Cpu>, mem: Option<escala_core::ByteSize>| {
        (cpu.is_some() || mem.is_some()).then(|| ResourceValues {
            cpus: cpu.map(|c| c.to_decimal()),
            memory: mem.map(|m| m.to_docker()),
        })
    };
    let resources = ResourcesSpec {
        limits: values(r.cpu_limit, r.memory_limit),
        reservations: values(r.cpu_request, r.memory_request),
    };
    let has_resources = resources.limits.is_some() || resources.reservations.is_some();
    spec.deploy = Some(DeploySpec {
        replicas: s.replicas,
        resources: has_resources.then_some(resources),
    });
    spec.labels = s
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), dollar(v)))
        .collect();
    spec
}

fn restart(s: &Service) -> String {
    if matches!(s.workload, Workload::Scheduled { .. }) {
        return "no".into();
    }
    match &s.restart {
        Restart::Always => "always".into(),
        Restart::UnlessStopped => "unless-stopped".into(),
        Restart::OnFailure {
            max_attempts: Some(n),
        } => format!("on-failure:{n}"),
        Restart::OnFailure { max_attempts: None } => "on-failure".into(),
        Restart::Never => "no".into(),
    }
}
