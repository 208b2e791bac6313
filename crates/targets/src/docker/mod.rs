//! What the compose and Swarm targets share: the docker service model.
//!
//! Both write the compose file format; a stack file is a stricter subset read by a different
//! loader. Everything both render the same way — environment, ports, mounts, health checks,
//! resources, Traefik labels, Dokploy's conventions, fidelity warnings common to both —
//! lives here once, parameterised by [`Dialect`].

pub(crate) mod file;
pub(crate) mod in_place;
pub(crate) mod traefik;

pub(crate) use crate::usage::{joins_network, mounts_config, mounts_secret, mounts_volume};

use foldhash::HashMap;
use foldhash::HashMapExt;

use escala_core::{
    ByteSize, ConfigSource, Cpu, Diagnostics, Env, MountSource, Name, Phase, PhasePlan, Platform,
    Probe, Protocol, Route, SecretSource, Service, Workload,
};

use file::{
    BuildSpec, FileRef, HealthSpec, Map, MountSpec, PortSpec, ResourceValues, ResourcesSpec,
    ServiceSpec, TmpfsSpec, UlimitSpec, VolumeOptions,
};

/// Which loader reads the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `docker compose` (compose-spec).
    Compose,
    /// `docker stack deploy` (compose file v3.13, Swarm mode).
    Swarm,
}

impl Dialect {
    /// The Traefik provider that reads this dialect's labels.
    fn provider(self) -> &'static str {
        match self {
            Dialect::Compose => "docker",
            Dialect::Swarm => "swarm",
        }
    }
}

/// The external network Dokploy's Traefik runs on.
pub(crate) const DOKPLOY_NETWORK: &str = "dokploy-network";

/// Variables the file interpolates, with why: written to the env example.
pub(crate) type Vars = Map<String, String>;

/// Writes `$` as `$$`: compose and the stack loader interpolate every string value.
pub(crate) fn dollar(s: &str) -> String {
    s.replace('$', "$$")
}

/// `Some(isolated)` when the phase is deployed by Dokploy.
pub(crate) fn dokploy(phase: &Phase) -> Option<bool> {
    match phase.platform {
        Platform::Dokploy { isolated } => Some(isolated),
        Platform::Plain => None,
    }
}

/// The plan's routes grouped by service, in declaration order (one pass, not one per service).
pub(crate) fn routes_by_service<'a>(plan: &PhasePlan<'a>) -> HashMap<&'a Name, Vec<&'a Route>> {
    let mut by: HashMap<&Name, Vec<&Route>> = HashMap::new();
    for r in plan.routes() {
        by.entry(&r.service).or_default().push(r);
    }
    by
}

/// A host path the deployment reads that is not part of the repository (a bind mount, a
/// secret file), as seen from the output directory. Dokploy keeps such files in its File
/// Mounts folder, `files/`, beside the checkout of the repository: `<root>/../files/<path>`.
pub(crate) fn host_path(plan: &PhasePlan<'_>, path: &str) -> String {
    match dokploy(plan.phase()) {
        Some(_) if !path.starts_with('/') => {
            let rest = path.trim_start_matches("./");
            let rest = rest.strip_prefix("../files/").unwrap_or(rest);
            plan.host_path(&format!("../files/{rest}"))
        }
        _ => plan.host_path(path),
    }
}

/// `${VAR:?VAR must be set}`: the loader refuses to run without it.
pub(crate) fn required(var: &str) -> String {
    format!("${{{var}:?{var} must be set}}")
}

/// The service fields both dialects render the same way (deployment settings excluded).
pub(crate) fn service(
    plan: &PhasePlan<'_>,
    s: &Service,
    dialect: Dialect,
    routed: bool,
    vars: &mut Vars,
) -> ServiceSpec {
    let system = plan.system();
    let dokploy = dokploy(plan.phase());
    let mut spec = ServiceSpec {
        image: s.image.as_deref().map(dollar),
        build: match dialect {
            Dialect::Compose => s.build.as_ref().map(|b| BuildSpec {
                context: plan.host_path(&b.context),
                dockerfile: b.dockerfile.clone(),
                args: b.args.iter().map(|(k, v)| (k.clone(), dollar(v))).collect(),
                target: b.target.clone(),
            }),
            // Swarm cannot build; the fidelity report says so.
            Dialect::Swarm => None,
        },
        entrypoint: s.entrypoint.iter().map(|a| dollar(a)).collect(),
        command: s.command.iter().map(|a| dollar(a)).collect(),
        user: s.user.as_deref().map(dollar),
        read_only: s.read_only_root,
        cap_add: cap_add(s),
        cap_drop: s.drop_capabilities.clone(),
        init: s.init,
        working_dir: s.working_dir.as_deref().map(dollar),
        stop_grace_period: s.stop_grace_period.map(|d| d.to_go()),
        extra_hosts: s
            .extra_hosts
            .iter()
            .map(|(host, ip)| format!("{host}:{ip}"))
            .collect(),
        sysctls: s
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), dollar(v)))
            .collect(),
        ulimits: s
            .ulimits
            .iter()
            .map(|(k, u)| {
                (
                    k.clone(),
                    UlimitSpec {
                        soft: u.soft,
                        hard: u.hard,
                    },
                )
            })
            .collect(),
        ..ServiceSpec::default()
    };
    for (key, value) in &s.env {
        let rendered = match value {
            Env::Literal(v) | Env::NotSecret(v) => dollar(v),
            Env::SecretFile(_) => value.path().unwrap_or_default(),
            Env::Config { config, key: k } => system
                .configs
                .iter()
                .find(|c| &c.name == config)
                .and_then(|c| match &c.source {
                    ConfigSource::Values(values) => values.get(k).map(|v| dollar(v)),
                    _ => None,
                })
                .unwrap_or_default(),
            Env::Secret(name) => match plan.secret(name).map(|x| &x.source) {
                Some(SecretSource::Env(var)) => {
                    vars.insert(var.clone(), format!("secret `{name}`"));
                    required(var)
                }
                // Refused by `check_common`: no engine puts a file or external secret into env.
                _ => String::new(),
            },
        };
        spec.environment.insert(key.clone(), rendered);
    }
    for p in &s.ports {
        match p.publish {
            Some(host) if !(routed && dokploy.is_some()) => spec.ports.push(PortSpec {
                // The stack schema has no port names.
                name: p.name.clone().filter(|_| dialect == Dialect::Compose),
                target: p.container,
                published: host,
                protocol: p.protocol.as_str(),
                mode: (dialect == Dialect::Swarm).then_some(if p.host_mode {
                    "host"
                } else {
                    "ingress"
                }),
            }),
            // Swarm deprecates `expose`: services on a network reach every port anyway.
            _ if dialect == Dialect::Swarm => {}
            _ => spec.expose.push(match p.protocol {
                Protocol::Tcp => p.container.to_string(),
                Protocol::Udp => format!("{}/udp", p.container),
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
                // Stack files (Engine 20.10) have no subpath: Swarm mounts the whole volume.
                volume: m
                    .sub_path
                    .clone()
                    .filter(|_| dialect == Dialect::Compose)
                    .map(|subpath| VolumeOptions { subpath }),
            },
            MountSource::Bind(path) => MountSpec {
                kind: "bind",
                source: Some(dollar(&host_path(plan, path))),
                target: m.target.clone(),
                read_only: m.read_only,
                tmpfs: None,
                volume: None,
            },
            MountSource::Tmpfs { size } => MountSpec {
                kind: "tmpfs",
                source: None,
                target: m.target.clone(),
                read_only: m.read_only,
                tmpfs: size.map(|b| TmpfsSpec { size: b.as_bytes() }),
                volume: None,
            },
        });
    }
    if dialect == Dialect::Compose {
        spec.group_add = s.groups.iter().map(u32::to_string).collect();
    }
    // Stack files have no pull policy: Swarm resolves the image when the service changes.
    spec.pull_policy = s
        .pull_policy
        .filter(|_| dialect == Dialect::Compose)
        .map(|p| match p {
            escala_core::PullPolicy::Always => "always",
            escala_core::PullPolicy::IfMissing => "missing",
            escala_core::PullPolicy::Never => "never",
        });
    if let Some(shm) = s.shm_size {
        match dialect {
            Dialect::Compose => spec.shm_size = Some(shm.to_docker()),
            // Stack files have no `shm_size` (`docker stack deploy` ignores it): a sized tmpfs
            // over `/dev/shm` is what Swarm runs.
            Dialect::Swarm => spec.volumes.push(MountSpec {
                kind: "tmpfs",
                source: None,
                target: SHM.into(),
                read_only: false,
                tmpfs: Some(TmpfsSpec {
                    size: shm.as_bytes(),
                }),
                volume: None,
            }),
        }
    }
    spec.secrets = s
        .secrets
        .iter()
        .map(|n| FileRef {
            source: n.to_string(),
            target: format!("/run/secrets/{n}"),
        })
        .collect();
    // A sensitive file config is mounted as a secret at its path: its content never goes
    // into a Swarm config (which `docker config inspect` shows).
    let sensitive_file = |name: &Name| {
        plan.system().configs.iter().any(|c| {
            &c.name == name && c.sensitive && matches!(c.source, escala_core::ConfigSource::File(_))
        })
    };
    spec.secrets.extend(
        s.configs
            .iter()
            .filter(|c| sensitive_file(&c.config))
            .map(|c| FileRef {
                source: c.config.to_string(),
                target: c.target.clone(),
            }),
    );
    // A folder config is a read-only bind mount of the folder (compose configs are files).
    let folder = |name: &Name| {
        plan.system()
            .configs
            .iter()
            .find(|c| &c.name == name)
            .and_then(|c| match &c.source {
                escala_core::ConfigSource::Dir(path) => Some(path.as_str()),
                _ => None,
            })
    };
    for c in &s.configs {
        if let Some(path) = folder(&c.config) {
            spec.volumes.push(MountSpec {
                kind: "bind",
                source: Some(dollar(&host_path(plan, path))),
                target: c.target.clone(),
                read_only: true,
                tmpfs: None,
                volume: None,
            });
        }
    }
    spec.configs = s
        .configs
        .iter()
        .filter(|c| folder(&c.config).is_none() && !sensitive_file(&c.config))
        .map(|c| FileRef {
            source: c.config.to_string(),
            target: c.target.clone(),
        })
        .collect();
    spec.networks = s.networks.iter().map(|n| n.to_string()).collect();
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
    spec.labels = s
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), dollar(v)))
        .collect();
    // Swarm services have no annotations (its check says so).
    if dialect == Dialect::Compose {
        spec.annotations = s
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), dollar(v)))
            .collect();
    }
    spec
}

/// `deploy.resources`: `cpus` as a decimal string, memory in docker's units.
pub(crate) fn resources(s: &Service) -> Option<ResourcesSpec> {
    let r = &s.resources;
    let values = |cpu: Option<Cpu>, mem: Option<ByteSize>| {
        (cpu.is_some() || mem.is_some()).then(|| ResourceValues {
            cpus: cpu.map(|c| c.to_decimal()),
            memory: mem.map(|m| m.to_docker()),
        })
    };
    let spec = ResourcesSpec {
        limits: values(r.cpu_limit, r.memory_limit),
        reservations: values(r.cpu_request, r.memory_request),
    };
    (spec.limits.is_some() || spec.reservations.is_some()).then_some(spec)
}

/// Traefik labels for `routes` of `s`, adding the networks Dokploy needs to `spec`.
/// Returns whether the service joined `dokploy-network`.
pub(crate) fn traefik_labels(
    plan: &PhasePlan<'_>,
    s: &Service,
    routes: &[&Route],
    dialect: Dialect,
    spec: &mut ServiceSpec,
    vars: &mut Vars,
) -> (Map<String, String>, bool) {
    let system = plan.system();
    let provider = dialect.provider();
    let mut joined = false;
    let conv = match dokploy(plan.phase()) {
        Some(false) => {
            joined = true;
            if spec.networks.is_empty() {
                spec.networks.push("default".into());
            }
            spec.networks.push(DOKPLOY_NETWORK.into());
            traefik::Conventions {
                provider,
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
                provider,
                network: "${APP_NAME}".into(),
                redirect: "redirect-to-https@file".into(),
                define_redirect: None,
            }
        }
        None => {
            let net = routed_network(plan, s).unwrap_or_else(|_| {
                // Reported by `check` (`proxy_unreachable`); a file is rendered anyway.
                s.networks.first().map_or("default", |n| n.as_str())
            });
            let m = format!("{}-https-redirect", system.name);
            traefik::Conventions {
                provider,
                network: format!("{}_{net}", system.name),
                redirect: format!("{m}@{provider}"),
                define_redirect: Some(m),
            }
        }
    };
    (traefik::labels(system, s, routes, &conv), joined)
}

/// Where a container's shared memory is mounted.
const SHM: &str = "/dev/shm";

/// The networks a service is on: its own, or the project's `default` when it names none.
fn networks_of(s: &Service) -> Vec<&str> {
    if s.networks.is_empty() {
        vec!["default"]
    } else {
        s.networks.iter().map(Name::as_str).collect()
    }
}

/// The network on which the proxy reaches the routed service `s` (the one Traefik's
/// `network` label names): among the networks they share, the first of `s`'s that is not
/// internal, else the first shared. Without a proxy in the phase (one run elsewhere), the
/// first of `s`'s networks that is not internal, else its first. `Err` holds the proxy's
/// name and networks when the two share none: the proxy could not reach `s` (a 502).
pub(crate) fn routed_network<'p>(
    plan: &'p PhasePlan<'_>,
    s: &'p Service,
) -> Result<&'p str, (&'p Name, Vec<&'p str>)> {
    let internal = |n: &str| {
        plan.system()
            .networks
            .iter()
            .any(|x| x.name.as_str() == n && x.internal)
    };
    let own = networks_of(s);
    let candidates: Vec<&str> = match plan.proxy().filter(|p| p.name != s.name) {
        Some(proxy) => {
            let theirs = networks_of(proxy);
            let shared: Vec<&str> = own.iter().copied().filter(|n| theirs.contains(n)).collect();
            if shared.is_empty() {
                return Err((&proxy.name, theirs));
            }
            shared
        }
        None => own,
    };
    Ok(candidates
        .iter()
        .copied()
        .find(|n| !internal(n))
        .unwrap_or(candidates[0]))
}

/// Docker's default capabilities (moby's `oci/caps` defaults): every container has them
/// unless `cap_drop` takes them away.
const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The capabilities to add on Docker: those the service needs beyond Docker's default set,
/// and the default ones its `cap_drop` takes away.
fn cap_add(s: &Service) -> Vec<String> {
    let bare = |c: &str| c.trim_start_matches("CAP_").to_ascii_uppercase();
    let dropped = |c: &str| {
        s.drop_capabilities
            .iter()
            .any(|d| bare(d) == "ALL" || bare(d) == c)
    };
    s.capabilities
        .iter()
        .filter(|c| {
            let c = bare(c);
            !DOCKER_DEFAULT_CAPS.contains(&c.as_str()) || dropped(&c)
        })
        .cloned()
        .collect()
}

/// What compose and stack files declare alike: `dokploy-network` as external when a routed
/// service joined it, and the named volumes the phase mounts (labelled when backed up).
pub(crate) fn shared_objects(
    plan: &PhasePlan<'_>,
    uses_dokploy_network: bool,
    file: &mut file::File,
) {
    if uses_dokploy_network {
        let spec = file::NetworkSpec {
            external: true,
            ..file::NetworkSpec::default()
        };
        file.networks.insert(DOKPLOY_NETWORK.into(), spec);
    }
    for v in plan.volumes().filter(|v| mounts_volume(plan, &v.name)) {
        let mut spec = file::VolumeSpec::default();
        if v.backup {
            spec.labels.insert("escala.backup".into(), "true".into());
        }
        file.volumes.insert(v.name.to_string(), spec);
    }
}

/// An env example: a header and every variable the file interpolates, sorted, empty.
pub(crate) fn env_example(target: &str, intro: &str, vars: &Vars, extra: &str) -> String {
    let mut out = escala_core::header(target);
    out.push_str(intro);
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort();
    for (var, why) in sorted {
        out.push_str(&format!("\n# {why}\n{var}=\n"));
    }
    out.push_str(extra);
    out
}

/// Fidelity checks both dialects share. `codes` are the calling target's codes.
pub(crate) fn check_common(plan: &PhasePlan<'_>, codes: &Codes, diags: &mut Diagnostics) {
    let system = plan.system();
    let phase = plan.phase();
    let p = &phase.name;
    let dokploy = dokploy(phase);
    let routes = routes_by_service(plan);
    let engine = codes.engine;
    // The model's scheduled jobs run as loops here: a schedule that is no fixed period runs
    // every 24 hours instead.
    let mut schedules: Vec<(&str, &str, &str)> = Vec::new();
    if let Some(b) = &system.backups {
        if plan.services().iter().any(|s| {
            s.name.as_str() == escala_core::backup::DATABASE_JOB
                || system
                    .volumes
                    .iter()
                    .any(|v| escala_core::backup::is_volume_job(s.name.as_str(), &v.name))
        }) {
            schedules.push(("backups.schedule", b.schedule.as_str(), "the backups"));
        }
    }
    if let Some(u) = system.database.as_ref().and_then(|d| d.upkeep.as_ref()) {
        if plan.service(&escala_core::UPKEEP_SERVICE.into()).is_some() {
            schedules.push((
                "database.upkeep.schedule",
                u.schedule.as_str(),
                "the partition upkeep",
            ));
        }
    }
    for (at, schedule, what) in schedules {
        if escala_core::cadence::period(schedule).is_none() {
            diags
                .warning(codes.dropped, at, format!("{engine} has no scheduler: {what} run by a service that waits for the schedule's next time, which it can compute for a daily, hourly, weekly or every-N-minutes schedule; `{schedule}` is none of those, so in phase `{p}` they run every 24 hours from the service's start"))
                .help("use such a schedule (`30 2 * * *`: daily at 02:30 UTC), or accept the daily run (`Phase::accept`)");
        }
    }
    for s in plan.services() {
        let at = escala_core::At::service(s.name.as_str());
        let o = s.origin.as_ref();
        let routed = routes.contains_key(&s.name);
        if routed && dokploy.is_none() {
            if let Err((proxy, theirs)) = routed_network(plan, s) {
                let ours = networks_of(s).join("`, `");
                let add = theirs.first().copied().unwrap_or("default");
                diags
                    .error(codes.proxy_unreachable, format!("{at}.networks"), format!("`{}` is routed, but in phase `{p}` it shares no network with the proxy `{proxy}` (`{}` is on `{ours}`, `{proxy}` on `{}`): the proxy could not reach it and would answer 502", s.name, s.name, theirs.join("`, `")))
                    .help(format!("put `{}` on a network `{proxy}` is on, e.g. add `\"{add}\"` to its `.networks([..])`", s.name))
                    .origin(o);
            }
        }
        if s.autoscale.is_some() {
            diags
                .warning(
                    codes.dropped,
                    format!("{at}.autoscale"),
                    format!(
                        "{engine} cannot autoscale; `{}` runs a fixed {} replica(s) in phase `{p}`",
                        s.name, s.replicas
                    ),
                )
                .help("autoscaling takes effect in Kubernetes phases")
                .origin(o);
        }
        if let Workload::Scheduled { schedule } = &s.workload {
            diags
                .warning(codes.dropped, format!("{at}.workload"), format!("{engine} has no scheduler; in phase `{p}`, `{}` runs once per deploy instead of on `{schedule}`", s.name))
                .help("run it from the host's cron, or use a Kubernetes phase")
                .origin(o);
        }
        if !s.annotations.is_empty() && codes.engine == "Swarm" {
            diags
                .warning(codes.dropped, format!("{at}.annotations"), format!("stack files have no annotations; in phase `{p}`, `{}` runs without them", s.name))
                .help("labels (`.labels(..)`) reach the Swarm service; tools that read annotations run on compose and Kubernetes")
                .origin(o);
        }
        if s.pull_policy.is_some() && codes.engine == "Swarm" {
            diags
                .warning(codes.dropped, format!("{at}.pull_policy"), format!("stack files have no pull policy; in phase `{p}`, Swarm resolves `{}`'s image when the service is deployed or updated", s.name))
                .help("pin the image by digest or tag to control what runs")
                .origin(o);
        }
        if codes.engine == "Swarm" {
            for (i, m) in s
                .mounts
                .iter()
                .enumerate()
                .filter(|(_, m)| m.sub_path.is_some())
            {
                diags
                    .warning(codes.dropped, format!("{at}.mounts[{i}].sub_path"), format!("stack files have no volume subpath; in phase `{p}`, `{}` mounts the whole volume at `{}`", s.name, m.target))
                    .help("use a volume of its own for that directory")
                    .origin(o);
            }
        }
        if !s.init_steps.is_empty() && codes.engine == "Swarm" {
            diags
                .warning(codes.dropped, format!("{at}.init_steps"), format!("Swarm cannot run a step before a service starts; in phase `{p}`, `{}` starts without its init steps", s.name))
                .help("make the program wait or migrate at start, or run the step by hand before `docker stack deploy`")
                .origin(o);
        }
        if !s.groups.is_empty() && codes.engine == "Swarm" {
            diags
                .warning(codes.dropped, format!("{at}.groups"), format!("Swarm services have no supplementary groups; in phase `{p}`, `{}` runs without {:?}", s.name, s.groups))
                .help("give the image's user those groups, or use a compose or Kubernetes phase")
                .origin(o);
        }
        if s.readiness.is_some() {
            diags
                .warning(codes.dropped, format!("{at}.readiness"), format!("{engine} has one health check per container; in phase `{p}`, the readiness check of `{}` is not used (its health check is)", s.name))
                .help("readiness checks take effect in Kubernetes phases")
                .origin(o);
        }
        match &s.health.as_ref().map(|h| &h.probe) {
            Some(Probe::Http { .. }) => {
                diags
                    .warning(codes.health_tool, format!("{at}.health"), format!("in phase `{p}`, the HTTP health check of `{}` runs `wget` inside the container", s.name))
                    .help("make sure the image has `wget` (busybox and alpine do), or use `HealthCheck::command`")
                    .origin(o);
            }
            Some(Probe::Tcp { .. }) => {
                diags
                    .warning(codes.health_tool, format!("{at}.health"), format!("in phase `{p}`, the TCP health check of `{}` runs `nc -z` inside the container", s.name))
                    .help("make sure the image has `nc`, or use `HealthCheck::command`")
                    .origin(o);
            }
            _ => {}
        }
        for (key, value) in &s.env {
            let Env::Secret(name) = value else { continue };
            let Some(secret) = plan.secret(name) else {
                continue;
            };
            if !matches!(secret.source, SecretSource::Env(_)) {
                diags
                    .error(codes.secret, format!("{at}.env.{key}"), format!("in phase `{p}`, {engine} can only put a secret into an environment variable when the secret comes from the environment; `{name}` does not"))
                    .help(format!("declare `{name}` with `Secret::from_env`, or mount it (`.secrets([\"{name}\"])`) and point the program at `/run/secrets/{name}`"))
                    .origin(o);
            }
        }
        let published: Vec<_> = s.ports.iter().filter(|p| p.publish.is_some()).collect();
        if !published.is_empty() && dokploy.is_some() && routed {
            diags
                .warning(codes.dropped, format!("{at}.ports"), format!("on Dokploy (phase `{p}`), routed service `{}` publishes no host port; Traefik reaches it over the network", s.name))
                .help("remove `.publish(..)` from its ports, or drop the route")
                .origin(o);
        }
        if dokploy.is_some() {
            for (i, m) in s.mounts.iter().enumerate() {
                if let MountSource::Bind(path) = &m.source {
                    // Host sockets (`/var/run/docker.sock`) are meant to be absolute.
                    let socket = path.starts_with("/var/run/") || path.starts_with("/run/");
                    if path.starts_with('/') && !socket {
                        diags
                            .warning(codes.dropped, format!("{at}.mounts[{i}]"), format!("absolute bind mount `{path}` in phase `{p}`: Dokploy cleans host paths up during deployments"))
                            .help("use a path relative to the project; it is mapped into Dokploy's `files/` folder")
                            .origin(o);
                    }
                }
            }
        }
    }
    for (i, v) in plan.volumes().enumerate() {
        if i < system.volumes.len()
            && mounts_volume(plan, &v.name)
            && (v.size.is_some() || v.storage_class.is_some())
        {
            diags
                .warning(codes.dropped, format!("volumes[{i}]"), format!("{engine} volumes have no size or storage class; those of `{}` are ignored in phase `{p}`", v.name))
                .help("they take effect in Kubernetes phases");
        }
    }
}

/// The codes a target reports [`check_common`]'s findings under, and its engine's name.
pub(crate) struct Codes {
    pub engine: &'static str,
    pub dropped: &'static str,
    pub health_tool: &'static str,
    pub secret: &'static str,
    pub proxy_unreachable: &'static str,
}

/// A sensitive file config on compose and Swarm: a file secret of the same name (secrets are
/// kept out of `docker config inspect`, and encrypted in Swarm's log), mounted at the config's
/// path by [`service`]. `true` when `config` is one.
pub(crate) fn sensitive_secret(
    plan: &PhasePlan<'_>,
    config: &escala_core::Config,
    secrets: &mut Map<String, file::ObjectSpec>,
) -> bool {
    let escala_core::ConfigSource::File(path) = &config.source else {
        return false;
    };
    if !config.sensitive {
        return false;
    }
    secrets.insert(
        config.name.to_string(),
        file::ObjectSpec {
            file: Some(plan.host_path(path)),
            ..file::ObjectSpec::default()
        },
    );
    true
}
