//! Names: valid everywhere, unique per kind; image references and env var names, and no
//! literal value under a secret's name.

use foldhash::HashSet;
use foldhash::HashSetExt;
use std::fmt;

use crate::codes::{
    NAME_DUPLICATE, NAME_INVALID, SERVICE_BAD_ENV, SERVICE_BAD_IMAGE, SERVICE_CONTROL_CHAR,
    SERVICE_NO_IMAGE, SERVICE_SECRET_LITERAL,
};
use crate::{Diagnostics, Name, Origin, System};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    name(&system.name, "name", None, diags);
    let services = system.services.iter().map(|s| (&s.name, s.origin.as_ref()));
    unique("services", "service", services, diags);
    unique(
        "volumes",
        "volume",
        plain(system.volumes.iter().map(|v| &v.name).collect()),
        diags,
    );
    unique(
        "networks",
        "network",
        plain(system.networks.iter().map(|v| &v.name).collect()),
        diags,
    );
    unique(
        "secrets",
        "secret",
        plain(system.secrets.iter().map(|v| &v.name).collect()),
        diags,
    );
    unique(
        "configs",
        "config",
        plain(system.configs.iter().map(|v| &v.name).collect()),
        diags,
    );
    unique(
        "phases",
        "phase",
        plain(system.phases.iter().map(|v| &v.name).collect()),
        diags,
    );
    for phase in &system.phases {
        if let Some(ns) = &phase.namespace {
            name(ns, format!("phases.{}.namespace", phase.name), None, diags);
        }
        // Nodes remember where they were declared: their errors point there.
        let nodes = phase.nodes.iter().map(|n| (&n.name, n.origin.as_ref()));
        unique(
            &format!("phases.{}.nodes", phase.name),
            "node",
            nodes,
            diags,
        );
    }
    for phase in &system.phases {
        for (i, o) in phase.overrides.iter().enumerate() {
            let at = format!("phases.{}.overrides[{i}]", phase.name);
            if let Some(image) = &o.image {
                image_at(image, format_args!("{at}.image"), o.origin.as_ref(), diags);
            }
            for (field, texts) in [("command", &o.command), ("entrypoint", &o.entrypoint)] {
                for (j, text) in texts.iter().flatten().enumerate() {
                    let path = format_args!("{at}.{field}[{j}]");
                    control_chars(text, path, o.origin.as_ref(), diags);
                }
            }
            env(&o.service, &o.env, &at, o.origin.as_ref(), diags);
        }
    }
    for s in &system.services {
        let at = crate::At::service(s.name.as_str());
        let mut steps = HashSet::new();
        for (i, step) in s.init_steps.iter().enumerate() {
            let here = format_args!("{at}.init_steps[{i}]");
            name(
                &step.name,
                format_args!("{here}.name"),
                s.origin.as_ref(),
                diags,
            );
            image_at(
                &step.image,
                format_args!("{here}.image"),
                s.origin.as_ref(),
                diags,
            );
            let compose_name = format!("{}-{}", s.name, step.name);
            if !steps.insert(&step.name)
                || system
                    .services
                    .iter()
                    .any(|o| o.name.as_str() == compose_name)
            {
                diags
                    .error(NAME_DUPLICATE, format!("{here}.name"), format!("init step `{}` of `{}` is named twice, or its compose service `{compose_name}` is another service's name", step.name, s.name))
                    .help("give each step a name of its own")
                    .origin(s.origin.as_ref());
            }
        }
        match (&s.image, &s.build) {
            (None, None) => {
                diags
                    .error(SERVICE_NO_IMAGE, at, format!("service `{}` has neither an image nor a build", s.name))
                    .help("set `.image(\"registry/name:tag\")`, or `.build_from(Build::new(\"./dir\"))` for engines that build")
                    .origin(s.origin.as_ref());
            }
            (Some(image), _) => {
                image_at(image, format_args!("{at}.image"), s.origin.as_ref(), diags)
            }
            _ => {}
        }
        let o = s.origin.as_ref();
        for (field, texts) in [("command", &s.command), ("entrypoint", &s.entrypoint)] {
            for (i, text) in texts.iter().enumerate() {
                control_chars(text, format_args!("{at}.{field}[{i}]"), o, diags);
            }
        }
        for (k, text) in &s.labels {
            control_chars(text, format_args!("{at}.labels.{k}"), o, diags);
        }
        env(&s.name, &s.env, &at, s.origin.as_ref(), diags);
    }
}

/// The names and literal values of an environment (a service's, or a phase's override of
/// it) at `at`: portable names, no control characters, no literal under a secret's name.
pub(super) fn env(
    service: &Name,
    env: &indexmap::IndexMap<String, crate::Env>,
    at: &dyn fmt::Display,
    origin: Option<&Origin>,
    diags: &mut Diagnostics,
) {
    for (key, value) in env {
        let (crate::Env::Literal(v) | crate::Env::NotSecret(v)) = value else {
            continue;
        };
        control_chars(v, format_args!("{at}.env.{key}"), origin, diags);
    }
    for (key, value) in env {
        let (crate::Env::Literal(v) | crate::Env::NotSecret(v)) = value else {
            continue;
        };
        // Linux's MAX_ARG_STRLEN: one `KEY=value` string, with its NUL, under 32 pages.
        if key.len() + v.len() + 2 > 128 * 1024 {
            diags
                .error(crate::codes::SERVICE_ENV_TOO_LONG, format!("{at}.env.{key}"), format!("`{key}` of `{service}` holds {} bytes; Linux refuses to start a program with an environment string of 128 KiB or more, on every engine", v.len()))
                .help("put the value in a config file and mount it (`Config::inline` / `Config::file` with `.configs([..])`)")
                .origin(origin);
        }
    }
    for key in env.keys() {
        if !env_name(key) {
            diags
                .error(
                    SERVICE_BAD_ENV,
                    format!("{at}.env.{key}"),
                    format!("`{key}` is not a portable environment variable name"),
                )
                .help("use letters, digits, `_`, `.` and `-`, not starting with a digit (Kubernetes' rule, which every engine accepts)")
                .origin(origin);
        }
    }
    for (key, value) in env {
        let crate::Env::Literal(v) = value else {
            continue;
        };
        if crate::looks_secret(key) && !v.is_empty() {
            let secret = Name::from(Name::from(key.as_str()).suggestion());
            diags
                .error(
                    SERVICE_SECRET_LITERAL,
                    format!("{at}.env.{key}"),
                    format!("`{key}` of `{service}` looks like a secret but holds a literal value, which every generated file would carry"),
                )
                .help(format!("read it from the deploy environment: `.secret(Secret::from_env(\"{secret}\", \"{key}\"))` on the system and `Env::secret(\"{secret}\")` here; if the value is not secret, write `Env::not_secret(…)`"))
                .origin(origin);
        }
    }
}

/// An image reference that is not one is an error at `path`.
/// `path` is written out only when the reference is not one.
fn image_at(
    image: &str,
    path: impl fmt::Display,
    origin: Option<&Origin>,
    diags: &mut Diagnostics,
) {
    if let Err(why) = image_ref(image) {
        diags
            .error(
                SERVICE_BAD_IMAGE,
                path.to_string(),
                format!("image `{image}` is not a valid reference: {why}"),
            )
            .help("write it as `[registry/]repository[:tag][@digest]`, repository in lowercase")
            .origin(origin);
    }
}

/// A value with a control character (other than newline and tab) is an error at `path`.
/// `path` is written out only when the text holds a control character.
fn control_chars(
    text: &str,
    path: impl fmt::Display,
    origin: Option<&Origin>,
    diags: &mut Diagnostics,
) {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        diags
            .error(
                SERVICE_CONTROL_CHAR,
                path.to_string(),
                format!("the value holds the control character U+{:04X}", c as u32),
            )
            .help(
                "remove it; YAML parsers (kustomize, docker) reject or rewrite control characters",
            )
            .origin(origin);
    }
}

fn plain(names: Vec<&Name>) -> Vec<(&Name, Option<&Origin>)> {
    names.into_iter().map(|n| (n, None)).collect()
}

/// `path` is written out only when the name is invalid.
fn name(n: &Name, path: impl fmt::Display, origin: Option<&Origin>, diags: &mut Diagnostics) {
    if let Err(e) = n.validate() {
        let suggestion = n.suggestion();
        let d = diags.error(NAME_INVALID, path.to_string(), e.to_string());
        if suggestion.is_empty() {
            d.help("names are DNS-1123 labels: lowercase letters, digits and `-`, at most 63");
        } else {
            d.help(format!(
                "names are DNS-1123 labels (Kubernetes rejects anything else); try `{suggestion}`"
            ));
        }
        d.origin(origin);
    }
}

fn unique<'a>(
    section: &str,
    kind: &str,
    names: impl IntoIterator<Item = (&'a Name, Option<&'a Origin>)>,
    diags: &mut Diagnostics,
) {
    let mut seen = HashSet::new();
    for (i, (n, origin)) in names.into_iter().enumerate() {
        name(n, format!("{section}[{i}].name"), origin, diags);
        if !seen.insert(n) {
            diags
                .error(
                    NAME_DUPLICATE,
                    format!("{section}[{i}]"),
                    format!("{kind} `{n}` is declared more than once"),
                )
                .help(format!(
                    "rename one of them or remove the duplicate; each {kind} name must be unique"
                ))
                .origin(origin);
        }
    }
}

/// A portable environment variable name.
/// Whether every engine takes `s` as an environment variable's name: Kubernetes' rule
/// (`[-._a-zA-Z][-._a-zA-Z0-9]*`), which Docker's (anything without `=`) includes. Dotted
/// names (`discovery.type`, as Elasticsearch and OpenSearch document) are among them.
fn env_name(s: &str) -> bool {
    let mut chars = s.chars();
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '-'))
        && chars.all(ok)
}

/// Checks the shape of an image reference: `[host[:port]/]path[:tag][@digest]`.
fn image_ref(image: &str) -> Result<(), &'static str> {
    if image.is_empty() {
        return Err("it is empty");
    }
    if image.chars().any(char::is_whitespace) {
        return Err("it contains whitespace");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        // The algorithms registries use, with their hex lengths (OCI image spec).
        let hex = |h: &str, n: usize| {
            h.len() == n
                && h.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        };
        let ok = match d.split_once(':') {
            Some(("sha256", h)) => hex(h, 64),
            Some(("sha512", h)) => hex(h, 128),
            _ => false,
        };
        if !ok {
            return Err(
                "the digest must be `sha256:` and 64 lowercase hex digits (or `sha512:` and 128)",
            );
        }
    }
    // A tag follows the last `:` after the last `/` (a registry port comes before a `/`).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err("the tag may hold only letters, digits, `_`, `.` and `-`");
        }
    }
    let mut parts = path.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_registry = first
            && parts.peek().is_some()
            && (part.contains('.') || part.contains(':') || part == "localhost");
        first = false;
        if is_registry {
            continue;
        }
        if part.is_empty() {
            return Err("a path component is empty");
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            return Err("the repository must be lowercase");
        }
        if !part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            return Err("the repository may hold only lowercase letters, digits, `.`, `_` and `-`");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{env_name, image_ref};

    #[test]
    fn image_refs() {
        for ok in [
            "nginx",
            "nginx:1.27",
            "pgvector/pgvector:pg18",
            "ghcr.io/acme/api:1.4.2",
            "localhost:5000/app",
            "registry.example.com:5000/team/app:v1@sha256:9b7c2f0d6a4e8f1b3c5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
        ] {
            assert_eq!(image_ref(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "nginx@sha256:abc",
            "nginx@md5:9b7c2f0d6a4e8f1b3c5d7e9f0a1b2c3d",
            "nginx@sha256:9B7C2F0D6A4E8F1B3C5D7E9F0A1B2C3D4E5F60718293A4B5C6D7E8F9A0B1C2D3",
            "Nginx:Latest",
            "nginx:",
            "nginx:${TAG}",
            "a b",
            "repo//x",
        ] {
            assert!(image_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        assert!(env_name("DATABASE_URL"));
        assert!(env_name("_x1"));
        assert!(env_name("discovery.type"));
        assert!(env_name("xpack.security.enabled"));
        assert!(env_name("A-B"));
        assert!(!env_name("1X"));
        assert!(!env_name("A=B"));
        assert!(!env_name("A B"));
        assert!(!env_name("ÄPFEL"));
        assert!(!env_name(""));
    }
}
