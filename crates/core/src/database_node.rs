//! What the nodes and jobs the model adds around the database share: the superuser's
//! variables of the official PostgreSQL image and how to read its password (the Citus
//! registration, the replica's setup), and a node's own copies of the database's volumes (the
//! Citus workers, the replica).

use indexmap::IndexMap;

use crate::{Env, MountSource, Name, Service, System, Volume};

/// Copies of the volumes `database` mounts, named by `rename`. Not backed up: the database's
/// dump is the backup, and a live node's files are not a consistent one.
pub(crate) fn volume_copies(
    system: &System,
    database: &Service,
    rename: impl Fn(&Name) -> Name,
) -> Vec<Volume> {
    database
        .mounts
        .iter()
        .filter_map(|m| match &m.source {
            MountSource::Volume(v) => system.volumes.iter().find(|x| &x.name == v),
            _ => None,
        })
        .map(|v| {
            let mut copy = v.clone();
            copy.name = rename(&v.name);
            copy.backup = false;
            copy
        })
        .collect()
}

/// Points `node`'s volume mounts at the copies `rename` names.
pub(crate) fn remount(node: &mut Service, rename: impl Fn(&Name) -> Name) {
    for m in &mut node.mounts {
        if let MountSource::Volume(v) = &m.source {
            m.source = MountSource::Volume(rename(v));
        }
    }
}

/// The variables of the database service a superuser job takes over: `POSTGRES_USER`,
/// `POSTGRES_DB`, and the password (`POSTGRES_PASSWORD`, or the file `POSTGRES_PASSWORD_FILE`
/// names, from a mounted secret).
pub(crate) fn env(database: &Service) -> IndexMap<String, Env> {
    database
        .env
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "POSTGRES_USER" | "POSTGRES_DB" | "POSTGRES_PASSWORD" | "POSTGRES_PASSWORD_FILE"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Shell lines that export `PGPASSWORD` from those variables.
pub(crate) const PASSWORD: &str = r#"if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"; else PGPASSWORD="${POSTGRES_PASSWORD:-}"; fi
export PGPASSWORD
"#;

/// On Swarm, where a stack file's interpolated variables are stored in the service's spec, a
/// job's secrets travel as files: each `KEY` read from a secret becomes `KEY_FILE`, the path
/// of the mounted secret, and the returned shell prelude reads it back into `KEY` before the
/// job's script runs. Elsewhere (`swarm` false), `env` is returned as is with no prelude.
pub(crate) fn secrets_as_files(
    swarm: bool,
    env: Vec<(String, Env)>,
) -> (Vec<(String, Env)>, String) {
    if !swarm {
        return (env, String::new());
    }
    let mut prelude = String::new();
    let env = env
        .into_iter()
        .map(|(key, value)| match value {
            Env::Secret(name) => {
                prelude.push_str(&format!("export {key}=\"$(cat \"${key}_FILE\")\"; "));
                (format!("{key}_FILE"), Env::SecretFile(name))
            }
            other => (key, other),
        })
        .collect();
    (env, prelude)
}
