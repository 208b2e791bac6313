//! Backups: credentials and the database URL are secret references, the schedule is cron,
//! something is kept; and what is marked for backup but gets no job is said.

use super::unknown;
use crate::codes::{BACKUP, BACKUP_SKIPPED};
use crate::{Diagnostics, Engine, Env, System};
use foldhash::HashMapExt;

pub(super) fn check(
    system: &System,
    services: &[Vec<crate::InPhase<'_>>],
    diags: &mut Diagnostics,
) {
    let Some(b) = &system.backups else { return };
    let mut secret = |env: &Env, path: &str, what: &str| match env {
        Env::Secret(name) if !system.secrets.iter().any(|s| &s.name == name) => {
            unknown(
                diags,
                path.to_owned(),
                "secret",
                name,
                system.secrets.iter().map(|s| &s.name),
                "System::secret",
            );
        }
        Env::Secret(_) => {}
        _ => {
            diags
                .error(BACKUP, path, format!("the backups' {what} is not a secret reference; every generated file would carry it"))
                .help("declare it as a secret and pass `Env::secret(\"…\")`");
        }
    };
    secret(&b.access_key_id, "backups.access_key_id", "access key id");
    secret(
        &b.secret_access_key,
        "backups.secret_access_key",
        "secret access key",
    );
    if let Some(url) = &b.database_url {
        secret(url, "backups.database_url", "database URL");
    }
    if let Some(problem) = super::cron_problem(&b.schedule) {
        diags
            .error(BACKUP, "backups.schedule", problem)
            .help("write minute hour day-of-month month day-of-week, e.g. `30 2 * * *`");
    }
    if b.keep_days == 0 {
        diags
            .error(
                BACKUP,
                "backups.keep_days",
                "backups are kept 0 days: each run would delete what it just wrote",
            )
            .help("keep them at least a day, e.g. `.keep_days(14)`");
    }
    if b.image.trim().is_empty() || b.endpoint.trim().is_empty() || b.bucket.trim().is_empty() {
        diags
            .error(BACKUP, "backups", "the backups need an image, an endpoint and a bucket")
            .help("e.g. `Backups::s3(\"https://s3.eu-west-1.amazonaws.com\", \"acme-backups\", …, \"ghcr.io/acme/pg-backup:18\")`");
    }
    if system.database.is_some() && b.database_url.is_none() {
        diags
            .warning(
                BACKUP_SKIPPED,
                "backups.database_url",
                "the database is never backed up: the backups have no database URL",
            )
            .help("add `.database_url(Env::secret(\"database-url\"))`");
    }
    for (p, running) in system
        .phases
        .iter()
        .zip(services)
        .filter(|(p, _)| p.engine == Engine::Kubernetes)
    {
        // The first running service (not the database) that writes each volume, found once.
        let mut writers: foldhash::HashMap<&crate::Name, &crate::Service> =
            foldhash::HashMap::new();
        for s in running
            .iter()
            .filter(|s| system.database.as_ref().is_none_or(|d| d.service != s.name))
        {
            for m in s.mounts.iter().filter(|m| !m.read_only) {
                if let crate::MountSource::Volume(x) = &m.source {
                    writers.entry(x).or_insert(&**s);
                }
            }
        }
        for (i, v) in system.volumes.iter().enumerate().filter(|(_, v)| v.backup) {
            let user = writers.get(&v.name).copied();
            if let Some(user) = user.filter(|u| !crate::backup::kubernetes_can_share(p, u)) {
                diags
                    .warning(BACKUP_SKIPPED, format!("volumes[{i}].backup"), format!("in phase `{}`, volume `{}` gets no backup job: `{}` is not a StatefulSet with one replica, so no job can mount its claim beside it", p.name, v.name, user.name))
                    .help("back it up with your storage's snapshots (a VolumeSnapshotClass), or run the service as a one-replica StatefulSet (`Workload::Stateful`)");
            }
        }
    }
}
