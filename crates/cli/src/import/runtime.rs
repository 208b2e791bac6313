//! A compose service's runtime settings: `init`, `working_dir`, `stop_grace_period`,
//! `extra_hosts`, `sysctls`, `ulimits`, `shm_size`, `cap_drop` and `annotations`.

use escala_core::prelude::*;

use super::map::{docker_size, duration, Ctx};
use super::yaml::Node;

/// Reads `key` into `s` when it is one of the runtime settings; `false` when it is not.
pub(super) fn runtime(ctx: &mut Ctx<'_>, s: &mut Service, key: &str, v: &Node, path: &str) -> bool {
    match key {
        "init" => s.init = ctx.text(v, path).as_deref() == Some("true"),
        "working_dir" => s.working_dir = ctx.text(v, path),
        "stop_grace_period" => s.stop_grace_period = duration(ctx, v, path),
        "cap_drop" => s.drop_capabilities = ctx.texts(v, path),
        "shm_size" => {
            if let Some(text) = ctx.text(v, path) {
                match docker_size(&text) {
                    Some(b) => s.shm_size = Some(b),
                    None => ctx.error(
                        path,
                        v.pos(),
                        format!("`{text}` is not a size"),
                        "write a size such as `256m` or `1g`",
                    ),
                }
            }
        }
        "sysctls" => {
            for (k, value, _) in ctx.pairs(v, path) {
                s.sysctls.insert(k, value.unwrap_or_default());
            }
        }
        "extra_hosts" => {
            for (k, value, pos) in ctx.pairs(v, path) {
                // `host:ip` (the long-standing form; an IPv6 address keeps its colons) or
                // `host=ip` and `host: ip` (a mapping).
                let (host, ip) = match value {
                    Some(ip) => (k, ip),
                    None => match k.split_once(':') {
                        Some((h, ip)) => (h.to_owned(), ip.to_owned()),
                        None => {
                            ctx.error(
                                path,
                                pos,
                                format!("`{k}` names no address"),
                                "write `host:address`",
                            );
                            continue;
                        }
                    },
                };
                s.extra_hosts.insert(host, ip);
            }
        }
        "ulimits" => ulimits(ctx, s, v, path),
        "annotations" => {
            for (k, value, _) in ctx.pairs(v, path) {
                s.annotations.insert(k, value.unwrap_or_default());
            }
        }
        _ => return false,
    }
    true
}

/// `nofile: 65535` (soft and hard alike) or `nofile: {soft: 20000, hard: 40000}`.
fn ulimits(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
    let Node::Map(entries, _) = v else {
        ctx.error(
            path,
            v.pos(),
            "`ulimits` is a mapping".into(),
            "write `nofile: {soft: 20000, hard: 40000}`",
        );
        return;
    };
    for (name, _, limit) in entries {
        let at = format!("{path}.{name}");
        let number = |ctx: &mut Ctx<'_>, node: &Node, at: &str| -> Option<u64> {
            let text = ctx.text(node, at)?;
            let parsed = text.trim().parse::<u64>().ok();
            if parsed.is_none() {
                ctx.error(
                    at,
                    node.pos(),
                    format!("`{text}` is not a whole number"),
                    "write a limit such as `65535`",
                );
            }
            parsed
        };
        let pair =
            match limit {
                Node::Map(..) => match (limit.get("soft"), limit.get("hard")) {
                    (Some(soft), Some(hard)) => number(ctx, soft, &format!("{at}.soft"))
                        .zip(number(ctx, hard, &format!("{at}.hard"))),
                    _ => {
                        ctx.error(
                            &at,
                            limit.pos(),
                            "a limit needs both `soft` and `hard`".into(),
                            "write `{soft: 20000, hard: 40000}`",
                        );
                        None
                    }
                },
                other => number(ctx, other, &at).map(|n| (n, n)),
            };
        if let Some((soft, hard)) = pair {
            s.ulimits.insert(name.clone(), Ulimit::new(soft, hard));
        }
    }
}
