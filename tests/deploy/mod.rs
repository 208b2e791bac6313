//! What escala writes runs: Swarm stack files deployed on a real Docker Engine in Swarm mode.
//!
//! A test system written with escala (the shapes of the finanzas example, on images built
//! here from Debian's packages, see `images.sh`) is rendered by the Swarm target, its secrets
//! created the way `stack.env.example` says, deployed with `docker stack deploy`, and checked
//! from inside its containers. Run only with `ESCALA_CONFORMANCE=1`; then a missing engine
//! fails the test. The sandbox's limits (virtual-IP service addresses do not route here) are
//! in the book's testing page: the test that checks reachability by service name deploys with
//! `endpoint_mode: dnsrr` and says so; the other runs the files exactly as written.

mod engine;

use std::path::Path;
use std::time::Duration as Wait;

use escala::prelude::*;
use escala::targets::swarm::Swarm;
use escala::{Diagnostics, Target};

use crate::support::conformance;
use engine::{docker_ok, Stack, BUSYBOX, DATA};

/// The database password the tests put in the secret's variable.
const PASSWORD: &str = "s3cret-from-the-env";
/// The content of the file secret the web service reads as user 1000.
const TOKEN: &str = "token-from-a-file";
/// How long a stack may take to converge (images are local; health checks run every 2 s).
const CONVERGE: Wait = Wait::from_secs(180);

fn quick(h: HealthCheck) -> HealthCheck {
    h.interval(Duration::secs(2))
        .timeout(Duration::secs(2))
        .retries(15)
}

/// The test system: a routed web service (two replicas, a health check, a config file and a
/// file secret, running as uid 1000 on a read-only root, on an internal network of its own
/// before the edge network), a worker, PostgreSQL with its
/// password from a secret, its data in a volume and a 256 MiB `/dev/shm`, pinned to the
/// manager, Redis, an edge
/// network the proxy shares with the web service, and an internal, encrypted network for the
/// data.
fn system(name: &str, page: &str, proxy_port: u16) -> System {
    System::new(name)
        .service(
            Service::builder()
                .name("web")
                .image(BUSYBOX)
                .command([
                    "sh",
                    "-c",
                    "mkdir -p /tmp/www && echo ok > /tmp/www/healthz && cp /etc/web/index.html /tmp/www/ && exec httpd -f -p 8080 -h /tmp/www",
                ])
                .ports([Port::tcp(8080).named("http")])
                .replicas(2)
                .health(quick(HealthCheck::http("/healthz", 8080)))
                .user("1000")
                .read_only_root(true)
                .mounts([Mount::tmpfs("/tmp")])
                .configs([ConfigMount::new("page", "/etc/web/index.html")])
                .secrets(["web-token"])
                // An internal network first: the proxy is not on it, so Traefik's label must
                // name `edge`, the network they share, not the first one.
                .networks(["private", "edge"])
                .build(),
        )
        .service(
            // A stand-in for Traefik (no Traefik image can be made here): on the edge network
            // only, it fetches from the web tasks what Traefik would, where its labels say,
            // and answers on a port published in host mode, as an edge proxy does.
            Service::builder()
                .name("proxy")
                .image(BUSYBOX)
                .command([
                    "sh",
                    "-c",
                    "mkdir -p /tmp/p && echo proxy > /tmp/p/index.html && exec httpd -f -p 8000 -h /tmp/p",
                ])
                .ports([Port::tcp(8000).publish(proxy_port).host_mode()])
                .networks(["edge"])
                .build(),
        )
        .service(
            Service::builder()
                .name("worker")
                .image(DATA)
                .command(["sh", "-c", "while true; do sleep 5; done"])
                .env([
                    ("PGHOST", Env::literal("db")),
                    ("PGPASSWORD_FILE", Env::secret_file("db-password")),
                    ("REDIS_HOST", Env::literal("redis")),
                ])
                // What a worker asks of the runtime, each checked inside its container.
                .init(true)
                .working_dir("/var/tmp")
                .stop_grace_period(Duration::secs(20))
                .extra_hosts([("legacy.internal", "10.1.2.3")])
                .sysctls([("net.core.somaxconn", "1024")])
                .ulimits([("nofile", Ulimit::new(4096, 8192))])
                .networks(["back"])
                .build(),
        )
        .service(
            Service::builder()
                .name("db")
                .image(DATA)
                .env([(
                    "POSTGRES_PASSWORD_FILE",
                    Env::literal("/run/secrets/db-password"),
                )])
                .secrets(["db-password"])
                .mounts([Mount::volume("pgdata", "/var/lib/postgresql/data")])
                .shm_size(ByteSize::mib(256))
                .health(quick(HealthCheck::command(["pg_isready", "-h", "127.0.0.1"])))
                .placement(Placement::anywhere().role(NodeRole::Manager))
                .workload(Workload::Stateful)
                .networks(["back"])
                .build(),
        )
        .service(
            Service::builder()
                .name("redis")
                .image(DATA)
                .command(["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"])
                .health(quick(HealthCheck::command(["redis-cli", "ping"])))
                .networks(["back"])
                .build(),
        )
        .volume(Volume::builder().name("pgdata").build())
        .network(Network::builder().name("edge").build())
        .network(Network::builder().name("private").internal(true).build())
        .network(
            Network::builder()
                .name("back")
                .internal(true)
                .encrypted(true)
                .build(),
        )
        .secret(Secret::from_env("db-password", "E2E_DB_PASSWORD"))
        .secret(Secret::from_file("web-token", "./web-token.txt"))
        .config(Config::inline("page", page))
        .proxy("proxy")
        .route(
            Route::builder()
                .host("web.e2e.test")
                .service("web")
                .port(8080)
                .tls(None)
                .build(),
        )
        .phase(
            Phase::new("swarm", Engine::Swarm).node(
                Node::builder()
                    .name("manager")
                    .role(NodeRole::Manager)
                    .cpu(Cpu::cores(2))
                    .memory(ByteSize::gib(4))
                    .build(),
            ),
        )
}

/// Checks `system` as `build` does (no error), renders its Swarm files laid out as
/// `build --out <project>/deploy` does, and writes them; returns the stack's folder.
fn render(system: &System, project: &Path) -> std::path::PathBuf {
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked
        .plan("swarm")
        .expect("phase")
        .with_project_root("../../..");
    let mut diags = Diagnostics::new();
    Swarm::new().check(&plan, &mut diags);
    assert!(!diags.has_errors(), "{diags}");
    let dir = project.join("deploy/swarm/swarm");
    for (path, text) in Swarm::new().render(&plan).expect("renders").iter() {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
    std::fs::write(project.join("web-token.txt"), TOKEN).expect("write");
    dir
}

/// A stack name no other run on this engine uses.
fn unique(what: &str) -> String {
    format!("e2e-{what}-{}", std::process::id())
}

/// The value of the label `key` on the deployed service `service`.
fn label(stack: &Stack, service: &str, key: &str) -> String {
    stack.inspect(service, &format!("{{{{index .Spec.Labels \"{key}\"}}}}"))
}

/// The stack files exactly as written: converge with healthy replicas; secrets and configs
/// readable by the service's user; PostgreSQL takes the password from the secret; the web
/// service answers on the network and port its Traefik labels name; the database's volume
/// survives a forced update; a changed config rolls the service; `docker stack rm` leaves
/// only what it keeps on purpose.
#[test]
fn the_stack_runs_as_written() {
    if !conformance("deploy the Swarm stack on a real Docker engine") {
        return;
    }
    engine::ready();
    let project = tempfile::tempdir().expect("tmp");
    let name = unique("run");
    let proxy_port = free_port();
    let dir = render(
        &system(&name, "<h1>first</h1>\n", proxy_port),
        project.path(),
    );
    let mut stack = Stack::new(&name, &dir);
    stack.create_secrets(&[("E2E_DB_PASSWORD", PASSWORD)]);
    stack.deploy("stack.yml");
    stack.wait_converged(CONVERGE);

    // Two healthy web replicas, running as the user the model says.
    let webs = stack.containers("web");
    assert_eq!(webs.len(), 2, "web runs two replicas");
    assert_eq!(stack.exec_ok("web", "id -u").trim(), "1000");
    // Secrets and configs at their paths, readable by that user.
    assert_eq!(stack.exec_ok("web", "cat /run/secrets/web-token"), TOKEN);
    assert_eq!(
        stack.exec_ok("web", "cat /etc/web/index.html"),
        "<h1>first</h1>\n"
    );
    assert_eq!(
        stack.exec_ok("db", "cat /run/secrets/db-password"),
        PASSWORD
    );

    // The proxy's port, published in host mode, answers on the node's own address (the
    // routing mesh, which ingress mode uses, does not route in this sandbox).
    assert_eq!(http_get(proxy_port, "/index.html"), "proxy\n");

    // No service's spec holds a secret's value (what `docker service inspect` shows).
    for service in ["web", "proxy", "worker", "db", "redis"] {
        let spec = docker_ok(&["service", "inspect", &stack.service(service)]);
        assert!(
            !spec.contains(PASSWORD) && !spec.contains(TOKEN),
            "{service}'s spec holds a secret's value"
        );
    }
    assert_eq!(
        stack.exec_ok("worker", "cat \"$PGPASSWORD_FILE\""),
        PASSWORD,
        "Env::secret_file mounts the secret where its variable says"
    );

    // PostgreSQL took its password from the secret, and refuses another one.
    let psql = |password: &str, sql: &str| {
        format!("PGPASSWORD='{password}' psql -h 127.0.0.1 -U postgres -X -q -t -A -c \"{sql}\"")
    };
    assert_eq!(stack.exec_ok("db", &psql(PASSWORD, "select 1")).trim(), "1");
    let wrong = stack.exec("db", &psql("not-the-secret", "select 1"));
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // What Traefik does: from the proxy, on the network the label names, fetch from each web
    // task at the label's port (Traefik's swarm provider uses the tasks' addresses there).
    let network = label(&stack, "web", "traefik.swarm.network");
    let port = label(
        &stack,
        "web",
        &format!("traefik.http.services.{name}-web-0.loadbalancer.server.port"),
    );
    let address = |container: &str| {
        docker_ok(&[
            "inspect",
            container,
            "--format",
            &format!("{{{{with index .NetworkSettings.Networks \"{network}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}"),
        ])
        .trim()
        .to_owned()
    };
    assert!(
        !address(&stack.container("proxy")).is_empty(),
        "the proxy is not on {network}, the network web's Traefik labels name: Traefik would answer 502"
    );
    assert_eq!(
        (network.as_str(), port.as_str()),
        (format!("{name}_edge").as_str(), "8080")
    );
    for web in &webs {
        let url = format!("http://{}:{port}/index.html", address(web));
        let page = stack.exec_ok("proxy", &format!("timeout 5 wget -q -O - {url}"));
        assert_eq!(page, "<h1>first</h1>\n", "{url}");
    }

    // The worker's runtime settings, as the engine applied them.
    assert_eq!(stack.exec_ok("worker", "pwd").trim(), "/var/tmp");
    assert_eq!(
        stack.exec_ok("worker", "cat /proc/1/comm").trim(),
        "docker-init"
    );
    assert_eq!(
        stack
            .exec_ok("worker", "getent hosts legacy.internal")
            .split_whitespace()
            .next(),
        Some("10.1.2.3")
    );
    assert_eq!(
        stack
            .exec_ok("worker", "cat /proc/sys/net/core/somaxconn")
            .trim(),
        "1024"
    );
    // The limits reach the service and its container. Inside, the hard limit is the
    // model's; the soft one read through `docker exec` was once 8192 in CI (the exec'd
    // process, not the container's own, on Engine 20.10), so PID 1's is read instead.
    assert_eq!(
        stack.inspect(
            "worker",
            "{{range .Spec.TaskTemplate.ContainerSpec.Ulimits}}{{.Name}} {{.Soft}} {{.Hard}}{{end}}"
        ),
        "nofile 4096 8192"
    );
    let limits = stack.exec_ok("worker", "grep 'Max open files' /proc/1/limits");
    assert_eq!(
        limits.split_whitespace().collect::<Vec<_>>()[3..5],
        ["4096", "8192"],
        "{limits}"
    );
    assert_eq!(
        stack.inspect(
            "worker",
            "{{.Spec.TaskTemplate.ContainerSpec.StopGracePeriod}}"
        ),
        "20s"
    );

    // The shared memory the model asks for (Docker's default is 64 MB).
    let shm = stack.exec_ok("db", "df -k /dev/shm | tail -n 1");
    assert_eq!(shm.split_whitespace().nth(1), Some("262144"), "{shm}");

    // The database's data survives a forced update (a new task, the same volume).
    stack.exec_ok(
        "db",
        &psql(
            PASSWORD,
            "create table kept (v text); insert into kept values ('still here')",
        ),
    );
    let before = stack.container("db");
    docker_ok(&[
        "service",
        "update",
        "--force",
        "--detach",
        &stack.service("db"),
    ]);
    let start = std::time::Instant::now();
    while stack.containers("db").first() == Some(&before) && start.elapsed() < CONVERGE {
        std::thread::sleep(Wait::from_millis(500));
    }
    stack.wait_converged(CONVERGE);
    assert_ne!(
        stack.container("db"),
        before,
        "the forced update started a new task"
    );
    assert_eq!(
        stack
            .exec_ok("db", &psql(PASSWORD, "select v from kept"))
            .trim(),
        "still here"
    );

    // A changed config file is a new config (named after its content): deploying rolls web.
    let config = |stack: &Stack| {
        stack.inspect(
            "web",
            "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}{{end}}",
        )
    };
    let old = config(&stack);
    // The same deploy also turns off the data network's encryption, which Swarm cannot
    // change in place: `check` says so, and the engine indeed keeps the network as it was.
    let before = std::fs::read_to_string(dir.join("stack.yml")).expect("stack.yml");
    let mut second = system(&name, "<h1>second</h1>\n", proxy_port);
    second
        .networks
        .iter_mut()
        .filter(|n| n.name.as_str() == "back")
        .for_each(|n| n.encrypted = false);
    render(&second, project.path());
    let after = std::fs::read_to_string(dir.join("stack.yml")).expect("stack.yml");
    let flagged = Swarm::new().unappliable("stack.yml", &before, &after);
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert!(
        flagged[0].what.contains(&format!("network `{name}_back`")),
        "{:?}",
        flagged
    );
    stack.deploy("stack.yml");
    let options = docker_ok(&[
        "network",
        "inspect",
        &format!("{name}_back"),
        "--format",
        "{{json .Options}}",
    ]);
    assert!(
        options.contains("encrypted"),
        "the network changed in place: {options}"
    );
    let start = std::time::Instant::now();
    while start.elapsed() < CONVERGE {
        let webs = stack.containers("web");
        let served: Vec<_> = webs
            .iter()
            .map(|c| docker(c, "cat /tmp/www/index.html"))
            .collect();
        if webs.len() == 2 && served.iter().all(|p| p == "<h1>second</h1>\n") {
            break;
        }
        std::thread::sleep(Wait::from_millis(500));
    }
    stack.wait_converged(CONVERGE);
    assert_ne!(config(&stack), old, "the new content has a new config name");
    for c in stack.containers("web") {
        assert_eq!(docker(&c, "cat /tmp/www/index.html"), "<h1>second</h1>\n");
    }

    // `docker stack rm` removes services, networks and the configs and secrets it created;
    // it keeps, by design, volumes and the secrets created outside the stack file.
    stack.remove();
    let mut left = stack.leftovers();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].starts_with("secret ") && left[1].starts_with("volume "),
        "{left:?}"
    );
    stack.remove_kept();
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}

/// `docker exec <container> sh -c <script>`'s standard output ("" when it fails).
fn docker(container: &str, script: &str) -> String {
    let out = engine::docker(&["exec", container, "sh", "-c", script]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `stack.dnsrr.yml` beside `stack.yml`: the same file with `endpoint_mode: dnsrr` in
/// every service's `deploy`, the one change the reachability test makes (virtual-IP service
/// addresses do not route in this sandbox; DNS round-robin does).
fn with_dnsrr(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("stack.yml")).expect("stack.yml");
    let mut file: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let services = file
        .get_mut("services")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .expect("services");
    for (_, service) in services.iter_mut() {
        let deploy = service
            .get_mut("deploy")
            .and_then(serde_yaml::Value::as_mapping_mut)
            .expect("every service has a deploy section");
        deploy.insert("endpoint_mode".into(), "dnsrr".into());
    }
    let text = serde_yaml::to_string(&file).expect("yaml");
    std::fs::write(dir.join("stack.dnsrr.yml"), text).expect("write");
}

/// Services reach each other by name exactly on the networks the model gives them: the
/// worker reaches PostgreSQL (with the password from the secret) and Redis on the internal
/// network; the web service and the proxy, which are not on it, reach neither, while the
/// same tools reach what is on their own network. Deployed with `endpoint_mode: dnsrr` (see
/// [`with_dnsrr`]); nothing else is changed.
#[test]
fn services_reach_each_other_on_their_networks_only() {
    if !conformance("deploy the Swarm stack on a real Docker engine (dnsrr)") {
        return;
    }
    engine::ready();
    let project = tempfile::tempdir().expect("tmp");
    let name = unique("net");
    let dir = render(
        &system(&name, "<h1>page</h1>\n", free_port()),
        project.path(),
    );
    with_dnsrr(&dir);
    let mut stack = Stack::new(&name, &dir);
    stack.create_secrets(&[("E2E_DB_PASSWORD", PASSWORD)]);
    stack.deploy("stack.dnsrr.yml");
    stack.wait_converged(CONVERGE);

    // The worker, by service name, with the password from its secret.
    let sql = "PGPASSWORD=$(cat \"$PGPASSWORD_FILE\") psql -h \"$PGHOST\" -U postgres -X -t -A -c 'select 40 + 2'";
    assert_eq!(stack.exec_ok("worker", sql).trim(), "42");
    assert_eq!(
        stack
            .exec_ok("worker", "redis-cli -h \"$REDIS_HOST\" ping")
            .trim(),
        "PONG"
    );

    // Off the internal network: neither PostgreSQL nor Redis answers to the proxy or web,
    // though the same `nc` and `wget` reach the web service on the edge network. (Debian's
    // busybox `nc` has no `-z`: `nc -w 3 HOST PORT </dev/null` exits 0 once connected. Its
    // `wget -T` crashes, so `timeout` bounds it.)
    for (service, port) in [("db", 5432), ("redis", 6379)] {
        for outside in ["proxy", "web"] {
            let out = stack.exec(outside, &format!("nc -w 3 {service} {port} </dev/null"));
            assert!(
                !out.status.success(),
                "{outside} reached {service}:{port}, though they share no network"
            );
        }
    }
    assert_eq!(
        stack
            .exec_ok("proxy", "timeout 5 wget -q -O - http://web:8080/healthz")
            .trim(),
        "ok"
    );
    assert!(stack
        .exec("proxy", "nc -w 3 web 8080 </dev/null")
        .status
        .success());
}

/// A TCP port free on this machine now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The body of `GET path` on 127.0.0.1:`port` (HTTP/1.0, so the server closes), retried
/// for up to 20 s while nothing listens yet.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let start = std::time::Instant::now();
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if start.elapsed() > Wait::from_secs(20) => {
                panic!("nothing answers on 127.0.0.1:{port}: {e}")
            }
            Err(_) => std::thread::sleep(Wait::from_millis(500)),
        }
    };
    stream
        .set_read_timeout(Some(Wait::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}
