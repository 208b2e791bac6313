//! A Citus cluster: in the phases that distribute tables, the database service becomes the
//! coordinator (on the cluster's image), and workers and a one-shot registration job join it.
//!
//! The workers are copies of the database service — same environment, secrets, networks,
//! health check and resources — each with its own volumes (`pgdata-worker-1`, …). On Swarm each
//! worker is pinned to the nodes labelled `citus-worker=<n>`; on Kubernetes each is a
//! StatefulSet with its own claim; on compose they all run on the one host (for staging).
//! The job `citus-nodes` creates the `citus` extension on every node and registers the
//! coordinator and the workers (`citus_set_coordinator_host`, `citus_add_node`, both
//! idempotent), with the password Citus uses between nodes stored in `pg_dist_authinfo` from
//! the database's own secret, never written into a file.

use serde::{Deserialize, Serialize};

use crate::{
    Dependency, Engine, Name, Phase, Placement, Restart, Service, System, Volume, Workload,
};

/// The name of the job that registers the nodes.
pub const NODES_JOB: &str = "citus-nodes";

/// The image Citus publishes for PostgreSQL 17 (no pgvector; the book shows how to build one
/// with both).
pub const DEFAULT_IMAGE: &str = "citusdata/citus:13.2";

/// A coordinator and `workers` workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CitusCluster {
    /// The image of every node: Citus and the extensions the plan needs.
    pub image: String,
    /// How many workers hold the shards.
    pub workers: u32,
}

impl CitusCluster {
    /// `workers` workers on Citus's own image ([`DEFAULT_IMAGE`]).
    pub fn workers(workers: u32) -> Self {
        CitusCluster {
            image: DEFAULT_IMAGE.into(),
            workers,
        }
    }
    /// Runs every node on `image` (for example one with Citus and pgvector).
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }
}

/// The name of worker `n` (from 1) of the database service `db`.
pub fn worker_name(db: &Name, n: u32) -> Name {
    Name::from(format!("{db}-worker-{n}"))
}

/// The name of worker `n`'s copy of volume `volume`.
pub fn worker_volume(volume: &Name, n: u32) -> Name {
    Name::from(format!("{volume}-worker-{n}"))
}

/// The cluster, when `phase` runs one: it distributes tables on more than one machine and runs
/// the database service.
pub fn in_phase<'a>(system: &'a System, phase: &Phase) -> Option<&'a CitusCluster> {
    let db = system.database.as_ref()?;
    let cluster = db.cluster.as_ref()?;
    (phase.database.distribution && !phase.database.single_node_citus && phase.runs(&db.service))
        .then_some(cluster)
}

/// The workers and the registration job of `phase`, given the coordinator as the phase runs
/// it.
pub(crate) fn services(system: &System, phase: &Phase, coordinator: &Service) -> Vec<Service> {
    let Some(cluster) = in_phase(system, phase) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut hosts = vec![coordinator.name.to_string()];
    for n in 1..=cluster.workers {
        let mut w = coordinator.clone();
        w.name = worker_name(&coordinator.name, n);
        w.origin = None;
        w.replicas = 1;
        w.autoscale = None;
        w.workload = Workload::Stateful;
        crate::database_node::remount(&mut w, |v| worker_volume(v, n));
        w.placement = match phase.engine {
            Engine::Swarm => Placement::anywhere().label("citus-worker", n.to_string()),
            _ => Placement::anywhere(),
        };
        hosts.push(w.name.to_string());
        out.push(w);
    }
    let port = coordinator.ports.first().map_or(5432, |p| p.container);
    let mut adds = String::new();
    for h in hosts.iter().skip(1) {
        adds.push_str(&format!("SELECT citus_add_node('{h}', {port});\n"));
    }
    let script = format!(
        r#"set -eu
export PGUSER="${{POSTGRES_USER:-postgres}}"
export PGDATABASE="${{POSTGRES_DB:-$PGUSER}}"
export PGPORT={port}
{password}for h in {hosts}; do
  until pg_isready -q -h "$h"; do echo "waiting for $h"; sleep 2; done
  psql -h "$h" -v ON_ERROR_STOP=1 -qc 'CREATE EXTENSION IF NOT EXISTS citus'
done
psql -h {coordinator} -v ON_ERROR_STOP=1 -q -v pw="$PGPASSWORD" <<'SQL'
-- The password Citus uses between nodes, from the database's secret (nodeid 0: every node).
INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo)
  VALUES (0, current_user, 'password=' || :'pw')
  ON CONFLICT (rolename, nodeid) DO UPDATE SET authinfo = EXCLUDED.authinfo;
SELECT citus_set_coordinator_host('{coordinator}', {port}) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0);
{adds}SQL
echo "Citus nodes registered: {hosts}"
"#,
        hosts = hosts.join(" "),
        coordinator = coordinator.name,
        password = crate::database_node::PASSWORD,
    );
    let depends_on: Vec<Dependency> = match phase.engine {
        // Swarm starts services in no order; the script waits for every node itself.
        Engine::Swarm => Vec::new(),
        _ => hosts
            .iter()
            .map(|h| {
                if coordinator.health.is_some() {
                    Dependency::healthy(h.as_str())
                } else {
                    Dependency::started(h.as_str())
                }
            })
            .collect(),
    };
    let mut job = Service::builder()
        .name(NODES_JOB)
        .command(["sh", "-c", script.as_str()])
        .depends_on(depends_on)
        .networks(coordinator.networks.clone())
        .secrets(coordinator.secrets.clone())
        .restart(Restart::OnFailure {
            max_attempts: Some(10),
        })
        .build();
    job.image = Some(cluster.image.clone());
    job.env = crate::database_node::env(coordinator);
    job.resources = crate::checked::small_job_resources();
    out.push(job);
    out
}

/// The workers' volumes in `phase`: a copy of each volume the coordinator mounts, per worker.
pub(crate) fn volumes(system: &System, phase: &Phase) -> Vec<Volume> {
    let (Some(cluster), Some(db)) = (in_phase(system, phase), system.database.as_ref()) else {
        return Vec::new();
    };
    let Some(coordinator) = system.find_service(&db.service) else {
        return Vec::new();
    };
    (1..=cluster.workers)
        .flat_map(|n| {
            crate::database_node::volume_copies(system, coordinator, |v| worker_volume(v, n))
        })
        .collect()
}
