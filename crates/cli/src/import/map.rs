//! A compose project (already merged) → the model, with a diagnostic for everything that does
//! not map.

use std::collections::BTreeMap;

use escala_core::prelude::*;
use escala_core::{looks_secret, Diagnostics, Name, Origin, Probe};

use super::interp::{interpolate, whole_reference};
use super::yaml::{Node, Pos};

/// Diagnostic codes of the importer.
pub mod codes {
    /// A key escala does not represent; it was left out.
    pub const UNSUPPORTED: &str = "escala::import::unsupported";
    /// A value escala cannot read.
    pub const INVALID: &str = "escala::import::invalid";
    /// A value that looks like a secret became a secret reference.
    pub const SECRET_VALUE: &str = "escala::import::secret_value";
    /// A name Kubernetes would reject was renamed.
    pub const RENAMED: &str = "escala::import::renamed";
    /// An interpolated variable is unset.
    pub const UNSET: &str = "escala::import::unset_variable";
    /// Every code with its summary.
    pub const ALL: &[(&str, &str)] = &[
        (UNSUPPORTED, "a compose key escala does not represent was left out of infra.rs"),
        (INVALID, "a compose value escala cannot read (bad port, duration, size…)"),
        (SECRET_VALUE, "an environment value that looks like a secret became a secret read from the environment"),
        (RENAMED, "a name Kubernetes would reject was renamed"),
        (UNSET, "an interpolated variable is unset and has no default"),
    ];
}

pub(super) struct Ctx<'a> {
    pub file: String,
    /// The directory of the first compose file: compose resolves relative paths against it.
    pub base: String,
    pub env: &'a BTreeMap<String, String>,
    pub diags: Diagnostics,
    pub secrets: Vec<Secret>,
    /// Configs the services made (their env files), added to the system once each.
    pub configs: Vec<Config>,
    /// Sizes and storage classes a service's `kompose.volume.*` labels give the volumes it
    /// mounts; a volume's own label wins.
    pub volume_defaults: Vec<(Name, Option<ByteSize>, Option<String>)>,
    pub routes: Vec<Route>,
    pub dokploy: bool,
}

impl Ctx<'_> {
    /// A host path of the compose file, relative to the project (the directory escala runs in).
    fn host(&self, p: &str) -> String {
        if p.starts_with('/') || p.starts_with('~') || self.base.is_empty() || self.base == "." {
            return p.to_owned();
        }
        let mut parts: Vec<&str> = Vec::new();
        let mut ups = 0usize;
        for c in self.base.split('/').chain(p.split('/')) {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        ups += 1;
                    }
                }
                other => parts.push(other),
            }
        }
        if self.base.starts_with('/') {
            // A compose file given by absolute path: its relative paths stay absolute.
            return format!("/{}", parts.join("/"));
        }
        let rel = std::iter::repeat_n("..", ups)
            .chain(parts)
            .collect::<Vec<_>>()
            .join("/");
        if rel.starts_with("..") {
            rel
        } else {
            format!("./{rel}")
        }
    }
    fn origin(&self, pos: Pos) -> Origin {
        Origin {
            file: self.file.clone(),
            line: u32::try_from(pos.line).unwrap_or(u32::MAX),
            column: u32::try_from(pos.col).unwrap_or(u32::MAX),
        }
    }
    pub(super) fn warn(&mut self, code: &str, path: &str, pos: Pos, message: String, help: &str) {
        let o = self.origin(pos);
        self.diags
            .warning(code, path, message)
            .help(help)
            .origin(Some(&o));
    }
    pub(super) fn error(&mut self, path: &str, pos: Pos, message: String, help: &str) {
        let o = self.origin(pos);
        self.diags
            .error(codes::INVALID, path, message)
            .help(help)
            .origin(Some(&o));
    }
    pub(super) fn unsupported(&mut self, path: &str, key: &str, pos: Pos, help: &str) {
        self.warn(
            codes::UNSUPPORTED,
            path,
            pos,
            format!("`{key}` is not represented in escala's model; it was left out"),
            help,
        );
    }
    /// Warn about every key of the mapping `node` (at `path`) that is not in `known`: what
    /// the importer does not read is reported, never dropped in silence.
    fn only(&mut self, node: &Node, path: &str, known: &[&str], help: &str) {
        if let Node::Map(entries, _) = node {
            for (k, pos, _) in entries {
                if !known.contains(&k.as_str()) {
                    self.unsupported(&format!("{path}.{k}"), k, *pos, help);
                }
            }
        }
    }
    /// A whole number read from a scalar, or an error at its place.
    pub(super) fn number<T: std::str::FromStr>(&mut self, node: &Node, path: &str) -> Option<T> {
        let text = self.text(node, path)?;
        let n = text.parse().ok();
        if n.is_none() {
            self.error(
                path,
                node.pos(),
                format!("`{text}` is not a whole number"),
                "write a number",
            );
        }
        n
    }
    /// A scalar, interpolated.
    pub(super) fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        let Node::Scalar(raw, _, pos) = node else {
            self.error(
                path,
                node.pos(),
                "expected a single value here".into(),
                "write a string or a number",
            );
            return None;
        };
        let r = interpolate(raw, self.env);
        for var in r.missing {
            self.warn(codes::UNSET, path, *pos, format!("variable `{var}` is unset and has no default; it became empty"), "set it in the environment or the `--env-file`, or give a default (`${VAR:-value}`)");
        }
        for (var, msg) in r.required {
            self.error(
                path,
                *pos,
                format!("required variable `{var}` is unset: {msg}"),
                "set it in the environment or the `--env-file`",
            );
        }
        Some(r.value)
    }
    fn texts(&mut self, node: &Node, path: &str) -> Vec<String> {
        match node {
            Node::Seq(items, _) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.text(n, &format!("{path}[{i}]")))
                .collect(),
            other => self
                .text(other, path)
                .map(|s| {
                    shell_words::split(&s)
                        .unwrap_or_else(|_| s.split_whitespace().map(str::to_owned).collect())
                })
                .unwrap_or_default(),
        }
    }
    /// `KEY: value` mappings or `KEY=value` lists (environment, labels, build args):
    /// (key, raw value if any, position). Values are not interpolated yet.
    fn raw_pairs(&mut self, node: &Node, path: &str) -> Vec<(String, Option<String>, Pos)> {
        match node {
            Node::Map(entries, _) => entries
                .iter()
                .map(|(k, p, v)| {
                    let raw = if v.is_null() {
                        None
                    } else {
                        v.str().map(str::to_owned)
                    };
                    (k.clone(), raw, *p)
                })
                .collect(),
            Node::Seq(items, _) => items
                .iter()
                .filter_map(|n| {
                    let raw = n.str()?;
                    Some(match raw.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned()), n.pos()),
                        None => (raw.to_owned(), None, n.pos()),
                    })
                })
                .collect(),
            other => {
                self.error(
                    path,
                    other.pos(),
                    "expected a mapping or a list of `KEY=value`".into(),
                    "write `KEY: value` entries",
                );
                Vec::new()
            }
        }
    }
    /// Like [`Ctx::raw_pairs`], with values interpolated.
    fn pairs(&mut self, node: &Node, path: &str) -> Vec<(String, Option<String>, Pos)> {
        self.raw_pairs(node, path)
            .into_iter()
            .map(|(k, raw, p)| {
                let value = raw.map(|r| {
                    self.text(&Node::Scalar(r, false, p), &format!("{path}.{k}"))
                        .unwrap_or_default()
                });
                (k, value, p)
            })
            .collect()
    }
}

/// A name escala accepts, with a warning when it had to change.
fn name(ctx: &mut Ctx<'_>, raw: &str, path: &str, pos: Pos) -> Name {
    let n = Name::from(raw);
    if n.validate().is_ok() {
        return n;
    }
    let fixed = Name::from(n.suggestion());
    ctx.warn(
        codes::RENAMED,
        path,
        pos,
        format!("`{raw}` is not a valid name; it became `{fixed}`"),
        "Kubernetes accepts only lowercase letters, digits and `-` in names",
    );
    fixed
}

/// The first secret-looking variable a command or entrypoint interpolates (`${DB_PASSWORD}`).
fn secret_in_args(v: &Node) -> Option<String> {
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

/// A value that switches something on or off (`yes`, `false`, `0`…): under a name that looks
/// like a secret's (`ALLOW_EMPTY_PASSWORD`), it is a setting, not a credential.
fn switch(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "yes"
            | "no"
            | "y"
            | "n"
            | "true"
            | "false"
            | "on"
            | "off"
            | "0"
            | "1"
            | "enabled"
            | "disabled"
    )
}

fn secret_name(var: &str) -> Name {
    Name::from(Name::from(var).suggestion())
}

fn duration(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Duration> {
    let s = ctx.text(node, path)?;
    match s.parse::<Duration>() {
        Ok(d) => Some(d),
        Err(e) => {
            ctx.error(
                path,
                node.pos(),
                e.to_string(),
                "write a Go duration such as `10s` or `1m30s`",
            );
            None
        }
    }
}

/// Docker's sizes: `512m`, `1g`, `1024k`, `1.5g` are binary; plain numbers are bytes.
fn docker_size(s: &str) -> Option<ByteSize> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1024f64),
        'm' => (&s[..s.len() - 1], 1024f64 * 1024.0),
        'g' => (&s[..s.len() - 1], 1024f64 * 1024.0 * 1024.0),
        't' => (&s[..s.len() - 1], 1024f64.powi(4)),
        _ => (s, 1f64),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then(|| ByteSize::bytes((n * mult).round() as u64))
}

pub(super) fn system(ctx: &mut Ctx<'_>, doc: &Node, default_name: &str) -> System {
    let sys_name = match doc.get("name") {
        Some(n) => {
            let raw = ctx.text(n, "name").unwrap_or_default();
            name(ctx, &raw, "name", n.pos())
        }
        None => Name::from(Name::from(default_name).suggestion()),
    };
    let mut system = System::new(sys_name);
    let Node::Map(entries, _) = doc else {
        ctx.error(
            "(root)",
            doc.pos(),
            "a compose file is a mapping at the top".into(),
            "start with `services:`",
        );
        return system;
    };
    for (key, pos, value) in entries {
        match key.as_str() {
            "name" => {}
            "services" => {
                if let Node::Map(services, _) = value {
                    for (svc, spos, body) in services {
                        let n = name(ctx, svc, &format!("services.{svc}"), *spos);
                        let s = service(ctx, n, body, &format!("services.{svc}"));
                        system.services.push(s);
                    }
                }
            }
            "volumes" => top_volumes(ctx, value, &mut system),
            "networks" => top_networks(ctx, value, &mut system),
            "secrets" => top_secrets(ctx, value, &mut system),
            "configs" => top_configs(ctx, value, &mut system),
            "version" => ctx.warn(
                codes::UNSUPPORTED,
                "version",
                *pos,
                "`version` is obsolete and was left out".into(),
                "compose ignores it; escala's outputs have none",
            ),
            k if k.starts_with("x-") => ctx.unsupported(
                k,
                k,
                *pos,
                "extension fields were left out; anchors that use them were already resolved",
            ),
            other => ctx.unsupported(
                other,
                other,
                *pos,
                "see the book's import chapter for what maps",
            ),
        }
    }
    for s in std::mem::take(&mut ctx.secrets) {
        if !system.secrets.iter().any(|x| x.name == s.name) {
            system.secrets.push(s);
        }
    }
    for (name, size, class) in std::mem::take(&mut ctx.volume_defaults) {
        if let Some(v) = system.volumes.iter_mut().find(|v| v.name == name) {
            if v.size.is_none() {
                v.size = size;
            }
            if v.storage_class.is_none() {
                v.storage_class = class;
            }
        }
    }
    for c in std::mem::take(&mut ctx.configs) {
        if !system.configs.iter().any(|x| x.name == c.name) {
            system.configs.push(c);
        }
    }
    system.routes = std::mem::take(&mut ctx.routes);
    let mut phase = Phase::new("compose", Engine::Compose);
    if ctx.dokploy {
        phase = phase.platform(Platform::Dokploy { isolated: false });
    }
    system.phases.push(phase);
    system
}

fn service(ctx: &mut Ctx<'_>, n: Name, body: &Node, at: &str) -> Service {
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
            "container_name" => ctx.unsupported(
                &path,
                key,
                *pos,
                "escala never sets container names (they prevent scaling and collide on Dokploy)",
            ),
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

/// `env_file`: each file (relative to the compose file, as compose reads it) adds the
/// variables `environment` does not set; secret-looking ones become secrets, as there.
fn env_file(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
    let items: Vec<&Node> = match v {
        Node::Seq(items, _) => items.iter().collect(),
        other => vec![other],
    };
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        ctx.only(
            item,
            &at,
            &["path", "required", "format"],
            "escala reads an env file's path and whether it is required",
        );
        let (file, required) = match item {
            Node::Map(..) => (
                item.get("path")
                    .and_then(|p| ctx.text(p, &format!("{at}.path"))),
                item.get("required").and_then(Node::str) != Some("false"),
            ),
            other => (ctx.text(other, &at), true),
        };
        let Some(file) = file else { continue };
        let on_disk = ctx.host(&file);
        let text = match read_env_file(&on_disk) {
            Ok(text) => text,
            Err(_) if !required => continue,
            Err(e) => {
                ctx.error(
                    &at,
                    item.pos(),
                    format!("env file `{on_disk}` cannot be read: {e}"),
                    "create it, fix the path (relative to the compose file), or mark it `required: false`",
                );
                continue;
            }
        };
        // The file's variables become a config named as Kompose names its ConfigMap; a
        // secret-looking one becomes a secret instead and is not in the config.
        let config = env_file_config(&file, &s.name);
        let mut values = Vec::new();
        for (k, value) in super::interp::dotenv(&text) {
            if looks_secret(&k) && !value.is_empty() && !switch(&value) {
                if s.env.contains_key(&k) {
                    continue;
                }
                let name = secret_name(&k);
                ctx.warn(
                    codes::SECRET_VALUE,
                    &format!("{at}.{k}"),
                    item.pos(),
                    format!("`{k}` from `{file}` looks like a secret; its value was not copied into infra.rs"),
                    &format!("it is now the secret `{name}`, read from the environment variable `{k}` when deploying; set it there"),
                );
                ctx.secrets.push(Secret::from_env(name.clone(), k.as_str()));
                s.env.insert(k, Env::secret(name));
                continue;
            }
            values.push((k.clone(), value));
            // `environment` wins over the file, as in compose.
            s.env
                .entry(k.clone())
                .or_insert_with(|| Env::config(config.clone(), k));
        }
        if !values.is_empty() && !ctx.configs.iter().any(|c| c.name == config) {
            ctx.configs.push(Config::values(config, values));
        }
    }
}

/// The config of an env file, named as Kompose names its ConfigMap: the path without its
/// leading `./`, `/` or `.`, every other character than a letter or digit turned into `-`
/// (`./config/app.env` → `config-app-env`, `.env` → `env`).
fn env_file_config(file: &str, service: &Name) -> Name {
    let trimmed = file.trim_start_matches(['.', '/']);
    let mut name: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('-') {
        name = format!("{service}-{}", name.trim_start_matches('-'));
    }
    name.truncate(63);
    Name::from(name.trim_end_matches('-'))
}

/// An env file's text: a regular file of at most 1 MiB (so `/dev/zero` or a FIFO named in a
/// compose file cannot hang the import).
fn read_env_file(path: &str) -> std::io::Result<String> {
    use std::io::Read as _;
    const LIMIT: u64 = 1 << 20;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > LIMIT {
        return Err(std::io::Error::other("larger than 1 MiB"));
    }
    let mut text = String::new();
    file.take(LIMIT).read_to_string(&mut text)?;
    Ok(text)
}

/// A service's secret or config reference, short (`name`) or long (`source`/`target`):
/// (source, target, the name escala gives it).
fn file_ref(item: &Node) -> (String, Option<String>, Name) {
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

fn push_network(ctx: &mut Ctx<'_>, s: &mut Service, n: &str) {
    match n {
        "dokploy-network" => ctx.dokploy = true,
        "default" => {}
        other => s.networks.push(Name::from(Name::from(other).suggestion())),
    }
}

fn seq(node: &Node) -> Vec<&Node> {
    match node {
        Node::Seq(items, _) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn build(ctx: &mut Ctx<'_>, v: &Node, path: &str) -> Option<Build> {
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

fn ports(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
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
const MAX_RANGE: u32 = 1024;

/// Compose's short port syntax, `[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTOCOL]`, a port
/// per number of a range; and whether it named a host IP (left out).
fn short_ports(text: &str) -> (Result<Vec<Port>, String>, bool) {
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

fn mounts(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
    for (i, item) in seq(v).into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let mount = match item {
            Node::Map(..) => {
                ctx.only(
                    item,
                    &at,
                    &["type", "source", "target", "read_only", "tmpfs"],
                    "escala's mounts have a source, target and read-only flag (and a tmpfs size)",
                );
                let kind = item.get("type").and_then(Node::str).unwrap_or("volume");
                let source = item
                    .get("source")
                    .and_then(Node::str)
                    .unwrap_or_default()
                    .to_owned();
                let target = item
                    .get("target")
                    .and_then(Node::str)
                    .unwrap_or_default()
                    .to_owned();
                let ro = item.get("read_only").and_then(Node::str) == Some("true");
                let m = match kind {
                    "bind" => Mount::bind(ctx.host(&source), target),
                    "tmpfs" => Mount {
                        source: MountSource::Tmpfs {
                            size: item
                                .get("tmpfs")
                                .and_then(|t| t.get("size"))
                                .and_then(Node::str)
                                .and_then(docker_size),
                        },
                        ..Mount::tmpfs(target)
                    },
                    _ => {
                        Mount::volume(Name::from(Name::from(source.as_str()).suggestion()), target)
                    }
                };
                Some(if ro { m.read_only() } else { m })
            }
            other => ctx.text(other, &at).and_then(|text| {
                // `C:\Users\x:D:\config`: a Windows host path, which the `:`-split misreads
                // as a volume named `c`; no Linux engine can mount it.
                let windows = |p: &str| {
                    let b = p.as_bytes();
                    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
                };
                if windows(&text) || text.contains(":\\") || text.split(':').any(|p| p.starts_with('\\')) {
                    ctx.error(
                        &at,
                        other.pos(),
                        format!("`{text}` is a Windows path; Linux containers cannot mount it"),
                        "write the path as the Linux host sees it (`/mnt/c/Users/x:/config`), or a named volume",
                    );
                    return None;
                }
                let parts: Vec<&str> = text.split(':').collect();
                let (src, target, mode) = match parts.as_slice() {
                    [t] => ("", *t, ""),
                    [s, t] => (*s, *t, ""),
                    [s, t, m, ..] => (*s, *t, *m),
                    [] => ("", "", ""),
                };
                let m = if src.is_empty() {
                    ctx.warn(
                        codes::UNSUPPORTED,
                        &at,
                        other.pos(),
                        format!("anonymous volume at `{target}` became a tmpfs"),
                        "declare a named volume if the data must survive restarts",
                    );
                    Mount::tmpfs(target)
                } else if src.starts_with('.') || src.starts_with('/') || src.starts_with('~') {
                    Mount::bind(ctx.host(src), target)
                } else {
                    Mount::volume(Name::from(Name::from(src).suggestion()), target)
                };
                Some(if mode.split(',').any(|m| m == "ro") {
                    m.read_only()
                } else {
                    m
                })
            }),
        };
        if let Some(m) = mount {
            let relative = match item {
                Node::Map(..) => (item.get("type").and_then(Node::str) == Some("bind"))
                    .then(|| item.get("source").and_then(Node::str))
                    .flatten(),
                other => other
                    .str()
                    .and_then(|t| t.split_once(':').map(|(src, _)| src)),
            }
            .is_some_and(|src| src.starts_with('.'));
            if !(relative && project_config(ctx, s, i, &m, &at, item.pos())) {
                s.mounts.push(m);
            }
        }
    }
}

/// A bind mount of a project file or folder that exists: a config (`<service>-cm<index>`,
/// Kompose's ConfigMap name) mounted at the same path, so that Kubernetes can ship it; the
/// other engines mount it as before, read-only. `false` when the path is not there.
fn project_config(
    ctx: &mut Ctx<'_>,
    s: &mut Service,
    i: usize,
    m: &Mount,
    at: &str,
    pos: Pos,
) -> bool {
    let MountSource::Bind(host) = &m.source else {
        return false;
    };
    let Ok(meta) = std::fs::metadata(host) else {
        return false;
    };
    let name = Name::from(format!("{}-cm{i}", s.name));
    let mut config = if meta.is_file() {
        Config::file(name.clone(), host.clone())
    } else if meta.is_dir()
        && std::fs::read_dir(host)
            .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_file()))))
    {
        Config::dir(name.clone(), host.clone())
    } else {
        return false;
    };
    // The compose file itself is outside the project: importing it is asking for its files.
    if host.starts_with('/') || host.starts_with("..") {
        config = config.outside_project();
    }
    if !m.read_only {
        ctx.warn(
            codes::UNSUPPORTED,
            at,
            pos,
            format!("the bind mount of `{host}` became the config `{name}`, which is read-only (Kompose makes it a ConfigMap too)"),
            "if the service writes there, mount a volume instead",
        );
    }
    s.configs.push(ConfigMount::new(name, m.target.clone()));
    ctx.configs.push(config);
    true
}

fn health(ctx: &mut Ctx<'_>, v: &Node, path: &str) -> Option<HealthCheck> {
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

fn deploy(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str, traefik: &mut Vec<Label>) {
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

/// A Traefik label, where it was found, and whether the model now holds what it said.
pub(super) struct Label {
    pub(super) path: String,
    pub(super) key: String,
    pub(super) value: String,
    pub(super) pos: Pos,
    used: bool,
}

impl Label {
    fn new(labels: &str, key: String, value: String, pos: Pos) -> Self {
        Self {
            path: format!("{labels}.{key}"),
            key,
            value,
            pos,
            used: false,
        }
    }
}

/// Traefik routers become routes: `Host(…)` (several with `||`) and `PathPrefix(…)`, the
/// service port, TLS when the router is on `websecure` or has a resolver. Routers that only
/// redirect to HTTPS, and the redirect middleware, are what escala generates for every TLS
/// route. Every other label (middlewares, priorities, TCP routers, load-balancer options…)
/// is reported: nothing is dropped in silence.
fn routes(ctx: &mut Ctx<'_>, s: &mut Service, mut labels: Vec<Label>, at: &str) {
    // Router name → label indices; service name → its port.
    let mut routers: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut ports: BTreeMap<String, u16> = BTreeMap::new();
    let mut enabled = true;
    for (i, l) in labels.iter_mut().enumerate() {
        if let Some(rest) = l.key.strip_prefix("traefik.http.routers.") {
            if let Some((router, _)) = rest.split_once('.') {
                routers.entry(router.to_owned()).or_default().push(i);
            }
        } else if let Some(svc) = l
            .key
            .strip_prefix("traefik.http.services.")
            .and_then(|r| r.strip_suffix(".loadbalancer.server.port"))
        {
            if let Ok(port) = l.value.parse() {
                ports.insert(svc.to_owned(), port);
                l.used = true;
            }
        } else if l.key == "traefik.docker.network" || l.key == "traefik.swarm.network" {
            // escala chooses the network Traefik uses from the platform.
            ctx.dokploy |= l.value == "dokploy-network";
            l.used = true;
        } else if l.key == "traefik.enable" {
            enabled = l.value != "false";
            l.used = enabled;
        }
    }
    let field = |labels: &[Label], idx: &[usize], name: &str| {
        idx.iter()
            .map(|&i| &labels[i])
            .find(|l| field_of(&l.key) == name)
            .map(|l| (l.value.clone(), l.pos))
    };
    let mut redirects: Vec<String> = Vec::new();
    for (router, idx) in routers {
        if !enabled {
            continue;
        }
        let Some((rule, rpos)) = field(&labels, &idx, "rule") else {
            continue;
        };
        // A router on `web` without TLS whose middleware redirects is the HTTP → HTTPS
        // companion of a serving router; escala makes it for every TLS route.
        let plain_http = field(&labels, &idx, "entrypoints").is_some_and(|(e, _)| e == "web")
            && field(&labels, &idx, "tls").is_none()
            && field(&labels, &idx, "tls.certresolver").is_none();
        if let Some((m, _)) = field(&labels, &idx, "middlewares")
            .filter(|(m, _)| plain_http && m.contains("redirect"))
        {
            redirects.extend(
                m.split(',')
                    .map(|m| m.trim().split('@').next().unwrap_or_default().to_owned()),
            );
            for &i in &idx {
                labels[i].used = true;
            }
            continue;
        }
        let port = field(&labels, &idx, "service")
            .and_then(|(svc, _)| ports.get(&svc).copied())
            .or_else(|| {
                (ports.len() == 1)
                    .then(|| ports.values().next().copied())
                    .flatten()
            })
            .or_else(|| s.ports.first().map(|p| p.container));
        let Some(port) = port else {
            ctx.warn(
                codes::UNSUPPORTED,
                &format!("{at}.labels"),
                rpos,
                format!(
                    "router `{router}` names no port and the service exposes none; it was left out"
                ),
                "add `traefik.http.services.<name>.loadbalancer.server.port`",
            );
            for &i in &idx {
                labels[i].used = true;
            }
            continue;
        };
        let hosts: Vec<String> = rule
            .split("Host(`")
            .skip(1)
            .filter_map(|r| r.split('`').next().map(str::to_owned))
            .collect();
        if hosts.is_empty() {
            // Reported below with the rule's own label.
            continue;
        }
        // Traefik reaches the port whether or not compose lists it; the model declares it.
        if s.port(port).is_none() {
            s.ports.push(Port::tcp(port));
        }
        let entrypoints = field(&labels, &idx, "entrypoints").map(|(e, _)| e);
        let tls = field(&labels, &idx, "tls.certresolver").is_some()
            || field(&labels, &idx, "tls").is_some_and(|(t, _)| t != "false")
            || entrypoints
                .as_deref()
                .is_some_and(|e| e.contains("websecure"));
        let resolver = field(&labels, &idx, "tls.certresolver")
            .map(|(r, _)| r)
            .filter(|r| r != "letsencrypt");
        let path = rule
            .split("PathPrefix(`")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .map(str::to_owned);
        for &i in &idx {
            let known = matches!(
                field_of(&labels[i].key),
                "rule" | "tls" | "tls.certresolver" | "service"
            ) || (field_of(&labels[i].key) == "entrypoints"
                && labels[i]
                    .value
                    .split(',')
                    .all(|e| matches!(e.trim(), "web" | "websecure")));
            labels[i].used |= known;
        }
        for host in hosts {
            if ctx.routes.iter().any(|r| r.host == host && r.path == path) {
                continue;
            }
            let mut route = Route::builder()
                .host(host)
                .service(s.name.clone())
                .port(port)
                .build();
            route.path = path.clone();
            route.tls = tls.then(|| match &resolver {
                Some(r) => Tls::auto().resolver(r.clone()),
                None => Tls::auto(),
            });
            ctx.routes.push(route);
        }
    }
    for l in &mut labels {
        if let Some(rest) = l.key.strip_prefix("traefik.http.middlewares.") {
            let name = rest.split('.').next().unwrap_or_default();
            l.used |= redirects.iter().any(|r| r == name) && rest.contains(".redirectscheme.");
        }
    }
    for l in labels.into_iter().filter(|l| !l.used) {
        let (message, help) = if !enabled {
            (
                format!(
                    "`{}` belongs to a service with `traefik.enable=false`; it was left out",
                    l.key
                ),
                "escala routes a service only when the model has a route to it",
            )
        } else if l.key.starts_with("traefik.http.middlewares.")
            || field_of(&l.key) == "middlewares"
        {
            (
                format!("the Traefik middleware label `{}` has no equivalent in the model; it was left out", l.key),
                "escala generates only the HTTP→HTTPS redirect; keep other middlewares as labels added by hand, or in Traefik's file provider",
            )
        } else if field_of(&l.key) == "rule" {
            (
                format!("the rule `{}` has no `Host(…)`; it was left out", l.value),
                "escala routes by host and, optionally, a path prefix",
            )
        } else if field_of(&l.key) == "entrypoints" {
            (
                format!(
                    "entrypoints `{}`: escala routes on `web` and `websecure` only",
                    l.value
                ),
                "the route was imported on `websecure` when it has TLS, else on `web`",
            )
        } else {
            (
                format!("the Traefik label `{}` has no equivalent in the model; it was left out", l.key),
                "escala's routes hold a host, path prefix, port and TLS; anything else needs a hand-written label",
            )
        };
        ctx.warn(codes::UNSUPPORTED, &l.path, l.pos, message, help);
    }
}

/// The router field a label sets: `rule`, `tls.certresolver`, … of
/// `traefik.http.routers.<router>.<field>`.
fn field_of(key: &str) -> &str {
    key.strip_prefix("traefik.http.routers.")
        .and_then(|r| r.split_once('.'))
        .map_or("", |(_, f)| f)
}

fn top_volumes(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
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

fn top_networks(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
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

fn top_secrets(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
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

fn top_configs(ctx: &mut Ctx<'_>, v: &Node, system: &mut System) {
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

#[cfg(test)]
mod tests {
    use super::docker_size;

    #[test]
    fn docker_sizes_are_binary() {
        assert_eq!(
            docker_size("512M").map(|b| b.as_bytes()),
            Some(512 * 1024 * 1024)
        );
        assert_eq!(
            docker_size("1g").map(|b| b.as_bytes()),
            Some(1024 * 1024 * 1024)
        );
        assert_eq!(docker_size("1000").map(|b| b.as_bytes()), Some(1000));
        assert!(docker_size("lots").is_none());
    }
}
