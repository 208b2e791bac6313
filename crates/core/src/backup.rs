//! Backups to S3-compatible storage: a `pg_dump -Fc` of the database and an archive of every
//! other volume marked [`Volume::backup`](crate::Volume::backup), on a schedule, with a
//! retention, credentials only as secret references.
//!
//! Each becomes a job of the phase: a CronJob on Kubernetes; on compose and Swarm, which have
//! no scheduler, a small service that backs up when it starts and then at each time of the
//! schedule ([`crate::cadence`]: the same times as the CronJob for daily, hourly, weekly and every-N-
//! minutes schedules; every 24 hours otherwise, which the targets report). The jobs copy
//! with [rclone](https://rclone.org) (configured from environment variables only, so no
//! configuration file holds a key) from an image that has `pg_dump` and `rclone`
//! ([`Backups::image`]; the book shows a three-line Dockerfile). The SQL target writes the
//! matching `restore.sh`.

use foldhash::HashMapExt;
use serde::{Deserialize, Serialize};

use crate::{
    Dependency, Engine, Env, Mount, MountSource, Name, Phase, Restart, Service, System, Workload,
};

/// Where and how often backups go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Backups {
    /// The S3 endpoint (`https://s3.eu-west-1.amazonaws.com`, `https://<account>.r2.cloudflarestorage.com`,
    /// `http://minio:9000`).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The region the endpoint expects (`us-east-1` unless set).
    #[serde(default = "default_region")]
    pub region: String,
    /// The access key id, from a secret.
    pub access_key_id: Env,
    /// The secret access key, from a secret.
    pub secret_access_key: Env,
    /// How the database job connects: a libpq URL from a secret (`Env::secret("database-url")`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<Env>,
    /// An image with `pg_dump`, `pg_restore`, `tar` and `rclone`.
    pub image: String,
    /// When the jobs run on Kubernetes, as cron in UTC.
    pub schedule: String,
    /// Days a backup is kept before the job deletes it.
    pub keep_days: u32,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Backups {
    /// Backups to `bucket` at `endpoint`, with the keys from two secrets; daily at 02:30 UTC
    /// on Kubernetes, kept 14 days, from `image`.
    pub fn s3(
        endpoint: impl Into<String>,
        bucket: impl Into<String>,
        access_key_id: Env,
        secret_access_key: Env,
        image: impl Into<String>,
    ) -> Self {
        Backups {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            region: default_region(),
            access_key_id,
            secret_access_key,
            database_url: None,
            image: image.into(),
            schedule: "30 2 * * *".into(),
            keep_days: 14,
        }
    }
    /// Dumps the database through `url` (a secret).
    pub fn database_url(mut self, url: Env) -> Self {
        self.database_url = Some(url);
        self
    }
    /// Sets the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }
    /// Sets the schedule (cron, UTC): the CronJob's on Kubernetes, the job service's loop on
    /// compose and Swarm.
    pub fn schedule(mut self, schedule: impl Into<String>) -> Self {
        self.schedule = schedule.into();
        self
    }
    /// Keeps backups `days` days.
    pub fn keep_days(mut self, days: u32) -> Self {
        self.keep_days = days;
        self
    }
}

/// The name of the database backup job.
pub const DATABASE_JOB: &str = "backup-database";

/// What the name of a volume's backup job starts with; the volume's name follows.
const VOLUME_JOB_PREFIX: &str = "backup-";

/// The name of the backup job of volume `volume`.
pub fn volume_job(volume: &Name) -> Name {
    Name::from(format!("{VOLUME_JOB_PREFIX}{volume}"))
}

/// Whether `service` is the name of `volume`'s backup job ([`volume_job`]), told without
/// making that name: callers ask it of every service against every volume.
pub fn is_volume_job(service: &str, volume: &Name) -> bool {
    service.strip_prefix(VOLUME_JOB_PREFIX) == Some(volume.as_str())
}

/// The rclone remote, from the environment only.
///
/// Uploads stream in 32 MiB parts (at most 10 000 of them: about 312 GiB per backup), four at
/// a time, within the job's 512 MiB of memory.
const RCLONE_ENV: &str = r#"export RCLONE_S3_CHUNK_SIZE=32M RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other RCLONE_CONFIG_S3_ENV_AUTH=false
export RCLONE_CONFIG_S3_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_S3_REGION="$S3_REGION"
export RCLONE_CONFIG_S3_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" RCLONE_CONFIG_S3_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY"
"#;

/// The database job's script: a custom-format dump streamed to the bucket (removed again if
/// `pg_dump` failed), then backups older than the retention deleted.
pub fn database_script(prefix: &str, keep_days: u32) -> String {
    format!(
        r#"set -eu
{RCLONE_ENV}{dest}
rm -f /tmp/backup-failed
{{ pg_dump -Fc --load-via-partition-root "$DATABASE_URL" || touch /tmp/backup-failed; }} | rclone rcat "$dest"
if [ -e /tmp/backup-failed ]; then rclone deletefile "$dest" || true; echo "pg_dump failed; nothing kept" >&2; exit 1; fi
rclone delete --min-age {keep_days}d "s3:$S3_BUCKET/{prefix}/database/"
echo "backed up to $dest""#,
        dest = unique_dest(&format!("{prefix}/database"), "dump"),
    )
}

/// The shell lines that name this run's object `<folder>/<UTC time>.<ext>`, waiting a second
/// while that name is taken: a second run in the same second must neither overwrite a backup
/// nor, if it fails, delete it.
fn unique_dest(folder: &str, ext: &str) -> String {
    format!(
        r#"at() {{ echo "s3:$S3_BUCKET/{folder}/$(date -u +%Y%m%dT%H%M%SZ).{ext}"; }}
dest=$(at)
while [ -n "$(rclone lsf "$dest" 2>/dev/null)" ]; do sleep 1; dest=$(at); done"#
    )
}

/// A volume job's script: a gzipped tar of the mounted volume, then the retention.
pub fn volume_script(prefix: &str, volume: &Name, keep_days: u32) -> String {
    format!(
        r#"set -eu
{RCLONE_ENV}{dest}
rm -f /tmp/backup-failed
{{ tar -C "${{BACKUP_PATH:-/backup}}" -czf - . || touch /tmp/backup-failed; }} | rclone rcat "$dest"
if [ -e /tmp/backup-failed ]; then rclone deletefile "$dest" || true; echo "tar failed; nothing kept" >&2; exit 1; fi
rclone delete --min-age {keep_days}d "s3:$S3_BUCKET/{prefix}/volumes/{volume}/"
echo "backed up to $dest""#,
        dest = unique_dest(&format!("{prefix}/volumes/{volume}"), "tar.gz"),
    )
}

/// `restore.sh` for a phase whose SQL files are `files` (in order): downloads the newest (or
/// a named) database backup, builds the phase's tables and partitions with the phase's own
/// files, loads the rows of the plan's tables (routed through each partitioned table's root, so
/// the partition layout of the source does not matter), then runs the phase's other files —
/// Citus distribution, foreign keys (validating every row), partition upkeep — and prints every
/// table's row count. The database restored into is an empty one.
///
/// Everything else the backup holds outside the plan's schema (the application's own schemas,
/// tables, views, functions, with their rows) is restored as it was, around the plan's tables;
/// extensions are the phase files' to create. A table in the plan's schema that the plan does
/// not declare stops the script before it changes anything: it would be lost.
pub fn restore_script(system: &System, files: &[String]) -> Option<String> {
    let b = system.backups.as_ref()?;
    b.database_url.as_ref()?;
    let db = system.database.as_ref()?;
    let prefix = prefix(system);
    let schema = db.schema.as_str();
    let (first, rest): (Vec<&String>, Vec<&String>) = files
        .iter()
        .partition(|f| f.ends_with("_tables.sql") || f.ends_with("_partition_upkeep.sql"));
    let names: Vec<String> = db.tables.iter().map(|t| t.name.to_string()).collect();
    let sequences: Vec<String> = db
        .tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| c.identity.is_some())
                .map(move |c| format!("{}_{}_seq", t.name, c.name))
        })
        .collect();
    let tables = names.join("|");
    let mut pattern =
        format!("^[0-9]+; [0-9]+ [0-9]+ TABLE DATA {schema} ({tables})(_default|_[0-9_]+)? ");
    if !sequences.is_empty() {
        pattern.push_str(&format!(
            "|^[0-9]+; [0-9]+ [0-9]+ SEQUENCE SET {schema} ({}) ",
            sequences.join("|")
        ));
    }
    let counts: Vec<String> = db
        .tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{0}' AS table_name, count(*) FROM {schema}.{0}",
                t.name
            )
        })
        .collect();
    let run =
        |fs: &[&String]| -> String { fs.iter().map(|f| format!("run {f}\n")).collect::<String>() };
    Some(format!(
        r#"{header}# Run with `sh restore.sh` (the first line is escala's, so `build --prune` knows the file).
# Restores a backup of the `{name}` database that the `{DATABASE_JOB}` job wrote, into an EMPTY
# database, in this phase's shape.
#
#   restore.sh [DUMP]
#
# DUMP is a file name listed by `rclone lsf "s3:$S3_BUCKET/{prefix}/database/"`; the newest if
# omitted. Needs psql, pg_restore and rclone, and in the environment S3_ENDPOINT, S3_REGION,
# S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (as the job has them) and DATABASE_URL, the
# empty database (on Citus, with its nodes registered). Run it from anywhere: it finds the
# phase's SQL files beside itself.
set -eu
{RCLONE_ENV}here=$(cd "$(dirname "$0")" && pwd)
dir="s3:$S3_BUCKET/{prefix}/database"
dump="${{1:-$(rclone lsf "$dir/" | sort | tail -n 1)}}"
if [ -z "$dump" ]; then echo "no backup in $dir" >&2; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "restoring $dir/$dump"
rclone copyto "$dir/$dump" "$tmp/backup.dump"
run() {{ psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -f "$here/$1" >/dev/null; }}
pg_restore -l "$tmp/backup.dump" > "$tmp/all"
# 0. A table of `{schema}` the plan does not declare would be lost: stop before anything changes.
extra=$(grep -E '^[0-9]+; [0-9]+ [0-9]+ TABLE {schema} ' "$tmp/all" | cut -d' ' -f6 \
  | grep -vxE '({tables})(_default|_[0-9_]+|_unpartitioned|__[a-z]+)?' || true)
if [ -n "$extra" ]; then
  echo "the backup holds tables of {schema} that the plan does not declare, which this script would not restore:" $extra >&2
  echo "declare them in the model's database plan, or restore them by hand with pg_restore" >&2
  exit 1
fi
# What lies outside the plan's schema (the application's own schemas, tables, views,
# functions) is restored as it was, without grants (roles belong to the server: `pg_dumpall
# --globals-only`); extensions, `public` and the plan's schema are the phase files' to create.
grep -E '^[0-9]+;' "$tmp/all" \
  | grep -vE '^[0-9]+; [0-9]+ [0-9]+ [A-Z ]+ {schema} |^[0-9]+; [0-9]+ [0-9]+ (SCHEMA - ({schema}|public) |EXTENSION - |COMMENT - EXTENSION )' \
  > "$tmp/others" || true
others() {{ pg_restore --section="$1" --no-owner --no-privileges --exit-on-error -L "$tmp/others" -d "$DATABASE_URL" "$tmp/backup.dump"; }}
# 1. The phase's tables, partitions and indexes; no foreign key yet. Then the other objects.
{first}others pre-data
# 2. The rows of the plan's tables (and identity sequences), and of the other tables.
grep -E '{pattern}' "$tmp/all" > "$tmp/list"
pg_restore --data-only --no-owner --exit-on-error -L "$tmp/list" -d "$DATABASE_URL" "$tmp/backup.dump"
others data
# 3. Citus distribution (in Citus phases) and foreign keys (every row is checked); the other
# objects' indexes, keys and triggers.
{rest}others post-data
psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 -c "{counts} ORDER BY 1"
echo "restored $dump; compare the counts above with the source"
"#,
        name = system.name,
        header = crate::header("sql"),
        first = run(&first),
        rest = run(&rest),
        counts = counts.join(" UNION ALL "),
    ))
}

/// The folder of the bucket the system's backups go to: its name.
pub fn prefix(system: &System) -> String {
    system.name.to_string()
}

fn job(
    system: &System,
    name: Name,
    backups: &Backups,
    phase: &Phase,
    script: String,
    on: &Service,
) -> Service {
    let (workload, restart, command) = match phase.engine {
        Engine::Kubernetes => (
            Workload::Scheduled {
                schedule: backups.schedule.clone(),
            },
            Restart::OnFailure {
                max_attempts: Some(3),
            },
            script,
        ),
        // No scheduler: a service that backs up when it starts (restarting it takes a backup
        // now, as a migration's last one), then at each time of the schedule (UTC), retrying
        // hourly on failure.
        Engine::Compose | Engine::Swarm => (
            Workload::Stateless,
            Restart::UnlessStopped,
            crate::cadence::shell_loop(
                &backups.schedule,
                &format!("( {script}\n)"),
                "backup",
                3600,
                true,
            ),
        ),
    };
    let mut env: Vec<(String, Env)> = vec![
        ("S3_ENDPOINT".into(), Env::literal(backups.endpoint.clone())),
        ("S3_REGION".into(), Env::literal(backups.region.clone())),
        ("S3_BUCKET".into(), Env::literal(backups.bucket.clone())),
        ("S3_ACCESS_KEY_ID".into(), backups.access_key_id.clone()),
        (
            "S3_SECRET_ACCESS_KEY".into(),
            backups.secret_access_key.clone(),
        ),
    ];
    if let Some(url) = &backups.database_url {
        if name.as_str() == DATABASE_JOB {
            env.push(("DATABASE_URL".into(), url.clone()));
        }
    }
    let (env, prelude) = crate::database_node::secrets_as_files(phase.engine == Engine::Swarm, env);
    let command = format!("{prelude}{command}");
    let database = name.as_str() == DATABASE_JOB;
    // The database job talks to the database; a volume job only reads files.
    let depends_on = match phase.engine {
        Engine::Compose | Engine::Kubernetes if database => {
            vec![Dependency::started(on.name.clone())]
        }
        _ => Vec::new(),
    };
    // Both reach the bucket, and an internal network has no way out: the database job joins
    // the database's networks, and the system's other networks when those are all internal;
    // a volume job needs no network of the system (the engine's default one reaches out).
    let internal = |n: &Name| system.networks.iter().any(|x| &x.name == n && x.internal);
    let mut networks: Vec<Name> = Vec::new();
    if database {
        networks = on.networks.clone();
        if !networks.is_empty() && networks.iter().all(internal) {
            networks.extend(
                system
                    .networks
                    .iter()
                    .filter(|n| !n.internal)
                    .map(|n| n.name.clone()),
            );
        }
    }
    let mut s = Service::builder()
        .name(name)
        .image(backups.image.clone())
        .command(["sh", "-c", command.as_str()])
        .env(env)
        .depends_on(depends_on)
        .networks(networks)
        .workload(workload)
        .restart(restart)
        .resources(
            crate::Resources::new()
                .cpu(crate::Cpu::millis(100), crate::Cpu::cores(1))
                .memory(crate::ByteSize::mib(128), crate::ByteSize::mib(512)),
        )
        .build();
    s.placement = on.placement.clone();
    s
}

/// Whether a job can read the volumes of `user` in `phase`: always on compose and Swarm (the
/// job runs where the service is pinned); on Kubernetes only from a StatefulSet with one
/// replica, whose single claim the job mounts read-only on the same node.
pub fn kubernetes_can_share(phase: &Phase, user: &Service) -> bool {
    phase.engine != Engine::Kubernetes
        || (user.workload == Workload::Stateful && user.replicas == 1)
}

/// The backup jobs of `phase`: the database's, and one per volume marked for backup that a
/// service of the phase mounts (except the database's own volumes: the dump covers them, and
/// copying a live data directory would not be consistent). On Kubernetes, only volumes of a
/// one-replica StatefulSet (see [`kubernetes_can_share`]).
pub(crate) fn services(
    system: &System,
    phase: &Phase,
    running: &[crate::InPhase<'_>],
) -> Vec<Service> {
    let Some(backups) = &system.backups else {
        return Vec::new();
    };
    let prefix = prefix(system);
    let mut out = Vec::new();
    let db = system.database.as_ref();
    if let (Some(db), Some(_)) = (db, &backups.database_url) {
        if let Some(on) = running.iter().find(|s| s.name == db.service) {
            out.push(job(
                system,
                DATABASE_JOB.into(),
                backups,
                phase,
                database_script(&prefix, backups.keep_days),
                on,
            ));
        }
    }
    // The first running service (not the database) that mounts each volume, found once.
    let mut users: foldhash::HashMap<&Name, &Service> = foldhash::HashMap::new();
    if system.volumes.iter().any(|v| v.backup) {
        for s in running
            .iter()
            .filter(|s| db.is_none_or(|d| d.service != s.name))
        {
            for m in &s.mounts {
                if let MountSource::Volume(x) = &m.source {
                    users.entry(x).or_insert(&**s);
                }
            }
        }
    }
    for v in system.volumes.iter().filter(|v| v.backup) {
        let Some(user) = users.get(&v.name).copied() else {
            continue;
        };
        if !kubernetes_can_share(phase, user) {
            continue;
        }
        let mut j = job(
            system,
            volume_job(&v.name),
            backups,
            phase,
            volume_script(&prefix, &v.name, backups.keep_days),
            user,
        );
        j.mounts = vec![Mount::volume(v.name.clone(), "/backup").read_only()];
        out.push(j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_volume_job, volume_job};
    use crate::Name;

    proptest::proptest! {
        /// Telling a volume's job by its name agrees with making that name.
        #[test]
        fn a_volume_job_is_told_as_its_name_is_made(
            service in "(backup-)?[a-z0-9-]{0,12}",
            volume in "[a-z0-9-]{0,12}",
        ) {
            let volume = Name::from(volume.as_str());
            proptest::prop_assert_eq!(
                is_volume_job(&service, &volume),
                volume_job(&volume).as_str() == service
            );
            proptest::prop_assert!(is_volume_job(volume_job(&volume).as_str(), &volume));
        }
    }
}
