//! The docker compose target, plain and Dokploy flavour.
//!
//! Renders every phase whose engine is [`Engine::Compose`] into
//! `docker-compose.yml` (valid against the compose-spec schema, no `version:` key) and
//! `.env.example` (every variable the file interpolates). The flavour follows the phase's
//! [`Platform`](escala_core::Platform): with Dokploy, routed services join the external
//! `dokploy-network` (or rely on Dokploy's isolated network), bind mounts point into
//! Dokploy's `files/` folder, routed services publish no host port, and the project name is
//! left to Dokploy.
//!
//! What compose cannot express is reported by [`Target::check`] as a warning (a fidelity
//! report) or, when the output would be wrong, as an error.

use escala_core::{
    header, Artifacts, Condition, ConfigSource, Diagnostics, Engine, Phase, PhasePlan, Restart,
    SecretSource, Service, Target, TargetError, Workload,
};

use crate::docker::file::{DependsSpec, DeploySpec, File, NetworkSpec, ObjectSpec, ServiceSpec};
use crate::docker::{self, Dialect, Vars};

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
    /// A routed service on no network its proxy is on.
    pub const PROXY_UNREACHABLE: &str = "escala::compose::proxy_unreachable";
    /// Every code with its summary.
    pub const ALL: &[(&str, &str)] = &[
        (DROPPED, "compose ignores a feature of the model (placement, autoscaling, schedules, volume sizes, encryption, published ports of routed services on Dokploy)"),
        (HEALTH_TOOL, "an HTTP or TCP health check runs `wget` or `nc` inside the container, which the image must provide"),
        (SECRET, "compose cannot provide an external secret, or a file secret as an environment variable"),
        (PORT_CONFLICT, "several replicas cannot publish the same host port"),
        (PROXY_UNREACHABLE, "a routed service shares no network with the proxy (Traefik), which could not reach it"),
    ];
}

const CODES: docker::Codes = docker::Codes {
    engine: "compose",
    dropped: codes::DROPPED,
    health_tool: codes::HEALTH_TOOL,
    secret: codes::SECRET,
    proxy_unreachable: codes::PROXY_UNREACHABLE,
};

/// The docker compose backend. Options come from each phase's platform.
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

impl Target for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn accepts(&self, phase: &Phase) -> bool {
        phase.engine == Engine::Compose
    }

    fn check(&self, plan: &PhasePlan<'_>, diags: &mut Diagnostics) {
        docker::check_common(plan, &CODES, diags);
        let system = plan.system();
        let p = &plan.phase().name;
        let routes = docker::routes_by_service(plan);
        let dokploy = docker::dokploy(plan.phase());
        for s in plan.services() {
            let at = escala_core::At::service(s.name.as_str());
            let o = s.origin.as_ref();
            if !s.placement.is_empty() {
                diags
                    .warning(codes::DROPPED, format!("{at}.placement"), format!("compose runs on one machine; the placement of `{}` is ignored in phase `{p}`", s.name))
                    .help("placement takes effect in Swarm and Kubernetes phases")
                    .origin(o);
            }
            let published = s.ports.iter().find_map(|p| p.publish);
            let routed_on_dokploy = dokploy.is_some() && routes.contains_key(&s.name);
            if let (Some(port), false, true) = (published, routed_on_dokploy, s.replicas > 1) {
                diags
                    .error(codes::PORT_CONFLICT, format!("{at}.ports"), format!("{} replicas of `{}` in phase `{p}` cannot all publish host port {port}", s.replicas, s.name))
                    .help("publish no host port (route to it instead), or run one replica in this phase")
                    .origin(o);
            }
        }
        for (i, secret) in system.secrets.iter().enumerate() {
            if matches!(secret.source, SecretSource::External(_))
                && docker::mounts_secret(plan, &secret.name)
            {
                diags
                    .error(codes::SECRET, format!("secrets[{i}]"), format!("compose cannot use external secret `{}` in phase `{p}` (external secrets need Swarm or Kubernetes)", secret.name))
                    .help("give this phase the secret from the environment (`Secret::from_env`) or a file (`Secret::from_file`)");
            }
        }
        for (i, n) in system.networks.iter().enumerate() {
            if n.encrypted && docker::joins_network(plan, &n.name) {
                diags
                    .warning(codes::DROPPED, format!("networks[{i}]"), format!("compose bridge networks stay on one machine; encryption of `{}` is ignored in phase `{p}`", n.name))
                    .help("encryption takes effect on Swarm overlay networks");
            }
        }
    }

    fn unappliable(&self, path: &str, old: &str, new: &str) -> Vec<escala_core::Unappliable> {
        if path == FILE {
            docker::in_place::unappliable(old, new, Dialect::Compose)
        } else {
            Vec::new()
        }
    }

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let mut vars = Vars::default();
        let file = compose_file(plan, &mut vars);
        let text = file.finish().map_err(|e| TargetError::Serialize {
            target: "compose",
            path: FILE.into(),
            message: e.to_string(),
        })?;
        let mut artifacts = Artifacts::new();
        artifacts.insert(FILE, text);
        artifacts.insert(
            crate::alerts::RULES_FILE,
            crate::alerts::rules_file("compose", plan.system(), false)?,
        );
        let where_ = if docker::dokploy(plan.phase()).is_some() {
            " (or paste into Dokploy's Environment tab)"
        } else {
            ""
        };
        let intro = format!("# Variables {FILE} reads. Copy this file to `.env` next to it{where_} and fill in the values;\n# never commit the filled-in copy.\n");
        artifacts.insert(
            ENV_EXAMPLE,
            docker::env_example("compose", &intro, &vars, ""),
        );
        Ok(artifacts)
    }
}

fn compose_file(plan: &PhasePlan<'_>, vars: &mut Vars) -> File {
    let system = plan.system();
    let dokploy = docker::dokploy(plan.phase());
    // Dokploy sets the project name itself (`-p <appName>`).
    let mut file = File::new(
        &header("compose"),
        dokploy.is_none().then_some(system.name.as_str()),
    );
    let mut uses_dokploy_network = false;
    let by_service = docker::routes_by_service(plan);
    for s in plan.services() {
        let routes = by_service.get(&s.name).cloned().unwrap_or_default();
        let mut spec = docker::service(plan, s, Dialect::Compose, !routes.is_empty(), vars);
        for d in &s.depends_on {
            let condition = match d.condition {
                Condition::Started => "service_started",
                Condition::Healthy => "service_healthy",
                Condition::Completed => "service_completed_successfully",
            };
            spec.depends_on
                .insert(d.service.to_string(), DependsSpec { condition });
        }
        spec.restart = Some(restart(s));
        spec.deploy = Some(DeploySpec {
            replicas: Some(s.replicas),
            resources: docker::resources(s),
            ..DeploySpec::default()
        });
        if !routes.is_empty() {
            let (labels, joined) =
                docker::traefik_labels(plan, s, &routes, Dialect::Compose, &mut spec, vars);
            spec.labels.extend(labels);
            uses_dokploy_network |= joined;
        }
        if let Some(host) = &s.network_of {
            // A sidecar has the host's network namespace, and compose refuses networks here.
            spec.network_mode = Some(format!("service:{host}"));
            spec.networks.clear();
        }
        spec.container_name = s.container_name.clone();
        // Each init step: a one-shot service on the same networks, after the same
        // dependencies, that the service waits for.
        let mut steps = Vec::new();
        for step in &s.init_steps {
            let step_name = format!("{}-{}", s.name, step.name);
            let mut one = ServiceSpec {
                image: Some(step.image.clone()),
                command: step.command.iter().map(|a| docker::dollar(a)).collect(),
                restart: Some("no".into()),
                networks: spec.networks.clone(),
                network_mode: spec.network_mode.clone(),
                depends_on: spec.depends_on.clone(),
                ..ServiceSpec::default()
            };
            // Steps run in order: each after the previous one.
            if let Some(previous) = steps.last().map(|(n, _): &(String, ServiceSpec)| n.clone()) {
                one.depends_on.insert(
                    previous,
                    DependsSpec {
                        condition: "service_completed_successfully",
                    },
                );
            }
            steps.push((step_name, one));
        }
        if let Some((last, _)) = steps.last() {
            spec.depends_on.insert(
                last.clone(),
                DependsSpec {
                    condition: "service_completed_successfully",
                },
            );
        }
        file.service(s.name.as_str(), &spec);
        for (n, one) in steps {
            file.service(&n, &one);
        }
    }
    for n in system
        .networks
        .iter()
        .filter(|n| docker::joins_network(plan, &n.name))
    {
        let spec = NetworkSpec {
            internal: n.internal,
            ..NetworkSpec::default()
        };
        file.networks.insert(n.name.to_string(), spec);
    }
    docker::shared_objects(plan, uses_dokploy_network, &mut file);
    for secret in system
        .secrets
        .iter()
        .filter(|x| docker::mounts_secret(plan, &x.name))
    {
        let spec = match &secret.source {
            SecretSource::Env(var) => {
                vars.insert(var.clone(), format!("secret `{}`", secret.name));
                ObjectSpec {
                    environment: Some(var.clone()),
                    ..ObjectSpec::default()
                }
            }
            SecretSource::File(path) => ObjectSpec {
                file: Some(docker::host_path(plan, path)),
                ..ObjectSpec::default()
            },
            // Refused by `check`; never reached for a checked plan.
            SecretSource::External(_) => continue,
        };
        file.secrets.insert(secret.name.to_string(), spec);
    }
    for config in system
        .configs
        .iter()
        .filter(|c| docker::mounts_config(plan, &c.name))
    {
        // A credential: a secret read from the same file.
        if docker::sensitive_secret(plan, config, &mut file.secrets) {
            continue;
        }
        let spec = match &config.source {
            // A config file lives in the repository, which Dokploy checks out too.
            ConfigSource::File(path) => ObjectSpec {
                file: Some(plan.host_path(path)),
                ..ObjectSpec::default()
            },
            ConfigSource::Inline(content) => ObjectSpec {
                content: Some(docker::dollar(content)),
                ..ObjectSpec::default()
            },
            // Written beside the compose file by this target.
            ConfigSource::AlertRules => ObjectSpec {
                file: Some(format!("./{}", crate::alerts::RULES_FILE)),
                ..ObjectSpec::default()
            },
            // A folder is bind-mounted read-only by the service itself.
            ConfigSource::Values(_) | ConfigSource::Dir(_) => continue,
        };
        file.configs.insert(config.name.to_string(), spec);
    }
    file
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
