//! What a service asks of the container runtime: kernel parameters an engine can set per
//! container, process limits Docker knows, and `/etc/hosts` entries that are entries.

use foldhash::HashMap;
use foldhash::HashMapExt;

use crate::codes::{PORT_TAKEN, SERVICE_EXTRA_HOST, SERVICE_SYSCTL, SERVICE_ULIMIT};
use crate::{sysctl_is_namespaced, Diagnostics, Engine, Name, System, ULIMITS};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    host_ports(system, diags);
    for s in &system.services {
        let at = crate::At::service(s.name.as_str());
        let origin = s.origin.as_ref();
        for (key, value) in &s.sysctls {
            if !sysctl_is_namespaced(key) {
                diags
                    .error(SERVICE_SYSCTL, format!("{at}.sysctls.{key}"), format!("`{key}` is a node-wide kernel parameter: no engine sets it for one container (Docker refuses to start it, Kubernetes to schedule it)"))
                    .help(format!("set it on every host that may run `{}`: `sysctl -w {key}={value}`, and a file in /etc/sysctl.d/ so it survives a reboot (on Kubernetes, a privileged DaemonSet or init container can do it per node)", s.name))
                    .origin(origin);
            }
        }
        for (name, limit) in &s.ulimits {
            if !ULIMITS.contains(&name.as_str()) {
                let hint = crate::suggest::closest(name, ULIMITS.iter().copied());
                diags
                    .error(
                        SERVICE_ULIMIT,
                        format!("{at}.ulimits.{name}"),
                        format!("`{name}` is not a process limit Docker knows"),
                    )
                    .help(match hint {
                        Some(h) => format!("did you mean `{h}`?"),
                        None => format!("use one of {}", ULIMITS.join(", ")),
                    })
                    .origin(origin);
            } else if limit.soft > limit.hard {
                diags
                    .error(SERVICE_ULIMIT, format!("{at}.ulimits.{name}"), format!("the soft `{name}` limit ({}) is above the hard one ({}), which the kernel refuses", limit.soft, limit.hard))
                    .help(format!("raise the hard limit, e.g. `Ulimit::new({}, {})`", limit.soft, limit.soft))
                    .origin(origin);
            }
        }
        for (host, ip) in &s.extra_hosts {
            let good_host = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                });
            if !good_host || ip.parse::<std::net::IpAddr>().is_err() {
                diags
                    .error(SERVICE_EXTRA_HOST, format!("{at}.extra_hosts.{host}"), format!("`{host}` → `{ip}` is not a host name and an IP address"))
                    .help("map a host name to an address: `.extra_hosts([(\"db.internal\", \"10.0.0.5\")])`")
                    .origin(origin);
            }
        }
    }
}

/// A host port one service of a phase publishes is not another's: compose refuses to start
/// the second container, and Swarm's routing mesh the second service. On Swarm, two services
/// that both publish in host mode may share a port on different nodes.
fn host_ports(system: &System, diags: &mut Diagnostics) {
    for phase in &system.phases {
        if phase.engine == Engine::Kubernetes {
            continue; // no host ports there (reported by the target)
        }
        let mut taken: HashMap<(u16, crate::Protocol), (&Name, bool)> = HashMap::new();
        for s in system.services.iter().filter(|s| phase.runs(&s.name)) {
            for (i, p) in s.ports.iter().enumerate() {
                let Some(host) = p.publish else { continue };
                let both_host_mode =
                    |other: bool| phase.engine == Engine::Swarm && other && p.host_mode;
                match taken.get(&(host, p.protocol)) {
                    Some((other, other_host))
                        if *other != &s.name && !both_host_mode(*other_host) =>
                    {
                        diags
                            .error(PORT_TAKEN, format!("services.{}.ports[{i}]", s.name), format!("in phase `{}`, host port {host}/{} is published by `{other}` and `{}`; the second cannot start", phase.name, p.protocol.as_str(), s.name))
                            .help(format!("publish `{}` on another host port, or route to it through the proxy instead of publishing", s.name))
                            .origin(s.origin.as_ref());
                    }
                    Some(_) => {}
                    None => {
                        taken.insert((host, p.protocol), (&s.name, p.host_mode));
                    }
                }
            }
        }
    }
}
