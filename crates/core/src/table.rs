//! The database plan: tables, keys, indexes, partitioning by date and Citus distribution.
//!
//! A [`Database`] belongs to the system and names the service that runs it. Which phase
//! turns partitioning and distribution on is part of the phase ([`DatabaseStage`]), like
//! replicas: the same tables are plain in one phase, partitioned in the next, sharded with
//! Citus in the one after.
//!
//! The check enforces what PostgreSQL and Citus would otherwise reject at migration time
//! (keys that omit the partition or distribution column, foreign keys Citus cannot enforce,
//! colocated tables whose distribution columns differ…), see the book's "Database growth".

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CitusCluster, Env, Name, Partitioning, Pooler, Replica};

/// A SQL identifier: lowercase letters, digits and `_`, not starting with a digit, at most
/// 63 bytes (PostgreSQL's limit), so it never needs quoting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Ident(String);

impl Ident {
    /// Whether this is a valid identifier; `Err` says why not.
    pub fn validate(&self) -> Result<(), &'static str> {
        let s = self.0.as_str();
        if s.is_empty() || s.len() > 63 {
            return Err("must have 1 to 63 characters");
        }
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err("must not start with a digit");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err("may hold only lowercase letters, digits and `_`");
        }
        Ok(())
    }
    /// The identifier as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Ident {
    fn from(s: &str) -> Self {
        Ident(s.to_owned())
    }
}

impl From<String> for Ident {
    fn from(s: String) -> Self {
        Ident(s)
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A column type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SqlType {
    /// `uuid`.
    Uuid,
    /// `bigint`.
    BigInt,
    /// `integer`.
    Int,
    /// `text`.
    Text,
    /// `varchar(n)`.
    Varchar(u32),
    /// `char(n)`.
    Char(u32),
    /// `numeric(precision, scale)`.
    Numeric(u32, u32),
    /// `boolean`.
    Boolean,
    /// `date`.
    Date,
    /// `timestamp` (without time zone).
    Timestamp,
    /// `timestamptz`.
    Timestamptz,
    /// `jsonb`.
    Jsonb,
    /// `vector(n)`, pgvector's embedding type: the phase's files create the `vector`
    /// extension before the tables.
    Vector(u32),
    /// Any other type, written as is (an enum, a domain…).
    Other(String),
}

impl SqlType {
    /// The type as PostgreSQL spells it.
    pub fn to_sql(&self) -> String {
        match self {
            SqlType::Uuid => "uuid".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Int => "integer".into(),
            SqlType::Text => "text".into(),
            SqlType::Varchar(n) => format!("varchar({n})"),
            SqlType::Char(n) => format!("char({n})"),
            SqlType::Numeric(p, s) => format!("numeric({p},{s})"),
            SqlType::Boolean => "boolean".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp".into(),
            SqlType::Timestamptz => "timestamptz".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::Vector(n) => format!("vector({n})"),
            SqlType::Other(s) => s.clone(),
        }
    }
    /// The base type Citus compares when colocating (`varchar(20)` and `varchar(50)` match).
    pub fn base(&self) -> String {
        match self {
            SqlType::Varchar(_) => "varchar".into(),
            SqlType::Char(_) => "char".into(),
            SqlType::Numeric(..) => "numeric".into(),
            other => other.to_sql(),
        }
    }
    /// Whether a range partition can use it as its key (a date or a timestamp).
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
        )
    }
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Column {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: SqlType,
    /// Whether it may hold NULL.
    #[serde(default)]
    pub nullable: bool,
    /// A default expression, written as is (`gen_random_uuid()`, `now()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// An identity column (`GENERATED … AS IDENTITY`): its values come from a sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// How an identity column takes values from its sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`: an insert cannot choose the value (the modern
    /// `bigserial`).
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`: an insert may give its own value.
    ByDefault,
}

impl Identity {
    /// The SQL words after the type.
    pub fn to_sql(self) -> &'static str {
        match self {
            Identity::Always => "GENERATED ALWAYS AS IDENTITY",
            Identity::ByDefault => "GENERATED BY DEFAULT AS IDENTITY",
        }
    }
}

impl Column {
    /// A `NOT NULL` column.
    pub fn new(name: impl Into<Ident>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            identity: None,
        }
    }
    /// Allows NULL.
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    /// Makes it an identity column, `GENERATED ALWAYS AS IDENTITY` (use a `bigint` column:
    /// the modern form of `bigserial`).
    pub fn identity(mut self) -> Self {
        self.identity = Some(Identity::Always);
        self
    }
    /// Makes it an identity column that inserts may override, `GENERATED BY DEFAULT AS
    /// IDENTITY`.
    pub fn identity_by_default(mut self) -> Self {
        self.identity = Some(Identity::ByDefault);
        self
    }
    /// Sets a default expression.
    pub fn default(mut self, expr: impl Into<String>) -> Self {
        self.default = Some(expr.into());
        self
    }
}

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `NO ACTION` (the default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl Action {
    /// The SQL words.
    pub fn to_sql(self) -> &'static str {
        match self {
            Action::NoAction => "NO ACTION",
            Action::Restrict => "RESTRICT",
            Action::Cascade => "CASCADE",
            Action::SetNull => "SET NULL",
            Action::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<Ident>,
    /// The referenced table.
    pub table: Ident,
    /// The referenced columns (a primary key or unique constraint of that table).
    pub references: Vec<Ident>,
    /// On delete.
    #[serde(default)]
    pub on_delete: Action,
    /// On update.
    #[serde(default)]
    pub on_update: Action,
}

impl ForeignKey {
    /// `columns` reference `references` of `table`.
    pub fn new<I: Into<Ident>>(
        columns: impl IntoIterator<Item = I>,
        table: impl Into<Ident>,
        references: impl IntoIterator<Item = I>,
    ) -> Self {
        ForeignKey {
            columns: columns.into_iter().map(Into::into).collect(),
            table: table.into(),
            references: references.into_iter().map(Into::into).collect(),
            on_delete: Action::NoAction,
            on_update: Action::NoAction,
        }
    }
    /// Sets the delete action.
    pub fn on_delete(mut self, action: Action) -> Self {
        self.on_delete = action;
        self
    }
    /// Sets the update action.
    pub fn on_update(mut self, action: Action) -> Self {
        self.on_update = action;
        self
    }
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Index {
    /// Indexed columns, in order.
    pub columns: Vec<Ident>,
    /// A unique index.
    #[serde(default)]
    pub unique: bool,
}

/// How Citus places a table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// A plain PostgreSQL table on the coordinator (the default).
    #[default]
    Local,
    /// A full copy on every node (lookup tables).
    Reference,
    /// Sharded by hash of one column.
    Distributed {
        /// The distribution column (the tenant key).
        column: Ident,
        /// Colocate with this distributed table (its group's root otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        colocate_with: Option<Ident>,
        /// Shards of a group's root (Citus' default is 32).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shard_count: Option<u32>,
    },
}

impl Distribution {
    /// Sharded by `column`.
    pub fn by(column: impl Into<Ident>) -> Self {
        Distribution::Distributed {
            column: column.into(),
            colocate_with: None,
            shard_count: None,
        }
    }
    /// Colocates a distributed table with `table`.
    pub fn colocate_with(self, table: impl Into<Ident>) -> Self {
        match self {
            Distribution::Distributed {
                column,
                shard_count,
                ..
            } => Distribution::Distributed {
                column,
                colocate_with: Some(table.into()),
                shard_count,
            },
            other => other,
        }
    }
    /// Sets the shard count of a distributed table.
    pub fn shards(self, n: u32) -> Self {
        match self {
            Distribution::Distributed {
                column,
                colocate_with,
                ..
            } => Distribution::Distributed {
                column,
                colocate_with,
                shard_count: Some(n),
            },
            other => other,
        }
    }
    /// The distribution column, for a distributed table.
    pub fn column(&self) -> Option<&Ident> {
        match self {
            Distribution::Distributed { column, .. } => Some(column),
            _ => None,
        }
    }
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Table {
    /// Its name (within the database's schema).
    pub name: Ident,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// The primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<Ident>,
    /// Unique constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<Ident>>,
    /// Foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Range partitioning, in the phases that turn it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    /// Citus placement, in the phases that turn it on.
    #[serde(default)]
    pub distribution: Distribution,
    /// Where in `infra.rs` the table was added (filled by [`Database::table`]).
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: Option<crate::Origin>,
}

impl Table {
    /// A table with no column yet.
    pub fn new(name: impl Into<Ident>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            partitioning: None,
            distribution: Distribution::Local,
            origin: None,
        }
    }
    /// Adds a column.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }
    /// Sets the primary key.
    pub fn primary_key<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }
    /// Adds a unique constraint.
    pub fn unique<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.unique
            .push(columns.into_iter().map(Into::into).collect());
        self
    }
    /// Adds a foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }
    /// Adds an index.
    pub fn index<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.indexes.push(Index {
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
        });
        self
    }
    /// Partitions the table.
    pub fn partition_by(mut self, partitioning: Partitioning) -> Self {
        self.partitioning = Some(partitioning);
        self
    }
    /// Places the table with Citus.
    pub fn distribute(mut self, distribution: Distribution) -> Self {
        self.distribution = distribution;
        self
    }
    /// The column named `name`.
    pub fn find_column(&self, name: &Ident) -> Option<&Column> {
        self.columns.iter().find(|c| &c.name == name)
    }
}

/// The database plan of a system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Database {
    /// The service that runs PostgreSQL.
    pub service: Name,
    /// The schema every table lives in.
    pub schema: Ident,
    /// The tenant key, declared once: every distributed table is distributed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_key: Option<Ident>,
    /// Tables, in order.
    pub tables: Vec<Table>,
    /// PostgreSQL extensions the plan needs besides the ones escala infers (`citus` in Citus
    /// phases, `vector` for [`SqlType::Vector`] columns), such as `pg_trgm`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Ident>,
    /// How the generated partition upkeep job reaches the database; without it, partitions
    /// are only kept up when the SQL files are applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upkeep: Option<Upkeep>,
    /// The Citus cluster of the phases that distribute tables on several machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<CitusCluster>,
    /// PgBouncer in front of the database, in every phase that runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooler: Option<Pooler>,
    /// A streaming read replica, in every phase that runs the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<Replica>,
}

/// The job that keeps partitions ahead of time: a CronJob on Kubernetes, a service that runs
/// the upkeep at start and then at each time of the schedule on compose and Swarm (which have
/// no scheduler; see [`crate::cadence`]). It runs `psql` from the database service's image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Upkeep {
    /// A libpq connection URL (`postgresql://user:password@host:5432/db`), given to the job as
    /// `DATABASE_URL`: usually `Env::secret("database-url")`, never a literal password.
    pub url: Env,
    /// When it runs, as a cron expression in UTC (`17 3 * * *`: daily at 03:17).
    pub schedule: String,
}

/// The name of the service that runs the partition upkeep.
pub const UPKEEP_SERVICE: &str = "partition-upkeep";

impl Database {
    /// A database run by `service`, with its tables in `schema`.
    pub fn new(service: impl Into<Name>, schema: impl Into<Ident>) -> Self {
        Database {
            service: service.into(),
            schema: schema.into(),
            tenant_key: None,
            tables: Vec::new(),
            extensions: Vec::new(),
            upkeep: None,
            cluster: None,
            pooler: None,
            replica: None,
        }
    }
    /// Declares the tenant key.
    pub fn tenant_key(mut self, column: impl Into<Ident>) -> Self {
        self.tenant_key = Some(column.into());
        self
    }
    /// Adds a table.
    #[track_caller]
    pub fn table(mut self, mut table: Table) -> Self {
        if table.origin.is_none() {
            table.origin = Some(crate::Origin::caller());
        }
        self.tables.push(table);
        self
    }
    /// The table named `name`.
    pub fn find_table(&self, name: &Ident) -> Option<&Table> {
        self.tables.iter().find(|t| &t.name == name)
    }
    /// Runs the partition upkeep as a job in every phase that partitions, reaching the database
    /// through `url` (daily at 03:17 UTC).
    pub fn upkeep(mut self, url: Env) -> Self {
        self.upkeep = Some(Upkeep {
            url,
            schedule: "17 3 * * *".into(),
        });
        self
    }
    /// Like [`Database::upkeep`], on a cron `schedule` of your choice (UTC; on compose and
    /// Swarm, a schedule that is not daily, hourly, weekly or every N minutes runs every 24
    /// hours instead, and the targets say so).
    pub fn upkeep_at(mut self, url: Env, schedule: impl Into<String>) -> Self {
        self.upkeep = Some(Upkeep {
            url,
            schedule: schedule.into(),
        });
        self
    }
    /// Runs a Citus cluster in the phases that distribute tables (except
    /// [`Phase::citus_single_node`](crate::Phase::citus_single_node) ones): the database
    /// service is its coordinator, on the cluster's image.
    pub fn citus_cluster(mut self, cluster: CitusCluster) -> Self {
        self.cluster = Some(cluster);
        self
    }
    /// Puts PgBouncer in front of the database.
    pub fn pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = Some(pooler);
        self
    }
    /// `PGHOST` and `PGPORT` of the pooler, for a service's environment: libpq and most
    /// drivers read them, so the service reaches the database through PgBouncer without a
    /// hand-typed host. Without a pooler, those of the database service.
    pub fn pooled_env(&self) -> Vec<(String, Env)> {
        let (host, port) = match &self.pooler {
            Some(_) => (crate::pooler::SERVICE.to_owned(), crate::pooler::PORT),
            None => (self.service.to_string(), 5432),
        };
        vec![
            ("PGHOST".to_owned(), Env::literal(host)),
            ("PGPORT".to_owned(), Env::literal(port.to_string())),
        ]
    }
    /// A connection URL through the pooler (the database service without one), with no
    /// password in it: `postgresql://app@pgbouncer:6432/finanzas`, for a service's
    /// `DATABASE_URL`. Give the password as `PGPASSWORD` from a secret (`Env::secret`):
    /// libpq, node-postgres and postgres.js take it from there when the URL has none.
    pub fn pooled_url(&self, user: &str, database: &str) -> Env {
        let (host, port) = match &self.pooler {
            Some(_) => (crate::pooler::SERVICE.to_owned(), crate::pooler::PORT),
            None => (self.service.to_string(), 5432),
        };
        Env::literal(format!("postgresql://{user}@{host}:{port}/{database}"))
    }
    /// Runs a streaming read replica; the replication user `replicator` takes its password from
    /// the secret `password`.
    pub fn read_replica(mut self, password: impl Into<Name>) -> Self {
        self.replica = Some(Replica {
            user: "replicator".into(),
            password: password.into(),
        });
        self
    }
    /// `PGHOST` and `PGPORT` of the read replica (of the database service without one), for a
    /// service that reads reports.
    pub fn replica_env(&self) -> Vec<(String, Env)> {
        let host = match &self.replica {
            Some(_) => crate::replica::name(&self.service).to_string(),
            None => self.service.to_string(),
        };
        vec![
            ("PGHOST".to_owned(), Env::literal(host)),
            ("PGPORT".to_owned(), Env::literal("5432")),
        ]
    }
    /// Whether `stage` partitions at least one table.
    pub fn partitions_in(&self, stage: &DatabaseStage) -> bool {
        stage.partitioning && self.tables.iter().any(|t| t.partitioning.is_some())
    }
    /// Declares an extension the plan needs (`pg_trgm`); `citus` and `vector` are inferred.
    pub fn extension(mut self, name: impl Into<Ident>) -> Self {
        self.extensions.push(name.into());
        self
    }
    /// The extensions a phase at `stage` creates, in order: `citus` first when it
    /// distributes (Citus wants to be created before other extensions), `vector` when a
    /// column is a [`SqlType::Vector`], then the declared ones.
    pub fn extensions_for(&self, stage: &DatabaseStage) -> Vec<Ident> {
        let mut out: Vec<Ident> = Vec::new();
        if stage.distribution {
            out.push("citus".into());
        }
        let vector = self
            .tables
            .iter()
            .flat_map(|t| &t.columns)
            .any(|c| matches!(c.ty, SqlType::Vector(_)));
        if vector {
            out.push("vector".into());
        }
        for e in &self.extensions {
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
        out
    }
}

/// What a phase turns on in the database plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DatabaseStage {
    /// Range partitioning of the tables that declare it.
    #[serde(default)]
    pub partitioning: bool,
    /// Citus distribution of the tables that declare it.
    #[serde(default)]
    pub distribution: bool,
    /// Citus on one machine: the coordinator also holds the shards.
    #[serde(default)]
    pub single_node_citus: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert!(Ident::from("fecha_emision").validate().is_ok());
        assert!(Ident::from("Facturas").validate().is_err());
        assert!(Ident::from("1x").validate().is_err());
    }
}
