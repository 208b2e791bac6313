//! Secrets and configs.
//!
//! A [`Secret`] never holds its value: it says where the value comes from at deploy time (an
//! environment variable, a file, or a secret the engine already stores). A [`Config`] is
//! non-secret data and may be inline.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::Name;

/// Where a secret's value comes from at deploy time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// The environment variable of this name, on the machine that deploys.
    Env(String),
    /// A file, relative to the project root, on the machine that deploys.
    File(String),
    /// A secret already stored in the engine under this name (Swarm secret, Kubernetes Secret).
    External(String),
}

/// A secret: a reference to a value, never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Secret {
    /// The secret's name.
    pub name: Name,
    /// Where its value comes from.
    pub source: SecretSource,
}

impl Secret {
    /// A secret read from the environment variable `var` when deploying.
    pub fn from_env(name: impl Into<Name>, var: impl Into<String>) -> Self {
        Secret {
            name: name.into(),
            source: SecretSource::Env(var.into()),
        }
    }
    /// A secret read from `path` when deploying.
    pub fn from_file(name: impl Into<Name>, path: impl Into<String>) -> Self {
        Secret {
            name: name.into(),
            source: SecretSource::File(path.into()),
        }
    }
    /// A secret the engine already stores as `external_name`.
    pub fn external(name: impl Into<Name>, external_name: impl Into<String>) -> Self {
        Secret {
            name: name.into(),
            source: SecretSource::External(external_name.into()),
        }
    }
}

/// Whether an environment variable's name says it holds a secret: it contains `PASSWORD`,
/// `PASSWD`, `SECRET`, `TOKEN`, `_KEY`, `APIKEY` or `PRIVATE` (any case), or is `KEY`. A name
/// ending in `_FILE` holds the *path* of a mounted secret, and does not count.
///
/// ```
/// use escala_core::looks_secret;
/// assert!(looks_secret("POSTGRES_PASSWORD"));
/// assert!(looks_secret("stripe_api_key"));
/// assert!(!looks_secret("POSTGRES_PASSWORD_FILE"));
/// assert!(!looks_secret("NODE_ENV"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let k = name.to_ascii_uppercase();
    if k.ends_with("_FILE") {
        return false;
    }
    [
        "PASSWORD", "PASSWD", "SECRET", "TOKEN", "_KEY", "APIKEY", "PRIVATE",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k == "KEY"
}

/// Where a config's content comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// A file relative to the project root; mountable.
    File(String),
    /// A folder relative to the project root: every regular file directly in it, each under
    /// its name, mounted as a folder (a ConfigMap on Kubernetes, a read-only bind mount of
    /// the folder on compose; Swarm configs are single files).
    Dir(String),
    /// Inline file content; mountable.
    Inline(String),
    /// Key/value pairs that environment variables can reference; not mountable.
    Values(IndexMap<String, String>),
    /// The system's alert thresholds as a Prometheus rules file (`groups:`), written by each
    /// target: the `alerts.rules.yml` beside a compose or stack file, a ConfigMap on
    /// Kubernetes. Mount it where the Prometheus configuration's `rule_files` looks.
    AlertRules,
}

/// Non-secret configuration: a file to mount, or values to reference from the environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Config {
    /// The config's name.
    pub name: Name,
    /// Its content.
    pub source: ConfigSource,
    /// A [`ConfigSource::File`] or [`ConfigSource::Dir`] outside the project folder, explicitly allowed (builder
    /// method: `.outside_project()`). Its content is copied into the generated files, so
    /// a path leaving the project is an error unless the model says so.
    #[serde(default, skip_serializing_if = "crate::service::is_false")]
    pub outside_project: bool,
    /// A file or folder config whose content is a credential (a private key): never written
    /// into generated files (builder method: `.sensitive()`). Kubernetes mounts it from a
    /// Secret created with the command in `secrets.example`; compose and Swarm mount the file
    /// as a secret at the same path.
    #[serde(default, skip_serializing_if = "crate::service::is_false")]
    pub sensitive: bool,
}

impl Config {
    /// A config whose content is the file at `path`.
    pub fn file(name: impl Into<Name>, path: impl Into<String>) -> Self {
        Config {
            name: name.into(),
            source: ConfigSource::File(path.into()),
            outside_project: false,
            sensitive: false,
        }
    }
    /// A config holding every file of the project folder `path`, mounted as a folder.
    pub fn dir(name: impl Into<Name>, path: impl Into<String>) -> Self {
        Config {
            name: name.into(),
            source: ConfigSource::Dir(path.into()),
            outside_project: false,
            sensitive: false,
        }
    }
    /// A config with inline content.
    pub fn inline(name: impl Into<Name>, content: impl Into<String>) -> Self {
        Config {
            name: name.into(),
            source: ConfigSource::Inline(content.into()),
            outside_project: false,
            sensitive: false,
        }
    }
    /// A config holding the system's alert rules as a Prometheus rules file
    /// ([`ConfigSource::AlertRules`]), for the Prometheus service to mount.
    pub fn alert_rules(name: impl Into<Name>) -> Self {
        Config {
            name: name.into(),
            source: ConfigSource::AlertRules,
            outside_project: false,
            sensitive: false,
        }
    }
    /// Marks a file or folder config as a credential: its content never enters a generated
    /// file (a Kubernetes Secret made from `secrets.example`, a secret on compose and Swarm).
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Allows a file config's path to leave the project folder (`/etc/…`, `../shared/…`):
    /// its content is copied into the generated files, so this is never the default.
    pub fn outside_project(mut self) -> Self {
        self.outside_project = true;
        self
    }
    /// A config holding key/value pairs.
    pub fn values(
        name: impl Into<Name>,
        values: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        Config {
            name: name.into(),
            source: ConfigSource::Values(
                values
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            outside_project: false,
            sensitive: false,
        }
    }
}
