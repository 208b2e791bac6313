//! The compose file format as typed structures: the subset escala emits, shared by plain
//! compose and Swarm stack files (which accept a stricter subset; the swarm target only
//! fills the fields the v3.13 schema allows).
//!
//! Field order here is the key order in the output. Every optional field is skipped when
//! empty, so a file holds only what the model says.

use serde::Serialize;

/// The files' maps: in insertion order (which is the output's), hashed with foldhash (the
/// keys are the model's own names and labels; a stack file's labels are hashed tens of
/// thousands of times at scale).
pub(crate) type Map<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole compose or stack file, written as it is made: its header and `name`, then each
/// service as it comes (the file holds its text, not every service's typed spec), then the
/// networks, volumes, secrets and configs.
#[derive(Debug)]
pub(crate) struct File {
    text: crate::yaml::Streamed,
    pub networks: Map<String, NetworkSpec>,
    pub volumes: Map<String, VolumeSpec>,
    pub secrets: Map<String, ObjectSpec>,
    pub configs: Map<String, ObjectSpec>,
}

/// What follows the services, in the file's key order.
#[derive(Serialize)]
struct Rest<'a> {
    #[serde(skip_serializing_if = "Map::is_empty")]
    networks: &'a Map<String, NetworkSpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    volumes: &'a Map<String, VolumeSpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    secrets: &'a Map<String, ObjectSpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    configs: &'a Map<String, ObjectSpec>,
}

impl File {
    /// A file that starts with `header`, then `name:` when given, then its services.
    pub fn new(header: &str, name: Option<&str>) -> Self {
        let mut text = crate::yaml::Streamed::new(header);
        if let Some(name) = name {
            text.entry("name", &name);
        }
        text.open_map("services");
        File {
            text,
            networks: Map::default(),
            volumes: Map::default(),
            secrets: Map::default(),
            configs: Map::default(),
        }
    }
    /// Writes the service `name` (a name written twice makes [`finish`](File::finish) fail).
    pub fn service(&mut self, name: &str, spec: &ServiceSpec) {
        self.text.map_entry(name, spec);
    }
    /// The file's text.
    pub fn finish(self) -> Result<String, serde_json::Error> {
        self.text.finish(&Rest {
            networks: &self.networks,
            volumes: &self.volumes,
            secrets: &self.secrets,
            configs: &self.configs,
        })
    }
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct ServiceSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub init: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub sysctls: Map<String, String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub ulimits: Map<String, UlimitSpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub environment: Map<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<MountSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub depends_on: Map<String, DependsSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeploySpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub labels: Map<String, String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BuildSpec {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub args: Map<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PortSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub target: u16,
    pub published: u16,
    pub protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MountSpec {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
}

/// A volume mount's options: the sub-directory mounted.
#[derive(Debug, Serialize)]
pub(crate) struct VolumeOptions {
    pub subpath: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct UlimitSpec {
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct TmpfsSpec {
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct FileRef {
    pub source: String,
    pub target: String,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct DependsSpec {
    pub condition: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct HealthSpec {
    pub test: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct DeploySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<UpdateSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicySpec>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub labels: Map<String, String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct ResourcesSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceValues>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceValues>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct ResourceValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct PlacementSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<SpreadSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas_per_node: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SpreadSpec {
    pub spread: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct UpdateSpec {
    pub parallelism: u32,
    pub delay: String,
    pub failure_action: &'static str,
    pub monitor: String,
    pub order: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct RestartPolicySpec {
    pub condition: &'static str,
    pub delay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    pub window: String,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct NetworkSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<&'static str>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub driver_opts: Map<String, String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct VolumeSpec {
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub labels: Map<String, String>,
}

/// A top-level secret or config: from a file, the environment, inline content, or external.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ObjectSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
