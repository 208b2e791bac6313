//! A compose project (already merged) → the model, with a diagnostic for everything that does
//! not map.

use std::collections::BTreeMap;

use escala_core::prelude::*;
use escala_core::{Diagnostics, Name, Origin};

use super::interp::interpolate;
use super::service::service;
use super::top::top_configs;
use super::top::top_networks;
use super::top::top_secrets;
use super::top::top_volumes;
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
    pub(super) fn host(&self, p: &str) -> String {
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
    pub(super) fn origin(&self, pos: Pos) -> Origin {
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
    pub(super) fn only(&mut self, node: &Node, path: &str, known: &[&str], help: &str) {
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
    pub(super) fn texts(&mut self, node: &Node, path: &str) -> Vec<String> {
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
    pub(super) fn raw_pairs(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Vec<(String, Option<String>, Pos)> {
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
    pub(super) fn pairs(&mut self, node: &Node, path: &str) -> Vec<(String, Option<String>, Pos)> {
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
pub(super) fn name(ctx: &mut Ctx<'_>, raw: &str, path: &str, pos: Pos) -> Name {
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

/// A value that switches something on or off (`yes`, `false`, `0`…): under a name that looks
/// like a secret's (`ALLOW_EMPTY_PASSWORD`), it is a setting, not a credential.
pub(super) fn switch(value: &str) -> bool {
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

pub(super) fn secret_name(var: &str) -> Name {
    Name::from(Name::from(var).suggestion())
}

pub(super) fn duration(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Duration> {
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
pub(super) fn docker_size(s: &str) -> Option<ByteSize> {
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

pub(super) fn seq(node: &Node) -> Vec<&Node> {
    match node {
        Node::Seq(items, _) => items.iter().collect(),
        _ => Vec::new(),
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
