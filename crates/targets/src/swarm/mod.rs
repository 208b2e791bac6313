//! The Docker Swarm target: stack files for `docker stack deploy -c stack.yml NAME`, plain or
//! in Dokploy's stack mode.
//!
//! Renders every phase whose engine is [`Engine::Swarm`] into
//!
//! - `stack.yml`, accepted by Swarm's own loader (`docker stack config`) and the v3.13
//!   schema, with no `version:` key (docker 27 and later assume 3.13);
//! - `stack.env.example`, the variables the file interpolates (`docker stack deploy` reads no
//!   `.env`: they must be exported, or set in Dokploy), and the `docker secret create`
//!   commands for secrets that must exist before deploying;
//! - `configs/<name>` for every inline config (stack files cannot hold config content).
//!
//! Swarm honours `deploy:` (mode, replicas, resources, placement, update and rollback,
//! restart policy) and reads Traefik's labels from `deploy.labels`. What it cannot do —
//! build images, order start-up, autoscale, run on a schedule — is reported by
//! [`Target::check`], never dropped in silence.

use escala_core::{
    header, Artifacts, ConfigSource, Diagnostics, Duration, Engine, Env, MountSource, Name,
    NodeRole, Phase, PhasePlan, Restart, SecretSource, Service, Spread, Target, TargetError,
    Unappliable, Workload,
};

use crate::docker::file::{
    DeploySpec, File, NetworkSpec, ObjectSpec, PlacementSpec, RestartPolicySpec, SpreadSpec,
    UpdateSpec,
};
use crate::docker::{self, Dialect, Vars};

/// Diagnostic codes of the swarm target.
pub mod codes {
    /// A model feature Swarm ignores (build, start order, autoscaling, schedules, sizes…).
    pub const DROPPED: &str = "escala::swarm::dropped";
    /// A health check that needs a tool inside the image.
    pub const HEALTH_TOOL: &str = "escala::swarm::health_assumes_tool";
    /// A secret Swarm cannot provide as an environment variable.
    pub const SECRET: &str = "escala::swarm::secret_unsupported";
    /// A secret from the environment that must be created in the Swarm before deploying.
    pub const SECRET_CREATE: &str = "escala::swarm::secret_must_exist";
    /// A secret passed as an environment variable, whose value the service's spec then holds.
    pub const SECRET_IN_SPEC: &str = "escala::swarm::secret_in_spec";
    /// More replicas of a service publishing in host mode than nodes that may run it.
    pub const HOST_MODE_REPLICAS: &str = "escala::swarm::host_mode_replicas";
    /// A service with only a build: Swarm needs an image.
    pub const NO_IMAGE: &str = "escala::swarm::no_image";
    /// A local volume on a service that may move between nodes.
    pub const UNPINNED: &str = "escala::swarm::unpinned_volume";
    /// An object over Swarm's size limit.
    pub const TOO_LARGE: &str = "escala::swarm::too_large";
    /// A config file that could not be read while building.
    pub const MISSING_FILE: &str = "escala::swarm::missing_file";
    /// A routed service on no network its proxy is on.
    pub const PROXY_UNREACHABLE: &str = "escala::swarm::proxy_unreachable";
    /// A folder config: a Swarm config is one file.
    pub const CONFIG_FOLDER: &str = "escala::swarm::config_folder";
    /// A service in another's network namespace, which Swarm services cannot share.
    pub const SHARED_NAMESPACE: &str = "escala::swarm::shared_namespace";
    /// Every code with its summary.
    pub const ALL: &[(&str, &str)] = &[
        (DROPPED, "Swarm ignores a feature of the model (build, depends_on, autoscaling, schedules, volume sizes, published ports of routed services on Dokploy)"),
        (HEALTH_TOOL, "an HTTP or TCP health check runs `wget` or `nc` inside the container, which the image must provide"),
        (SECRET, "Swarm cannot put a file or external secret into an environment variable"),
        (SECRET_CREATE, "a secret read from the environment becomes an external Swarm secret that must be created before deploying"),
        (SECRET_IN_SPEC, "a secret passed as an environment variable is stored in the Swarm service's spec, readable by `docker service inspect`"),
        (HOST_MODE_REPLICAS, "a service publishing a port in host mode has more replicas than nodes that may run it (one task per node)"),
        (NO_IMAGE, "a service has a build but no image; Swarm cannot build"),
        (UNPINNED, "a service writes to a local volume but may be scheduled on more than one node"),
        (TOO_LARGE, "a config is over Swarm's 500 KiB limit"),
        (MISSING_FILE, "a config file could not be read while building, so the config cannot be named after its content"),
        (PROXY_UNREACHABLE, "a routed service shares no network with the proxy (Traefik), which could not reach it"),
        (CONFIG_FOLDER, "a service mounts a folder config, and a Swarm config is a single file"),
        (SHARED_NAMESPACE, "a service runs in another's network namespace (a sidecar), which Swarm services cannot share"),
    ];
}

const CODES: docker::Codes = docker::Codes {
    engine: "Swarm",
    dropped: codes::DROPPED,
    health_tool: codes::HEALTH_TOOL,
    secret: codes::SECRET,
    proxy_unreachable: codes::PROXY_UNREACHABLE,
};

/// The Docker Swarm backend. Options come from each phase's platform.
#[derive(Clone, Debug, Default)]
pub struct Swarm {}

impl Swarm {
    /// The swarm target.
    pub fn new() -> Self {
        Swarm {}
    }
}

const FILE: &str = "stack.yml";
const ENV_EXAMPLE: &str = "stack.env.example";

/// The external name of a secret read from the environment.
fn external_secret_name(plan: &PhasePlan<'_>, secret: &str) -> String {
    format!("{}_{secret}", plan.system().name)
}

/// The `docker secret create` line of a secret read from the environment (its value never
/// shown: it comes from the variable).
fn secret_command(plan: &PhasePlan<'_>, secret: &str, var: &str) -> String {
    format!(
        "printf '%s' \"${var}\" | docker secret create {} -",
        external_secret_name(plan, secret)
    )
}

/// Every secret the stack needs created before its first deploy, as commands.
pub(crate) fn secret_commands(plan: &PhasePlan<'_>) -> Vec<String> {
    plan.system()
        .secrets
        .iter()
        .filter(|x| docker::mounts_secret(plan, &x.name))
        .filter_map(|secret| match &secret.source {
            SecretSource::Env(var) => Some(secret_command(plan, secret.name.as_str(), var)),
            _ => None,
        })
        .collect()
}

impl Target for Swarm {
    fn name(&self) -> &'static str {
        "swarm"
    }

    fn accepts(&self, phase: &Phase) -> bool {
        phase.engine == Engine::Swarm
    }

    fn check(&self, plan: &PhasePlan<'_>, diags: &mut Diagnostics) {
        docker::check_common(plan, &CODES, diags);
        let system = plan.system();
        let phase = plan.phase();
        let p = &phase.name;
        for s in plan.services() {
            let at = escala_core::At::service(s.name.as_str());
            if let Some(host) = &s.network_of {
                diags
                    .error(codes::SHARED_NAMESPACE, format!("{at}.network_of"), format!("`{}` runs in `{host}`'s network namespace, and Swarm services cannot share one (phase `{p}`)", s.name))
                    .help(format!("reach `{host}` by its service name instead of `localhost`, or leave `{}` out of this phase (`Phase::without`)", s.name))
                    .origin(s.origin.as_ref());
            }
            if let Some(c) = &s.container_name {
                diags
                    .warning(codes::DROPPED, format!("{at}.container_name"), format!("stack files ignore container names; in phase `{p}`, `{}`'s containers get Swarm's names, not `{c}`", s.name))
                    .help("reach the service by its name")
                    .origin(s.origin.as_ref());
            }
        }
        for (i, c) in system.configs.iter().enumerate() {
            if let ConfigSource::Dir(path) = &c.source {
                if crate::usage::mounts_config(plan, &c.name) {
                    diags
                        .error(codes::CONFIG_FOLDER, format!("configs[{i}]"), format!("config `{}` is the folder `{path}`, and a Swarm config is a single file (phase `{p}`)", c.name))
                        .help("declare a `Config::file` per file of the folder, each mounted at its path, or bake the folder into the image");
                }
            }
        }
        for s in plan.services() {
            let at = escala_core::At::service(s.name.as_str());
            let o = s.origin.as_ref();
            match (&s.image, &s.build) {
                (None, Some(b)) => {
                    diags
                        .error(codes::NO_IMAGE, format!("{at}.image"), format!("`{}` has only a build, and Swarm cannot build (phase `{p}`)", s.name))
                        .help(format!("set the image it is pushed as, e.g. `.image(\"registry.example.com/{}:1.0\")`, and push it after building `{}`", s.name, b.context))
                        .origin(o);
                }
                (Some(image), Some(_)) => {
                    diags
                        .warning(codes::DROPPED, format!("{at}.build"), format!("Swarm cannot build; in phase `{p}`, `{}` runs the pushed image `{image}`", s.name))
                        .help("build and push the image before `docker stack deploy` (add `--with-registry-auth` for a private registry)")
                        .origin(o);
                }
                _ => {}
            }
            if !s.depends_on.is_empty() {
                diags
                    .warning(codes::DROPPED, format!("{at}.depends_on"), format!("Swarm starts services in no order; `depends_on` of `{}` is ignored in phase `{p}`", s.name))
                    .help("make the service retry until its dependencies answer; its health check and restart policy keep it out of rotation until then")
                    .origin(o);
            }
            if s.workload != Workload::PerNode {
                unpinned_volumes(plan, s, diags);
            }
            let host_port = s.ports.iter().find(|p| p.host_mode && p.publish.is_some());
            if let (Some(port), false) = (host_port, phase.nodes.is_empty()) {
                let eligible = phase
                    .nodes
                    .iter()
                    .filter(|n| n.satisfies(&s.placement))
                    .count();
                let replicated = matches!(s.workload, Workload::Stateless | Workload::Stateful);
                if replicated && s.replicas as usize > eligible {
                    diags
                        .error(codes::HOST_MODE_REPLICAS, format!("{at}.replicas"), format!("`{}` publishes port {} in host mode, so each node runs at most one of its tasks, but phase `{p}` asks for {} replicas and {eligible} node(s) may run it", s.name, port.publish.unwrap_or(port.container), s.replicas))
                        .help(format!("run at most {eligible} replica(s) in phase `{p}`, widen its placement, or make it `Workload::PerNode` (one task on every node)"))
                        .origin(o);
                }
            }
            for (key, value) in &s.env {
                let Env::Secret(name) = value else { continue };
                let from_env = plan
                    .secret(name)
                    .is_some_and(|x| matches!(x.source, SecretSource::Env(_)));
                if from_env {
                    diags
                        .warning(codes::SECRET_IN_SPEC, format!("{at}.env.{key}"), format!("in phase `{p}`, `docker stack deploy` writes the value of secret `{name}` into `{key}` of `{}`'s service spec, where anyone who can `docker service inspect` it reads it", s.name))
                        .help(format!("if the program reads a file, pass `(\"{key}_FILE\", Env::secret_file(\"{name}\"))` (the secret is mounted at /run/secrets/{name}); otherwise acknowledge it with `Phase::accept(\"{}\", \"{at}.env.{key}\", \"why\")`", codes::SECRET_IN_SPEC))
                        .origin(o);
                }
            }
        }
        for (i, secret) in system.secrets.iter().enumerate() {
            if let SecretSource::Env(var) = &secret.source {
                if docker::mounts_secret(plan, &secret.name) {
                    let name = external_secret_name(plan, secret.name.as_str());
                    diags
                        .warning(codes::SECRET_CREATE, format!("secrets[{i}]"), format!("stack files cannot read a secret from the environment; in phase `{p}`, `{}` is the external Swarm secret `{name}`", secret.name))
                        .help(format!("create it once on a manager: `printf '%s' \"${var}\" | docker secret create {name} -` (also listed in {ENV_EXAMPLE})"));
                }
            }
        }
        // Swarm refuses a config over 500 KiB (`docker config create`: "config data too long").
        for (name, len) in crate::usage::oversized_configs(plan, 500 * 1024) {
            diags
                .error(codes::TOO_LARGE, format!("configs.{name}"), format!("config `{name}` holds {len} bytes; Swarm refuses a config over 500 KiB (512000 bytes) in phase `{p}`"))
                .help("mount a volume with the file instead, or make it smaller");
        }
        for (name, path) in crate::usage::unreadable_config_files(plan) {
            diags
                .error(codes::MISSING_FILE, format!("configs.{name}"), format!("config file `{path}` could not be read, so phase `{p}` cannot name the Swarm config `{name}` after its content (Swarm configs cannot change in place)"))
                .help(crate::usage::MISSING_FILE_HELP);
        }
    }

    fn unappliable(&self, path: &str, old: &str, new: &str) -> Vec<Unappliable> {
        if path == FILE {
            docker::in_place::unappliable(old, new, Dialect::Swarm)
        } else {
            Vec::new()
        }
    }

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let mut vars = Vars::default();
        let mut artifacts = Artifacts::new();
        let mut creates = String::new();
        // First, so the stack file can name the `alert-rules` config after its content.
        artifacts.insert(
            crate::alerts::RULES_FILE,
            crate::alerts::rules_file("swarm", plan.system(), false)?,
        );
        let file = stack_file(plan, &mut vars, &mut artifacts, &mut creates);
        let text = file.finish().map_err(|e| TargetError::Serialize {
            target: "swarm",
            path: FILE.into(),
            message: e.to_string(),
        })?;
        artifacts.insert(FILE, text);
        let intro = if docker::dokploy(plan.phase()).is_some() {
            format!("# Variables {FILE} reads. Dokploy passes its Environment tab to `docker stack deploy`;\n# set these there. `docker stack deploy` itself reads no `.env` file.\n")
        } else {
            format!("# Variables {FILE} reads. `docker stack deploy` reads no `.env` file: export these in\n# the shell that runs `docker stack deploy -c {FILE} <stack>`. Never commit their values.\n")
        };
        let extra = if creates.is_empty() {
            String::new()
        } else {
            format!("\n# Secrets to create once, on a manager, before the first deploy:\n{creates}")
        };
        artifacts.insert(
            ENV_EXAMPLE,
            docker::env_example("swarm", &intro, &vars, &extra),
        );
        Ok(artifacts)
    }
}

/// A service writing to a local (single-writer) volume must stay on one node, or a
/// rescheduled task starts on another node with an empty volume.
fn unpinned_volumes(plan: &PhasePlan<'_>, s: &Service, diags: &mut Diagnostics) {
    let phase = plan.phase();
    let nodes = &phase.nodes;
    let pinned = match nodes.len() {
        1 => true,
        0 => s.placement.constrains(),
        _ => nodes.iter().filter(|n| n.satisfies(&s.placement)).count() == 1,
    };
    if pinned {
        return;
    }
    for (i, m) in s.mounts.iter().enumerate() {
        let MountSource::Volume(v) = &m.source else {
            continue;
        };
        let local = plan
            .volume(v)
            .is_some_and(|x| x.access == escala_core::Access::SingleWriter);
        if local && !m.read_only {
            let candidates = nodes.iter().filter(|n| n.satisfies(&s.placement)).count();
            let why = if nodes.is_empty() {
                "nothing constrains where it runs".to_owned()
            } else {
                format!("{candidates} nodes of phase `{}` qualify", phase.name)
            };
            diags
                .error(codes::UNPINNED, format!("services.{}.mounts[{i}]", s.name), format!("`{}` writes to local volume `{v}`, but {why}; a rescheduled task would start on another node with an empty volume", s.name))
                .help(format!("pin it in this phase, e.g. `.placement(\"{}\", Placement::anywhere().role(NodeRole::Manager))` with one manager, or a node label only one node carries", s.name))
                .origin(s.origin.as_ref());
        }
    }
}

fn stack_file(
    plan: &PhasePlan<'_>,
    vars: &mut Vars,
    artifacts: &mut Artifacts,
    creates: &mut String,
) -> File {
    let system = plan.system();
    let dokploy = docker::dokploy(plan.phase());
    let mut file = File::new(&header("swarm"), None);
    let mut uses_dokploy_network = false;
    let mut traefik_networks: Vec<String> = Vec::new();
    let by_service = docker::routes_by_service(plan);
    for s in plan.services() {
        let routes = by_service.get(&s.name).cloned().unwrap_or_default();
        let mut spec = docker::service(plan, s, Dialect::Swarm, !routes.is_empty(), vars);
        let mut deploy = deploy(s);
        if !routes.is_empty() {
            let (labels, joined) =
                docker::traefik_labels(plan, s, &routes, Dialect::Swarm, &mut spec, vars);
            deploy.labels.extend(labels);
            uses_dokploy_network |= joined;
            if dokploy.is_none() {
                // The network the proxy reaches it on (whatever the order the service
                // lists its networks in), made attachable below.
                let net = docker::routed_network(plan, s)
                    .ok()
                    .or_else(|| s.networks.first().map(|n| n.as_str()))
                    .unwrap_or("default");
                if !traefik_networks.iter().any(|n| n == net) {
                    traefik_networks.push(net.to_owned());
                }
            }
        }
        spec.deploy = Some(deploy);
        file.service(s.name.as_str(), &spec);
    }
    // Outside Dokploy every stack network gets an explicit name, so Traefik's
    // `traefik.swarm.network` label (which needs the real name) does not depend on the stack
    // name given at deploy time. On Dokploy, Traefik uses `dokploy-network` (or the app's own)
    // and the stack keeps Docker's `<stack>_<key>` names, so copies of an app never collide.
    let overlay = |key: &str, internal: bool, encrypted: bool| {
        let mut spec = NetworkSpec {
            name: dokploy.is_none().then(|| format!("{}_{key}", system.name)),
            driver: Some("overlay"),
            internal,
            attachable: traefik_networks.iter().any(|n| n == key),
            ..NetworkSpec::default()
        };
        if encrypted {
            spec.driver_opts.insert("encrypted".into(), String::new());
        }
        spec
    };
    let needs_default = plan.services().iter().any(|s| s.networks.is_empty())
        && traefik_networks.iter().any(|n| n == "default");
    if needs_default {
        file.networks
            .insert("default".into(), overlay("default", false, false));
    }
    for n in system
        .networks
        .iter()
        .filter(|n| docker::joins_network(plan, &n.name))
    {
        file.networks.insert(
            n.name.to_string(),
            overlay(n.name.as_str(), n.internal, n.encrypted),
        );
    }
    docker::shared_objects(plan, uses_dokploy_network, &mut file);
    for secret in system
        .secrets
        .iter()
        .filter(|x| docker::mounts_secret(plan, &x.name))
    {
        let spec = match &secret.source {
            SecretSource::Env(var) => {
                let name = external_secret_name(plan, secret.name.as_str());
                creates.push_str(&format!(
                    "#   {}\n",
                    secret_command(plan, secret.name.as_str(), var)
                ));
                ObjectSpec {
                    external: true,
                    name: Some(name),
                    ..ObjectSpec::default()
                }
            }
            SecretSource::File(path) => ObjectSpec {
                file: Some(docker::host_path(plan, path)),
                ..ObjectSpec::default()
            },
            SecretSource::External(name) => ObjectSpec {
                external: true,
                name: Some(name.clone()),
                ..ObjectSpec::default()
            },
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
        let (path, content) = match &config.source {
            // A config file lives in the repository, which Dokploy checks out too.
            ConfigSource::File(path) => (
                plan.host_path(path),
                plan.content(path).map(|c| match c {
                    escala_core::FileContent::Text(t) => t.to_owned(),
                    escala_core::FileContent::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                }),
            ),
            // Refused by the check: a Swarm config is one file.
            ConfigSource::Dir(_) => continue,
            ConfigSource::Inline(content) => {
                // Stack files cannot hold content; the config becomes a file beside them.
                let rel = format!("configs/{}", config.name);
                artifacts.insert(rel.clone(), content.clone());
                (format!("./{rel}"), Some(content.clone()))
            }
            // Written beside the stack file by this target.
            ConfigSource::AlertRules => (
                format!("./{}", crate::alerts::RULES_FILE),
                artifacts.get(crate::alerts::RULES_FILE).map(str::to_owned),
            ),
            ConfigSource::Values(_) => continue,
        };
        let spec = ObjectSpec {
            file: Some(path),
            name: content.map(|c| config_name(&system.name, &config.name, &c)),
            ..ObjectSpec::default()
        };
        file.configs.insert(config.name.to_string(), spec);
    }
    file
}

/// The Swarm name of a config: `<stack>_<config>-<digest of its content>`. Swarm refuses to
/// change a config's content ("only updates to Labels are allowed"), so a new content gets a
/// new name, and `docker stack deploy` rolls the services over to it. Swarm names are at most
/// 64 characters; the readable part is shortened to keep the digest.
fn config_name(system: &Name, config: &Name, content: &str) -> String {
    let digest = crate::digest::short(content);
    let mut base = format!("{system}_{config}");
    base.truncate(64 - digest.len() - 1);
    let base = base.trim_end_matches(['-', '_', '.']);
    format!("{base}-{digest}")
}

/// `deploy:` for one service: mode, replicas, resources, placement, updates, restarts.
fn deploy(s: &Service) -> DeploySpec {
    let (mode, replicas) = match s.workload {
        Workload::PerNode => ("global", None),
        Workload::Scheduled { .. } => ("replicated-job", Some(s.replicas)),
        Workload::Stateless | Workload::Stateful => ("replicated", Some(s.replicas)),
    };
    let job = matches!(s.workload, Workload::Scheduled { .. });
    let mut placement = PlacementSpec::default();
    if let Some(role) = s.placement.role {
        let role = match role {
            NodeRole::Manager => "manager",
            NodeRole::Worker => "worker",
        };
        placement.constraints.push(format!("node.role == {role}"));
    }
    for (k, v) in &s.placement.labels {
        placement
            .constraints
            .push(format!("node.labels.{k} == {v}"));
    }
    // Swarm already spreads a service's tasks over the nodes that qualify; only spreading
    // over a label's values needs a preference.
    if let Some(Spread::Label(label)) = &s.placement.spread {
        placement.preferences.push(SpreadSpec {
            spread: format!("node.labels.{label}"),
        });
    }
    // A port published in host mode is bound on the node itself: two tasks of the service
    // cannot share a node, and a replacement cannot start before the old task frees the port.
    let host_ports = s.ports.iter().any(|p| p.host_mode && p.publish.is_some());
    if host_ports && mode == "replicated" {
        placement.max_replicas_per_node = Some(1);
    }
    // A stateful service must stop before its replacement starts (one writer at a time);
    // a stateless one starts the new task first, so there is no gap.
    let order = if s.workload == Workload::Stateful || host_ports {
        "stop-first"
    } else {
        "start-first"
    };
    let update = |failure_action| UpdateSpec {
        parallelism: 1,
        delay: Duration::secs(10).to_go(),
        failure_action,
        monitor: Duration::secs(30).to_go(),
        order,
    };
    let (condition, max_attempts) = match (&s.restart, job) {
        (_, true) => ("on-failure", Some(3)),
        (Restart::Always | Restart::UnlessStopped, _) => ("any", None),
        (Restart::OnFailure { max_attempts }, _) => ("on-failure", *max_attempts),
        (Restart::Never, _) => ("none", None),
    };
    DeploySpec {
        mode: Some(mode),
        replicas,
        resources: docker::resources(s),
        placement: (!placement.constraints.is_empty()
            || !placement.preferences.is_empty()
            || placement.max_replicas_per_node.is_some())
        .then_some(placement),
        update_config: (!job).then(|| update("rollback")),
        rollback_config: (!job).then(|| update("pause")),
        restart_policy: Some(RestartPolicySpec {
            condition,
            delay: Duration::secs(5).to_go(),
            max_attempts,
            window: Duration::secs(120).to_go(),
        }),
        labels: Default::default(),
    }
}
