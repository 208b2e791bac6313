//! `ports` and `expose`: the short syntax with its ranges, and the long syntax.

use escala_core::prelude::*;

use super::map::*;
use super::yaml::Node;

pub(super) fn ports(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
    for (i, item) in seq(v).into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let parsed: Result<Vec<Port>, String> = match item {
            Node::Map(..) => {
                ctx.only(
                    item,
                    &at,
                    &["target", "published", "protocol", "name", "host_ip"],
                    "escala's ports have a container port, protocol, name and published port",
                );
                let target = item
                    .get("target")
                    .and_then(Node::str)
                    .and_then(|t| t.parse::<u16>().ok());
                let published = item
                    .get("published")
                    .and_then(|t| ctx.number::<u16>(t, &format!("{at}.published")));
                let udp = item.get("protocol").and_then(Node::str) == Some("udp");
                if item.get("host_ip").is_some() {
                    ctx.unsupported(
                        &at,
                        "host_ip",
                        item.pos(),
                        "escala publishes on every interface; route through Traefik instead",
                    );
                }
                target
                    .map(|t| {
                        let mut p = if udp { Port::udp(t) } else { Port::tcp(t) };
                        p.publish = published;
                        p.name = item.get("name").and_then(Node::str).map(str::to_owned);
                        vec![p]
                    })
                    .ok_or_else(|| "the long syntax needs a numeric `target`".to_owned())
            }
            other => match ctx.text(other, &at) {
                None => continue,
                Some(text) => {
                    let (ports, host_ip) = short_ports(&text);
                    if host_ip {
                        ctx.unsupported(
                            &at,
                            "host IP",
                            other.pos(),
                            "escala publishes on every interface",
                        );
                    }
                    ports
                }
            },
        };
        match parsed {
            Ok(ports) => {
                for p in ports {
                    // Compose lists a port once per protocol; a repeat (`3000` and
                    // `3000-3005`) is the same port.
                    if !s
                        .ports
                        .iter()
                        .any(|q| q.container == p.container && q.protocol == p.protocol)
                    {
                        s.ports.push(p);
                    }
                }
            }
            Err(why) => ctx.error(
                &at,
                item.pos(),
                format!("not a port escala can read: {why}"),
                "write `CONTAINER`, `HOST:CONTAINER`, a range `HOST1-HOST2:CONTAINER1-CONTAINER2`, or the long syntax with `target:`",
            ),
        }
    }
}

/// The most ports one range may expand to.
pub(super) const MAX_RANGE: u32 = 1024;

/// Compose's short port syntax, `[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTOCOL]`, a port
/// per number of a range; and whether it named a host IP (left out).
pub(super) fn short_ports(text: &str) -> (Result<Vec<Port>, String>, bool) {
    let (spec, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    let udp = match proto {
        "tcp" => false,
        "udp" => true,
        other => {
            return (
                Err(format!("`{other}` is not a protocol (tcp or udp)")),
                false,
            )
        }
    };
    // An IPv6 host IP is bracketed; split at the last two colons.
    let mut parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    parts.reverse();
    let (ip, host, container) = match parts.as_slice() {
        [c] => (false, None, *c),
        [h, c] => (false, Some(*h), *c),
        [_ip, h, c] => (true, (!h.is_empty()).then_some(*h), *c),
        _ => return (Err("empty".into()), false),
    };
    let range = |r: &str| -> Result<(u16, u16), String> {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let a: u16 = a
            .trim()
            .parse()
            .map_err(|_| format!("`{a}` is not a port number"))?;
        let b: u16 = b
            .trim()
            .parse()
            .map_err(|_| format!("`{b}` is not a port number"))?;
        if b < a {
            return Err(format!("the range `{r}` runs backwards"));
        }
        if u32::from(b - a) >= MAX_RANGE {
            return Err(format!("the range `{r}` has more than {MAX_RANGE} ports"));
        }
        Ok((a, b))
    };
    let result = (|| {
        let (c1, c2) = range(container)?;
        let published = host.map(range).transpose()?;
        if let Some((h1, h2)) = published {
            if h2 - h1 != c2 - c1 {
                return Err(format!(
                    "`{}` and `{container}` are ranges of different lengths",
                    host.unwrap_or_default()
                ));
            }
        }
        Ok((c1..=c2)
            .enumerate()
            .map(|(i, c)| {
                let mut p = if udp { Port::udp(c) } else { Port::tcp(c) };
                // `i` < MAX_RANGE, so it fits a u16.
                let offset = u16::try_from(i).unwrap_or(u16::MAX);
                p.publish = published.map(|(h1, _)| h1.saturating_add(offset));
                p
            })
            .collect())
    })();
    (result, ip)
}
