//! References between objects: every name used must be declared, and used the right way.

use foldhash::HashSetExt;
use foldhash::{HashMap, HashSet};
use std::fmt;

use super::unknown;
use crate::codes::{
    HEALTH_BAD, HEALTH_PORT, REF_CONFIG_KIND, REF_SELF, SERVICE_BAD_MOUNT, SERVICE_BAD_PORT,
};
use crate::{ConfigSource, Diagnostics, Env, MountSource, Name, Probe, System};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    // Lists keep declaration order for suggestions; sets make lookups O(1) on large systems.
    let services: Vec<_> = system.services.iter().map(|s| &s.name).collect();
    let volumes: Vec<_> = system.volumes.iter().map(|v| &v.name).collect();
    let networks: Vec<_> = system.networks.iter().map(|v| &v.name).collect();
    let secrets: Vec<_> = system.secrets.iter().map(|v| &v.name).collect();
    let configs: Vec<_> = system.configs.iter().map(|v| &v.name).collect();
    let service_set: HashSet<&Name> = services.iter().copied().collect();
    let volume_set: HashSet<&Name> = volumes.iter().copied().collect();
    let network_set: HashSet<&Name> = networks.iter().copied().collect();
    let secret_set: HashSet<&Name> = secrets.iter().copied().collect();
    let config_by_name: HashMap<&Name, &crate::Config> =
        system.configs.iter().map(|c| (&c.name, c)).collect();
    let service_by_name: HashMap<&Name, &crate::Service> =
        system.services.iter().map(|s| (&s.name, s)).collect();
    let lookup = Lookup {
        secrets: &secret_set,
        configs: &config_by_name,
    };

    for (i, c) in system.configs.iter().enumerate() {
        if c.sensitive && !matches!(c.source, ConfigSource::File(_) | ConfigSource::Dir(_)) {
            diags
                .error(REF_CONFIG_KIND, format!("configs[{i}].sensitive"), format!("config `{}` is marked sensitive, but only a file or folder config can be (its content is read when deploying)", c.name))
                .help("declare the credential as a `Secret` (`Secret::from_env`, `Secret::from_file`) instead");
        }
        if let ConfigSource::File(path) | ConfigSource::Dir(path) = &c.source {
            let ctor = if matches!(c.source, ConfigSource::Dir(_)) {
                "dir"
            } else {
                "file"
            };
            if !c.outside_project && leaves_project(path) {
                diags
                    .error(crate::codes::CONFIG_OUTSIDE, format!("configs[{i}]"), format!("config `{}` reads `{path}`, outside the project folder; its content would be copied into the generated files", c.name))
                    .help(format!("copy it into the project, or allow it explicitly: `Config::{ctor}(\"{}\", \"{path}\").outside_project()`", c.name));
            }
        }
    }
    if let Some(proxy) = &system.proxy {
        if !service_set.contains(proxy) {
            unknown(
                diags,
                "proxy".into(),
                "service",
                proxy,
                services.iter().copied(),
                "System::service",
            );
        }
    }
    for s in &system.services {
        let at = crate::At::service(s.name.as_str());
        let origin = s.origin.as_ref();
        if let Some(host) = &s.network_of {
            sidecar(system, &service_by_name, s, host, &at, diags);
        }
        if let Some(c) = &s.container_name {
            if Name::from(c.as_str()).validate().is_err() {
                diags
                    .error(
                        crate::codes::SERVICE_CONTAINER_NAME,
                        format!("{at}.container_name"),
                        format!(
                            "container name `{c}` is not a DNS label, which Kubernetes requires"
                        ),
                    )
                    .help(format!(
                        "use lowercase letters, digits and `-`: `{}`",
                        Name::from(c.as_str()).suggestion()
                    ))
                    .origin(origin);
            } else if s.replicas > 1 || s.autoscale.is_some() {
                diags
                    .error(crate::codes::SERVICE_CONTAINER_NAME, format!("{at}.container_name"), format!("`{}` names its container `{c}` and runs more than one replica; compose cannot start two containers of one name", s.name))
                    .help("drop `.container_name(..)` (the service's name reaches it), or run one replica")
                    .origin(origin);
            }
        }
        for (i, dep) in s.depends_on.iter().enumerate() {
            let path = format_args!("{at}.depends_on[{i}]");
            if dep.service == s.name {
                diags
                    .error(
                        REF_SELF,
                        path.to_string(),
                        format!("service `{}` depends on itself", s.name),
                    )
                    .help("remove this dependency")
                    .origin(origin);
            } else if !service_set.contains(&dep.service) {
                unknown(
                    diags,
                    path.to_string(),
                    "service",
                    &dep.service,
                    services.iter().copied(),
                    "System::service",
                )
                .origin(origin);
            }
        }
        let mut targets = HashSet::new();
        for (i, m) in s.mounts.iter().enumerate() {
            let path = format_args!("{at}.mounts[{i}]");
            if let MountSource::Volume(v) = &m.source {
                if !volume_set.contains(v) {
                    unknown(
                        diags,
                        format!("{path}.source"),
                        "volume",
                        v,
                        volumes.iter().copied(),
                        "System::volume",
                    )
                    .origin(origin);
                }
            }
            container_path(
                &m.target,
                &format!("{path}.target"),
                &mut targets,
                diags,
                origin,
            );
            if s.shm_size.is_some() && m.target.trim_end_matches('/') == "/dev/shm" {
                diags
                    .error(
                        SERVICE_BAD_MOUNT,
                        format!("{path}.target"),
                        format!(
                            "`{}` sets `shm_size`, which mounts `/dev/shm` itself",
                            s.name
                        ),
                    )
                    .help("keep one: `.shm_size(..)` (rendered per engine) or this mount")
                    .origin(origin);
            }
        }
        for (i, n) in s.networks.iter().enumerate() {
            if !network_set.contains(n) {
                unknown(
                    diags,
                    format!("{at}.networks[{i}]"),
                    "network",
                    n,
                    networks.iter().copied(),
                    "System::network",
                )
                .origin(origin);
            }
        }
        for (i, n) in s.secrets.iter().enumerate() {
            if !secret_set.contains(n) {
                unknown(
                    diags,
                    format!("{at}.secrets[{i}]"),
                    "secret",
                    n,
                    secrets.iter().copied(),
                    "System::secret",
                )
                .origin(origin);
            }
        }
        for (i, c) in s.configs.iter().enumerate() {
            let path = format_args!("{at}.configs[{i}]");
            match config_by_name.get(&c.config) {
                None => {
                    unknown(
                        diags,
                        path.to_string(),
                        "config",
                        &c.config,
                        configs.iter().copied(),
                        "System::config",
                    )
                    .origin(origin);
                }
                Some(cfg) if matches!(cfg.source, ConfigSource::Values(_)) => {
                    diags
                        .error(REF_CONFIG_KIND, path.to_string(), format!("config `{}` holds key/value pairs and cannot be mounted as a file", c.config))
                        .help("mount a `Config::file` or `Config::inline`, or read its keys with `Env::config`")
                        .origin(origin);
                }
                Some(_) => {}
            }
            container_path(
                &c.target,
                &format!("{path}.target"),
                &mut targets,
                diags,
                origin,
            );
        }
        env_refs(system, &lookup, &s.env, &at, origin, diags);
        let mut ports = HashSet::new();
        for (i, p) in s.ports.iter().enumerate() {
            let path = format_args!("{at}.ports[{i}]");
            if p.container == 0 || p.publish == Some(0) {
                diags
                    .error(SERVICE_BAD_PORT, path.to_string(), "port 0 is not a port")
                    .help("use a port between 1 and 65535")
                    .origin(origin);
            } else if let Some(why) = p.name.as_deref().and_then(port_name_problem) {
                diags
                    .error(SERVICE_BAD_PORT, format!("{path}.name"), format!("port name `{}` {why}", p.name.as_deref().unwrap_or_default()))
                    .help("port names are IANA service names: at most 15 lowercase letters, digits and single `-`, with at least one letter (`http`, `metrics`)")
                    .origin(origin);
            } else if p.host_mode && p.publish.is_none() {
                diags
                    .error(
                        SERVICE_BAD_PORT,
                        format!("{path}.host_mode"),
                        format!(
                            "port {} of `{}` is in host mode but not published",
                            p.container, s.name
                        ),
                    )
                    .help(format!(
                        "publish it: `Port::tcp({0}).publish({0}).host_mode()`",
                        p.container
                    ))
                    .origin(origin);
            } else if !ports.insert((p.container, p.protocol)) {
                diags
                    .error(
                        SERVICE_BAD_PORT,
                        path.to_string(),
                        format!(
                            "port {}/{} is declared twice",
                            p.container,
                            p.protocol.as_str()
                        ),
                    )
                    .help("remove the duplicate")
                    .origin(origin);
            }
        }
        for (field, check) in [("health", &s.health), ("readiness", &s.readiness)] {
            let Some(h) = check else { continue };
            let path = format_args!("{at}.{field}");
            let port = match &h.probe {
                Probe::Http { port, .. } | Probe::Tcp { port } => Some(*port),
                Probe::Command(args) => {
                    if args.is_empty() || args[0].is_empty() {
                        diags
                            .error(HEALTH_BAD, format!("{path}.probe"), "the health check command is empty")
                            .help("give the program and its arguments, e.g. `[\"pg_isready\", \"-U\", \"postgres\"]`")
                            .origin(origin);
                    }
                    None
                }
            };
            if let Some(port) = port {
                if s.port(port).is_none() {
                    diags
                        .warning(HEALTH_PORT, format!("{path}.probe"), format!("the health check probes port {port}, which service `{}` does not declare", s.name))
                        .help(format!("add `Port::tcp({port})` to the service's ports"))
                        .origin(origin);
                }
            }
            if h.interval.as_millis() == 0 {
                diags
                    .error(
                        HEALTH_BAD,
                        format!("{path}.interval"),
                        "the health check interval is zero",
                    )
                    .help("use an interval of at least 1s")
                    .origin(origin);
            } else if h.timeout > h.interval {
                diags
                    .error(
                        HEALTH_BAD,
                        format!("{path}.timeout"),
                        format!(
                            "the timeout ({}) is longer than the interval ({})",
                            h.timeout, h.interval
                        ),
                    )
                    .help("make the timeout shorter than the interval")
                    .origin(origin);
            }
            // A day between checks (or to start) is no health check; beyond, Kubernetes'
            // 32-bit seconds would not even hold some of these values.
            let day = crate::Duration::mins(24 * 60);
            for (field, d) in [
                ("interval", h.interval),
                ("timeout", h.timeout),
                ("start_period", h.start_period),
            ] {
                if d > day {
                    diags
                        .error(HEALTH_BAD, format!("{path}.{field}"), format!("a health check {field} of {d} is longer than a day: the check would never catch a failure in time"))
                        .help("use seconds to minutes (`Duration::secs(30)`)")
                        .origin(origin);
                }
            }
        }
    }

    for phase in &system.phases {
        for (i, n) in phase.without.iter().enumerate() {
            if !service_set.contains(n) {
                unknown(
                    diags,
                    format!("phases.{}.without[{i}]", phase.name),
                    "service",
                    n,
                    services.iter().copied(),
                    "System::service",
                );
            }
        }
        for s in system.services.iter().filter(|s| phase.runs(&s.name)) {
            for (i, d) in s.depends_on.iter().enumerate() {
                if !phase.runs(&d.service) {
                    diags
                        .error(
                            crate::codes::PHASE_MISSING,
                            format!("services.{}.depends_on[{i}]", s.name),
                            format!(
                                "`{}` depends on `{}`, which phase `{}` leaves out",
                                s.name, d.service, phase.name
                            ),
                        )
                        .help(format!(
                            "run `{}` in phase `{}` too, or drop the dependency",
                            d.service, phase.name
                        ))
                        .origin(s.origin.as_ref());
                }
            }
        }
        for (i, r) in system.routes.iter().enumerate() {
            if !phase.runs(&r.service) {
                diags
                    .warning(crate::codes::PHASE_MISSING, format!("routes[{i}]"), format!("route `{}` goes to `{}`, which phase `{}` leaves out; it is not served there", r.host, r.service, phase.name))
                    .help("run the service in this phase, or accept that the host is not served in it");
            }
        }
        for (i, o) in phase.overrides.iter().enumerate() {
            let at = format!("phases.{}.overrides[{i}]", phase.name);
            env_refs(system, &lookup, &o.env, &at, o.origin.as_ref(), diags);
            if !service_set.contains(&o.service) {
                unknown(
                    diags,
                    format!("phases.{}.overrides[{i}].service", phase.name),
                    "service",
                    &o.service,
                    services.iter().copied(),
                    "System::service",
                )
                .origin(o.origin.as_ref());
            }
        }
    }
}

fn container_path(
    target: &str,
    path: &str,
    seen: &mut HashSet<String>,
    diags: &mut Diagnostics,
    origin: Option<&crate::Origin>,
) {
    if !target.starts_with('/') {
        diags
            .error(
                SERVICE_BAD_MOUNT,
                path,
                format!("container path `{target}` is not absolute"),
            )
            .help(format!(
                "write it from the container's root, e.g. `/{}`",
                target.trim_start_matches("./")
            ))
            .origin(origin);
    } else if !seen.insert(target.trim_end_matches('/').to_owned()) {
        diags
            .error(
                SERVICE_BAD_MOUNT,
                path,
                format!("two mounts use the container path `{target}`"),
            )
            .help("mount each path once")
            .origin(origin);
    }
}

/// Why `name` is not an IANA service name (what Kubernetes requires of container port names).
fn port_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 {
        Some("must have 1 to 15 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("may hold only lowercase letters, digits and `-`")
    } else if !name.chars().any(|c| c.is_ascii_lowercase()) {
        Some("must contain a letter")
    } else if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        Some("must not start or end with `-` or hold `--`")
    } else {
        None
    }
}

/// The declared secrets and configs by name: O(1) lookups on large systems.
pub(super) struct Lookup<'a> {
    secrets: &'a HashSet<&'a Name>,
    configs: &'a HashMap<&'a Name, &'a crate::Config>,
}

/// The references of an environment (a service's, or a phase's override of it) at `at`:
/// every secret and config it reads exists, and is of the right kind.
pub(super) fn env_refs(
    system: &System,
    lookup: &Lookup<'_>,
    env: &indexmap::IndexMap<String, Env>,
    at: &dyn fmt::Display,
    origin: Option<&crate::Origin>,
    diags: &mut Diagnostics,
) {
    for (key, value) in env {
        // Written out only for a finding.
        let path = || format!("{at}.env.{key}");
        match value {
            Env::Literal(_) | Env::NotSecret(_) => {}
            Env::Secret(n) | Env::SecretFile(n) => {
                if !lookup.secrets.contains(n) {
                    unknown(
                        diags,
                        path(),
                        "secret",
                        n,
                        system.secrets.iter().map(|x| &x.name),
                        "System::secret",
                    )
                    .origin(origin);
                }
            }
            Env::Config { config, key: k } => match lookup.configs.get(config) {
                None => {
                    unknown(
                        diags,
                        path(),
                        "config",
                        config,
                        system.configs.iter().map(|x| &x.name),
                        "System::config",
                    )
                    .origin(origin);
                }
                Some(cfg) => match &cfg.source {
                    ConfigSource::Values(values) if values.contains_key(k) => {}
                    ConfigSource::Values(values) => {
                        let hint = crate::suggest::closest(k, values.keys().map(String::as_str));
                        let d = diags.error(
                            crate::codes::REF_UNKNOWN,
                            path(),
                            format!("config `{config}` has no key `{k}`"),
                        );
                        match hint {
                            Some(h) => d.help(format!("did you mean `{h}`?")),
                            None => d.help(format!("add `{k}` to config `{config}`")),
                        };
                        d.origin(origin);
                    }
                    _ => {
                        diags
                            .error(
                                REF_CONFIG_KIND,
                                path(),
                                format!("config `{config}` is a file, not key/value pairs"),
                            )
                            .help("declare it with `Config::values`, or mount the file instead")
                            .origin(origin);
                    }
                },
            },
        }
    }
}

/// Whether a project-relative path leaves the project folder: absolute, or climbing above
/// its start with `..` at some point.
fn leaves_project(path: &str) -> bool {
    let p = std::path::Path::new(path);
    if p.is_absolute() || path.starts_with('~') {
        return true;
    }
    let mut depth: i64 = 0;
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

/// A service in another's network namespace: the host exists, is not a sidecar itself, and
/// the sidecar has no ports or networks of its own (compose refuses both).
fn sidecar(
    system: &System,
    services: &HashMap<&Name, &crate::Service>,
    s: &crate::Service,
    host: &Name,
    at: &dyn fmt::Display,
    diags: &mut Diagnostics,
) {
    let origin = s.origin.as_ref();
    let path = format_args!("{at}.network_of");
    let Some(h) = services.get(host).copied() else {
        unknown(
            diags,
            path.to_string(),
            "service",
            host,
            system.services.iter().map(|x| &x.name),
            "System::service",
        )
        .origin(origin);
        return;
    };
    let why = if h.name == s.name {
        Some(format!("`{}` shares its own network namespace", s.name))
    } else if h.network_of.is_some() {
        Some(format!(
            "`{}` is itself a sidecar; share `{}`'s namespace with the service it runs beside",
            h.name, s.name
        ))
    } else if !s.ports.is_empty() {
        Some(format!("`{}` runs in `{host}`'s network namespace and publishes ports of its own; they are `{host}`'s ports", s.name))
    } else if !s.networks.is_empty() {
        Some(format!(
            "`{}` runs in `{host}`'s network namespace and joins networks of its own",
            s.name
        ))
    } else {
        None
    };
    if let Some(why) = why {
        diags
            .error(crate::codes::SERVICE_SIDECAR, path.to_string(), why)
            .help(format!(
                "declare the ports and networks on `{host}`, which the sidecar shares"
            ))
            .origin(origin);
    }
}
