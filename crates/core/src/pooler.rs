//! PgBouncer in front of the database (the coordinator in Citus phases), in every phase that
//! runs the database.
//!
//! Its `pgbouncer.ini` is generated from the model — pool mode, pool sizes, the databases it
//! serves — and handed to the container in an environment variable that the entrypoint writes
//! out, so no configuration file has to be shipped beside the engine's files. It holds no
//! credential: `auth_file` points at a secret mounted as a file (a `userlist.txt`), and the
//! pooler authenticates clients with SCRAM against it. Services reach it with
//! [`Database::pooled_env`](crate::Database::pooled_env) instead of a hand-typed host.

use serde::{Deserialize, Serialize};

use crate::{Dependency, Engine, Env, Name, Phase, Port, Service, System};

/// The pooler's service name, which is also its host name.
pub const SERVICE: &str = "pgbouncer";

/// The port it listens on.
pub const PORT: u16 = 6432;

/// How long a server connection stays with one client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PoolMode {
    /// For a client's whole session (works with everything, pools least).
    Session,
    /// For one transaction (the usual choice for web apps; no session state across
    /// transactions).
    #[default]
    Transaction,
    /// For one statement (no multi-statement transactions).
    Statement,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// PgBouncer's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pooler {
    /// An image with `pgbouncer` and `sh`, whose user is not root.
    pub image: String,
    /// The databases it serves (their names on the server).
    pub databases: Vec<String>,
    /// The secret holding the `userlist.txt` (`"user" "SCRAM-SHA-256$…"` lines).
    pub userlist: Name,
    /// The pool mode.
    #[serde(default)]
    pub pool_mode: PoolMode,
    /// Server connections per user and database.
    pub default_pool_size: u32,
    /// Client connections it accepts in all.
    pub max_client_conn: u32,
}

impl Pooler {
    /// PgBouncer from `image`, serving `databases`, with users from the secret `userlist`;
    /// transaction pooling, 20 server connections per pool, 500 clients.
    pub fn pgbouncer<D: Into<String>>(
        image: impl Into<String>,
        databases: impl IntoIterator<Item = D>,
        userlist: impl Into<Name>,
    ) -> Self {
        Pooler {
            image: image.into(),
            databases: databases.into_iter().map(Into::into).collect(),
            userlist: userlist.into(),
            pool_mode: PoolMode::Transaction,
            default_pool_size: 20,
            max_client_conn: 500,
        }
    }
    /// Sets the pool mode.
    pub fn pool_mode(mut self, mode: PoolMode) -> Self {
        self.pool_mode = mode;
        self
    }
    /// Sets the server connections per pool and the client connections in all.
    pub fn sizes(mut self, default_pool_size: u32, max_client_conn: u32) -> Self {
        self.default_pool_size = default_pool_size;
        self.max_client_conn = max_client_conn;
        self
    }

    /// The `pgbouncer.ini` for a database served by `host:port`.
    pub fn ini(&self, host: &str, port: u16) -> String {
        let mut out = String::from("[databases]\n");
        for d in &self.databases {
            out.push_str(&format!("{d} = host={host} port={port} dbname={d}\n"));
        }
        out.push_str(&format!(
            "\n[pgbouncer]\nlisten_addr = 0.0.0.0\nlisten_port = {PORT}\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = /run/secrets/{}\npool_mode = {}\ndefault_pool_size = {}\nmax_client_conn = {}\nignore_startup_parameters = extra_float_digits\n",
            self.userlist,
            self.pool_mode.as_str(),
            self.default_pool_size,
            self.max_client_conn
        ));
        out
    }
}

/// The pooler of `phase`, in front of the database service as the phase runs it.
pub(crate) fn service(
    system: &System,
    phase: &Phase,
    running: &[crate::InPhase<'_>],
) -> Option<Service> {
    let db = system.database.as_ref()?;
    let pooler = db.pooler.as_ref()?;
    let database = running.iter().find(|s| s.name == db.service)?;
    let port = database.ports.first().map_or(5432, |p| p.container);
    let depends_on = match phase.engine {
        Engine::Swarm => Vec::new(),
        _ => vec![Dependency::started(db.service.clone())],
    };
    let mut s = Service::builder()
        .name(SERVICE)
        .image(pooler.image.clone())
        .entrypoint([
            "sh",
            "-c",
            "printf '%s' \"$PGBOUNCER_INI\" > /tmp/pgbouncer.ini && exec pgbouncer /tmp/pgbouncer.ini",
        ])
        .env([(
            "PGBOUNCER_INI",
            Env::literal(pooler.ini(db.service.as_str(), port)),
        )])
        .ports([Port::tcp(PORT).named("pgbouncer")])
        .secrets([pooler.userlist.clone()])
        .networks(database.networks.clone())
        .depends_on(depends_on)
        .resources(crate::checked::small_job_resources())
        .build();
    s.placement = database.placement.clone();
    Some(s)
}
