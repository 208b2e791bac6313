//! `deploy`: replicas, mode, resources, placement, restart policy and labels.

use escala_core::prelude::*;

use super::map::*;
use super::traefik::Label;
use super::yaml::Node;

pub(super) fn deploy(
    ctx: &mut Ctx<'_>,
    s: &mut Service,
    v: &Node,
    path: &str,
    traefik: &mut Vec<Label>,
) {
    let Node::Map(entries, _) = v else { return };
    for (key, pos, val) in entries {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "replicas" => {
                if let Some(n) = ctx.number(val, &at) {
                    s.replicas = n;
                }
            }
            "mode" => {
                if val.str() == Some("global") {
                    s.workload = Workload::PerNode;
                }
            }
            "resources" => {
                ctx.only(
                    val,
                    &at,
                    &["limits", "reservations"],
                    "escala's resources are CPU and memory limits and reservations",
                );
                for (kind, request) in [("limits", false), ("reservations", true)] {
                    let Some(r) = val.get(kind) else { continue };
                    let here = format!("{at}.{kind}");
                    ctx.only(
                        r,
                        &here,
                        &["cpus", "memory"],
                        "escala's resources are CPU and memory",
                    );
                    let cpu = r.get("cpus").and_then(|c| {
                        let text = ctx.text(c, &format!("{here}.cpus"))?;
                        let cpu = text.parse::<Cpu>().ok();
                        if cpu.is_none() {
                            ctx.error(
                                &format!("{here}.cpus"),
                                c.pos(),
                                format!("`{text}` is not a number of CPUs"),
                                "write a decimal such as `0.5`",
                            );
                        }
                        cpu
                    });
                    let mem = r.get("memory").and_then(|m| {
                        let text = ctx.text(m, &format!("{here}.memory"))?;
                        let mem = docker_size(&text);
                        if mem.is_none() {
                            ctx.error(
                                &format!("{here}.memory"),
                                m.pos(),
                                format!("`{text}` is not a size"),
                                "write a size such as `512M` or `1G`",
                            );
                        }
                        mem
                    });
                    if request {
                        s.resources.cpu_request = cpu;
                        s.resources.memory_request = mem;
                    } else {
                        s.resources.cpu_limit = cpu;
                        s.resources.memory_limit = mem;
                    }
                }
            }
            "placement" => {
                ctx.only(
                    val,
                    &at,
                    &["constraints", "preferences"],
                    "escala places by node role and node labels, spread over a label",
                );
                for c in val.get("constraints").map(seq).unwrap_or_default() {
                    let text = c.str().unwrap_or_default().replace(' ', "");
                    if let Some(role) = text.strip_prefix("node.role==") {
                        s.placement.role = Some(if role == "manager" {
                            NodeRole::Manager
                        } else {
                            NodeRole::Worker
                        });
                    } else if let Some((k, v)) = text
                        .strip_prefix("node.labels.")
                        .and_then(|r| r.split_once("=="))
                    {
                        s.placement.labels.insert(k.to_owned(), v.to_owned());
                    } else {
                        ctx.unsupported(
                            &format!("{at}.constraints"),
                            &text,
                            c.pos(),
                            "escala places by node role and node labels",
                        );
                    }
                }
                for p in val.get("preferences").map(seq).unwrap_or_default() {
                    if let Some(label) = p
                        .get("spread")
                        .and_then(Node::str)
                        .and_then(|l| l.strip_prefix("node.labels."))
                    {
                        s.placement.spread = Some(Spread::Label(label.to_owned()));
                    } else {
                        ctx.unsupported(
                            &format!("{at}.preferences"),
                            "a preference other than spread over a node label",
                            p.pos(),
                            "escala spreads replicas over a node label",
                        );
                    }
                }
            }
            "restart_policy" => {
                ctx.only(
                    val,
                    &at,
                    &["condition", "max_attempts"],
                    "escala's restart policy is a condition and a number of attempts; Swarm's delays are left at their defaults",
                );
                s.restart = match val.get("condition").and_then(Node::str) {
                    Some("none") => Restart::Never,
                    Some("on-failure") => Restart::OnFailure {
                        max_attempts: val
                            .get("max_attempts")
                            .and_then(|n| ctx.number(n, &format!("{at}.max_attempts"))),
                    },
                    _ => s.restart.clone(),
                }
            }
            "labels" => {
                for (k, value, p) in ctx.pairs(val, &at) {
                    let limit = k == "kompose.ephemeral-storage.limit";
                    if limit || k == "kompose.ephemeral-storage.request" {
                        let value = value.unwrap_or_default();
                        match value.parse::<ByteSize>() {
                            Ok(b) if limit => s.resources.ephemeral_storage_limit = Some(b),
                            Ok(b) => s.resources.ephemeral_storage_request = Some(b),
                            Err(_) => ctx.error(
                                &format!("{at}.{k}"),
                                p,
                                format!("`{value}` is not a size"),
                                "write a Kubernetes quantity such as `1Gi`",
                            ),
                        }
                    } else if k.starts_with("traefik.") {
                        traefik.push(Label::new(&at, k, value.unwrap_or_default(), p));
                    } else {
                        s.labels.insert(k, value.unwrap_or_default());
                    }
                }
            }
            "update_config" | "rollback_config" | "endpoint_mode" => ctx.unsupported(
                &at,
                key,
                *pos,
                "escala derives rolling-update settings from the workload kind",
            ),
            other => ctx.unsupported(
                &at,
                other,
                *pos,
                "see the book's import chapter for what maps",
            ),
        }
    }
}
