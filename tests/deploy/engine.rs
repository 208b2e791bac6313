//! The Docker Engine the deploy tests drive: the `docker` CLI on `PATH`, talking to a
//! `dockerd` in Swarm mode (`.ci/run` starts one and runs `docker swarm init`), and the two
//! images `tests/deploy/images.sh` builds here (nothing can be pulled).
//!
//! Everything a test creates carries its stack's name, and [`Stack`]'s `Drop` removes it
//! (services, networks, configs, secrets, volumes) even when the test fails; nothing else on
//! the engine is touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::root;

/// The small image: Debian's busybox-static (sh, httpd, wget, nc) and a user `app` (1000).
pub const BUSYBOX: &str = "escala-test/busybox:1";
/// The data image: Debian bookworm with postgresql-15 and redis-server; its entrypoint
/// follows the official postgres image's `POSTGRES_PASSWORD_FILE` contract.
pub const DATA: &str = "escala-test/data:1";

/// Runs `docker` with `args`, returning its output whatever its status.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `docker`: {e}"))
}

/// Runs `docker` and returns its standard output, failing the test on a non-zero exit.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "`docker {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks, once per test run, that the engine answers, is a Swarm manager, and holds the test
/// images (building them with `images.sh` when they are missing or stale). Panics with what
/// to do when something is missing: these tests run only under `ESCALA_CONFORMANCE=1`.
pub fn ready() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let state = READY.get_or_init(|| {
        let info = docker(&["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"]);
        if !info.status.success() {
            return Err(format!(
                "no Docker engine answers (`docker info`: {}); start dockerd as root (`.ci/run` does)",
                String::from_utf8_lossy(&info.stderr).trim()
            ));
        }
        let state = String::from_utf8_lossy(&info.stdout).trim().to_owned();
        if state != "active true" {
            return Err(format!(
                "the engine is not a Swarm manager (`{state}`); run `docker swarm init --advertise-addr 127.0.0.1`"
            ));
        }
        let script = root().join("tests/deploy/images.sh");
        let built = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !built.status.success() {
            return Err(format!(
                "{} failed: {}{}",
                script.display(),
                String::from_utf8_lossy(&built.stdout),
                String::from_utf8_lossy(&built.stderr)
            ));
        }
        Ok(())
    });
    if let Err(e) = state {
        panic!("{e}");
    }
}

/// A stack deployed by a test, removed with everything it made when dropped.
pub struct Stack {
    /// The stack's name (`docker stack deploy … <name>`), also the system's name.
    pub name: String,
    /// The folder holding `stack.yml` and the files it names.
    pub dir: PathBuf,
    /// The external secrets the test created the way `stack.env.example` says.
    secrets: Vec<String>,
}

impl Stack {
    /// A stack named `name` whose files are in `dir`; nothing is deployed yet.
    pub fn new(name: &str, dir: &Path) -> Stack {
        Stack {
            name: name.to_owned(),
            dir: dir.to_owned(),
            secrets: Vec::new(),
        }
    }

    /// Creates the secrets `stack.env.example` lists, as a user would: each commented line
    /// `#   printf '%s' "$VAR" | docker secret create NAME -`, without its `#`, run by a shell
    /// whose environment holds `vars`.
    pub fn create_secrets(&mut self, vars: &[(&str, &str)]) {
        let example = std::fs::read_to_string(self.dir.join("stack.env.example"))
            .expect("stack.env.example is written beside stack.yml");
        let lines: Vec<&str> = example
            .lines()
            .filter(|l| l.contains("docker secret create"))
            .map(|l| l.trim_start_matches('#').trim())
            .collect();
        assert!(
            !lines.is_empty(),
            "stack.env.example names no secret to create:\n{example}"
        );
        for line in lines {
            let name = line
                .split("docker secret create ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("a secret name");
            // Registered before it exists, so a failure half-way still removes it.
            self.secrets.push(name.to_owned());
            let mut sh = Command::new("sh");
            sh.arg("-c").arg(line).current_dir(&self.dir);
            for (k, v) in vars {
                sh.env(k, v);
            }
            let out = sh.output().expect("sh runs");
            assert!(
                out.status.success(),
                "`{line}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `docker stack deploy -c <file> <name>`, from the stack's folder.
    pub fn deploy(&self, file: &str) {
        let out = Command::new("docker")
            .args(["stack", "deploy", "-c", file, &self.name])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("docker runs");
        assert!(
            out.status.success(),
            "`docker stack deploy -c {file} {}` failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The stack's full name of `service`.
    pub fn service(&self, service: &str) -> String {
        format!("{}_{service}", self.name)
    }

    /// Waits (at most `limit`) until every service of the stack runs all its replicas and
    /// every running container with a health check is healthy. Fails with the services'
    /// state and their tasks' errors when the time runs out.
    pub fn wait_converged(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            let (done, report) = self.convergence();
            if done {
                return;
            }
            if start.elapsed() > limit {
                panic!(
                    "stack {} did not converge in {limit:?}:\n{report}\n{}",
                    self.name,
                    self.task_errors()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn filter(&self) -> String {
        format!("label=com.docker.stack.namespace={}", self.name)
    }

    /// Whether the stack has converged, and its state as text.
    fn convergence(&self) -> (bool, String) {
        let services = docker_ok(&[
            "service",
            "ls",
            "--filter",
            &self.filter(),
            "--format",
            "{{.Name}} {{.Replicas}}",
        ]);
        let mut done = !services.trim().is_empty();
        for line in services.lines() {
            let replicas = line.split_whitespace().nth(1).unwrap_or("");
            // Replicated: `2/2`; a finished job: `0/1 (1/1 completed)`.
            let ok = match replicas.split_once('/') {
                Some((running, wanted)) => running == wanted && running != "0",
                None => false,
            } || line.contains("completed)");
            done &= ok;
        }
        let containers = docker_ok(&[
            "ps",
            "--filter",
            &self.filter(),
            "--format",
            "{{.Names}} {{.Status}}",
        ]);
        for line in containers.lines() {
            if line.contains("health: starting") || line.contains("(unhealthy)") {
                done = false;
            }
        }
        (done, format!("{services}{containers}"))
    }

    /// The errors of the stack's tasks that did not run, for a failure message.
    fn task_errors(&self) -> String {
        let mut text = String::new();
        let services = docker_ok(&[
            "service",
            "ls",
            "--filter",
            &self.filter(),
            "--format",
            "{{.Name}}",
        ]);
        for s in services.lines() {
            let out = docker(&[
                "service",
                "ps",
                s,
                "--no-trunc",
                "--format",
                "{{.Name}} {{.CurrentState}} {{.Error}}",
            ]);
            text.push_str(&String::from_utf8_lossy(&out.stdout));
            let logs = docker(&["service", "logs", "--raw", "--tail", "20", s]);
            text.push_str(&String::from_utf8_lossy(&logs.stdout));
            text.push_str(&String::from_utf8_lossy(&logs.stderr));
        }
        text
    }

    /// `docker service inspect --format <format>` of the stack's `service`, trimmed.
    pub fn inspect(&self, service: &str, format: &str) -> String {
        docker_ok(&[
            "service",
            "inspect",
            &self.service(service),
            "--format",
            format,
        ])
        .trim()
        .to_owned()
    }

    /// The id of one running container of `service`.
    pub fn container(&self, service: &str) -> String {
        self.containers(service)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no running container of {}", self.service(service)))
    }

    /// The ids of the running containers of `service`.
    pub fn containers(&self, service: &str) -> Vec<String> {
        docker_ok(&[
            "ps",
            "-q",
            "--filter",
            &format!(
                "label=com.docker.swarm.service.name={}",
                self.service(service)
            ),
        ])
        .split_whitespace()
        .map(str::to_owned)
        .collect()
    }

    /// Runs `sh -c script` in a running container of `service`, as the container's own user.
    pub fn exec(&self, service: &str, script: &str) -> Output {
        docker(&["exec", &self.container(service), "sh", "-c", script])
    }

    /// As [`Stack::exec`], failing the test unless the script exits 0; its standard output.
    pub fn exec_ok(&self, service: &str, script: &str) -> String {
        let out = self.exec(service, script);
        assert!(
            out.status.success(),
            "`{script}` in {} failed: {}{}",
            self.service(service),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What is left of the stack on the engine: services, networks, configs, secrets and
    /// volumes carrying its namespace label, plus the external secrets the test created.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for kind in ["service", "network", "config", "secret", "volume"] {
            let out = docker(&[kind, "ls", "-q", "--filter", &self.filter()]);
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                left.push(format!("{kind} {id}"));
            }
        }
        for s in &self.secrets {
            if docker(&["secret", "inspect", s]).status.success() {
                left.push(format!("secret {s}"));
            }
        }
        left
    }

    /// `docker stack rm`, then waits (bounded) until its services, tasks and networks are
    /// gone. Returns what `docker stack rm` printed.
    pub fn remove(&self) -> String {
        let out = docker(&["stack", "rm", &self.name]);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let services = docker(&["service", "ls", "-q", "--filter", &self.filter()]);
            let networks = docker(&["network", "ls", "-q", "--filter", &self.filter()]);
            let containers = docker(&["ps", "-aq", "--filter", &self.filter()]);
            if [services, networks, containers]
                .iter()
                .all(|o| o.stdout.iter().all(u8::is_ascii_whitespace))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Removes the stack's volumes and the external secrets the test created: the two things
    /// `docker stack rm` leaves on purpose (data and secrets outlive a stack).
    pub fn remove_kept(&self) {
        let volumes = docker(&["volume", "ls", "-q", "--filter", &self.filter()]);
        for v in String::from_utf8_lossy(&volumes.stdout).split_whitespace() {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
        for s in &self.secrets {
            let _ = docker(&["secret", "rm", s]);
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::env::var_os("ESCALA_DEPLOY_KEEP").is_some() {
            eprintln!(
                "ESCALA_DEPLOY_KEEP is set: stack {} is left running",
                self.name
            );
            return;
        }
        self.remove();
        self.remove_kept();
    }
}
