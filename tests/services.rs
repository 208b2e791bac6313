//! Database services on real programs over loopback: backups written by the generated job
//! through a real S3-compatible server (s3s-fs) with a real S3 client (rclone), restored by
//! the generated `restore.sh` into an empty server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use escala::prelude::*;
use escala::Target;

use crate::growth::FINANZAS_ROWS;
use crate::sql::{fresh_db, psql, render};
use crate::support::conformance;
use crate::systems;

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An s3s-fs server on a temporary directory, stopped when dropped.
struct S3 {
    child: Child,
    endpoint: String,
    root: tempfile::TempDir,
}

impl S3 {
    const KEY: &'static str = "escala-test-key";
    const SECRET: &'static str = "escala-test-secret";

    fn start(bucket: &str) -> S3 {
        let binary = std::env::var("ESCALA_S3FS")
            .expect("ESCALA_S3FS names the s3s-fs binary (.ci/run installs it)");
        let root = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(root.path().join(bucket)).expect("bucket");
        // Another test may take the same free port first: then this server exits, and the port
        // answers for the other one. Retry on a new port until our own server answers.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", Self::KEY, "--secret-key", Self::SECRET])
                .arg(root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("s3s-fs starts");
            for _ in 0..400 {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // it could not listen
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    if let Ok(None) = child.try_wait() {
                        return S3 {
                            child,
                            endpoint: format!("http://127.0.0.1:{port}"),
                            root,
                        };
                    }
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("s3s-fs did not start on a free port");
    }

    /// The objects stored under `prefix`, by key.
    fn objects(&self, bucket: &str, prefix: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(bucket).join(prefix), &mut out);
        out.sort();
        out
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a generated script with `sh`, as the job's container would, with the S3 settings the
/// job's environment carries and `extra`.
fn run(script: &str, s3: &S3, bucket: &str, extra: &[(&str, String)]) -> (bool, String) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    run_command(cmd, s3, bucket, extra)
}

/// Runs a generated script file with `sh`, as [`run`] does.
fn run_file(script: &Path, s3: &S3, bucket: &str, extra: &[(&str, String)]) -> (bool, String) {
    let mut cmd = Command::new("sh");
    cmd.arg(script);
    run_command(cmd, s3, bucket, extra)
}

fn run_command(
    mut cmd: Command,
    s3: &S3,
    bucket: &str,
    extra: &[(&str, String)],
) -> (bool, String) {
    // This machine points the AWS SDK at its own CA bundle, which rclone's SDK then insists on.
    cmd.env_remove("AWS_CA_BUNDLE");
    cmd.env("S3_ENDPOINT", &s3.endpoint)
        .env("S3_REGION", "us-east-1")
        .env("S3_BUCKET", bucket)
        .env("S3_ACCESS_KEY_ID", S3::KEY)
        .env("S3_SECRET_ACCESS_KEY", S3::SECRET)
        .env("RCLONE_CONFIG", "/dev/null");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn url(port: &str, db: &str) -> String {
    let host = std::env::var("ESCALA_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let user = std::env::var("ESCALA_PG_USER").unwrap_or_else(|_| "postgres".into());
    format!("postgresql://{user}@{host}:{port}/{db}")
}

/// The script a job of the model runs in `phase` (the container's view: after the engine's
/// own `$` escaping is undone).
fn job_script(system: &System, phase: &str, job: &str) -> String {
    let checked = system.check().expect("checks");
    let plan = checked.plan(phase).expect("phase");
    let s = plan.service(&job.into()).expect("the job exists");
    assert_eq!(s.command[..2], ["sh", "-c"]);
    s.command[2].clone()
}

#[test]
fn a_backup_written_by_the_job_restores_into_an_empty_server() {
    if !conformance("backup to a real S3 server (s3s-fs) with rclone, restored with pg_restore") {
        return;
    }
    let s = systems::ALL[0].1();
    let bucket = "finanzas-backups";
    let s3 = S3::start(bucket);
    let source = fresh_db("escala_backup_source");
    let files = render(&s, "swarm");
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.ends_with(".sql") && !p.contains('/'))
    {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join(path);
        std::fs::write(&file, text).expect("write");
        psql(&source, &["-f", file.to_str().expect("utf-8")], None).expect(path);
    }
    psql(&source, &["-c", FINANZAS_ROWS], None).expect("rows");
    // What the application keeps beside the plan: its own schema and table, a view over a plan
    // table, a table with a key to one.
    psql(
        &source,
        &[
            "-c",
            "CREATE SCHEMA ops; \
             CREATE TABLE ops.migrations (id int PRIMARY KEY, name text NOT NULL); \
             INSERT INTO ops.migrations SELECT g, 'm' || g FROM generate_series(1, 7) g; \
             CREATE VIEW public.facturas_por_tenant AS SELECT tenant_id, count(*) AS n FROM app.facturas GROUP BY 1; \
             CREATE TABLE public.notas (id int PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES app.tenants (id), texto text); \
             INSERT INTO public.notas SELECT 1, id, 'hola' FROM app.tenants ORDER BY id LIMIT 1;",
        ],
        None,
    )
    .expect("the application's own objects");
    let port = std::env::var("ESCALA_PG_PORT").unwrap_or_else(|_| "5432".into());
    // The Kubernetes CronJob's script (the compose and Swarm services loop around the same).
    let script = job_script(&s, "k3s", "backup-database");
    let back_up = || {
        let (ok, out) = run(
            &script,
            &s3,
            bucket,
            &[("DATABASE_URL", url(&port, &source))],
        );
        assert!(ok, "{out}");
    };
    back_up();
    let dumps = s3.objects(bucket, "finanzas/database");
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    assert!(dumps[0].to_string_lossy().ends_with("Z.dump"), "{dumps:?}");

    // Restore into an empty database of another server.
    let restore_port = std::env::var("ESCALA_PG_RESTORE_PORT")
        .expect("ESCALA_PG_RESTORE_PORT names a second, empty server (.ci/run starts one)");
    let target = "escala_restored";
    let on_restore = |sql: &str, db: &str| {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(std::env::var("ESCALA_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into()))
            .args(["-p", &restore_port, "-U"])
            .arg(std::env::var("ESCALA_PG_USER").unwrap_or_else(|_| "postgres".into()))
            .args(["-d", db, "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    on_restore(&format!("DROP DATABASE IF EXISTS {target}"), "postgres");
    on_restore(&format!("CREATE DATABASE {target}"), "postgres");
    // restore.sh runs the phase's SQL files beside it, as in deploy/<phase>/sql/.
    let phase_dir = tempfile::tempdir().expect("tmp");
    for (path, text) in files.iter().filter(|(p, _)| !p.contains('/')) {
        std::fs::write(phase_dir.path().join(path), text).expect("write");
    }
    let (ok, out) = run_file(
        &phase_dir.path().join("restore.sh"),
        &s3,
        bucket,
        &[("DATABASE_URL", url(&restore_port, target))],
    );
    assert!(ok, "{out}");
    assert!(out.contains(" facturas      | 12000"), "{out}");
    for q in [
        "SELECT count(*), sum(total) FROM app.facturas",
        "SELECT count(*), sum(monto) FROM app.transacciones",
        "SELECT tenant_id, count(*), sum(total) FROM app.facturas GROUP BY 1 ORDER BY 1",
        "SELECT count(*) FROM app.clientes",
        "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'app.facturas'::regclass",
        "SELECT count(*), string_agg(name, ',' ORDER BY id) FROM ops.migrations",
        "SELECT sum(n) FROM public.facturas_por_tenant",
        "SELECT count(*) FROM public.notas",
        "SELECT conname FROM pg_constraint WHERE conrelid = 'public.notas'::regclass AND contype = 'f'",
    ] {
        assert_eq!(
            on_restore(q, target),
            psql(&source, &["-c", q], None).expect("source"),
            "{q}"
        );
    }

    // A table of the plan's schema that the plan does not declare: restore.sh stops before it
    // changes anything, rather than lose it.
    psql(
        &source,
        &["-c", "CREATE TABLE app.extra (id int PRIMARY KEY)"],
        None,
    )
    .expect("an undeclared table");
    std::thread::sleep(std::time::Duration::from_secs(1)); // a newer backup's name
    back_up();
    let second = "escala_restored_extra";
    on_restore(&format!("DROP DATABASE IF EXISTS {second}"), "postgres");
    on_restore(&format!("CREATE DATABASE {second}"), "postgres");
    let (ok, out) = run_file(
        &phase_dir.path().join("restore.sh"),
        &s3,
        bucket,
        &[("DATABASE_URL", url(&restore_port, second))],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("does not declare") && out.contains("extra"),
        "{out}"
    );
    assert_eq!(
        on_restore(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'app'",
            second
        )
        .trim(),
        "0",
        "nothing changed"
    );

    // A dump that fails leaves nothing in the bucket and fails the job.
    let (ok, out) = run(
        &script,
        &s3,
        bucket,
        &[("DATABASE_URL", url(&port, "no_such_database"))],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("pg_dump failed; nothing kept"), "{out}");
    assert_eq!(s3.objects(bucket, "finanzas/database").len(), 2);
}

#[test]
fn a_volume_archive_round_trips_through_the_bucket() {
    if !conformance("a volume backup to a real S3 server (s3s-fs) with rclone") {
        return;
    }
    let s = systems::ALL[0].1();
    let bucket = "finanzas-backups";
    let s3 = S3::start(bucket);
    let volume = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(volume.path().join("sub")).expect("dir");
    std::fs::write(
        volume.path().join("appendonly.aof"),
        "*2\r\n$6\r\nSELECT\r\n",
    )
    .expect("file");
    std::fs::write(volume.path().join("sub/dump.rdb"), [0u8, 1, 2, 255]).expect("file");
    // The Swarm service's script, without its loop. On Swarm its credentials are
    // mounted secret files (`*_FILE`), which its first lines read back: the variables
    // themselves hold wrong values here, so only the files can make it work.
    let script = job_script(&s, "swarm", "backup-redisdata");
    let (prelude, looped) = script
        .split_once("until ( ")
        .expect("the loop wraps the script");
    assert!(prelude.contains("S3_SECRET_ACCESS_KEY_FILE"), "{prelude}");
    let body = looped
        .split("\n); do echo")
        .next()
        .expect("the loop wraps the script");
    let secrets = tempfile::tempdir().expect("tmp");
    let file = |name: &str, value: &str| {
        let path = secrets.path().join(name);
        std::fs::write(&path, value).expect("secret file");
        path.display().to_string()
    };
    let (ok, out) = run(
        &format!("{prelude}{body}"),
        &s3,
        bucket,
        &[
            ("BACKUP_PATH", volume.path().display().to_string()),
            ("S3_ACCESS_KEY_ID", "not-the-key".into()),
            ("S3_SECRET_ACCESS_KEY", "not-the-secret".into()),
            ("S3_ACCESS_KEY_ID_FILE", file("key-id", S3::KEY)),
            ("S3_SECRET_ACCESS_KEY_FILE", file("secret", S3::SECRET)),
        ],
    );
    assert!(ok, "{out}");
    let archives = s3.objects(bucket, "finanzas/volumes/redisdata");
    assert_eq!(archives.len(), 1, "{archives:?}");
    let back = tempfile::tempdir().expect("tmp");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archives[0])
        .arg("-C")
        .arg(back.path())
        .status()
        .expect("tar");
    assert!(status.success());
    for f in ["appendonly.aof", "sub/dump.rdb"] {
        assert_eq!(
            std::fs::read(back.path().join(f)).expect("restored"),
            std::fs::read(volume.path().join(f)).expect("original"),
            "{f}"
        );
    }
}

#[test]
fn pgbouncer_with_the_generated_configuration_serves_queries() {
    if !conformance(
        "Debian's pgbouncer with the generated pgbouncer.ini, in front of a real PostgreSQL",
    ) {
        return;
    }
    let pgbouncer =
        std::env::var("ESCALA_PGBOUNCER").unwrap_or_else(|_| "/usr/sbin/pgbouncer".into());
    assert!(
        Path::new(&pgbouncer).is_file(),
        "{pgbouncer} is missing (.ci/run installs Debian's pgbouncer)"
    );
    let s = systems::cluster();
    let checked = s.check().expect("checks");
    // The configuration as every engine gets it: the pooler's environment in the model.
    let plan = checked.plan("staging").expect("phase");
    let pooler = plan.service(&"pgbouncer".into()).expect("a pooler");
    let Some(Env::Literal(ini)) = pooler.env.get("PGBOUNCER_INI") else {
        panic!("the ini is in the environment");
    };
    assert!(
        ini.contains("pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n"),
        "{ini}"
    );
    // Here, the database service `db` is this machine's server, the secret is a file of this
    // test, and the port is a free one: the three things an engine would provide.
    let pg_port = std::env::var("ESCALA_PG_PORT").unwrap_or_else(|_| "5432".into());
    let host = std::env::var("ESCALA_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let dir = tempfile::tempdir().expect("tmp");
    let userlist = dir.path().join("userlist.txt");
    std::fs::write(&userlist, "\"events\" \"pooled-secret\"\n").expect("userlist");
    let port = free_port();
    let ini = ini
        .replace("host=db port=5432", &format!("host={host} port={pg_port}"))
        .replace("listen_port = 6432", &format!("listen_port = {port}"))
        .replace(
            "/run/secrets/pgbouncer-userlist",
            userlist.to_str().expect("utf-8"),
        );
    let file = dir.path().join("pgbouncer.ini");
    std::fs::write(&file, &ini).expect("ini");
    // pgbouncer refuses to run as root; as root, it drops to `postgres`.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if root {
        for p in [dir.path(), userlist.as_path(), file.as_path()] {
            let _ = Command::new("chmod").arg("a+rX").arg(p).status();
        }
    }
    let db = fresh_db("events");
    psql(&db, &["-c", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'events') THEN CREATE ROLE events LOGIN; END IF; END $$", "-c", "CREATE TABLE t (n int)", "-c", "INSERT INTO t SELECT generate_series(1, 100)", "-c", "GRANT SELECT ON t TO events"], None).expect("setup");
    let mut cmd = Command::new(&pgbouncer);
    if root {
        cmd.args(["-u", "postgres"]);
    }
    let mut child = cmd
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgbouncer starts");
    // A client of the pooler: `events` with `password`.
    let through = |password: &str, sql: &str| {
        Command::new("psql")
            .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-U", "events", "-d", "events", "-c", sql])
            .env("PGPASSWORD", password)
            .output()
            .expect("psql")
    };
    let mut answered = None;
    for _ in 0..100 {
        let out = through(
            "pooled-secret",
            "BEGIN; SELECT count(*), sum(n) FROM t; COMMIT;",
        );
        if out.status.success() {
            answered = Some(String::from_utf8_lossy(&out.stdout).into_owned());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let wrong = through("not-the-password", "SELECT 1");
    let _ = child.kill();
    let stderr = child
        .wait_with_output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default();
    let answered = answered.unwrap_or_else(|| panic!("pgbouncer never answered: {stderr}"));
    assert!(answered.contains("100|5050"), "{answered}");
    assert!(!wrong.status.success(), "a wrong password is refused");
}

/// A throwaway PostgreSQL server with password (SCRAM) authentication, run as `postgres` when
/// the tests run as root (initdb refuses root), stopped when dropped.
struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    root: bool,
}

fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("ESCALA_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("PostgreSQL's server binaries under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// `program args…`, as `postgres` when root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn must(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}: {text}");
    text
}

impl Server {
    fn start(data: PathBuf, port: u16) -> Server {
        let s = Server {
            bin: pg_bin(),
            data,
            port,
            root: is_root(),
        };
        let socket = s.data.parent().expect("parent").to_path_buf();
        must(
            as_postgres(&s.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&s.data)
                .arg("-l")
                .arg(s.data.with_extension("log"))
                .arg("-w")
                .arg("-o")
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1",
                    socket.display()
                ))
                .arg("start"),
            "pg_ctl start",
        );
        s
    }

    fn psql(&self, password: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", password)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = self.root;
    }
}

#[test]
fn a_replica_started_from_the_generated_scripts_follows_the_primary() {
    if !conformance(
        "a streaming read replica from the generated scripts, on real PostgreSQL servers",
    ) {
        return;
    }
    let s = systems::cluster();
    let checked = s.check().expect("checks");
    let plan = checked.plan("staging").expect("phase");
    let script = |name: &str, entrypoint: bool| {
        let svc = plan.service(&name.into()).expect("derived service");
        let argv = if entrypoint {
            &svc.entrypoint
        } else {
            &svc.command
        };
        assert_eq!(argv[..2], ["sh", "-c"]);
        argv[2].clone()
    };
    let setup = script("replication-setup", false);
    let replica = script("db-replica", true);
    assert!(
        replica.ends_with("exec docker-entrypoint.sh postgres"),
        "{replica}"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().to_path_buf();
    if is_root() {
        must(Command::new("chown").arg("postgres").arg(&base), "chown");
    }
    let pwfile = base.join("pw");
    std::fs::write(&pwfile, "primary-secret\n").expect("pw");
    let secret = base.join("replication-password");
    std::fs::write(&secret, "replica-secret\n").expect("secret");
    for f in [&pwfile, &secret] {
        must(Command::new("chmod").arg("644").arg(f), "chmod");
    }
    let bin = pg_bin();
    must(
        as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(base.join("primary"))
            .args(["-U", "postgres", "-A", "scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())),
        "initdb",
    );
    let port = free_port();
    let primary = Server::start(base.join("primary"), port);

    // The engine would provide: the host `db`, the secret file, the superuser's password.
    let local = |text: &str| {
        text.replace(
            "PGHOST=db PGPORT=5432",
            &format!("PGHOST=127.0.0.1 PGPORT={port}"),
        )
        .replace("-h db -p 5432", &format!("-h 127.0.0.1 -p {port}"))
        .replace(
            "/run/secrets/replication-password",
            secret.to_str().expect("utf-8"),
        )
    };
    for run in 1..=2 {
        let out = must(
            Command::new("sh")
                .arg("-c")
                .arg(local(&setup))
                .env("POSTGRES_USER", "postgres")
                .env("POSTGRES_PASSWORD", "primary-secret"),
            "replication-setup",
        );
        assert!(
            out.contains("replicator may replicate from db"),
            "run {run}: {out}"
        );
    }
    let hba = primary
        .psql("primary-secret", "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY (database) AND 'replicator' = ANY (user_name)")
        .expect("hba");
    assert_eq!(hba, "1", "one rule, however often the job runs");

    // The replica: its base backup, then a server on its data directory.
    let data = base.join("replica");
    let first_start = local(&replica).replace("exec docker-entrypoint.sh postgres", "exit 0");
    let mut backup = as_postgres(Path::new("/bin/sh"));
    backup.arg("-c").arg(&first_start).env("PGDATA", &data);
    must(&mut backup, "the replica's base backup");
    assert!(data.join("standby.signal").is_file(), "a standby");
    let replica_port = free_port();
    let standby = Server::start(data, replica_port);
    assert_eq!(
        standby
            .psql("primary-secret", "SELECT pg_is_in_recovery()")
            .expect("replica"),
        "t"
    );
    primary
        .psql(
            "primary-secret",
            "CREATE TABLE reports (n int); INSERT INTO reports VALUES (42)",
        )
        .expect("write on the primary");
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(v) = standby.psql("primary-secret", "SELECT n FROM reports") {
            seen = v;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        seen, "42",
        "the row written on the primary is read on the replica"
    );
    assert!(
        standby
            .psql("primary-secret", "INSERT INTO reports VALUES (1)")
            .is_err(),
        "the replica is read-only"
    );
}

#[test]
fn database_services_are_checked() {
    use escala::{codes, Severity};
    let found = |s: &System| -> Vec<(String, String, Severity)> {
        let d = match s.check() {
            Ok(c) => c.warnings().clone(),
            Err(d) => d,
        };
        d.iter()
            .map(|x| (x.code.clone(), x.path.clone(), x.severity))
            .collect()
    };
    let has = |f: &[(String, String, Severity)], code: &str, path: &str, sev: Severity| {
        assert!(
            f.iter()
                .any(|(c, p, s)| c == code && p == path && *s == sev),
            "{code} at {path}: {f:?}"
        );
    };
    // The fixture is clean.
    let clean = found(&systems::cluster());
    assert!(
        clean
            .iter()
            .all(|(c, _, _)| !c.starts_with("escala::db::") && !c.starts_with("escala::backup::")),
        "{clean:?}"
    );
    let mut s = systems::cluster();
    if let Some(db) = s.database.as_mut() {
        db.cluster = Some(CitusCluster::workers(0));
        if let Some(p) = db.pooler.as_mut() {
            p.userlist = "pgbouncer-users".into();
            p.default_pool_size = 0;
        }
        if let Some(r) = db.replica.as_mut() {
            r.password = "nope".into();
        }
    }
    s = s
        .service(
            Service::builder()
                .name("citus-nodes")
                .image("busybox:1.37")
                .build(),
        )
        .service(
            Service::builder()
                .name("pgbouncer")
                .image("busybox:1.37")
                .build(),
        )
        .backups(
            Backups::s3(
                "https://s3.example",
                "b",
                Env::literal("AKIA…"),
                Env::secret("s3-secret"),
                "ghcr.io/acme/pg-backup:18",
            )
            .schedule("daily")
            .keep_days(0),
        );
    let f = found(&s);
    has(
        &f,
        codes::DB_CLUSTER,
        "database.cluster.workers",
        Severity::Error,
    );
    has(
        &f,
        codes::DB_CLUSTER,
        "services.citus-nodes",
        Severity::Error,
    );
    has(
        &f,
        codes::REF_UNKNOWN,
        "database.pooler.userlist",
        Severity::Error,
    );
    has(&f, codes::DB_POOLER, "database.pooler", Severity::Error);
    has(&f, codes::DB_POOLER, "services.pgbouncer", Severity::Error);
    has(
        &f,
        codes::REF_UNKNOWN,
        "database.replica.password",
        Severity::Error,
    );
    has(&f, codes::BACKUP, "backups.access_key_id", Severity::Error);
    has(
        &f,
        codes::REF_UNKNOWN,
        "backups.secret_access_key",
        Severity::Error,
    );
    has(&f, codes::BACKUP, "backups.schedule", Severity::Error);
    has(&f, codes::BACKUP, "backups.keep_days", Severity::Error);
    has(
        &f,
        codes::BACKUP_SKIPPED,
        "backups.database_url",
        Severity::Warning,
    );
}

#[test]
fn each_engine_gets_the_cluster_the_pooler_and_the_replica() {
    let model = systems::cluster();
    let checked = model.check().expect("checks");
    for phase in ["staging", "swarm", "k8s"] {
        let plan = checked.plan(phase).expect("phase");
        let names: Vec<&str> = plan.services().iter().map(|s| s.name.as_str()).collect();
        for expected in [
            "db",
            "db-worker-1",
            "db-worker-2",
            "citus-nodes",
            "pgbouncer",
            "replication-setup",
            "db-replica",
            "partition-upkeep",
        ] {
            assert!(names.contains(&expected), "{phase}: {names:?}");
        }
        let volumes: Vec<&str> = plan.volumes().map(|v| v.name.as_str()).collect();
        assert_eq!(
            volumes,
            [
                "dbdata",
                "dbdata-worker-1",
                "dbdata-worker-2",
                "dbdata-replica"
            ],
            "{phase}"
        );
        let w2 = plan.service(&"db-worker-2".into()).expect("worker");
        assert_eq!(w2.image.as_deref(), Some("citusdata/citus:13.2"));
        match phase {
            "swarm" => assert_eq!(
                w2.placement.labels.get("citus-worker").map(String::as_str),
                Some("2"),
                "pinned to its labelled node"
            ),
            _ => assert!(w2.placement.labels.is_empty()),
        }
        let script = &plan.service(&"citus-nodes".into()).expect("job").command[2];
        assert!(
            script.contains("SELECT citus_add_node('db-worker-2', 5432);"),
            "{script}"
        );
        assert!(
            script.contains("'password=' || :'pw'"),
            "the password comes from the secret at run time: {script}"
        );
        let api = plan.service(&"api".into()).expect("api");
        assert_eq!(api.env.get("PGHOST"), Some(&Env::literal("pgbouncer")));
        assert_eq!(api.env.get("PGPORT"), Some(&Env::literal("6432")));
    }
}

#[test]
fn backup_jobs_reach_the_bucket_and_the_volume_they_copy() {
    let s = systems::ALL[0].1();
    let checked = s.check().expect("checks");
    let swarm = checked.plan("swarm").expect("phase");
    let db_job = swarm.service(&"backup-database".into()).expect("job");
    // `data` is internal (no way out): the job also joins `edge` to reach the bucket.
    assert_eq!(db_job.networks, ["data", "edge"]);
    let volume_job = swarm.service(&"backup-redisdata".into()).expect("job");
    assert!(
        volume_job.networks.is_empty(),
        "the engine's default network"
    );
    assert_eq!(
        volume_job.placement,
        swarm.service(&"redis".into()).expect("redis").placement,
        "beside the volume it copies"
    );
    assert!(volume_job.mounts.iter().all(|m| m.read_only));
    // On Kubernetes: the StatefulSet's one claim, read-only, on the same node.
    let k3s = escala::targets::kubernetes::Kubernetes::default()
        .render(&crate::support::as_the_cli_does(
            checked.plan("k3s").expect("phase"),
        ))
        .expect("renders");
    let cronjob = k3s
        .get("backup-redisdata-cronjob.yaml")
        .expect("a CronJob for the redis volume");
    assert!(
        cronjob.contains("claimName: \"redisdata-redis-0\"\n                readOnly: true"),
        "{cronjob}"
    );
    assert!(cronjob.contains("podAffinity:"), "{cronjob}");
    assert!(cronjob.contains("io.kompose.service: \"redis\"\n                  topologyKey: \"kubernetes.io/hostname\""), "{cronjob}");
}

/// On compose and Swarm the backup and upkeep services run at the schedule's times when it is
/// a fixed period; any other schedule runs daily, and the targets say so.
#[test]
fn a_schedule_compose_and_swarm_cannot_keep_is_reported() {
    for (schedule, warned) in [("30 2 * * *", false), ("0 3 1 * *", true)] {
        let mut s = systems::ALL[0].1();
        s.backups.as_mut().expect("backups").schedule = schedule.into();
        let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
        for phase in ["single-node", "swarm"] {
            let plan = checked.plan(phase).expect("phase");
            let mut d = escala::Diagnostics::new();
            for t in escala::targets::all()
                .iter()
                .filter(|t| t.accepts(plan.phase()))
            {
                t.check(&plan, &mut d);
            }
            let found = d.iter().any(|x| x.path == "backups.schedule");
            assert_eq!(found, warned, "{schedule} in {phase}: {d}");
        }
    }
}

/// A service's `DATABASE_URL` through the model: the pooler when there is one, the database
/// service otherwise, never a password.
#[test]
fn the_pooled_url_names_the_pooler_and_no_password() {
    let db = Database::new("postgres", "app");
    assert_eq!(
        db.pooled_url("app", "finanzas"),
        Env::literal("postgresql://app@postgres:5432/finanzas")
    );
    let pooled = db.pooler(Pooler::pgbouncer(
        "registry.example.com/pgbouncer:1.23",
        ["finanzas"],
        "pgbouncer-userlist",
    ));
    assert_eq!(
        pooled.pooled_url("app", "finanzas"),
        Env::literal("postgresql://app@pgbouncer:6432/finanzas")
    );
}

#[test]
fn names_escala_derives_are_never_given_twice() {
    use crate::support::errors_at as errors;
    use escala::codes;
    // A volume named like the replica's copy of the database's volume.
    let s = systems::cluster().volume(Volume::builder().name("dbdata-replica").build());
    let i = s.volumes.len() - 1;
    assert_eq!(
        errors(&s),
        [(codes::NAME_DUPLICATE.to_owned(), format!("volumes[{i}]"))]
    );
    // A backed-up volume named `database`: its job would be a second `backup-database`.
    let mut s = crate::support::with_s3_backups(systems::cluster())
        .secret(Secret::from_env("backup-url", "BACKUP_URL"));
    if let Some(b) = s.backups.take() {
        s = s.backups(b.database_url(Env::secret("backup-url")));
    }
    let mut s = s
        .volume(Volume::builder().name("database").backup(true).build())
        .service(
            Service::builder()
                .name("files")
                .image("busybox:1.37")
                .mounts([Mount::volume("database", "/data")])
                .build(),
        );
    assert!(s.check().is_err());
    let found = errors(&s);
    assert!(
        found
            .iter()
            .any(|(c, p)| c == codes::NAME_DUPLICATE && p.starts_with("phases.")),
        "{found:?}"
    );
    // Without the clash the same model is clean of it.
    s.volumes.last_mut().expect("volume").name = "files".into();
    s.services.last_mut().expect("service").mounts = vec![Mount::volume("files", "/data")];
    assert!(
        !errors(&s).iter().any(|(c, _)| c == codes::NAME_DUPLICATE),
        "{:?}",
        errors(&s)
    );
}
