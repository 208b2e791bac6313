//! Top-level objects: volumes, networks, secrets and configs.

use escala_core::prelude::*;

use super::map::*;
use super::yaml::Node;

pub(super) fn top_volumes(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
    let Node::Map(entries, _) = v else { return };
    for (k, pos, body) in entries {
        let n = name(ctx, k, &format!("volumes.{k}"), *pos);
        let mut vol = Volume::builder().name(n).build();
        if let Node::Map(opts, _) = body {
            for (ok, opos, ov) in opts {
                match ok.as_str() {
                    "labels" => {
                        let at = format!("volumes.{k}.labels");
                        for (lk, lv, lpos) in ctx.pairs(ov, &at) {
                            let lv = lv.unwrap_or_default();
                            let path = format!("{at}.{lk}");
                            match lk.as_str() {
                                "escala.backup" => vol.backup = lv == "true",
                                "kompose.volume.storage-class-name" => {
                                    vol.storage_class = Some(lv);
                                }
                                "kompose.volume.size" => match lv.parse() {
                                    Ok(size) => vol.size = Some(size),
                                    Err(_) => ctx.error(
                                        &path,
                                        lpos,
                                        format!("`{lv}` is not a size"),
                                        "write a Kubernetes quantity such as `20Gi`",
                                    ),
                                },
                                other => ctx.unsupported(
                                    &path,
                                    other,
                                    lpos,
                                    "escala's volumes have a size, access mode, storage class and backup flag",
                                ),
                            }
                        }
                    }
                    other => ctx.unsupported(
                        &format!("volumes.{k}.{other}"),
                        other,
                        *opos,
                        "escala's volumes have a size, access mode, storage class and backup flag",
                    ),
                }
            }
        }
        system.volumes.push(vol);
    }
}

pub(super) fn top_networks(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
    let Node::Map(entries, _) = v else { return };
    for (k, pos, body) in entries {
        if k == "dokploy-network" {
            ctx.dokploy = true;
            continue;
        }
        if k == "default" {
            continue;
        }
        let n = name(ctx, k, &format!("networks.{k}"), *pos);
        let mut net = Network::builder().name(n).build();
        if let Node::Map(opts, _) = body {
            for (ok, opos, ov) in opts {
                match ok.as_str() {
                    "internal" => net.internal = ov.str() == Some("true"),
                    "driver_opts" if ov.get("encrypted").is_some() => net.encrypted = true,
                    // The driver follows the engine (bridge, overlay); escala picks it.
                    "driver" | "attachable" => {}
                    other => ctx.unsupported(
                        &format!("networks.{k}.{other}"),
                        other,
                        *opos,
                        "escala's networks are internal and/or encrypted",
                    ),
                }
            }
        }
        system.networks.push(net);
    }
}

pub(super) fn top_secrets(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
    let Node::Map(entries, _) = v else { return };
    for (k, pos, body) in entries {
        let n = name(ctx, k, &format!("secrets.{k}"), *pos);
        ctx.only(
            body,
            &format!("secrets.{k}"),
            &["file", "environment", "external", "name"],
            "escala's secrets come from a file, an environment variable or an external name",
        );
        let secret = if let Some(var) = body.get("environment").and_then(Node::str) {
            Secret::from_env(n, var)
        } else if let Some(file) = body.get("file").and_then(Node::str) {
            Secret::from_file(n, ctx.host(file))
        } else if body.get("external").is_some() {
            let ext = body.get("name").and_then(Node::str).unwrap_or(k).to_owned();
            Secret::external(n, ext)
        } else {
            ctx.error(
                &format!("secrets.{k}"),
                body.pos(),
                "a secret needs `file`, `environment` or `external`".into(),
                "say where its value comes from",
            );
            continue;
        };
        system.secrets.push(secret);
    }
}

pub(super) fn top_configs(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
    let Node::Map(entries, _) = v else { return };
    for (k, pos, body) in entries {
        let n = name(ctx, k, &format!("configs.{k}"), *pos);
        ctx.only(
            body,
            &format!("configs.{k}"),
            &["file", "content"],
            "escala's configs come from a file or inline content",
        );
        let config = if let Some(file) = body.get("file").and_then(Node::str) {
            Config::file(n, ctx.host(file))
        } else if let Some(content) = body.get("content") {
            Config::inline(
                n,
                ctx.text(content, &format!("configs.{k}.content"))
                    .unwrap_or_default(),
            )
        } else {
            ctx.unsupported(
                &format!("configs.{k}"),
                k,
                *pos,
                "escala's configs come from a file or inline content",
            );
            continue;
        };
        system.configs.push(config);
    }
}
