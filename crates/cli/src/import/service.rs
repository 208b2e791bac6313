//! One compose service → a `Service`: image, command, environment, networks, health
//! checks; its ports, mounts, deploy keys and labels are read by their own modules.

use std::collections::BTreeMap;

use escala_core::prelude::*;
use escala_core::{looks_secret, Name, Probe};

use super::deploy::deploy;
use super::env::env_file;
use super::interp::whole_reference;
use super::map::*;
use super::mounts::mounts;
use super::ports::ports;
use super::runtime::runtime;
use super::traefik::routes;
use super::traefik::Label;
use super::yaml::Node;

pub(super) fn service(ctx: &mut Ctx<'_>, n: Name, body: &Node, at: &str) -> Service {
    let mut s = Service::builder().name(n.clone()).build();
    let Node::Map(entries, _) = body else {
        ctx.error(
            at,
            body.pos(),
            "a service is a mapping".into(),
            "give it at least an `image:`",
        );
        return s;
    };
    let mut traefik: Vec<Label> = Vec::new();
    let mut kompose_labels: Vec<Label> = Vec::new();
    let mut health_node: Option<(&Node, String)> = None;
    let mut renamed_secrets: Vec<(String, Name)> = Vec::new();
    let mut legacy_memory: Vec<(bool, ByteSize)> = Vec::new();
    let mut env_files: Vec<(&Node, String)> = Vec::new();
    for (key, pos, v) in entries {
        let path = format!("{at}.{key}");
        match key.as_str() {
            "image" => s.image = ctx.text(v, &path),
            "build" => s.build = build(ctx, v, &path),
            "command" | "entrypoint" => {
                // A secret's value interpolated into the argv would land in infra.rs.
                if let Some(var) = secret_in_args(v) {
                    ctx.error(
                        &path,
                        v.pos(),
                        format!("`{key}` interpolates `${{{var}}}`, which looks like a secret; escala does not copy its value into infra.rs"),
                        &format!("let the container read it at run time: set `{var}` in `environment:` from a secret, and write the {key} through a shell, `[\"sh\", \"-c\", \"exec … \\\"$${var}\\\"\"]` (`$$` keeps the `$` for the shell)"),
                    );
                } else if key == "command" {
                    s.command = ctx.texts(v, &path);
                } else {
                    s.entrypoint = ctx.texts(v, &path);
                }
            }
            "user" => s.user = ctx.text(v, &path),
            // The service-level forms of `deploy.resources` (which wins when both are set).
            "mem_limit" | "mem_reservation" => {
                if let Some(text) = ctx.text(v, &path) {
                    match docker_size(&text) {
                        Some(b) => legacy_memory.push((key == "mem_limit", b)),
                        None => ctx.error(
                            &path,
                            v.pos(),
                            format!("`{text}` is not a size"),
                            "write a size such as `512m` or `1g`",
                        ),
                    }
                }
            }
            "group_add" => {
                for (j, g) in ctx.texts(v, &path).into_iter().enumerate() {
                    match g.parse::<u32>() {
                        Ok(g) => s.groups.push(g),
                        Err(_) => ctx.warn(
                            codes::UNSUPPORTED,
                            &format!("{path}[{j}]"),
                            v.pos(),
                            format!("the group `{g}` is a name; escala adds numeric groups only (a name is resolved in the image)"),
                            "write the group's number",
                        ),
                    }
                }
            }
            "read_only" => s.read_only_root = ctx.text(v, &path).as_deref() == Some("true"),
            "cap_add" => s.capabilities = ctx.texts(v, &path),
            "environment" => {
                for (k, raw, p) in ctx.raw_pairs(v, &path) {
                    // `${VAR:?…}` (required) or a secret-looking key: a value the deployer
                    // supplies, kept as a reference. Anything else is interpolated now.
                    let reference = raw.as_deref().and_then(whole_reference).filter(|_| {
                        raw.as_deref()
                            .is_some_and(|r| r.contains(":?") || r.contains('?'))
                            || looks_secret(&k)
                    });
                    let value = match (reference, &raw) {
                        (None, Some(r)) => {
                            ctx.text(&Node::Scalar(r.clone(), false, p), &format!("{path}.{k}"))
                        }
                        _ => None,
                    };
                    let env = match (reference, &value) {
                        // `${VAR}` / `${VAR:?…}`: a value the deployer supplies.
                        (Some(var), _) => {
                            let name = secret_name(var);
                            ctx.secrets.push(Secret::from_env(name.clone(), var));
                            Env::secret(name)
                        }
                        // `ALLOW_EMPTY_PASSWORD=yes`: a switch, not a secret.
                        (_, Some(val)) if looks_secret(&k) && switch(val) => {
                            Env::NotSecret(val.clone())
                        }
                        (_, Some(val)) if looks_secret(&k) && !val.is_empty() => {
                            let name = secret_name(&k);
                            ctx.warn(codes::SECRET_VALUE, &format!("{path}.{k}"), p, format!("`{k}` looks like a secret; its value was not copied into infra.rs"), &format!("it is now the secret `{name}`, read from the environment variable `{k}` when deploying; set it there"));
                            ctx.secrets.push(Secret::from_env(name.clone(), k.as_str()));
                            Env::secret(name)
                        }
                        (_, Some(val)) => Env::literal(val.clone()),
                        (_, None) => {
                            ctx.warn(codes::UNSUPPORTED, &format!("{path}.{k}"), p, format!("`{k}` has no value (it is taken from the shell); it was left out"), "give it a value, or declare a secret read from the environment");
                            continue;
                        }
                    };
                    s.env.insert(k.clone(), env);
                }
            }
            "labels" => {
                for (k, value, p) in ctx.pairs(v, &path) {
                    let value = value.unwrap_or_default();
                    if k.starts_with("traefik.") {
                        traefik.push(Label::new(&path, k, value, p));
                    } else if k.starts_with("kompose.") {
                        kompose_labels.push(Label::new(&path, k, value, p));
                    } else if !k.starts_with("com.docker.compose.") {
                        s.labels.insert(k, value);
                    }
                }
            }
            "ports" => ports(ctx, &mut s, v, &path),
            "expose" => {
                for (i, item) in ctx.texts(v, &path).into_iter().enumerate() {
                    let (port, proto) = item.split_once('/').unwrap_or((&item, "tcp"));
                    match port.parse::<u16>() {
                        Ok(p) if s.port(p).is_none() => s.ports.push(if proto == "udp" {
                            Port::udp(p)
                        } else {
                            Port::tcp(p)
                        }),
                        Ok(_) => {}
                        Err(_) => ctx.error(
                            &format!("{path}[{i}]"),
                            v.pos(),
                            format!("`{item}` is not a port"),
                            "write a port number",
                        ),
                    }
                }
            }
            "volumes" => mounts(ctx, &mut s, v, &path),
            "tmpfs" => {
                for (i, t) in ctx.texts(v, &path).into_iter().enumerate() {
                    let (target, options) = t.split_once(':').unwrap_or((&t, ""));
                    if !options.is_empty() {
                        ctx.unsupported(&format!("{path}[{i}]"), options, v.pos(), "escala's tmpfs mounts have a size only: use the long `volumes:` syntax with `tmpfs.size`");
                    }
                    s.mounts.push(Mount::tmpfs(target));
                }
            }
            "depends_on" => match v {
                Node::Seq(items, _) => {
                    for (i, d) in items.iter().enumerate() {
                        if let Some(t) = ctx.text(d, &format!("{path}[{i}]")) {
                            s.depends_on.push(Dependency::started(Name::from(
                                Name::from(t.as_str()).suggestion(),
                            )));
                        }
                    }
                }
                Node::Map(deps, _) => {
                    for (dep, _, cond) in deps {
                        ctx.only(
                            cond,
                            &format!("{path}.{dep}"),
                            &["condition"],
                            "escala's dependencies have a condition; compose's `restart` and `required` are left out",
                        );
                        let c = cond
                            .get("condition")
                            .and_then(Node::str)
                            .unwrap_or("service_started");
                        let target = Name::from(Name::from(dep.as_str()).suggestion());
                        s.depends_on.push(match c {
                            "service_healthy" => Dependency::healthy(target),
                            "service_completed_successfully" => Dependency::completed(target),
                            "service_started" => Dependency::started(target),
                            other => {
                                ctx.error(
                                    &format!("{path}.{dep}.condition"),
                                    cond.pos(),
                                    format!("`{other}` is not a depends_on condition"),
                                    "write `service_started`, `service_healthy` or `service_completed_successfully`",
                                );
                                Dependency::started(target)
                            }
                        });
                    }
                }
                other => ctx.error(
                    &path,
                    other.pos(),
                    "expected a list or a mapping of services".into(),
                    "list the services it depends on",
                ),
            },
            "networks" => match v {
                Node::Seq(_, _) => {
                    for n in ctx.texts(v, &path) {
                        push_network(ctx, &mut s, &n);
                    }
                }
                Node::Map(nets, _) => {
                    for (n, npos, opts) in nets {
                        // `app: {}` and `app:` say nothing beyond joining.
                        let empty =
                            opts.is_null() || matches!(opts, Node::Map(o, _) if o.is_empty());
                        if !empty {
                            ctx.unsupported(
                                &format!("{path}.{n}"),
                                "aliases / ipv4_address",
                                *npos,
                                "escala joins networks without per-service options",
                            );
                        }
                        push_network(ctx, &mut s, n);
                    }
                }
                _ => {}
            },
            "secrets" => {
                for (i, item) in seq(v).iter().enumerate() {
                    ctx.only(item, &format!("{path}[{i}]"), &["source", "target"], "escala mounts secrets read-only for the service's user; set ownership in the image");
                    let (src, target, n) = file_ref(item);
                    if let Some(t) = target.filter(|t| {
                        *t != format!("/run/secrets/{src}") && *t != src && *t != n.as_str()
                    }) {
                        ctx.warn(codes::UNSUPPORTED, &format!("{path}[{i}].target"), item.pos(), format!("secret `{src}` is mounted at `{t}`; escala mounts secrets at `/run/secrets/{n}`"), "point the program at /run/secrets/<name>");
                    }
                    if src != n.as_str() {
                        renamed_secrets.push((src, n.clone()));
                    }
                    s.secrets.push(n);
                }
            }
            "configs" => {
                for (i, item) in seq(v).iter().enumerate() {
                    ctx.only(
                        item,
                        &format!("{path}[{i}]"),
                        &["source", "target"],
                        "escala mounts configs read-only; set ownership in the image",
                    );
                    let (src, target, n) = file_ref(item);
                    let target = target.unwrap_or_else(|| format!("/{src}"));
                    s.configs.push(ConfigMount::new(n, target));
                }
            }
            "healthcheck" => {
                s.health = health(ctx, v, &path);
                health_node = Some((v, path.clone()));
            }
            "restart" => {
                s.restart = match ctx.text(v, &path).as_deref() {
                    Some("always") => Restart::Always,
                    Some("no") => Restart::Never,
                    Some(r) if r.starts_with("on-failure") => Restart::OnFailure {
                        max_attempts: r.split_once(':').and_then(|(_, n)| n.parse().ok()),
                    },
                    Some("unless-stopped") | None => Restart::UnlessStopped,
                    Some(other) => {
                        ctx.error(
                            &path,
                            v.pos(),
                            format!("`{other}` is not a restart policy"),
                            "write `no`, `always`, `on-failure[:N]` or `unless-stopped`",
                        );
                        Restart::UnlessStopped
                    }
                }
            }
            "deploy" => deploy(ctx, &mut s, v, &path, &mut traefik),
            "env_file" => env_files.push((v, path.clone())),
            "container_name" => {
                if let Some(c) = ctx.text(v, &path) {
                    // Kompose's rule: lowercased, `_` → `-`.
                    let valid = Name::from(Name::from(c.as_str()).suggestion());
                    if valid.as_str() != c {
                        ctx.warn(
                            codes::RENAMED,
                            &path,
                            *pos,
                            format!("container name `{c}` became `{valid}`, which Kubernetes accepts"),
                            "names are lowercase letters, digits and `-`",
                        );
                    }
                    s.container_name = Some(valid.to_string());
                }
            }
            "network_mode" => match ctx.text(v, &path) {
                Some(mode) if mode.starts_with("service:") => {
                    let host = mode.trim_start_matches("service:");
                    s.network_of = Some(Name::from(Name::from(host).suggestion()));
                }
                Some(mode) => ctx.unsupported(
                    &path,
                    &format!("network_mode: {mode}"),
                    *pos,
                    "escala shares a namespace with another service only (`service:<name>`); reach the host or other containers over a network",
                ),
                None => {}
            },
            other if runtime(ctx, &mut s, other, v, &path) => {}
            other => ctx.unsupported(
                &path,
                other,
                *pos,
                "see the book's import chapter for what maps",
            ),
        }
    }
    // `environment` wins over `env_file`, wherever each is written.
    for (v, path) in env_files {
        env_file(ctx, &mut s, v, &path);
    }
    // Labels are read once every key is: `kompose.service.expose` needs the ports, which
    // may come after the labels in the file.
    for (limit, b) in legacy_memory {
        let slot = if limit {
            &mut s.resources.memory_limit
        } else {
            &mut s.resources.memory_request
        };
        slot.get_or_insert(b);
    }
    super::kompose::labels(ctx, &mut s, &kompose_labels, health_node);
    // A renamed secret is mounted under its new name: references to its compose path follow.
    for (src, n) in &renamed_secrets {
        let (old, new) = (format!("/run/secrets/{src}"), format!("/run/secrets/{n}"));
        for value in s.env.values_mut() {
            if let Env::Literal(v) | Env::NotSecret(v) = value {
                if *v == old {
                    *value = Env::secret_file(n.clone());
                } else if v.contains(&old) {
                    *v = v.replace(&old, &new);
                }
            }
        }
        for arg in s.command.iter_mut().chain(s.entrypoint.iter_mut()) {
            if arg.contains(&old) {
                *arg = arg.replace(&old, &new);
            }
        }
    }
    routes(ctx, &mut s, traefik, at);
    // An HPA scales a workload into its bounds at once (Kompose leaves `replicas` as is);
    // the model states that starting count.
    if let Some(a) = &s.autoscale {
        s.replicas = s.replicas.clamp(a.min.min(a.max), a.max.max(a.min));
    }
    s
}

pub(super) fn build(ctx: &mut Ctx<'_>, v: &Node, path: &str) -> Option<Build> {
    match v {
        Node::Scalar(..) => ctx.text(v, path).map(|c| Build::new(ctx.host(&c))),
        Node::Map(..) => {
            ctx.only(
                v,
                path,
                &["context", "dockerfile", "target", "args"],
                "escala builds from a context, Dockerfile, target and args; set the rest in the Dockerfile or CI",
            );
            let context = v
                .get("context")
                .and_then(|c| ctx.text(c, &format!("{path}.context")))
                .unwrap_or_else(|| ".".into());
            let mut b = Build::new(ctx.host(&context));
            b.dockerfile = v
                .get("dockerfile")
                .and_then(|d| ctx.text(d, &format!("{path}.dockerfile")));
            b.target = v
                .get("target")
                .and_then(|d| ctx.text(d, &format!("{path}.target")));
            if let Some(args) = v.get("args") {
                for (k, val, _) in ctx.pairs(args, &format!("{path}.args")) {
                    b.args.insert(k, val.unwrap_or_default());
                }
            }
            Some(b)
        }
        _ => None,
    }
}

/// A service's secret or config reference, short (`name`) or long (`source`/`target`):
/// (source, target, the name escala gives it).
pub(super) fn file_ref(item: &Node) -> (String, Option<String>, Name) {
    let (src, target) = match item {
        Node::Map(..) => (
            item.get("source")
                .and_then(Node::str)
                .unwrap_or_default()
                .to_owned(),
            item.get("target").and_then(Node::str).map(str::to_owned),
        ),
        other => (other.str().unwrap_or_default().to_owned(), None),
    };
    let n = Name::from(Name::from(src.as_str()).suggestion());
    (src, target, n)
}

pub(super) fn push_network(ctx: &mut Ctx<'_>, s: &mut Service, n: &str) {
    match n {
        "dokploy-network" => ctx.dokploy = true,
        "default" => {}
        other => s.networks.push(Name::from(Name::from(other).suggestion())),
    }
}

/// The first secret-looking variable a command or entrypoint interpolates (`${DB_PASSWORD}`).
pub(super) fn secret_in_args(v: &Node) -> Option<String> {
    let words: Vec<&str> = match v {
        Node::Seq(items, _) => items.iter().filter_map(Node::str).collect(),
        other => other.str().into_iter().collect(),
    };
    words.into_iter().find_map(|w| {
        super::interp::interpolate(w, &BTreeMap::new())
            .used
            .into_iter()
            .find(|var| looks_secret(var))
    })
}

pub(super) fn health(ctx: &mut Ctx<'_>, v: &Node, path: &str) -> Option<HealthCheck> {
    if v.get("disable").and_then(Node::str) == Some("true") {
        return None;
    }
    ctx.only(
        v,
        path,
        &[
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "disable",
        ],
        "escala's health checks have a test, interval, timeout, retries and start period",
    );
    let test = v.get("test")?;
    let words: Vec<String> = match test {
        Node::Seq(..) => ctx.texts(test, &format!("{path}.test")),
        other => {
            let t = ctx.text(other, &format!("{path}.test"))?;
            vec!["CMD-SHELL".into(), t]
        }
    };
    let probe = match words.first().map(String::as_str) {
        Some("NONE") => return None,
        Some("CMD") => Probe::Command(words[1..].to_vec()),
        Some("CMD-SHELL") => {
            let cmd = words[1..].join(" ");
            // escala's own renderings of HTTP and TCP checks come back as what they were.
            if let Some(rest) = cmd
                .strip_prefix("wget -q -O /dev/null http://127.0.0.1:")
                .and_then(|r| r.strip_suffix(" || exit 1"))
            {
                let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                match port.parse() {
                    Ok(port) => Probe::Http {
                        path: path.to_owned(),
                        port,
                    },
                    Err(_) => Probe::Command(vec!["sh".into(), "-c".into(), cmd.clone()]),
                }
            } else if let Some(port) = cmd
                .strip_prefix("nc -z 127.0.0.1 ")
                .and_then(|r| r.strip_suffix(" || exit 1"))
                .and_then(|p| p.parse().ok())
            {
                Probe::Tcp { port }
            } else {
                Probe::Command(vec!["sh".into(), "-c".into(), cmd])
            }
        }
        _ => Probe::Command(words.clone()),
    };
    let mut h = match probe {
        Probe::Http { path, port } => HealthCheck::http(path, port),
        Probe::Tcp { port } => HealthCheck::tcp(port),
        Probe::Command(args) => HealthCheck::command(args),
    };
    timing(ctx, v, path, &mut h);
    Some(h)
}

/// A compose `healthcheck` block's interval, timeout, start period and retries, onto `h`.
pub(super) fn timing(ctx: &mut Ctx<'_>, v: &Node, path: &str, h: &mut HealthCheck) {
    if let Some(d) = v
        .get("interval")
        .and_then(|n| duration(ctx, n, &format!("{path}.interval")))
    {
        h.interval = d;
    }
    if let Some(d) = v
        .get("timeout")
        .and_then(|n| duration(ctx, n, &format!("{path}.timeout")))
    {
        h.timeout = d;
    }
    if let Some(d) = v
        .get("start_period")
        .and_then(|n| duration(ctx, n, &format!("{path}.start_period")))
    {
        h.start_period = d;
    }
    if let Some(r) = v
        .get("retries")
        .and_then(|r| ctx.number(r, &format!("{path}.retries")))
    {
        h.retries = r;
    }
}
