//! Every diagnostic code the model check can emit, with a one-line summary.
//!
//! Codes are stable: tools and CI scripts may match on them. The book's "Diagnostics" page
//! explains each one with an example and a fix.

macro_rules! codes {
    ($( $(#[$doc:meta])* $id:ident = $code:literal, $summary:literal; )*) => {
        $( $(#[$doc])* pub const $id: &str = $code; )*
        /// Every code with its summary, in documentation order.
        pub const ALL: &[(&str, &str)] = &[ $( ($code, $summary), )* ];
    };
}

codes! {
    /// A name is not a DNS-1123 label.
    NAME_INVALID = "escala::name::invalid", "a name is not a lowercase DNS-1123 label";
    /// Two objects of one kind share a name.
    NAME_DUPLICATE = "escala::name::duplicate", "two objects of the same kind share a name";
    /// A service has neither an image nor a build.
    SERVICE_NO_IMAGE = "escala::service::no_image", "a service has neither `image` nor `build`";
    /// An image reference is malformed.
    SERVICE_BAD_IMAGE = "escala::service::bad_image", "an image reference is malformed";
    /// A port is 0 or declared twice.
    SERVICE_BAD_PORT = "escala::service::bad_port", "a port is 0 or declared twice";
    /// An environment variable name is not portable.
    SERVICE_BAD_ENV = "escala::service::bad_env_name", "an environment variable name is not `[-._A-Za-z][-._A-Za-z0-9]*` (Kubernetes' rule; dotted names are fine)";
    /// A value holds a control character.
    SERVICE_CONTROL_CHAR = "escala::service::control_character", "a command, environment value or label holds a control character that YAML tools mangle";
    /// A kernel parameter no engine sets per container.
    SERVICE_SYSCTL = "escala::service::sysctl_not_namespaced", "a sysctl is node-wide (`vm.max_map_count`): no engine sets it per container";
    /// A process limit with an unknown name, or a soft value above its hard one.
    SERVICE_ULIMIT = "escala::service::bad_ulimit", "a process limit has an unknown name, or a soft value above the hard one";
    /// An extra hosts entry whose address is not an IP address or whose name is not a host name.
    SERVICE_EXTRA_HOST = "escala::service::bad_extra_host", "an extra `/etc/hosts` entry is not a host name and an IP address";
    /// Two services of a phase publish the same host port.
    PORT_TAKEN = "escala::phase::host_port_taken", "two services of a phase publish the same host port, which compose and Swarm refuse";
    /// A config file outside the project folder, not allowed explicitly.
    CONFIG_OUTSIDE = "escala::config::outside_project", "a config file's path leaves the project folder, and its content would be copied into the generated files";
    /// An environment variable too long for Linux to pass to a program.
    SERVICE_ENV_TOO_LONG = "escala::service::env_too_long", "an environment variable is 128 KiB or more, which Linux refuses to pass to a program";
    /// A secret read from a file that is empty.
    SECRET_EMPTY = "escala::secret::empty_file", "a secret's file is empty, which Swarm refuses and no program can use";
    /// A secret-looking environment variable holds a literal value.
    SERVICE_SECRET_LITERAL = "escala::service::secret_literal", "an environment variable named like a secret holds a literal value, which every generated file would carry";
    /// A container path is not absolute, or two mounts share a target.
    SERVICE_BAD_MOUNT = "escala::service::bad_mount", "a mount target is relative or used twice";
    /// A sidecar (`network_of`) that publishes ports, joins networks, names a sidecar, or
    /// itself.
    SERVICE_SIDECAR = "escala::service::bad_sidecar", "a service sharing another's network namespace publishes ports, joins networks of its own, or shares a sidecar's or its own";
    /// A container name Kubernetes rejects, or a named container with several replicas.
    SERVICE_CONTAINER_NAME = "escala::service::container_name", "a container name is not a DNS label, or a named container has more than one replica, which compose cannot run";
    /// A reference names nothing.
    REF_UNKNOWN = "escala::ref::unknown", "a reference names an object that does not exist";
    /// A service depends on itself.
    REF_SELF = "escala::ref::self_dependency", "a service depends on itself";
    /// A config used the wrong way.
    REF_CONFIG_KIND = "escala::ref::config_kind", "a key/value config is mounted, or a file config is read by key";
    /// `depends_on … healthy` on a service with no health check.
    DEP_NO_HEALTH = "escala::depends::no_health_check", "`depends_on` waits for health but the dependency has no health check";
    /// A dependency cycle.
    DEP_CYCLE = "escala::depends::cycle", "services depend on each other in a cycle";
    /// A health check probes a port the service does not declare.
    HEALTH_PORT = "escala::health::unknown_port", "a health check probes a port the service does not declare";
    /// A health check is malformed.
    HEALTH_BAD = "escala::health::invalid", "a health check has an empty command, a zero interval, a timeout longer than its interval, or a period over a day";
    /// A route's target port is not declared.
    ROUTE_PORT = "escala::route::unknown_port", "a route sends traffic to a port the service does not declare";
    /// Two routes claim the same host and path.
    ROUTE_DUPLICATE = "escala::route::duplicate", "two routes claim the same host and path";
    /// A route's host or path is malformed.
    ROUTE_BAD = "escala::route::invalid", "a route's host is not a DNS name or its path does not start with `/`";
    /// Autoscaling bounds or targets are impossible.
    SCALE_AUTOSCALE = "escala::scale::autoscale", "autoscaling has min > max, a zero bound, no metric or a zero target";
    /// Replicas outside the autoscaling bounds.
    SCALE_REPLICAS = "escala::scale::replicas_outside_autoscale", "replicas lie outside the autoscaling bounds";
    /// Replicas beyond what a deployment of this kind can mean, or none at all.
    SCALE_COUNT = "escala::scale::replica_count", "a service runs no replica (warning), or more than 10,000 (error)";
    /// Several replicas share a single-writer volume.
    SCALE_SINGLE_WRITER = "escala::scale::single_writer", "more than one replica mounts a single-writer volume";
    /// A request exceeds its limit.
    RESOURCES_REQUEST = "escala::resources::request_exceeds_limit", "a CPU or memory request is larger than its limit";
    /// No declared node satisfies a placement.
    PLACEMENT_UNSATISFIABLE = "escala::placement::unsatisfiable", "no node declared in the phase satisfies a placement";
    /// A placement requires a node label no declared node carries.
    PLACEMENT_UNKNOWN_LABEL = "escala::placement::unknown_label", "a placement requires a node label that no node declared in the phase carries";
    /// Reservations do not fit the declared nodes.
    PLACEMENT_CAPACITY = "escala::placement::over_capacity", "CPU or memory reservations exceed what the phase's nodes offer";
    /// The replicas spread as the plan places them leave a node over its capacity.
    PLACEMENT_CROWDED = "escala::placement::crowded_node", "spread as the plan places them, the replicas reserve more than a node offers: one would find no room";
    /// A scheduled workload has a bad cron expression.
    WORKLOAD_SCHEDULE = "escala::workload::bad_schedule", "a scheduled job's cron expression does not have five fields";
    /// A phase overrides a service twice or pairs a platform with the wrong engine.
    PHASE_INVALID = "escala::phase::invalid", "a phase overrides a service twice or runs Dokploy on Kubernetes";
    /// A phase leaves out a service that another service or a route of the phase needs.
    PHASE_MISSING = "escala::phase::missing_service", "a phase leaves out a service that a running service depends on or a route goes to";
    /// The system has no phase, so nothing is generated.
    PHASE_NONE = "escala::phase::none", "the system declares no phase, so `build` writes nothing";
    /// A table or column name is invalid or declared twice.
    DB_NAME = "escala::db::invalid_name", "a table or column name is not a lowercase SQL identifier, or is declared twice";
    /// A key, index, partition or distribution names a column or table that does not exist.
    DB_UNKNOWN = "escala::db::unknown_column", "a key, index, foreign key, partitioning or distribution names a column or table that does not exist";
    /// A primary key or unique constraint omits the partition column.
    DB_PARTITION_KEY = "escala::db::key_lacks_partition_column", "a primary key or unique constraint of a partitioned table omits the partition column";
    /// A primary key or unique constraint omits the distribution column.
    DB_DISTRIBUTION_KEY = "escala::db::key_lacks_distribution_column", "a primary key or unique constraint of a distributed table omits the distribution column";
    /// Partitioning on a column that cannot carry it.
    DB_PARTITIONING = "escala::db::bad_partitioning", "the partition column is not a NOT NULL date or timestamp, or a span is empty or misaligned";
    /// Partition ranges overlap or leave a gap.
    DB_RANGES = "escala::db::partition_ranges", "partition spans overlap or leave a gap";
    /// A distribution Citus rejects.
    DB_DISTRIBUTION = "escala::db::bad_distribution", "the distribution column has a type Citus cannot hash, may be NULL, is not the tenant key; or colocation/shard count is impossible";
    /// Colocated tables whose distribution columns differ in type.
    DB_COLOCATION = "escala::db::colocation_type_mismatch", "colocated tables are distributed by columns of different types";
    /// A foreign key PostgreSQL or Citus rejects, or that Citus would not enforce.
    DB_FOREIGN_KEY = "escala::db::foreign_key", "a foreign key PostgreSQL or Citus rejects, or that Citus accepts but does not enforce";
    /// An identity column PostgreSQL or Citus rejects.
    DB_IDENTITY = "escala::db::identity", "an identity column is not `integer`/`bigint`, also has a default or may be NULL, or is an `integer` identity on a distributed table; or a column is a raw `serial` type";
    /// Partition upkeep settings that cannot work.
    DB_UPKEEP = "escala::db::partition_upkeep", "a retention keeps no period, the upkeep job has no (or a literal) connection, or its name is taken";
    /// A move between consecutive phases that escala cannot generate a migration for.
    DB_MIGRATION = "escala::db::migration", "a table cannot be migrated from the previous phase's shape to this one's (no key to copy by, or a step backwards)";
    /// A Citus cluster that cannot run.
    DB_CLUSTER = "escala::db::citus_cluster", "a Citus cluster has no worker, is used by no phase, or a service has the name of one of its nodes or its job";
    /// A pooler that cannot run.
    DB_POOLER = "escala::db::pooler", "PgBouncer serves no database, names an unknown userlist secret, has a pool size of 0, or a service has the name of the pooler, the read replica or its setup job";
    /// Citus planned on an image without Citus.
    DB_NO_CITUS = "escala::db::image_without_citus", "a phase distributes tables with Citus but the database service's image has no Citus";
    /// Backups that cannot work.
    BACKUP = "escala::backup::invalid", "backup credentials or the database URL are literals or unknown secrets, the schedule is not cron, or nothing is kept";
    /// Something marked for backup that no job backs up.
    BACKUP_SKIPPED = "escala::backup::not_backed_up", "a database or volume marked for backup gets no backup job in a phase (no database URL, or a volume on Kubernetes)";
    /// Alert thresholds are out of order or range.
    ALERTS = "escala::alerts::invalid", "an alert's warning level is not below its critical level, or a percentage is outside 0-100";
}
