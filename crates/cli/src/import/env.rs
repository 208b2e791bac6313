//! `env_file`: a key/value config per file (Kompose's ConfigMap), secrets kept out of it.

use escala_core::prelude::*;
use escala_core::{looks_secret, Name};

use super::map::*;
use super::yaml::Node;

/// `env_file`: each file (relative to the compose file, as compose reads it) adds the
/// variables `environment` does not set; secret-looking ones become secrets, as there.
pub(super) fn env_file(ctx: &mut Ctx<'_>, s: &mut Service, v: &Node, path: &str) {
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
        // Values are interpolated as compose does, looking into the service's own
        // `environment` first (Kompose's rule too), then the project's environment.
        let mut lookup = ctx.env.clone();
        for (k, v) in &s.env {
            if let Env::Literal(v) | Env::NotSecret(v) = v {
                lookup.insert(k.clone(), v.clone());
            }
        }
        for (k, raw) in super::interp::dotenv(&text) {
            let value = super::interp::interpolate(&raw, &lookup).value;
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
pub(super) fn env_file_config(file: &str, service: &Name) -> Name {
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
pub(super) fn read_env_file(path: &str) -> std::io::Result<String> {
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
