//! The partition upkeep job: a name of its own, a connection that is not a literal password,
//! a schedule Kubernetes reads, and a warning when partitioned phases have no job at all.

use super::unknown;
use crate::codes::{DB_POOLER, DB_UPKEEP, WORKLOAD_SCHEDULE};
use crate::{Diagnostics, Env, System, UPKEEP_SERVICE};

/// PgBouncer: something to serve, a userlist that exists, pools that can hold a connection.
pub(super) fn pooler(system: &System, diags: &mut Diagnostics) {
    let Some(p) = system.database.as_ref().and_then(|d| d.pooler.as_ref()) else {
        return;
    };
    if p.databases.is_empty() {
        diags
            .error(DB_POOLER, "database.pooler.databases", "PgBouncer serves no database")
            .help("name the database your services connect to, e.g. `Pooler::pgbouncer(image, [\"app\"], \"pgbouncer-userlist\")`");
    }
    if !system.secrets.iter().any(|s| s.name == p.userlist) {
        unknown(
            diags,
            "database.pooler.userlist".into(),
            "secret",
            &p.userlist,
            system.secrets.iter().map(|s| &s.name),
            "System::secret",
        );
    }
    if p.default_pool_size == 0 || p.max_client_conn == 0 {
        diags
            .error(
                DB_POOLER,
                "database.pooler",
                "a PgBouncer pool size of 0 accepts no connection",
            )
            .help("e.g. `.sizes(20, 500)`");
    }
    if let Some(s) = system
        .services
        .iter()
        .find(|s| s.name.as_str() == crate::pooler::SERVICE)
    {
        diags
            .error(
                DB_POOLER,
                format!("services.{}", s.name),
                "service `pgbouncer` has the name of the pooler the database plan adds",
            )
            .help("rename the service, or drop it and let `Database::pooler` run PgBouncer")
            .origin(s.origin.as_ref());
    }
}

/// The read replica: its password secret exists; its names are free.
fn replica(system: &System, diags: &mut Diagnostics) {
    let Some(db) = system.database.as_ref() else {
        return;
    };
    let Some(r) = &db.replica else { return };
    if !system.secrets.iter().any(|s| s.name == r.password) {
        unknown(
            diags,
            "database.replica.password".into(),
            "secret",
            &r.password,
            system.secrets.iter().map(|s| &s.name),
            "System::secret",
        );
    }
    let taken = [
        crate::replica::name(&db.service),
        crate::replica::SETUP_JOB.into(),
    ];
    for s in system.services.iter().filter(|s| taken.contains(&s.name)) {
        diags
            .error(
                DB_POOLER,
                format!("services.{}", s.name),
                format!(
                    "service `{}` has the name of the read replica or its setup job",
                    s.name
                ),
            )
            .help("rename the service")
            .origin(s.origin.as_ref());
    }
}

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    pooler(system, diags);
    replica(system, diags);
    let Some(db) = &system.database else { return };
    let partitioned: Vec<_> = system
        .phases
        .iter()
        .filter(|p| db.partitions_in(&p.database))
        .collect();
    let Some(upkeep) = &db.upkeep else {
        if let Some(first) = partitioned.first() {
            diags
                .warning(DB_UPKEEP, "database.upkeep", format!("phase `{}` partitions tables, but no job keeps partitions ahead of time: after the declared spans, rows go to the DEFAULT partition (or fail) until the SQL files run again", first.name))
                .help("add `.upkeep(Env::secret(\"database-url\"))` to the database: a CronJob on Kubernetes, a daily loop on compose and Swarm");
        }
        return;
    };
    match &upkeep.url {
        Env::Literal(_) => {
            diags
                .error(DB_UPKEEP, "database.upkeep.url", "the upkeep job's connection URL is a literal, which would write its password into every generated file")
                .help("declare the URL as a secret and pass `Env::secret(\"database-url\")`");
        }
        Env::SecretFile(name) => {
            diags
                .error(
                    DB_UPKEEP,
                    "database.upkeep.url",
                    "the upkeep job reads its connection URL from the environment, not from a file",
                )
                .help(format!("pass `Env::secret(\"{name}\")`"));
        }
        Env::Secret(name) if !system.secrets.iter().any(|s| &s.name == name) => {
            unknown(
                diags,
                "database.upkeep.url".into(),
                "secret",
                name,
                system.secrets.iter().map(|s| &s.name),
                "System::secret",
            );
        }
        _ => {}
    }
    if let Some(problem) = super::cron_problem(&upkeep.schedule) {
        diags
            .error(WORKLOAD_SCHEDULE, "database.upkeep.schedule", problem)
            .help("write minute hour day-of-month month day-of-week, e.g. `17 3 * * *`");
    }
    if let Some(s) = system
        .services
        .iter()
        .find(|s| s.name.as_str() == UPKEEP_SERVICE)
    {
        diags
            .error(DB_UPKEEP, format!("services.{}", s.name), format!("service `{UPKEEP_SERVICE}` has the name of the partition upkeep job the database plan adds"))
            .help("rename the service")
            .origin(s.origin.as_ref());
    }
}
