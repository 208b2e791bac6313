//! A streaming read replica of the database, for reports.
//!
//! A one-shot job, `replication-setup`, creates the replication user with the password from a
//! secret and lets it connect for replication (a `host replication` line appended to the
//! primary's `pg_hba.conf` with `COPY … TO PROGRAM`, then a reload), both only once. The replica,
//! `<database>-replica`, runs the database's image on its own volumes: on first start it takes a
//! base backup of the primary (`pg_basebackup -R`, which writes `standby.signal` and the
//! connection to the primary into its data directory), then starts as a hot standby. Services
//! name it with [`Database::replica_env`](crate::Database::replica_env).

use serde::{Deserialize, Serialize};

use crate::{Dependency, Engine, Name, Phase, Restart, Service, System, Volume};

/// The job that prepares the primary.
pub const SETUP_JOB: &str = "replication-setup";

/// A read replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Replica {
    /// The replication user.
    pub user: String,
    /// The secret holding its password.
    pub password: Name,
}

/// The replica's service name for database service `db`.
pub fn name(db: &Name) -> Name {
    Name::from(format!("{db}-replica"))
}

/// The replica's copy of volume `volume`.
pub fn volume(v: &Name) -> Name {
    Name::from(format!("{v}-replica"))
}

/// The setup job's script (run with the database's superuser).
pub fn setup_script(host: &str, port: u16, replica: &Replica) -> String {
    let user = &replica.user;
    format!(
        r#"set -eu
export PGUSER="${{POSTGRES_USER:-postgres}}" PGDATABASE="${{POSTGRES_DB:-${{POSTGRES_USER:-postgres}}}}" PGHOST={host} PGPORT={port}
{pw}until pg_isready -q; do echo "waiting for {host}"; sleep 2; done
psql -v ON_ERROR_STOP=1 -q -v pw="$(cat /run/secrets/{secret})" <<'SQL'
SELECT 'CREATE ROLE {user} REPLICATION LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}') \gexec
ALTER ROLE {user} WITH REPLICATION LOGIN PASSWORD :'pw';
SELECT format('COPY (SELECT %L) TO PROGRAM %L', 'host replication {user} all scram-sha-256', 'cat >> ' || current_setting('hba_file'))
 WHERE NOT EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE 'replication' = ANY (database) AND '{user}' = ANY (user_name) AND address = 'all') \gexec
SELECT pg_reload_conf();
SQL
echo "{user} may replicate from {host}""#,
        pw = crate::database_node::PASSWORD,
        secret = replica.password,
    )
}

/// The replica's script: a base backup on first start, then the image's own entrypoint.
pub fn replica_script(host: &str, port: u16, replica: &Replica) -> String {
    format!(
        r#"set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h {host} -p {port}; do echo "waiting for {host}"; sleep 2; done
  until PGPASSWORD="$(cat /run/secrets/{secret})" pg_basebackup -h {host} -p {port} -U {user} -D "$PGDATA" -X stream -R -c fast; do
    echo "waiting until {host} lets {user} replicate"; rm -rf "$PGDATA"/* "$PGDATA"/.[!.]* 2>/dev/null || true; sleep 5
  done
fi
exec docker-entrypoint.sh postgres"#,
        user = replica.user,
        secret = replica.password,
    )
}

/// The setup job and the replica of `phase`.
pub(crate) fn services(
    system: &System,
    phase: &Phase,
    running: &[crate::InPhase<'_>],
) -> Vec<Service> {
    let Some(db) = system.database.as_ref() else {
        return Vec::new();
    };
    let Some(replica) = &db.replica else {
        return Vec::new();
    };
    let Some(primary) = running.iter().find(|s| s.name == db.service) else {
        return Vec::new();
    };
    let port = primary.ports.first().map_or(5432, |p| p.container);
    let host = primary.name.as_str();
    let mut secrets = primary.secrets.clone();
    if !secrets.contains(&replica.password) {
        secrets.push(replica.password.clone());
    }
    let depends_on = |on: &str| match phase.engine {
        Engine::Swarm => Vec::new(),
        _ => vec![Dependency::started(on)],
    };
    let mut job = Service::builder()
        .name(SETUP_JOB)
        .command(["sh", "-c", setup_script(host, port, replica).as_str()])
        .secrets(secrets.clone())
        .networks(primary.networks.clone())
        .depends_on(depends_on(host))
        .restart(Restart::OnFailure {
            max_attempts: Some(10),
        })
        .resources(crate::checked::small_job_resources())
        .build();
    job.image = primary.image.clone();
    job.env = crate::database_node::env(primary);
    let mut r = primary.clone().into_owned();
    r.name = name(&primary.name);
    r.origin = None;
    r.replicas = 1;
    r.autoscale = None;
    r.secrets = secrets;
    r.entrypoint = vec![
        "sh".into(),
        "-c".into(),
        replica_script(host, port, replica),
    ];
    r.command = Vec::new();
    // The script retries until the primary lets it replicate, so an order is not needed for
    // that: compose waits for the setup job; on Kubernetes the replica depends on the primary
    // it streams from, which is what lets it through the primary's NetworkPolicy (derived
    // from `depends_on`; without it the default-deny policy kept the replica out for good).
    r.depends_on = match phase.engine {
        Engine::Compose => vec![Dependency::completed(SETUP_JOB)],
        Engine::Kubernetes => vec![Dependency::started(host)],
        Engine::Swarm => Vec::new(),
    };
    crate::database_node::remount(&mut r, volume);
    vec![job, r]
}

/// The replica's volumes: a copy of each volume the database service mounts.
pub(crate) fn volumes(system: &System) -> Vec<Volume> {
    let Some(db) = system.database.as_ref() else {
        return Vec::new();
    };
    if db.replica.is_none() {
        return Vec::new();
    }
    let Some(primary) = system.find_service(&db.service) else {
        return Vec::new();
    };
    crate::database_node::volume_copies(system, primary, volume)
}
