//! Routes: valid hosts and paths, a declared service and port, one owner per host+path.

use foldhash::HashMap;
use foldhash::HashMapExt;

use super::unknown;
use crate::codes::{ROUTE_BAD, ROUTE_DUPLICATE, ROUTE_PORT};
use crate::{Diagnostics, Name, Service, System};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    let services: Vec<_> = system.services.iter().map(|s| &s.name).collect();
    let by_name: HashMap<&Name, &Service> = system.services.iter().map(|s| (&s.name, s)).collect();
    let mut claimed: HashMap<(String, &str), usize> = HashMap::new();
    for (i, r) in system.routes.iter().enumerate() {
        let at = format!("routes[{i}]");
        if !host(&r.host) {
            diags
                .error(
                    ROUTE_BAD,
                    format!("{at}.host"),
                    format!("`{}` is not a DNS host name", r.host),
                )
                .help(
                    "use a lowercase name such as `api.example.com`, without scheme, port or path",
                )
                .origin(r.origin.as_ref());
        }
        if let Some(p) = &r.path {
            let bad = |c: char| c.is_whitespace() || matches!(c, '`' | '?' | '#');
            if !p.starts_with('/') || p.contains(bad) {
                // What it could be: the path part, its spaces percent-encoded.
                let fixed: String = p
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches('/')
                    .replace('`', "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join("%20");
                diags
                    .error(
                        ROUTE_BAD,
                        format!("{at}.path"),
                        format!(
                            "path prefix `{p}` must start with `/` and hold no spaces, backticks, `?query` or `#fragment` (a request path never matches those)"
                        ),
                    )
                    .help(format!("write `/{fixed}`"))
                    .origin(r.origin.as_ref());
            }
        }
        match by_name.get(&r.service).copied() {
            None => {
                unknown(
                    diags,
                    format!("{at}.service"),
                    "service",
                    &r.service,
                    services.iter().copied(),
                    "System::service",
                );
            }
            Some(s) if s.port(r.port).is_none() => {
                let declared: Vec<String> =
                    s.ports.iter().map(|p| p.container.to_string()).collect();
                let help = if declared.is_empty() {
                    format!(
                        "declare it: `.ports([Port::tcp({})])` on service `{}`",
                        r.port, s.name
                    )
                } else {
                    format!(
                        "service `{}` declares {}; route to one of them or declare {}",
                        s.name,
                        declared.join(", "),
                        r.port
                    )
                };
                diags
                    .error(
                        ROUTE_PORT,
                        format!("{at}.port"),
                        format!(
                            "route `{}` goes to port {} of `{}`, which it does not declare",
                            r.host, r.port, s.name
                        ),
                    )
                    .help(help)
                    .origin(r.origin.as_ref());
            }
            Some(_) => {}
        }
        let key = (
            r.host.to_ascii_lowercase(),
            r.path_or_root().trim_end_matches('/'),
        );
        if let Some(first) = claimed.get(&key) {
            diags
                .error(
                    ROUTE_DUPLICATE,
                    at,
                    format!(
                        "`{}{}` is already routed by `routes[{first}]`",
                        r.host,
                        r.path_or_root()
                    ),
                )
                .help("give one of the routes another host or path prefix")
                .origin(r.origin.as_ref());
        } else {
            claimed.insert(key, i);
        }
    }
}

/// A DNS host name (wildcard first label allowed), lowercase.
fn host(h: &str) -> bool {
    let h = h.strip_prefix("*.").unwrap_or(h);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts() {
        assert!(super::host("api.example.com"));
        assert!(super::host("*.example.com"));
        assert!(super::host("localhost"));
        assert!(!super::host("https://x.com"));
        assert!(!super::host("API.example.com"));
        assert!(!super::host("a..b"));
        assert!(!super::host(""));
    }
}
