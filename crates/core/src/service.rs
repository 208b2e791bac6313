//! Services: the containers a system runs, and everything about how they run.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::{ByteSize, Cpu, Duration, Name, Origin};

/// One long-running (or scheduled) program of the system: a compose service, a Swarm
/// service, a Kubernetes workload.
///
/// `name` is required at compile time; everything else has a sensible default.
///
/// ```
/// use escala_core::prelude::*;
/// let web = Service::builder()
///     .name("web")
///     .image("nginx:1.27")
///     .ports([Port::tcp(80)])
///     .build();
/// assert_eq!(web.replicas, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TypedBuilder)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[builder(doc)]
pub struct Service {
    /// The service's name: compose key, Swarm service, Kubernetes object name.
    #[builder(setter(into))]
    pub name: Name,
    /// Image reference (`ghcr.io/acme/api:1.4`). Required by engines that cannot build.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How to build the image from source (builder method: `.build_from(Build::new("./dir"))`).
    #[builder(default, setter(strip_option, suffix = "_from"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Overrides the image's command (`CMD`).
    #[builder(default, setter(transform = |args: impl IntoIterator<Item = impl Into<String>>| args.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Overrides the image's entrypoint.
    #[builder(default, setter(transform = |args: impl IntoIterator<Item = impl Into<String>>| args.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Environment variables, in order.
    #[builder(default, setter(transform = |vars: impl IntoIterator<Item = (impl Into<String>, Env)>| vars.into_iter().map(|(k, v)| (k.into(), v)).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, Env>,
    /// Ports the container listens on.
    #[builder(default, setter(transform = |ports: impl IntoIterator<Item = Port>| ports.into_iter().collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Volumes, bind mounts and tmpfs mounts.
    #[builder(default, setter(transform = |mounts: impl IntoIterator<Item = Mount>| mounts.into_iter().collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// Services that must be up (or healthy, or finished) before this one starts.
    #[builder(default, setter(transform = |deps: impl IntoIterator<Item = Dependency>| deps.into_iter().collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,
    /// Networks the service joins (none: the system's default network).
    #[builder(default, setter(transform = |nets: impl IntoIterator<Item = impl Into<Name>>| nets.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Name>,
    /// Secrets mounted as files at `/run/secrets/<name>`.
    #[builder(default, setter(transform = |names: impl IntoIterator<Item = impl Into<Name>>| names.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Name>,
    /// Configs mounted as files.
    #[builder(default, setter(transform = |mounts: impl IntoIterator<Item = ConfigMount>| mounts.into_iter().collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ConfigMount>,
    /// How the engine tells whether the service is healthy.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    /// A separate readiness check (Kubernetes `readinessProbe`), when "ready for traffic"
    /// differs from "alive" (`/ready` vs `/health`). Without it the health check serves both.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<HealthCheck>,
    /// CPU and memory requests and limits.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// How many copies run, unless a phase overrides it.
    #[builder(default = 1)]
    #[serde(default = "one")]
    pub replicas: u32,
    /// Horizontal autoscaling, where the engine supports it.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// Where the service may run on a multi-node engine.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Placement::is_empty")]
    pub placement: Placement,
    /// What kind of workload this is (stateless, stateful, one per node, scheduled job).
    #[builder(default)]
    #[serde(default)]
    pub workload: Workload,
    /// When the engine restarts the service's containers.
    #[builder(default)]
    #[serde(default)]
    pub restart: Restart,
    /// Labels put on the service (metadata; never interpreted by escala).
    #[builder(default, setter(transform = |labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Annotations for the tools that read them on the running container or pod
    /// (`prometheus.io/scrape`, a service mesh's injection switch): the pod template's
    /// annotations on Kubernetes, the service's `annotations` on compose; Swarm has none and
    /// says so.
    #[builder(default, setter(transform = |annotations: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| annotations.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
    /// The user (`1000`, `1000:1000`, `node`) the container runs as.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Mount the container's root filesystem read-only.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only_root: bool,
    /// Linux capabilities the container needs (`CHOWN`, `SETUID`, `NET_BIND_SERVICE`,
    /// `IPC_LOCK`…). Kubernetes output drops every capability and adds back only these;
    /// compose and Swarm keep Docker's default set and add these to it (`cap_add`).
    #[builder(default, setter(transform = |caps: impl IntoIterator<Item = impl Into<String>>| caps.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Capabilities of Docker's default set to take away (`cap_drop`; `ALL` for all of them)
    /// on compose and Swarm. Kubernetes output already drops every capability but
    /// [`capabilities`](Self::capabilities) (in Kompose-compatible output, these are dropped).
    #[builder(default, setter(transform = |caps: impl IntoIterator<Item = impl Into<String>>| caps.into_iter().map(Into::into).collect()))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_capabilities: Vec<String>,
    /// Let processes gain privileges (setuid binaries). Off by default: Kubernetes output sets
    /// `allowPrivilegeEscalation: false` unless this is on.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "is_false")]
    pub privilege_escalation: bool,
    /// The size of the container's shared memory, `/dev/shm` (Docker's default is 64 MB;
    /// PostgreSQL's parallel queries and large sorts need more). Rendered as `shm_size` on
    /// compose, a `tmpfs` mount at `/dev/shm` on Swarm (whose stack files have no
    /// `shm_size`), and a memory-backed `emptyDir` with this size limit on Kubernetes (which
    /// counts it against the container's memory).
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    /// The group that owns the service's volumes on Kubernetes (`fsGroup`), so a non-root
    /// process can write them. Unset, the group of a numeric non-root [`user`](Self::user)
    /// (`1000`, `1000:1000`) when the service mounts a volume; set it for an image that runs
    /// as non-root on its own (Elasticsearch: `.fs_group(1000)`). compose and Swarm need no
    /// equivalent: Docker gives a new named volume the ownership of the image's directory.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<u32>,
    /// How long the container gets between SIGTERM and SIGKILL when it stops (Docker's
    /// default is 10 s, Kubernetes' 30 s): a worker finishing its job, a database flushing.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    /// Run an init process as PID 1, which forwards signals and reaps zombie processes
    /// (compose and Swarm `init: true`; on Kubernetes a shared process namespace, whose
    /// `pause` process does the reaping).
    #[builder(default)]
    #[serde(default, skip_serializing_if = "is_false")]
    pub init: bool,
    /// The directory the command runs in.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Extra `/etc/hosts` entries: host name → IP address (Kubernetes `hostAliases`).
    #[builder(default, setter(transform = |hosts: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| hosts.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra_hosts: IndexMap<String, String>,
    /// Kernel parameters of the container's own namespaces (`net.core.somaxconn`). Node-wide
    /// ones (`vm.max_map_count`, which Elasticsearch needs) cannot be set per container on
    /// any engine: set them on the hosts.
    #[builder(default, setter(transform = |sysctls: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| sysctls.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sysctls: IndexMap<String, String>,
    /// Process limits (`nofile`, `nproc`, `memlock`…), soft and hard. Kubernetes has no
    /// per-pod limits: there they come from the container runtime, and are reported.
    #[builder(default, setter(transform = |limits: impl IntoIterator<Item = (impl Into<String>, Ulimit)>| limits.into_iter().map(|(k, v)| (k.into(), v)).collect()))]
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: IndexMap<String, Ulimit>,
    /// The name of the service's container: compose's `container_name` (a named container
    /// cannot be scaled, so `check` refuses it with more than one replica on compose), the
    /// container's name inside a Kubernetes pod. Unset, the service's name.
    #[builder(default, setter(strip_option, into))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Runs in the network namespace of another service, reaching it on `localhost` (compose
    /// `network_mode: service:<name>`): a sidecar. On Kubernetes it is a second container of
    /// that service's pods, scaled with them; Swarm cannot share a namespace between services
    /// and refuses it. Such a service publishes no ports and joins no network of its own.
    #[builder(default, setter(strip_option, into))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_of: Option<Name>,
    /// One-shot steps that run to completion, in order, before the service starts
    /// (migrations, waiting for a dependency, fixing permissions): Kubernetes init containers,
    /// and on compose a one-shot service each (`<service>-<step>`) the service waits for
    /// (`service_completed_successfully`). Swarm cannot order them and reports it.
    #[builder(default, setter(into))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_steps: Vec<InitStep>,
    /// Supplementary groups of the container's process (compose `group_add`, Kubernetes
    /// `supplementalGroups`): access to a device or a shared folder owned by that group.
    /// Swarm has no equivalent and reports it.
    #[builder(default, setter(into))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
    /// When the engine pulls the image (compose `pull_policy`, Kubernetes
    /// `imagePullPolicy`); unset, the engine's default.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// How a Kubernetes Service exposes the service's ports (default: a cluster-internal
    /// address). compose and Swarm publish ports with `Port::publish` instead.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Exposure::is_internal")]
    pub exposure: Exposure,
    /// Where in `infra.rs` the service was added (filled by [`System::service`](crate::System::service)).
    #[builder(default, setter(skip))]
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: Option<Origin>,
}

fn one() -> u32 {
    1
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

impl Service {
    /// The port declared with this container port, if any.
    pub fn port(&self, container: u16) -> Option<&Port> {
        self.ports.iter().find(|p| p.container == container)
    }
}

/// How to build a service's image from source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Build {
    /// The build context, relative to the project root (`./backend`).
    pub context: String,
    /// The Dockerfile, relative to the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, String>,
    /// The stage of a multi-stage Dockerfile to build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Build {
    /// Builds the Dockerfile at the root of `context`.
    pub fn new(context: impl Into<String>) -> Self {
        Build {
            context: context.into(),
            dockerfile: None,
            args: IndexMap::new(),
            target: None,
        }
    }
    /// Uses another Dockerfile, relative to the context.
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }
    /// Adds a build argument.
    pub fn arg(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.insert(key.into(), value.into());
        self
    }
    /// Builds one stage of a multi-stage Dockerfile.
    pub fn target(mut self, stage: impl Into<String>) -> Self {
        self.target = Some(stage.into());
        self
    }
}

/// The value of an environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Env {
    /// A literal value, written as is (with `$` escaped where the target interpolates).
    Literal(String),
    /// The value of a key of a [`Config`](crate::Config) with
    /// [`ConfigSource::Values`](crate::ConfigSource::Values).
    Config {
        /// The config's name.
        config: Name,
        /// The key in that config.
        key: String,
    },
    /// The value of a [`Secret`](crate::Secret): injected by reference, never written out.
    /// On Swarm the stack file interpolates it, so the value is stored in the service's spec
    /// (`escala::swarm::secret_in_spec`); [`Env::secret_file`] keeps it in a file instead.
    Secret(Name),
    /// The *path* of a [`Secret`](crate::Secret) mounted as a file (`/run/secrets/<name>`),
    /// for programs that read `*_FILE` variables (`POSTGRES_PASSWORD_FILE`,
    /// `DATABASE_URL_FILE`). The secret is mounted on every engine; its value is never in an
    /// environment variable, nor in a Swarm service's spec.
    SecretFile(Name),
    /// A literal value under a name that looks like a secret's (a placeholder, a public key,
    /// a path), declared not secret: written as is, like [`Env::Literal`]. `check` refuses a
    /// plain literal under such a name (`escala::service::secret_literal`).
    NotSecret(String),
}

impl Env {
    /// A literal value.
    pub fn literal(value: impl Into<String>) -> Self {
        Env::Literal(value.into())
    }
    /// The value of `key` in the config `config`.
    pub fn config(config: impl Into<Name>, key: impl Into<String>) -> Self {
        Env::Config {
            config: config.into(),
            key: key.into(),
        }
    }
    /// The value of the secret `name`.
    pub fn secret(name: impl Into<Name>) -> Self {
        Env::Secret(name.into())
    }
    /// The path of the secret `name`, mounted as a file: the `*_FILE` convention.
    ///
    /// ```
    /// use escala_core::prelude::*;
    /// let api = Service::builder()
    ///     .name("api")
    ///     .image("ghcr.io/acme/api:1")
    ///     .env([("DATABASE_URL_FILE", Env::secret_file("database-url"))])
    ///     .build();
    /// assert_eq!(Env::secret_file("database-url").path().as_deref(), Some("/run/secrets/database-url"));
    /// # let _ = api;
    /// ```
    pub fn secret_file(name: impl Into<Name>) -> Self {
        Env::SecretFile(name.into())
    }
    /// Where a [`Env::SecretFile`] is mounted in the container.
    pub fn path(&self) -> Option<String> {
        match self {
            Env::SecretFile(name) => Some(format!("/run/secrets/{name}")),
            _ => None,
        }
    }
    /// A literal value that is not secret although its variable's name looks like a
    /// secret's (see [`looks_secret`](crate::looks_secret)).
    ///
    /// ```
    /// use escala_core::Env;
    /// let key = Env::not_secret("-----BEGIN PUBLIC KEY-----");
    /// assert_eq!(key.literal_value(), Some("-----BEGIN PUBLIC KEY-----"));
    /// ```
    pub fn not_secret(value: impl Into<String>) -> Self {
        Env::NotSecret(value.into())
    }
    /// The value written into generated files, for [`Env::Literal`] and [`Env::NotSecret`].
    pub fn literal_value(&self) -> Option<&str> {
        match self {
            Env::Literal(v) | Env::NotSecret(v) => Some(v),
            Env::Config { .. } | Env::Secret(_) | Env::SecretFile(_) => None,
        }
    }
}

/// The transport protocol of a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A port the container listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Port {
    /// The port inside the container.
    pub container: u16,
    /// TCP or UDP.
    #[serde(default)]
    pub protocol: Protocol,
    /// A name for the port (`http`, `metrics`); Kubernetes uses it for named ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Publish the port on the host at this port number. Routed services should not need it:
    /// traffic reaches them through the router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<u16>,
    /// Publish on each node's own address instead of through Swarm's routing mesh (builder
    /// method: `.host_mode()`), so the program sees its clients' real addresses — what an
    /// edge proxy needs. Only the nodes that run a task answer, and a node runs at most one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub host_mode: bool,
}

impl Port {
    /// A TCP port.
    pub fn tcp(container: u16) -> Self {
        Port {
            container,
            protocol: Protocol::Tcp,
            name: None,
            publish: None,
            host_mode: false,
        }
    }
    /// A UDP port.
    pub fn udp(container: u16) -> Self {
        Port {
            protocol: Protocol::Udp,
            ..Port::tcp(container)
        }
    }
    /// Names the port.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Publishes the port on the host.
    pub fn publish(mut self, host_port: u16) -> Self {
        self.publish = Some(host_port);
        self
    }
    /// Publishes the port on each node's own address, bypassing Swarm's routing mesh, so the
    /// program sees its clients' addresses (see [`Port::host_mode`](Port#structfield.host_mode)).
    /// On Swarm, a replicated service then runs at most one task per node and stops the old
    /// task before starting its replacement (both need the port). compose always publishes
    /// this way; Kubernetes publishes no host ports.
    pub fn host_mode(mut self) -> Self {
        self.host_mode = true;
        self
    }
}

/// What a [`Mount`] mounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MountSource {
    /// A named [`Volume`](crate::Volume) of the system.
    Volume(Name),
    /// A path on the host, relative to the project root.
    Bind(String),
    /// A memory-backed filesystem.
    Tmpfs {
        /// Its maximum size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<ByteSize>,
    },
}

/// A filesystem mounted into the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Mount {
    /// What is mounted.
    pub source: MountSource,
    /// The absolute path inside the container.
    pub target: String,
    /// Mount it read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Mount only this directory of the volume (compose `volume.subpath`, Kubernetes
    /// `subPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

impl Mount {
    /// Mounts the named volume `volume` at `target`.
    pub fn volume(volume: impl Into<Name>, target: impl Into<String>) -> Self {
        Mount {
            source: MountSource::Volume(volume.into()),
            target: target.into(),
            read_only: false,
            sub_path: None,
        }
    }
    /// Mounts the host path `path` (relative to the project) at `target`.
    pub fn bind(path: impl Into<String>, target: impl Into<String>) -> Self {
        Mount {
            source: MountSource::Bind(path.into()),
            target: target.into(),
            read_only: false,
            sub_path: None,
        }
    }
    /// Mounts a tmpfs at `target`.
    pub fn tmpfs(target: impl Into<String>) -> Self {
        Mount {
            source: MountSource::Tmpfs { size: None },
            target: target.into(),
            read_only: false,
            sub_path: None,
        }
    }
    /// Mounts only the directory `path` of the volume.
    pub fn sub_path(mut self, path: impl Into<String>) -> Self {
        self.sub_path = Some(path.into());
        self
    }
    /// Makes the mount read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// When a dependency counts as ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// As soon as it has started.
    #[default]
    Started,
    /// Once its health check passes (it needs one).
    Healthy,
    /// Once it has run to completion successfully (a one-off job).
    Completed,
}

/// A start-order dependency on another service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Dependency {
    /// The service depended on.
    pub service: Name,
    /// When it counts as ready.
    #[serde(default)]
    pub condition: Condition,
}

impl Dependency {
    /// Start after `service` has started.
    pub fn started(service: impl Into<Name>) -> Self {
        Dependency {
            service: service.into(),
            condition: Condition::Started,
        }
    }
    /// Start after `service` is healthy.
    pub fn healthy(service: impl Into<Name>) -> Self {
        Dependency {
            service: service.into(),
            condition: Condition::Healthy,
        }
    }
    /// Start after `service` has completed successfully.
    pub fn completed(service: impl Into<Name>) -> Self {
        Dependency {
            service: service.into(),
            condition: Condition::Completed,
        }
    }
}

/// A config mounted as a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfigMount {
    /// The [`Config`](crate::Config)'s name.
    pub config: Name,
    /// The absolute path of the file inside the container.
    pub target: String,
}

impl ConfigMount {
    /// Mounts `config` at `target`.
    pub fn new(config: impl Into<Name>, target: impl Into<String>) -> Self {
        ConfigMount {
            config: config.into(),
            target: target.into(),
        }
    }
}

/// What a health check probes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// An HTTP GET that must answer 2xx/3xx.
    Http {
        /// The request path (`/health`).
        path: String,
        /// The container port.
        port: u16,
    },
    /// A TCP connection that must be accepted.
    Tcp {
        /// The container port.
        port: u16,
    },
    /// A command run inside the container that must exit 0.
    Command(Vec<String>),
}

/// How the engine decides whether a service is healthy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HealthCheck {
    /// What is probed.
    pub probe: Probe,
    /// Time between probes (default 30s).
    pub interval: Duration,
    /// How long one probe may take (default 5s).
    pub timeout: Duration,
    /// Failures in a row before the service is unhealthy (default 3).
    pub retries: u32,
    /// Grace period after start during which failures do not count (default 0s).
    pub start_period: Duration,
}

impl HealthCheck {
    fn with(probe: Probe) -> Self {
        HealthCheck {
            probe,
            interval: Duration::secs(30),
            timeout: Duration::secs(5),
            retries: 3,
            start_period: Duration::secs(0),
        }
    }
    /// An HTTP GET of `path` on container port `port`.
    pub fn http(path: impl Into<String>, port: u16) -> Self {
        Self::with(Probe::Http {
            path: path.into(),
            port,
        })
    }
    /// A TCP connect to container port `port`.
    pub fn tcp(port: u16) -> Self {
        Self::with(Probe::Tcp { port })
    }
    /// A command (exec form, no shell) that must exit 0.
    pub fn command(args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::with(Probe::Command(args.into_iter().map(Into::into).collect()))
    }
    /// Sets the interval between probes.
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }
    /// Sets the probe timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Sets the failures in a row that make the service unhealthy.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
    /// Sets the start period.
    pub fn start_period(mut self, d: Duration) -> Self {
        self.start_period = d;
        self
    }
}

/// A one-shot step run to completion before a service starts (an init container).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InitStep {
    /// Its name (`migrate`), unique among the service's steps.
    pub name: Name,
    /// The image it runs.
    pub image: String,
    /// The command (the image's own when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
}

impl InitStep {
    /// A step named `name` running `image` with `command`.
    ///
    /// ```
    /// use escala_core::InitStep;
    /// let wait = InitStep::new("wait-db", "busybox:1.37", ["sh", "-c", "until nc -z db 5432; do sleep 1; done"]);
    /// assert_eq!(wait.command.len(), 3);
    /// ```
    pub fn new(
        name: impl Into<Name>,
        image: impl Into<String>,
        command: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        InitStep {
            name: name.into(),
            image: image.into(),
            command: command.into_iter().map(Into::into).collect(),
        }
    }
}

/// A process limit: the soft value processes start with, and the hard ceiling they may raise
/// it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ulimit {
    /// The soft limit.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

impl Ulimit {
    /// A soft and a hard limit.
    pub fn new(soft: u64, hard: u64) -> Self {
        Ulimit { soft, hard }
    }
    /// The same soft and hard limit (`Ulimit::both(65536)` for `nofile`).
    pub fn both(n: u64) -> Self {
        Ulimit { soft: n, hard: n }
    }
}

/// The process limits Docker knows (`ulimit` names).
pub const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Whether a kernel parameter belongs to a container's own namespaces, so an engine may set
/// it per container (Docker's and Kubernetes' rule: `kernel.shm*`, `kernel.msg*`,
/// `kernel.sem`, `fs.mqueue.*` and `net.*`).
pub fn sysctl_is_namespaced(key: &str) -> bool {
    ["kernel.shm", "kernel.msg", "fs.mqueue.", "net."]
        .iter()
        .any(|p| key.starts_with(p))
        || key == "kernel.sem"
}

/// CPU and memory requests (reserved for the service) and limits (never exceeded).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Resources {
    /// CPU reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<Cpu>,
    /// CPU never exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<Cpu>,
    /// Memory reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<ByteSize>,
    /// Memory never exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<ByteSize>,
    /// Local scratch disk reserved (Kubernetes `ephemeral-storage`; compose and Swarm have
    /// no equivalent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_request: Option<ByteSize>,
    /// Local scratch disk never exceeded (Kubernetes evicts the pod beyond it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_limit: Option<ByteSize>,
}

/// When the engine pulls a service's image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// On every start (compose `always`, Kubernetes `Always`).
    Always,
    /// Only when the node does not have it (compose `missing`, Kubernetes `IfNotPresent`).
    IfMissing,
    /// Never: the image must already be on the node.
    Never,
}

/// How a Kubernetes Service exposes a service's ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// A cluster-internal virtual address (`ClusterIP`).
    #[default]
    Internal,
    /// No virtual address: the Service's DNS name resolves to the pods themselves
    /// (`clusterIP: None`); a service without ports still gets its name.
    Headless,
    /// Every node's port (`NodePort`).
    NodePort,
    /// A cloud load balancer (`LoadBalancer`); `local_traffic` keeps client IPs by sending
    /// traffic only to nodes running a replica (`externalTrafficPolicy: Local`).
    LoadBalancer {
        /// `externalTrafficPolicy: Local`.
        #[serde(default)]
        local_traffic: bool,
    },
}

impl Exposure {
    /// Whether this is the default, cluster-internal exposure.
    pub fn is_internal(&self) -> bool {
        *self == Exposure::Internal
    }
}

impl Resources {
    /// No requests, no limits.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the CPU request and limit.
    pub fn cpu(mut self, request: Cpu, limit: Cpu) -> Self {
        self.cpu_request = Some(request);
        self.cpu_limit = Some(limit);
        self
    }
    /// Sets the memory request and limit.
    pub fn memory(mut self, request: ByteSize, limit: ByteSize) -> Self {
        self.memory_request = Some(request);
        self.memory_limit = Some(limit);
        self
    }
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Horizontal autoscaling bounds and targets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Autoscale {
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Target average CPU utilisation, percent of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u8>,
    /// Target average memory utilisation, percent of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<u8>,
}

impl Autoscale {
    /// Between `min` and `max` replicas, with no metric yet.
    pub fn between(min: u32, max: u32) -> Self {
        Autoscale {
            min,
            max,
            cpu_percent: None,
            memory_percent: None,
        }
    }
    /// Scales on average CPU utilisation.
    pub fn cpu(mut self, percent: u8) -> Self {
        self.cpu_percent = Some(percent);
        self
    }
    /// Scales on average memory utilisation.
    pub fn memory(mut self, percent: u8) -> Self {
        self.memory_percent = Some(percent);
        self
    }
}

/// The role of a node in a multi-node engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// A Swarm manager / Kubernetes control-plane node.
    Manager,
    /// A worker node.
    Worker,
}

/// How replicas are spread over nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    /// Over distinct nodes.
    Nodes,
    /// Over the values of a node label (`zone`).
    Label(String),
}

/// Where a service may run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Placement {
    /// Only on nodes with this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<NodeRole>,
    /// Only on nodes carrying all these labels.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Spread replicas over nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

impl Placement {
    /// Anywhere.
    pub fn anywhere() -> Self {
        Self::default()
    }
    /// Only on nodes with `role`.
    pub fn role(mut self, role: NodeRole) -> Self {
        self.role = Some(role);
        self
    }
    /// Only on nodes labelled `key=value`.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
    /// Spread replicas.
    pub fn spread(mut self, spread: Spread) -> Self {
        self.spread = Some(spread);
        self
    }
    /// Whether no constraint is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
    /// Whether this placement constrains which nodes qualify (role or labels).
    pub fn constrains(&self) -> bool {
        self.role.is_some() || !self.labels.is_empty()
    }
}

/// The kind of workload, which decides the controller on Kubernetes and the mode on Swarm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Interchangeable replicas (Deployment).
    #[default]
    Stateless,
    /// Replicas with identity and their own storage (StatefulSet).
    Stateful,
    /// Exactly one copy on every node (DaemonSet, Swarm global mode).
    PerNode,
    /// A job run on a cron schedule (CronJob).
    Scheduled {
        /// Cron expression, five fields (`0 3 * * *`).
        schedule: String,
    },
}

/// When containers are restarted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always, even after a clean exit.
    Always,
    /// Always, unless stopped by hand (the default).
    #[default]
    UnlessStopped,
    /// Only after a failure, at most `max_attempts` times if given.
    OnFailure {
        /// The most restarts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_attempts: Option<u32>,
    },
    /// Never.
    Never,
}
