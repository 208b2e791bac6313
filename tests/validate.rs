//! One test per rule: a model that breaks it, and an assertion on the code (and path).

use escala::codes;
use escala::prelude::*;
use escala::{Diagnostics, Severity, Target};

fn web() -> Service {
    Service::builder()
        .name("web")
        .image("nginx:1.27")
        .ports([Port::tcp(80)])
        .health(HealthCheck::http("/", 80))
        .build()
}

fn db() -> Service {
    Service::builder()
        .name("db")
        .image("postgres:17")
        .health(HealthCheck::command(["pg_isready"]))
        .mounts([Mount::volume("pgdata", "/var/lib/postgresql/data")])
        .build()
}

fn base() -> System {
    System::new("shop")
        .service(web())
        .service(db())
        .volume(Volume::builder().name("pgdata").build())
        .phase(Phase::new("prod", Engine::Compose))
}

fn errors(system: &System) -> Diagnostics {
    system.check().err().unwrap_or_default()
}

/// Asserts that `system` fails with exactly one error of `code` at `path`.
#[track_caller]
fn fails_with(system: System, code: &str, path: &str) {
    let diags = errors(&system);
    let found: Vec<(&str, &str)> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    assert_eq!(found, [(code, path)], "{diags}");
    assert!(
        diags
            .iter()
            .all(|d| !d.message.is_empty() && d.help.is_some()),
        "{diags}"
    );
}

#[test]
fn the_base_model_is_clean() {
    let model = base();
    let checked = model.check().expect("clean");
    assert!(checked.warnings().is_empty(), "{}", checked.warnings());
}

#[test]
fn invalid_names() {
    let s = base().service(Service::builder().name("My_Api").image("nginx").build());
    fails_with(s, codes::NAME_INVALID, "services[2].name");
    let mut s = base();
    s.name = "Shop".into();
    fails_with(s, codes::NAME_INVALID, "name");
    let diags = errors(&base().volume(Volume::builder().name("a_b").build()));
    assert_eq!(
        diags.iter().next().and_then(|d| d.help.clone()).as_deref(),
        Some("names are DNS-1123 labels (Kubernetes rejects anything else); try `a-b`")
    );
}

#[test]
fn duplicate_names() {
    fails_with(base().service(web()), codes::NAME_DUPLICATE, "services[2]");
    fails_with(
        base().volume(Volume::builder().name("pgdata").build()),
        codes::NAME_DUPLICATE,
        "volumes[1]",
    );
    fails_with(
        base().phase(Phase::new("prod", Engine::Swarm)),
        codes::NAME_DUPLICATE,
        "phases[1]",
    );
    let n = || {
        Node::builder()
            .name("n1")
            .role(NodeRole::Manager)
            .cpu(Cpu::cores(1))
            .memory(ByteSize::gib(1))
            .build()
    };
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Compose).node(n()).node(n());
    fails_with(s, codes::NAME_DUPLICATE, "phases.prod.nodes[1]");
}

#[test]
fn a_service_needs_an_image_or_a_build() {
    fails_with(
        base().service(Service::builder().name("x").build()),
        codes::SERVICE_NO_IMAGE,
        "services.x",
    );
    let built = base().service(
        Service::builder()
            .name("x")
            .build_from(Build::new("."))
            .build(),
    );
    assert!(built.check().is_ok());
}

#[test]
fn malformed_images() {
    fails_with(
        base().service(Service::builder().name("x").image("Nginx:Latest").build()),
        codes::SERVICE_BAD_IMAGE,
        "services.x.image",
    );
}

#[test]
fn bad_ports() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .ports([Port::tcp(80), Port::tcp(80)])
            .build(),
    );
    fails_with(s, codes::SERVICE_BAD_PORT, "services.x.ports[1]");
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .ports([Port::tcp(0)])
            .build(),
    );
    fails_with(s, codes::SERVICE_BAD_PORT, "services.x.ports[0]");
    // The same number on another protocol is a different port.
    let ok = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .ports([Port::tcp(53), Port::udp(53)])
            .build(),
    );
    assert!(ok.check().is_ok());
}

#[test]
fn port_names_kubernetes_would_reject() {
    for bad in ["HTTP", "metrics-endpoint-x", "8080", "a--b"] {
        let s = base().service(
            Service::builder()
                .name("x")
                .image("nginx")
                .ports([Port::tcp(80).named(bad)])
                .build(),
        );
        fails_with(s, codes::SERVICE_BAD_PORT, "services.x.ports[0].name");
    }
}

#[test]
fn bad_env_names() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .env([("MY VAR", Env::literal("1"))])
            .build(),
    );
    fails_with(s, codes::SERVICE_BAD_ENV, "services.x.env.MY VAR");
    // Dotted names, as Elasticsearch documents them, are every engine's.
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .env([
                ("discovery.type", Env::literal("single-node")),
                ("xpack.security.enabled", Env::literal("false")),
            ])
            .build(),
    );
    assert!(s.check().is_ok());
}

#[test]
fn a_literal_under_a_secret_name() {
    let with = |key: &str, value: Env| {
        base().service(
            Service::builder()
                .name("x")
                .image("nginx")
                .env([(key, value)])
                .build(),
        )
    };
    fails_with(
        with("SESSION_SECRET", Env::literal("change-me")),
        codes::SERVICE_SECRET_LITERAL,
        "services.x.env.SESSION_SECRET",
    );
    let help = errors(&with("STRIPE_API_KEY", Env::literal("sk_live_1")))
        .iter()
        .find_map(|d| d.help.clone())
        .expect("help");
    assert!(
        help.contains(r#"Secret::from_env("stripe-api-key", "STRIPE_API_KEY")"#),
        "{help}"
    );
    // Declared not secret, a path to a mounted secret, an empty value, or a secret reference.
    for (key, value) in [
        (
            "JWT_PUBLIC_KEY",
            Env::not_secret("-----BEGIN PUBLIC KEY-----"),
        ),
        ("POSTGRES_PASSWORD_FILE", Env::literal("/run/secrets/pg")),
        ("API_TOKEN", Env::literal("")),
        ("NODE_ENV", Env::literal("production")),
    ] {
        with(key, value)
            .check()
            .unwrap_or_else(|d| panic!("{key}: {d}"));
    }
}

#[test]
fn control_characters_in_values() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .command(["echo", "a\u{7f}b"])
            .build(),
    );
    fails_with(s, codes::SERVICE_CONTROL_CHAR, "services.x.command[1]");
    let ok = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .env([("MULTI", Env::literal("a\nb\tc"))])
            .build(),
    );
    assert!(ok.check().is_ok(), "newlines and tabs are fine");
}

#[test]
fn bad_mount_targets() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .mounts([Mount::tmpfs("tmp")])
            .build(),
    );
    fails_with(s, codes::SERVICE_BAD_MOUNT, "services.x.mounts[0].target");
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .mounts([Mount::tmpfs("/tmp"), Mount::tmpfs("/tmp/")])
            .build(),
    );
    fails_with(s, codes::SERVICE_BAD_MOUNT, "services.x.mounts[1].target");
}

#[test]
fn misspelled_depends_on_suggests_the_name() {
    let s = base().service(
        Service::builder()
            .name("api")
            .image("nginx")
            .depends_on([Dependency::started("web"), Dependency::healthy("dbb")])
            .build(),
    );
    fails_with(s.clone(), codes::REF_UNKNOWN, "services.api.depends_on[1]");
    let d = errors(&s).into_iter().next().expect("one");
    assert_eq!(d.message, "unknown service `dbb`");
    assert_eq!(d.help.as_deref(), Some("did you mean `db`?"));
    assert!(d.origin.is_some(), "the diagnostic points into the source");
}

#[test]
fn dangling_references_of_every_kind() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .mounts([Mount::volume("pgdta", "/data")])
            .networks(["back"])
            .secrets(["key"])
            .configs([ConfigMount::new("conf", "/etc/conf")])
            .env([("A", Env::secret("nope")), ("B", Env::config("nope", "K"))])
            .build(),
    );
    let diags = errors(&s);
    let paths: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "services.x.mounts[0].source",
            "services.x.networks[0]",
            "services.x.secrets[0]",
            "services.x.configs[0]",
            "services.x.env.A",
            "services.x.env.B"
        ]
    );
    assert!(diags.codes().iter().all(|c| *c == codes::REF_UNKNOWN));
    assert_eq!(
        diags.iter().next().and_then(|d| d.help.as_deref()),
        Some("did you mean `pgdata`?")
    );
}

#[test]
fn unknown_config_key() {
    let s = base()
        .config(Config::values("settings", [("LOG_LEVEL", "info")]))
        .service(
            Service::builder()
                .name("x")
                .image("nginx")
                .env([("L", Env::config("settings", "LOG_LEVL"))])
                .build(),
        );
    fails_with(s.clone(), codes::REF_UNKNOWN, "services.x.env.L");
    assert_eq!(
        errors(&s).iter().next().and_then(|d| d.help.as_deref()),
        Some("did you mean `LOG_LEVEL`?")
    );
}

#[test]
fn configs_used_the_wrong_way() {
    let s = base()
        .config(Config::values("settings", [("K", "v")]))
        .service(
            Service::builder()
                .name("x")
                .image("nginx")
                .configs([ConfigMount::new("settings", "/etc/s")])
                .build(),
        );
    fails_with(s, codes::REF_CONFIG_KIND, "services.x.configs[0]");
    let s = base().config(Config::file("conf", "./c.conf")).service(
        Service::builder()
            .name("x")
            .image("nginx")
            .env([("K", Env::config("conf", "K"))])
            .build(),
    );
    fails_with(s, codes::REF_CONFIG_KIND, "services.x.env.K");
}

#[test]
fn self_dependency() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .depends_on([Dependency::started("x")])
            .build(),
    );
    fails_with(s, codes::REF_SELF, "services.x.depends_on[0]");
}

#[test]
fn healthy_dependency_without_health_check() {
    let s = base()
        .service(Service::builder().name("cache").image("redis:8").build())
        .service(
            Service::builder()
                .name("x")
                .image("nginx")
                .depends_on([Dependency::healthy("cache")])
                .build(),
        );
    fails_with(s, codes::DEP_NO_HEALTH, "services.x.depends_on[0]");
}

#[test]
fn dependency_cycles_are_reported_once() {
    let svc = |name: &str, dep: &str| {
        Service::builder()
            .name(name)
            .image("nginx")
            .depends_on([Dependency::started(dep)])
            .build()
    };
    let s = base()
        .service(svc("a", "b"))
        .service(svc("b", "c"))
        .service(svc("c", "a"));
    fails_with(s.clone(), codes::DEP_CYCLE, "services.c.depends_on[0]");
    assert_eq!(
        errors(&s)
            .iter()
            .next()
            .map(|d| d.message.clone())
            .as_deref(),
        Some("dependency cycle: a → b → c → a")
    );
}

#[test]
fn a_long_dependency_chain_does_not_overflow() {
    let mut s = base();
    for i in 0..20_000 {
        let mut b = Service::builder()
            .name(format!("s{i}"))
            .image("nginx")
            .build();
        if i > 0 {
            b.depends_on
                .push(Dependency::started(format!("s{}", i - 1)));
        }
        s.add_service(b);
    }
    assert!(s.check().is_ok());
}

#[test]
fn route_to_an_undeclared_port() {
    let s = base().route(
        Route::builder()
            .host("shop.example.com")
            .service("web")
            .port(8080)
            .build(),
    );
    fails_with(s.clone(), codes::ROUTE_PORT, "routes[0].port");
    assert_eq!(
        errors(&s).iter().next().and_then(|d| d.help.as_deref()),
        Some("service `web` declares 80; route to one of them or declare 8080")
    );
}

#[test]
fn route_to_an_unknown_service() {
    fails_with(
        base().route(
            Route::builder()
                .host("a.example.com")
                .service("wbe")
                .port(80)
                .build(),
        ),
        codes::REF_UNKNOWN,
        "routes[0].service",
    );
}

#[test]
fn two_routes_on_the_same_host_and_path() {
    let r = |path: Option<&str>| {
        let mut r = Route::builder()
            .host("shop.example.com")
            .service("web")
            .port(80)
            .build();
        r.path = path.map(Into::into);
        r
    };
    fails_with(
        base().route(r(None)).route(r(Some("/"))),
        codes::ROUTE_DUPLICATE,
        "routes[1]",
    );
    assert!(base().route(r(None)).route(r(Some("/api"))).check().is_ok());
}

#[test]
fn malformed_routes() {
    fails_with(
        base().route(
            Route::builder()
                .host("https://shop.example.com")
                .service("web")
                .port(80)
                .build(),
        ),
        codes::ROUTE_BAD,
        "routes[0].host",
    );
    fails_with(
        base().route(
            Route::builder()
                .host("shop.example.com")
                .path("api")
                .service("web")
                .port(80)
                .build(),
        ),
        codes::ROUTE_BAD,
        "routes[0].path",
    );
}

#[test]
fn health_checks() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .health(HealthCheck::command(Vec::<String>::new()))
            .build(),
    );
    fails_with(s, codes::HEALTH_BAD, "services.x.health.probe");
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .health(
                HealthCheck::command(["true"])
                    .interval(Duration::secs(1))
                    .timeout(Duration::secs(5)),
            )
            .build(),
    );
    fails_with(s, codes::HEALTH_BAD, "services.x.health.timeout");
    let model = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .health(HealthCheck::tcp(9000))
            .build(),
    );
    let warned = model.check().expect("a warning only");
    assert_eq!(warned.warnings().codes(), [codes::HEALTH_PORT]);
}

#[test]
fn autoscale_bounds() {
    let s = |a: Autoscale| {
        base().service(
            Service::builder()
                .name("x")
                .image("nginx")
                .replicas(2)
                .autoscale(a)
                .build(),
        )
    };
    fails_with(
        s(Autoscale::between(3, 2).cpu(70)),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
    fails_with(
        s(Autoscale::between(0, 2).cpu(70)),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
    fails_with(
        s(Autoscale::between(1, 2)),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
    fails_with(
        s(Autoscale::between(1, 2).memory(0)),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
}

#[test]
fn replicas_outside_autoscale() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .replicas(8)
            .autoscale(Autoscale::between(2, 6).cpu(70))
            .build(),
    );
    fails_with(s, codes::SCALE_REPLICAS, "services.x.replicas");
    let mut s = base().service(Service::builder().name("x").image("nginx").build());
    s.phases[0] =
        Phase::new("prod", Engine::Kubernetes).autoscale("x", Autoscale::between(2, 6).cpu(70));
    fails_with(
        s,
        codes::SCALE_REPLICAS,
        "phases.prod.overrides[0].replicas",
    );
}

#[test]
fn replicas_on_a_single_writer_volume() {
    let mut s = base();
    s.services[1].replicas = 2;
    s.services[1].workload = Workload::Stateful;
    fails_with(s, codes::SCALE_SINGLE_WRITER, "services.db.replicas");
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Swarm).replicas("db", 3);
    fails_with(
        s,
        codes::SCALE_SINGLE_WRITER,
        "phases.prod.overrides[0].replicas",
    );
    let mut shared = base();
    shared.volumes[0].access = Access::ReadWriteMany;
    shared.services[1].replicas = 2;
    assert!(
        shared.check().is_ok(),
        "many writers are fine on ReadWriteMany storage"
    );
}

#[test]
fn request_above_limit() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .resources(Resources::new().cpu(Cpu::cores(2), Cpu::cores(1)))
            .build(),
    );
    fails_with(
        s,
        codes::RESOURCES_REQUEST,
        "services.x.resources.cpu_request",
    );
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Compose).resources(
        "web",
        Resources::new().memory(ByteSize::gib(2), ByteSize::gib(1)),
    );
    fails_with(
        s,
        codes::RESOURCES_REQUEST,
        "phases.prod.overrides[0].resources.memory_request",
    );
}

#[test]
fn placement_no_node_satisfies() {
    // A one-node Swarm: its node is a manager (a Swarm needs one).
    let node = Node::builder()
        .name("m1")
        .role(NodeRole::Manager)
        .labels([("disk", "ssd")])
        .cpu(Cpu::cores(4))
        .memory(ByteSize::gib(8))
        .build();
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Swarm)
        .node(node.clone())
        .placement("db", Placement::anywhere().role(NodeRole::Worker));
    fails_with(
        s,
        codes::PLACEMENT_UNSATISFIABLE,
        "phases.prod.overrides[0].placement",
    );
    let mut s = base();
    s.services[0].placement = Placement::anywhere().label("disk", "hdd");
    s.phases[0] = Phase::new("prod", Engine::Swarm).node(node.clone());
    fails_with(s, codes::PLACEMENT_UNSATISFIABLE, "services.web.placement");
    // compose ignores placement (and says so in its fidelity report).
    let mut s = base();
    s.services[0].placement = Placement::anywhere().label("disk", "hdd");
    s.phases[0] = Phase::new("prod", Engine::Compose).node(node.clone());
    assert!(s.check().is_ok());
    let mut ok = base();
    ok.phases[0] = Phase::new("prod", Engine::Swarm)
        .node(node)
        .placement("db", Placement::anywhere().label("disk", "ssd"));
    assert!(ok.check().is_ok());
}

#[test]
fn placement_on_a_label_no_node_carries() {
    // The seed's embedding service, on a Swarm whose nodes nobody labelled.
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Swarm)
        .node(
            Node::builder()
                .name("m1")
                .role(NodeRole::Manager)
                .cpu(Cpu::cores(4))
                .memory(ByteSize::gib(8))
                .build(),
        )
        .placement("web", Placement::anywhere().label("embedding", "true"));
    fails_with(
        s.clone(),
        codes::PLACEMENT_UNKNOWN_LABEL,
        "phases.prod.overrides[0].placement",
    );
    let d = errors(&s).into_iter().next().expect("one");
    assert_eq!(d.message, "`web` must run on nodes labelled `embedding`, but no node of phase `prod` carries that label");
}

fn sized(name: &str, role: NodeRole, cpu: u64, gib: u64) -> Node {
    Node::builder()
        .name(name)
        .role(role)
        .cpu(Cpu::cores(cpu))
        .memory(ByteSize::gib(gib))
        .build()
}

fn reserving(name: &str, millis: u64, mib: u64, replicas: u32) -> Service {
    Service::builder()
        .name(name)
        .image("nginx")
        .replicas(replicas)
        .resources(
            Resources::new()
                .cpu(Cpu::millis(millis), Cpu::millis(millis))
                .memory(ByteSize::mib(mib), ByteSize::mib(mib)),
        )
        .build()
}

#[test]
fn reservations_pinned_to_a_node_must_fit_it() {
    let s = System::new("x")
        .service(reserving("a", 1500, 256, 1))
        .service(reserving("b", 1000, 256, 2))
        .phase(
            Phase::new("swarm", Engine::Swarm)
                .node(sized("m1", NodeRole::Manager, 2, 4))
                .node(sized("w1", NodeRole::Worker, 8, 16))
                .placement("a", Placement::anywhere().role(NodeRole::Manager))
                .placement("b", Placement::anywhere().role(NodeRole::Manager)),
        );
    fails_with(
        s.clone(),
        codes::PLACEMENT_CAPACITY,
        "phases.swarm.nodes[0]",
    );
    let d = errors(&s).into_iter().next().expect("one");
    assert_eq!(d.message, "services that can only run on node `m1` (a, b ×2) reserve 3.5 CPU and 768Mi of memory; it offers 2 CPU and 4Gi");
}

#[test]
fn one_replica_must_fit_some_node() {
    let s = System::new("x")
        .service(reserving("big", 4000, 1024, 1))
        .phase(
            Phase::new("swarm", Engine::Swarm)
                .node(sized("m1", NodeRole::Manager, 2, 4))
                .node(sized("w1", NodeRole::Worker, 2, 4)),
        );
    fails_with(s, codes::PLACEMENT_CAPACITY, "phases.swarm");
}

#[test]
fn a_phase_must_fit_its_nodes() {
    let s = System::new("x")
        .service(reserving("web", 1000, 512, 10))
        .phase(
            Phase::new("swarm", Engine::Swarm)
                .node(sized("m1", NodeRole::Manager, 4, 8))
                .node(sized("w1", NodeRole::Worker, 4, 8)),
        );
    fails_with(s.clone(), codes::PLACEMENT_CAPACITY, "phases.swarm");
    // A single-node compose phase holds everything on its one machine.
    let s = System::new("x")
        .service(reserving("web", 1000, 512, 3))
        .phase(Phase::new("vps", Engine::Compose).node(sized("vps", NodeRole::Manager, 2, 8)));
    fails_with(s, codes::PLACEMENT_CAPACITY, "phases.vps.nodes[0]");
    let fits = System::new("x")
        .service(reserving("web", 1000, 512, 8))
        .phase(
            Phase::new("swarm", Engine::Swarm)
                .node(sized("m1", NodeRole::Manager, 4, 8))
                .node(sized("w1", NodeRole::Worker, 4, 8)),
        );
    assert!(fits.check().is_ok());
}

#[test]
fn bad_cron_schedule() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .workload(Workload::Scheduled {
                schedule: "daily".into(),
            })
            .build(),
    );
    fails_with(s, codes::WORKLOAD_SCHEDULE, "services.x.workload");
}

#[test]
fn phase_problems() {
    let o = Phase::new("p", Engine::Compose)
        .replicas("web", 2)
        .overrides[0]
        .clone();
    let mut s = base();
    s.phases[0].overrides = vec![o.clone(), o];
    fails_with(s, codes::PHASE_INVALID, "phases.prod.overrides[1]");
    let mut s = base();
    s.phases[0] =
        Phase::new("prod", Engine::Kubernetes).platform(Platform::Dokploy { isolated: false });
    fails_with(s, codes::PHASE_INVALID, "phases.prod.platform");
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Compose).replicas("wbe", 2);
    fails_with(s, codes::REF_UNKNOWN, "phases.prod.overrides[0].service");
}

#[test]
fn a_phase_that_leaves_out_a_dependency() {
    let s = base().service(
        Service::builder()
            .name("x")
            .image("nginx")
            .depends_on([Dependency::healthy("db")])
            .build(),
    );
    let mut s = s;
    s.phases[0] = Phase::new("prod", Engine::Compose).without("db");
    fails_with(s, codes::PHASE_MISSING, "services.x.depends_on[0]");
}

#[test]
fn no_phase_is_a_warning() {
    let mut s = base();
    s.phases.clear();
    let checked = s.check().expect("only a warning");
    assert_eq!(checked.warnings().codes(), [codes::PHASE_NONE]);
}

#[test]
fn alert_thresholds() {
    let mut s = base();
    s.alerts.cpu_percent.warning = 90.0;
    fails_with(s, codes::ALERTS, "alerts.cpu_percent");
    let mut s = base();
    s.alerts.disk_percent.critical = 120.0;
    fails_with(s, codes::ALERTS, "alerts.disk_percent");
}

#[test]
fn every_problem_is_reported_at_once() {
    let s = base()
        .service(Service::builder().name("Bad_Name").image("nginx").build())
        .service(
            Service::builder()
                .name("x")
                .image("nginx")
                .depends_on([Dependency::started("nope")])
                .build(),
        )
        .route(
            Route::builder()
                .host("a.example.com")
                .service("web")
                .port(81)
                .build(),
        );
    let diags = errors(&s);
    assert_eq!(
        diags.codes(),
        [codes::NAME_INVALID, codes::REF_UNKNOWN, codes::ROUTE_PORT]
    );
}

#[test]
fn every_code_is_documented_in_the_book() {
    let book = std::fs::read_to_string(crate::support::root().join("book/src/diagnostics.md"))
        .expect("book page");
    let mut all: Vec<&str> = codes::ALL.iter().map(|(c, _)| *c).collect();
    all.extend(escala::targets::codes().iter().map(|(c, _)| *c));
    all.extend(escala::cli::import::codes::ALL.iter().map(|(c, _)| *c));
    for code in all {
        assert!(
            book.contains(&format!("`{code}`")),
            "book/src/diagnostics.md does not document `{code}`"
        );
    }
}

#[test]
fn a_phase_overrides_image_command_and_environment_checked_like_the_service() {
    let mut s = base();
    s.phases[0] = s.phases[0]
        .clone()
        .image("web", "Not A Ref")
        .command("web", ["serve", "--bad\u{7}"])
        .env("web", "API_TOKEN", Env::literal("hunter2"))
        .env("web", "FROM_SECRET", Env::secret("nope"))
        .env("web", "1BAD", Env::literal("x"));
    let d = s.check().expect_err("every override problem");
    let at = |path: &str, code: &str| {
        assert!(
            d.iter().any(|x| x.path == path && x.code == code),
            "{path} {code}: {d}"
        );
    };
    at("phases.prod.overrides[0].image", codes::SERVICE_BAD_IMAGE);
    at(
        "phases.prod.overrides[0].command[1]",
        codes::SERVICE_CONTROL_CHAR,
    );
    at(
        "phases.prod.overrides[0].env.API_TOKEN",
        codes::SERVICE_SECRET_LITERAL,
    );
    at(
        "phases.prod.overrides[0].env.FROM_SECRET",
        codes::REF_UNKNOWN,
    );
    at("phases.prod.overrides[0].env.1BAD", codes::SERVICE_BAD_ENV);
}

#[test]
fn a_phase_override_reaches_every_target() {
    let s = base().phase(
        Phase::new("swarm", Engine::Swarm)
            .image("web", "ghcr.io/acme/web-swarm:2")
            .command("web", ["serve", "--swarm"])
            .entrypoint("web", ["/init"])
            .env("web", "MODE", Env::literal("swarm")),
    );
    let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("swarm").expect("phase");
    let web = plan.service(&"web".into()).expect("web");
    assert_eq!(web.image.as_deref(), Some("ghcr.io/acme/web-swarm:2"));
    assert_eq!(web.command, ["serve", "--swarm"]);
    assert_eq!(web.entrypoint, ["/init"]);
    assert_eq!(web.env.get("MODE"), Some(&Env::literal("swarm")));
    // Other phases keep the service as declared.
    let prod = checked.plan("prod").expect("phase");
    assert_ne!(
        prod.service(&"web".into()).expect("web").image.as_deref(),
        Some("ghcr.io/acme/web-swarm:2")
    );
    let files = escala::targets::swarm::Swarm::new()
        .render(&plan)
        .expect("renders");
    let stack = files.get("stack.yml").expect("stack.yml");
    assert!(
        stack.contains("ghcr.io/acme/web-swarm:2") && stack.contains("--swarm"),
        "{stack}"
    );
}

#[test]
fn runtime_settings_no_engine_takes_are_errors_with_a_fix() {
    let svc = |b: Service| base().service(b);
    let worker = || Service::builder().name("x").image("nginx");
    let s = svc(worker().sysctls([("vm.max_map_count", "262144")]).build());
    fails_with(
        s,
        codes::SERVICE_SYSCTL,
        "services.x.sysctls.vm.max_map_count",
    );
    let s = svc(worker().ulimits([("nofiles", Ulimit::both(1024))]).build());
    fails_with(s, codes::SERVICE_ULIMIT, "services.x.ulimits.nofiles");
    let s = svc(worker()
        .ulimits([("nofile", Ulimit::new(2048, 1024))])
        .build());
    fails_with(s, codes::SERVICE_ULIMIT, "services.x.ulimits.nofile");
    let s = svc(worker()
        .extra_hosts([("db.internal", "10.0.0.999")])
        .build());
    fails_with(
        s,
        codes::SERVICE_EXTRA_HOST,
        "services.x.extra_hosts.db.internal",
    );
    let s = svc(worker().extra_hosts([("bad host", "10.0.0.5")]).build());
    fails_with(
        s,
        codes::SERVICE_EXTRA_HOST,
        "services.x.extra_hosts.bad host",
    );
    // What engines take.
    let s = svc(worker()
        .sysctls([
            ("net.core.somaxconn", "1024"),
            ("kernel.shmmax", "68719476736"),
        ])
        .ulimits([
            ("nofile", Ulimit::new(1024, 4096)),
            ("memlock", Ulimit::both(0)),
        ])
        .extra_hosts([("db.internal", "10.0.0.5"), ("v6.internal", "fd00::5")])
        .init(true)
        .working_dir("/srv")
        .stop_grace_period(Duration::secs(30))
        .build());
    assert!(s.check().is_ok());
}

/// Accepted and wrong, before: each is now a diagnostic at its place.
#[test]
fn values_no_engine_runs_are_diagnostics() {
    // Two services publishing one host port in a phase.
    let mut s = base();
    s.services[0].ports = vec![Port::tcp(80).publish(8080)];
    s.services[1].ports = vec![Port::tcp(5432).publish(8080)];
    fails_with(s, codes::PORT_TAKEN, "services.db.ports[0]");
    // A schedule with five fields out of range.
    let s = base().service(
        Service::builder()
            .name("job")
            .image("busybox")
            .workload(Workload::Scheduled {
                schedule: "99 99 99 99 99".into(),
            })
            .build(),
    );
    fails_with(s, codes::WORKLOAD_SCHEDULE, "services.job.workload");
    // A health check every 99999999999 hours.
    let mut s = base();
    s.services[0].health = Some(
        HealthCheck::command(["true"])
            .interval("99999999999h".parse().expect("a duration"))
            .timeout(Duration::secs(1)),
    );
    fails_with(s, codes::HEALTH_BAD, "services.web.health.interval");
    // No replica: a warning; four billion: an error, and no runaway placement check.
    let mut s = base();
    s.services[0].replicas = 0;
    let checked = s.check().expect("a warning only");
    assert!(checked
        .warnings()
        .iter()
        .any(|d| d.code == codes::SCALE_COUNT && d.path == "services.web.replicas"));
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Swarm)
        .node(
            Node::builder()
                .name("m1")
                .role(NodeRole::Manager)
                .cpu(Cpu::cores(4))
                .memory(ByteSize::gib(8))
                .build(),
        )
        .replicas("web", u32::MAX);
    let d = errors(&s);
    assert!(d.iter().any(|x| x.code == codes::SCALE_COUNT), "{d}");
    // A Swarm of workers only.
    let mut s = base();
    s.phases[0] = Phase::new("prod", Engine::Swarm).node(
        Node::builder()
            .name("w1")
            .role(NodeRole::Worker)
            .cpu(Cpu::cores(4))
            .memory(ByteSize::gib(8))
            .build(),
    );
    fails_with(s, codes::PLACEMENT_UNSATISFIABLE, "phases.prod.nodes");
}

/// No constructor or check panics or wraps on any value its type admits.
#[test]
fn extreme_numbers_neither_panic_nor_wrap() {
    assert_eq!(Cpu::cores(u64::MAX / 10).as_millis(), u64::MAX);
    assert_eq!(ByteSize::gib(u64::MAX).as_bytes(), u64::MAX);
    assert_eq!(Duration::secs(u64::MAX).as_millis(), u64::MAX);
    assert_eq!(Duration::mins(u64::MAX).as_nanos(), u64::MAX);
    assert_eq!(Cpu::cores(u64::MAX).as_nanos(), u64::MAX);
    // 8 GiB requests times many replicas: over capacity, not wrapped under it.
    let mut s = base();
    s.services[0].resources = Resources::new()
        .cpu(Cpu::cores(u64::MAX / 10), Cpu::cores(u64::MAX / 10))
        .memory(ByteSize::gib(8), ByteSize::gib(8));
    s.phases[0] = Phase::new("prod", Engine::Swarm)
        .node(
            Node::builder()
                .name("m1")
                .role(NodeRole::Manager)
                .cpu(Cpu::cores(4))
                .memory(ByteSize::gib(8))
                .build(),
        )
        .replicas("web", 10_000);
    let d = errors(&s);
    assert!(d.iter().any(|x| x.code == codes::PLACEMENT_CAPACITY), "{d}");
}

#[test]
fn config_files_outside_the_project_need_an_explicit_yes() {
    for path in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "conf/../../x",
        "~/.ssh/id_rsa",
    ] {
        let s = base().config(Config::file("leak", path));
        fails_with(s, codes::CONFIG_OUTSIDE, "configs[0]");
        let s = base().config(Config::file("leak", path).outside_project());
        assert!(s.check().is_ok(), "{path}");
    }
    for inside in ["conf/app.toml", "./conf/app.toml", "conf/../other/app.toml"] {
        assert!(
            base().config(Config::file("c", inside)).check().is_ok(),
            "{inside}"
        );
    }
}

#[test]
fn digests_and_route_paths_are_what_registries_and_routers_take() {
    let mut s = base();
    s.services[0].image = Some("nginx@sha256:abc".into());
    fails_with(s, codes::SERVICE_BAD_IMAGE, "services.web.image");
    for bad in ["/api?x=1", "/docs#top", "/my path"] {
        let s = base().route(
            Route::builder()
                .host("a.example.com")
                .service("web")
                .port(80)
                .path(bad)
                .build(),
        );
        let d = errors(&s);
        let e = d
            .iter()
            .find(|x| x.path == "routes[0].path")
            .expect("the path");
        let help = e.help.clone().unwrap_or_default();
        assert!(!help.contains(' ') || !help.contains("my path"), "{help}");
        if bad == "/my path" {
            assert!(help.contains("/my%20path"), "{help}");
        }
    }
}

#[test]
fn values_over_the_engines_limits_are_errors() {
    let big = "x".repeat(128 * 1024);
    let mut s = base();
    s.services[0]
        .env
        .insert("BLOB".into(), Env::literal(big.clone()));
    fails_with(s, codes::SERVICE_ENV_TOO_LONG, "services.web.env.BLOB");
    let mut s = base();
    s.services[0]
        .env
        .insert("BLOB".into(), Env::literal("x".repeat(100 * 1024)));
    assert!(s.check().is_ok(), "under 128 KiB is fine");
    // A 600 KiB config: over Swarm's 500 KiB, under the ConfigMap's 1 MiB; 1.2 MB: over both.
    for (size, engine, code) in [
        (
            600 * 1024,
            Engine::Swarm,
            escala::targets::swarm::codes::TOO_LARGE,
        ),
        (
            1_200_000,
            Engine::Kubernetes,
            escala::targets::kubernetes::codes::TOO_LARGE,
        ),
    ] {
        let mut s = base().config(Config::inline("blob", "x".repeat(size)));
        s.services[0].configs = vec![ConfigMount::new("blob", "/etc/blob")];
        s.phases[0] = Phase::new("prod", engine);
        let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
        let plan = checked.plan("prod").expect("phase");
        let mut d = Diagnostics::new();
        for t in escala::targets::all()
            .iter()
            .filter(|t| t.accepts(plan.phase()))
        {
            t.check(&plan, &mut d);
        }
        assert!(
            d.iter().any(|x| x.code == code && x.path == "configs.blob"),
            "{d}"
        );
    }
    // Values each under 128 KiB that add up: past 256 KiB a client-side `kubectl apply`
    // refuses the Deployment (a warning: server-side apply takes it), past 1.5 MiB the API
    // server does (an error). The counts are what a kube-apiserver v1.33 did with 127 KiB
    // values: 2 applied either way, 3 only server-side, 12 still server-side, 13 not at all.
    for (count, code) in [
        (2, None),
        (3, Some(escala::targets::kubernetes::codes::CLIENT_APPLY)),
        (12, Some(escala::targets::kubernetes::codes::CLIENT_APPLY)),
        (13, Some(escala::targets::kubernetes::codes::TOO_LARGE)),
    ] {
        let mut s = base();
        for i in 0..count {
            s.services[0]
                .env
                .insert(format!("BLOB_{i}"), Env::literal("x".repeat(127 * 1024)));
        }
        s.phases[0] = Phase::new("prod", Engine::Kubernetes);
        let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
        let plan = checked.plan("prod").expect("phase");
        let mut d = Diagnostics::new();
        escala::targets::kubernetes::Kubernetes::new().check(&plan, &mut d);
        let found: Vec<&str> = d
            .iter()
            .filter(|x| x.path == "services.web")
            .map(|x| x.code.as_str())
            .collect();
        assert_eq!(
            found,
            code.into_iter().collect::<Vec<_>>(),
            "{count} values: {d}"
        );
    }
}

#[test]
fn autoscaling_that_cannot_work_says_why() {
    let job = |w: Workload| {
        base().service(
            Service::builder()
                .name("x")
                .image("busybox")
                .workload(w)
                .resources(Resources::new().cpu(Cpu::millis(100), Cpu::millis(500)))
                .autoscale(Autoscale::between(1, 3).cpu(70))
                .build(),
        )
    };
    fails_with(
        job(Workload::Scheduled {
            schedule: "0 3 * * *".into(),
        }),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
    fails_with(
        job(Workload::PerNode),
        codes::SCALE_AUTOSCALE,
        "services.x.autoscale",
    );
    // A CPU target without a CPU request: the autoscaler never scales.
    let s = base().service(
        Service::builder()
            .name("x")
            .image("busybox")
            .autoscale(Autoscale::between(1, 3).cpu(70))
            .build(),
    );
    let checked = s.check().expect("a warning");
    assert!(checked
        .warnings()
        .iter()
        .any(|d| d.code == codes::SCALE_AUTOSCALE && d.message.contains("requests no CPU")));
    // A stateful service with three replicas shares its volume on Swarm, not on Kubernetes.
    let stateful = |engine: Engine| {
        let mut s = base();
        s.services[1].workload = Workload::Stateful;
        s.phases[0] = Phase::new("prod", engine).replicas("db", 3);
        s
    };
    fails_with(
        stateful(Engine::Swarm),
        codes::SCALE_SINGLE_WRITER,
        "phases.prod.overrides[0].replicas",
    );
    assert!(stateful(Engine::Kubernetes).check().is_ok());
}

#[test]
fn errors_on_phase_overrides_point_at_the_line_that_wrote_them() {
    let mut s = base();
    let line = line!() + 1;
    s.phases[0] = Phase::new("prod", Engine::Compose).replicas("nope", 2);
    let d = errors(&s);
    let e = d
        .iter()
        .find(|x| x.path == "phases.prod.overrides[0].service")
        .expect("unknown service");
    let origin = e.origin.as_ref().expect("a source location");
    assert!(origin.file.ends_with("validate.rs"), "{origin:?}");
    assert_eq!(origin.line, line);
}

#[test]
fn a_node_over_capacity_points_at_its_declaration() {
    let mut s = base();
    s.services[1].resources = Resources::new()
        .cpu(Cpu::cores(3), Cpu::cores(3))
        .memory(ByteSize::gib(1), ByteSize::gib(1));
    s.services[1].placement = Placement::anywhere().role(NodeRole::Manager);
    s.services[0].resources = Resources::new()
        .cpu(Cpu::cores(3), Cpu::cores(3))
        .memory(ByteSize::gib(1), ByteSize::gib(1));
    s.services[0].placement = Placement::anywhere().role(NodeRole::Manager);
    let line = line!() + 1;
    s.phases[0] = Phase::new("prod", Engine::Swarm).node(
        Node::builder()
            .name("m1")
            .role(NodeRole::Manager)
            .cpu(Cpu::cores(4))
            .memory(ByteSize::gib(8))
            .build(),
    );
    let d = errors(&s);
    let e = d
        .iter()
        .find(|x| x.path == "phases.prod.nodes[0]")
        .unwrap_or_else(|| panic!("{d}"));
    assert_eq!(e.origin.as_ref().map(|o| o.line), Some(line), "{d}");
}

/// Totals that fit can still leave a replica without room: three replicas of 1.2 CPU on two
/// 2-CPU nodes. The check warns on the node the plan's table marks over capacity.
#[test]
fn replicas_that_fit_in_total_but_not_per_node_are_a_warning() {
    let node = |name: &str, role: NodeRole| {
        Node::builder()
            .name(name)
            .role(role)
            .cpu(Cpu::cores(2))
            .memory(ByteSize::gib(8))
            .build()
    };
    for (replicas, crowded) in [(2, false), (3, true)] {
        let mut s = base();
        s.services[0].replicas = replicas;
        s.services[0].resources = Resources::new()
            .cpu(Cpu::millis(1200), Cpu::millis(1200))
            .memory(ByteSize::mib(64), ByteSize::mib(64));
        s.phases[0] = Phase::new("prod", Engine::Swarm)
            .node(node("m1", NodeRole::Manager))
            .node(node("w1", NodeRole::Worker));
        let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
        let found: Vec<&str> = checked
            .warnings()
            .iter()
            .filter(|x| x.code == codes::PLACEMENT_CROWDED)
            .map(|x| x.path.as_str())
            .collect();
        let expected: &[&str] = if crowded {
            &["phases.prod.nodes[0]"]
        } else {
            &[]
        };
        assert_eq!(found, expected, "{replicas} replicas");
        // The plan's capacity table marks the same node.
        let plan = checked.plan("prod").expect("phase");
        let text = escala::targets::plan::Plan::default()
            .render(&plan)
            .expect("renders")
            .to_text();
        assert_eq!(
            text.contains("| m1 | manager |") && text.contains("**over capacity**"),
            crowded,
            "{text}"
        );
    }
}

/// A node's duplicate or invalid name points at the line that declared it.
#[test]
fn a_nodes_name_error_points_at_its_declaration() {
    let node = |name: &str| {
        Node::builder()
            .name(name)
            .role(NodeRole::Manager)
            .cpu(Cpu::cores(4))
            .memory(ByteSize::gib(8))
            .build()
    };
    let mut s = base();
    let mut phase = Phase::new("prod", Engine::Swarm).node(node("m1"));
    let duplicate = line!() + 1;
    phase = phase.node(node("m1"));
    let invalid = line!() + 1;
    phase = phase.node(node("Bad_Name"));
    s.phases[0] = phase;
    let d = errors(&s);
    for (path, line) in [
        ("phases.prod.nodes[1]", duplicate),
        ("phases.prod.nodes[2].name", invalid),
    ] {
        let e = d
            .iter()
            .find(|x| x.path == path)
            .unwrap_or_else(|| panic!("{path}: {d}"));
        let o = e
            .origin
            .as_ref()
            .unwrap_or_else(|| panic!("{path}: no location"));
        assert_eq!(o.line, line, "{path}: {o:?}");
    }
}

fn sidecar() -> Service {
    Service::builder()
        .name("metrics")
        .image("busybox:1.37")
        .network_of("web")
        .build()
}

#[test]
fn sidecars_share_a_service_that_is_not_one() {
    assert!(errors(&base().service(sidecar())).is_empty());
    let mut ports = sidecar();
    ports.ports = vec![Port::tcp(9100)];
    fails_with(
        base().service(ports),
        codes::SERVICE_SIDECAR,
        "services.metrics.network_of",
    );
    let mut nets = sidecar();
    nets.networks = vec!["edge".into()];
    fails_with(
        base()
            .service(nets)
            .network(Network::builder().name("edge").build()),
        codes::SERVICE_SIDECAR,
        "services.metrics.network_of",
    );
    let mut chained = sidecar();
    chained.name = "log".into();
    chained.network_of = Some("metrics".into());
    fails_with(
        base().service(sidecar()).service(chained),
        codes::SERVICE_SIDECAR,
        "services.log.network_of",
    );
    let mut nowhere = sidecar();
    nowhere.network_of = Some("wbe".into());
    fails_with(
        base().service(nowhere),
        codes::REF_UNKNOWN,
        "services.metrics.network_of",
    );
}

#[test]
fn container_names_are_labels_of_one_container() {
    let mut system = base();
    system.services[0].container_name = Some("web-1".into());
    assert!(errors(&system).is_empty(), "one replica, a valid name");
    let mut system = base();
    system.services[0].container_name = Some("Web_1".into());
    fails_with(
        system,
        codes::SERVICE_CONTAINER_NAME,
        "services.web.container_name",
    );
    let mut system = base();
    system.services[0].container_name = Some("web-1".into());
    system.services[0].replicas = 2;
    fails_with(
        system,
        codes::SERVICE_CONTAINER_NAME,
        "services.web.container_name",
    );
}

/// A model with a backed-up volume (its job is `backup-pgdata`), and the S3 secret it reads.
fn with_backups() -> System {
    let mut s = crate::support::with_s3_backups(base());
    s.volumes[0].backup = true;
    s
}

#[test]
fn a_service_named_like_a_service_escala_adds() {
    // The model alone is clean: the job exists and takes its name.
    let clean = with_backups();
    let checked = clean.check().expect("clean");
    let plan = checked.plan("prod").expect("phase");
    assert!(plan
        .services()
        .iter()
        .any(|s| s.name.as_str() == "backup-pgdata"));
    // A service of that name would be one of two `backup-pgdata` in the compose file.
    fails_with(
        with_backups().service(
            Service::builder()
                .name("backup-pgdata")
                .image("busybox:1.37")
                .build(),
        ),
        codes::NAME_DUPLICATE,
        "services.backup-pgdata",
    );
}

#[test]
fn an_init_step_named_like_a_service_escala_adds() {
    // A step `pgdata` of a service `backup` is the compose service `backup-pgdata`: the
    // volume's backup job.
    let s = with_backups().service(
        Service::builder()
            .name("backup")
            .image("busybox:1.37")
            .init_steps([InitStep::new("pgdata", "busybox:1.37", ["true"])])
            .build(),
    );
    fails_with(s, codes::NAME_DUPLICATE, "services.backup.init_steps");
}
