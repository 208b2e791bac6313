//! `volumes` of a service: named volumes, bind mounts (a project file or folder that exists
//! becomes a config), tmpfs.

use escala_core::prelude::*;
use escala_core::Name;

use super::map::*;
use super::yaml::{Node, Pos};

pub(super) fn mounts(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
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
            .is_some_and(|src| {
                // Within the compose file's folder: `..` would reach files the project
                // does not hold, which stay bind mounts.
                src.starts_with('.') && !src.split('/').any(|c| c == "..")
            });
            if !(relative && project_config(ctx, s, i, &m, &at, item.pos())) {
                s.mounts.push(m);
            }
        }
    }
}

/// A bind mount of a project file or folder that exists: a config (`<service>-cm<index>`,
/// Kompose's ConfigMap name) mounted at the same path, so that Kubernetes can ship it; the
/// other engines mount it as before, read-only. `false` when the path is not there.
pub(super) fn project_config(
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
    // A private key (or a folder holding one) is a credential: never a ConfigMap's content.
    if credential(host, &meta) {
        config = config.sensitive();
    }
    // The path stays in the compose file's folder; when that folder is outside the project,
    // importing the file is asking for its files.
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

/// Whether a bind-mounted file looks like a credential — a private key, a keystore, an env
/// file, a password file — or a folder holds one directly: by name, and by a PEM private key
/// in its first 64 KiB.
fn credential(path: &str, meta: &std::fs::Metadata) -> bool {
    if meta.is_dir() {
        return std::fs::read_dir(path).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                e.metadata()
                    .is_ok_and(|m| m.is_file() && credential_file(&e.path()))
            })
        });
    }
    credential_file(std::path::Path::new(path))
}

fn credential_file(path: &std::path::Path) -> bool {
    use std::io::Read as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    if matches!(
        ext.as_str(),
        "key" | "p12" | "pfx" | "jks" | "keystore" | "pkcs12"
    ) || matches!(
        name.as_str(),
        ".env" | ".htpasswd" | ".netrc" | ".pgpass" | "credentials"
    ) || name.starts_with("id_rsa")
        || name.starts_with("id_ed25519")
        || name.starts_with("id_ecdsa")
        || escala_core::looks_secret(&stem.to_ascii_uppercase())
    {
        return true;
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .is_ok_and(|_| String::from_utf8_lossy(&head).contains("PRIVATE KEY-----"))
}
