//! The Swarm target: its checks, and what the reference stack file promises.

use escala::prelude::*;
use escala::targets::swarm::{codes, Swarm};
use escala::{Artifacts, Diagnostics, Target};

use crate::systems;

fn findings(system: &System) -> Diagnostics {
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let mut diags = Diagnostics::new();
    for plan in checked.plans() {
        Swarm::new().check(&plan, &mut diags);
    }
    diags
}

fn paths(diags: &Diagnostics, code: &str) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.code == code)
        .map(|d| d.path.clone())
        .collect()
}

fn node(name: &str, role: NodeRole) -> Node {
    Node::builder()
        .name(name)
        .role(role)
        .cpu(Cpu::cores(4))
        .memory(ByteSize::gib(8))
        .build()
}

fn three_nodes(p: Phase) -> Phase {
    p.node(node("m1", NodeRole::Manager))
        .node(node("w1", NodeRole::Worker))
        .node(node("w2", NodeRole::Worker))
}

fn db(placement: Placement) -> Service {
    Service::builder()
        .name("db")
        .image("postgres:17")
        .mounts([Mount::volume("data", "/var/lib/postgresql/data")])
        .placement(placement)
        .workload(Workload::Stateful)
        .build()
}

fn with_volume(s: Service, phase: Phase) -> System {
    System::new("x")
        .service(s)
        .volume(Volume::builder().name("data").build())
        .phase(phase)
}

#[test]
fn a_build_without_an_image_is_an_error() {
    let s = System::new("x")
        .service(
            Service::builder()
                .name("api")
                .build_from(Build::new("./api"))
                .build(),
        )
        .phase(Phase::new("swarm", Engine::Swarm));
    let d = findings(&s);
    assert_eq!(paths(&d, codes::NO_IMAGE), ["services.api.image"]);
    assert!(d.has_errors());
    let help = d
        .iter()
        .find(|x| x.code == codes::NO_IMAGE)
        .and_then(|x| x.help.clone())
        .expect("help");
    assert!(help.contains("set the image it is pushed as"), "{help}");
}

#[test]
fn what_swarm_ignores_is_reported() {
    let s = System::new("x")
        .service(
            Service::builder()
                .name("db")
                .image("postgres:17")
                .health(HealthCheck::command(["pg_isready"]))
                .build(),
        )
        .service(
            Service::builder()
                .name("api")
                .image("ghcr.io/a/api:1")
                .build_from(Build::new("./api"))
                .depends_on([Dependency::healthy("db")])
                .replicas(2)
                .autoscale(Autoscale::between(2, 4).cpu(70))
                .build(),
        )
        .phase(Phase::new("swarm", Engine::Swarm));
    let d = findings(&s);
    assert!(!d.has_errors(), "{d}");
    assert_eq!(
        paths(&d, codes::DROPPED),
        [
            "services.api.autoscale",
            "services.api.build",
            "services.api.depends_on"
        ]
    );
}

#[test]
fn a_local_volume_must_be_pinned_to_one_node() {
    let unpinned = with_volume(
        db(Placement::anywhere()),
        three_nodes(Phase::new("swarm", Engine::Swarm)),
    );
    let d = findings(&unpinned);
    assert_eq!(paths(&d, codes::UNPINNED), ["services.db.mounts[0]"]);
    let msg = &d
        .iter()
        .find(|x| x.code == codes::UNPINNED)
        .expect("one")
        .message;
    assert!(msg.contains("3 nodes of phase `swarm` qualify"), "{msg}");
    // Pinned to the only manager: fine.
    let pinned = with_volume(
        db(Placement::anywhere().role(NodeRole::Manager)),
        three_nodes(Phase::new("swarm", Engine::Swarm)),
    );
    assert!(paths(&findings(&pinned), codes::UNPINNED).is_empty());
    // Workers are two: not pinned.
    let workers = with_volume(
        db(Placement::anywhere().role(NodeRole::Worker)),
        three_nodes(Phase::new("swarm", Engine::Swarm)),
    );
    assert_eq!(paths(&findings(&workers), codes::UNPINNED).len(), 1);
    // No nodes declared and no placement: nothing keeps it in place.
    let unknown = with_volume(
        db(Placement::anywhere()),
        Phase::new("swarm", Engine::Swarm),
    );
    assert_eq!(paths(&findings(&unknown), codes::UNPINNED).len(), 1);
    // Network storage may follow the task.
    let mut shared = with_volume(
        db(Placement::anywhere()),
        three_nodes(Phase::new("swarm", Engine::Swarm)),
    );
    shared.volumes[0].access = Access::ReadWriteMany;
    assert!(paths(&findings(&shared), codes::UNPINNED).is_empty());
    // One per node: every node has its own volume by design.
    let mut global = with_volume(
        db(Placement::anywhere()),
        three_nodes(Phase::new("swarm", Engine::Swarm)),
    );
    global.services[0].workload = Workload::PerNode;
    assert!(paths(&findings(&global), codes::UNPINNED).is_empty());
}

#[test]
fn secrets_swarm_cannot_inject_or_must_create() {
    let s = System::new("x")
        .service(
            Service::builder()
                .name("api")
                .image("nginx")
                .env([("KEY", Env::secret("key"))])
                .secrets(["token"])
                .build(),
        )
        .secret(Secret::from_file("key", "./key.pem"))
        .secret(Secret::from_env("token", "TOKEN"))
        .phase(Phase::new("swarm", Engine::Swarm));
    let d = findings(&s);
    assert_eq!(paths(&d, codes::SECRET), ["services.api.env.KEY"]);
    assert_eq!(paths(&d, codes::SECRET_CREATE), ["secrets[1]"]);
    let help = d
        .iter()
        .find(|x| x.code == codes::SECRET_CREATE)
        .and_then(|x| x.help.clone())
        .expect("help");
    assert_eq!(help, "create it once on a manager: `printf '%s' \"$TOKEN\" | docker secret create x_token -` (also listed in stack.env.example)");
}

fn finanzas_stack() -> (serde_yaml::Value, escala::Artifacts) {
    let model = systems::ALL[0].1();
    let checked = model.check().expect("valid");
    let plan = checked
        .plan("swarm")
        .expect("phase")
        .with_project_root("../../..");
    let files = Swarm::new().render(&plan).expect("renders");
    let doc = serde_yaml::from_str(files.get("stack.yml").expect("stack.yml")).expect("parses");
    (doc, files)
}

#[test]
fn finanzas_swarm_has_the_replica_table_and_pinning() {
    let (doc, _) = finanzas_stack();
    for (svc, replicas) in [
        ("frontend", 4),
        ("backend", 6),
        ("embedding", 2),
        ("postgres", 1),
        ("redis", 1),
        ("bullmq-worker", 3),
    ] {
        assert_eq!(
            doc["services"][svc]["deploy"]["replicas"].as_u64(),
            Some(replicas),
            "{svc}"
        );
        assert_eq!(
            doc["services"][svc]["deploy"]["mode"].as_str(),
            Some("replicated"),
            "{svc}"
        );
    }
    for svc in ["postgres", "redis"] {
        let c = &doc["services"][svc]["deploy"]["placement"]["constraints"];
        assert_eq!(c[0].as_str(), Some("node.role == manager"), "{svc}");
        assert_eq!(
            doc["services"][svc]["deploy"]["update_config"]["order"].as_str(),
            Some("stop-first")
        );
    }
    assert_eq!(
        doc["services"]["embedding"]["deploy"]["placement"]["constraints"][0].as_str(),
        Some("node.labels.embedding == true")
    );
    assert_eq!(
        doc["services"]["backend"]["deploy"]["update_config"]["order"].as_str(),
        Some("start-first")
    );
    assert_eq!(
        doc["services"]["backend"]["deploy"]["update_config"]["failure_action"].as_str(),
        Some("rollback")
    );
    assert_eq!(
        doc["services"]["backend"]["deploy"]["resources"]["limits"]["cpus"],
        serde_yaml::Value::String("1".into())
    );
}

#[test]
fn finanzas_swarm_routes_through_traefik_swarm_labels() {
    let (doc, files) = finanzas_stack();
    let text = files.get("stack.yml").expect("file");
    assert!(
        !text.contains("traefik.docker."),
        "never the docker-provider labels"
    );
    for (svc, host, port) in [
        ("frontend", "app.finanzas.example", "3000"),
        ("backend", "api.finanzas.example", "4000"),
    ] {
        let labels = &doc["services"][svc]["deploy"]["labels"];
        assert_eq!(
            labels["traefik.swarm.network"].as_str(),
            Some("finanzas_edge"),
            "{svc}"
        );
        let r = format!("finanzas-{svc}-0");
        assert_eq!(
            labels[format!("traefik.http.routers.{r}.rule").as_str()].as_str(),
            Some(format!("Host(`{host}`)").as_str())
        );
        assert_eq!(
            labels[format!("traefik.http.services.{r}.loadbalancer.server.port").as_str()].as_str(),
            Some(port)
        );
        assert!(
            doc["services"][svc].get("labels").is_none(),
            "{svc}: container labels are invisible to Traefik in Swarm"
        );
        assert!(
            doc["services"][svc].get("build").is_none()
                && doc["services"][svc].get("depends_on").is_none()
        );
        assert!(
            doc["services"][svc].get("expose").is_none()
                && doc["services"][svc].get("restart").is_none()
        );
    }
    assert_eq!(
        doc["networks"]["edge"]["attachable"],
        serde_yaml::Value::Bool(true)
    );
    assert_eq!(doc["networks"]["data"]["driver"].as_str(), Some("overlay"));
    assert_eq!(
        doc["networks"]["data"]["driver_opts"]["encrypted"].as_str(),
        Some("")
    );
    assert!(doc.get("version").is_none() && doc.get("name").is_none());
}

#[test]
fn finanzas_swarm_holds_no_secret_value() {
    let (doc, files) = finanzas_stack();
    assert_eq!(
        doc["services"]["backend"]["environment"]["DATABASE_URL"].as_str(),
        Some("${DATABASE_URL:?DATABASE_URL must be set}")
    );
    assert_eq!(
        doc["secrets"]["postgres-password"]["external"],
        serde_yaml::Value::Bool(true)
    );
    assert_eq!(
        doc["secrets"]["postgres-password"]["name"].as_str(),
        Some("finanzas_postgres-password")
    );
    let env = files.get("stack.env.example").expect("env example");
    assert!(env.lines().any(|l| l == "DATABASE_URL="));
    assert!(env.contains("docker secret create finanzas_postgres-password -"));
}

#[test]
fn dokploy_stack_mode_and_inline_configs() {
    let model = systems::stack();
    let checked = model.check().expect("valid");
    let plan = checked.plan("dokploy").expect("phase");
    let files = Swarm::new().render(&plan).expect("renders");
    let doc: serde_yaml::Value =
        serde_yaml::from_str(files.get("stack.yml").expect("file")).expect("parses");
    assert_eq!(
        doc["networks"]["dokploy-network"]["external"],
        serde_yaml::Value::Bool(true)
    );
    assert!(
        doc["networks"]["front"].get("name").is_none(),
        "Dokploy keeps Docker's stack-scoped names"
    );
    let labels = &doc["services"]["web"]["deploy"]["labels"];
    assert_eq!(
        labels["traefik.swarm.network"].as_str(),
        Some("dokploy-network")
    );
    assert_eq!(
        labels["traefik.http.routers.shop-web-0-http.middlewares"].as_str(),
        Some("redirect-to-https@file")
    );
    assert!(
        doc["services"]["cache"].get("ports").is_none(),
        "routed services publish nothing on Dokploy"
    );
    assert_eq!(
        doc["configs"]["api-conf"]["file"].as_str(),
        Some("./configs/api-conf")
    );
    assert_eq!(
        files.get("configs/api-conf"),
        Some("[server]\nport = 9000\ngreeting = \"costs $5\"\n")
    );
    assert_eq!(
        doc["services"]["agent"]["deploy"]["mode"].as_str(),
        Some("global")
    );
    assert!(doc["services"]["agent"]["deploy"].get("replicas").is_none());
    assert_eq!(
        doc["services"]["backup"]["deploy"]["mode"].as_str(),
        Some("replicated-job")
    );
    assert_eq!(
        doc["services"]["web"]["deploy"]["placement"]["preferences"][0]["spread"].as_str(),
        Some("node.labels.zone")
    );
}

/// A routed `web` on `nets`, with (when `proxy_nets` is given) a Traefik on those networks.
fn routed(nets: &[&str], proxy_nets: Option<&[&str]>, engine: Engine) -> System {
    let mut s = System::new("x")
        .service(
            Service::builder()
                .name("web")
                .image("nginx:1.27")
                .ports([Port::tcp(80)])
                .networks(nets.iter().copied())
                .build(),
        )
        .network(Network::builder().name("back").internal(true).build())
        .network(Network::builder().name("edge").build())
        .route(
            Route::builder()
                .host("x.example.com")
                .service("web")
                .port(80)
                .build(),
        )
        .phase(Phase::new("p", engine));
    if let Some(p) = proxy_nets {
        s = s.service(
            Service::builder()
                .name("traefik")
                .image("traefik:v3.6")
                .ports([Port::tcp(80).publish(80)])
                .networks(p.iter().copied())
                .build(),
        );
    }
    s
}

/// The network Traefik's label names in the rendered file of `system`'s phase `p`.
/// The compose or stack file of `plan` (whichever its engine takes), rendered.
fn docker_files(plan: &escala::PhasePlan<'_>) -> Artifacts {
    escala::targets::all()
        .into_iter()
        .find(|t| t.accepts(plan.phase()) && t.name() != "plan" && t.name() != "sql")
        .expect("a target")
        .render(plan)
        .expect("renders")
}

fn traefik_network(system: &System) -> String {
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("p").expect("phase");
    let (file, key, labels) = match plan.phase().engine {
        Engine::Swarm => ("stack.yml", "traefik.swarm.network", "deploy"),
        _ => ("docker-compose.yml", "traefik.docker.network", ""),
    };
    let files = docker_files(&plan);
    let text = files.iter().find(|(p, _)| *p == file).expect("file").1;
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    let web = &doc["services"]["web"];
    let labels = if labels.is_empty() {
        &web["labels"]
    } else {
        &web[labels]["labels"]
    };
    labels[key].as_str().expect("the label").to_owned()
}

#[test]
fn traefik_reaches_a_routed_service_on_the_network_they_share_whatever_the_order() {
    for engine in [Engine::Swarm, Engine::Compose] {
        // The bug: the first network, internal and not the proxy's, was named (a 502).
        let s = routed(&["back", "edge"], Some(&["edge"]), engine);
        assert_eq!(traefik_network(&s), "x_edge", "{engine:?}");
        // The proxy on both: the shared network that is not internal.
        let s = routed(&["back", "edge"], Some(&["back", "edge"]), engine);
        assert_eq!(traefik_network(&s), "x_edge", "{engine:?}");
        // Shared only on an internal network: that one (the proxy is on it).
        let s = routed(&["edge", "back"], Some(&["back"]), engine);
        assert_eq!(traefik_network(&s), "x_back", "{engine:?}");
        // No proxy in the phase (run elsewhere): the service's first non-internal network.
        let s = routed(&["back", "edge"], None, engine);
        assert_eq!(traefik_network(&s), "x_edge", "{engine:?}");
        // Both on the project's default network.
        let s = routed(&[], Some(&[]), engine);
        assert_eq!(traefik_network(&s), "x_default", "{engine:?}");
    }
}

/// On Swarm the network Traefik reaches a routed service on is `attachable` (a Traefik run
/// outside the stack can join it); an internal network listed first is not.
#[test]
fn only_the_network_traefik_reaches_a_service_on_is_attachable() {
    let s = routed(&["back", "edge"], None, Engine::Swarm);
    let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("p").expect("phase");
    let files = Swarm::default().render(&plan).expect("renders");
    let text = files
        .iter()
        .find(|(p, _)| *p == "stack.yml")
        .expect("stack")
        .1;
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    let attachable = |n: &str| doc["networks"][n]["attachable"].as_bool().unwrap_or(false);
    assert!(attachable("edge"), "{text}");
    assert!(!attachable("back"), "{text}");
}

#[test]
fn a_routed_service_the_proxy_cannot_reach_is_an_error_with_a_fix() {
    for (engine, code) in [
        (Engine::Swarm, codes::PROXY_UNREACHABLE),
        (
            Engine::Compose,
            escala::targets::compose::codes::PROXY_UNREACHABLE,
        ),
    ] {
        let s = routed(&["back"], Some(&["edge"]), engine);
        let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
        let plan = checked.plan("p").expect("phase");
        let mut d = Diagnostics::new();
        escala::targets::all()
            .iter()
            .filter(|t| t.accepts(plan.phase()))
            .for_each(|t| t.check(&plan, &mut d));
        let found: Vec<_> = d.iter().filter(|x| x.code == code).collect();
        assert_eq!(found.len(), 1, "{engine:?}: {d}");
        assert_eq!(found[0].path, "services.web.networks");
        assert!(found[0].message.contains("502"), "{}", found[0].message);
        assert!(
            found[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("add `\"edge\"`")),
            "{:?}",
            found[0].help
        );
        assert!(d.has_errors());
    }
}

#[test]
fn the_proxy_can_be_named_when_its_image_is_not_traefik() {
    let s = routed(&["back", "edge"], None, Engine::Swarm)
        .service(
            Service::builder()
                .name("gate")
                .image("registry.example.com/gate:1")
                .networks(["back"])
                .build(),
        )
        .proxy("gate");
    assert_eq!(traefik_network(&s), "x_back");
    let d = routed(&["edge"], None, Engine::Swarm)
        .proxy("gat")
        .check()
        .expect_err("an unknown proxy");
    let e = d.iter().find(|x| x.path == "proxy").expect("at `proxy`");
    assert_eq!(e.code, "escala::ref::unknown");
}

/// One PostgreSQL with a 512 MiB `/dev/shm`, in a phase on `engine`.
fn with_shm(engine: Engine) -> (System, Artifacts) {
    let s = System::new("x")
        .service(
            Service::builder()
                .name("db")
                .image("postgres:17")
                .shm_size(ByteSize::mib(512))
                .build(),
        )
        .phase(Phase::new("p", engine));
    let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("p").expect("phase");
    let files = escala::targets::all()
        .into_iter()
        .find(|t| t.accepts(plan.phase()) && !["plan", "sql"].contains(&t.name()))
        .expect("a target")
        .render(&plan)
        .expect("renders");
    (s, files)
}

fn yaml(files: &Artifacts, path: &str) -> serde_yaml::Value {
    let text = files.iter().find(|(p, _)| *p == path).expect(path).1;
    serde_yaml::from_str(text).expect("yaml")
}

#[test]
fn shared_memory_is_rendered_the_way_each_engine_takes_it() {
    // compose: `shm_size`.
    let (_, files) = with_shm(Engine::Compose);
    let db = &yaml(&files, "docker-compose.yml")["services"]["db"];
    assert_eq!(db["shm_size"].as_str(), Some("512M"));
    // Swarm ignores `shm_size`: a tmpfs over /dev/shm, in bytes.
    let (_, files) = with_shm(Engine::Swarm);
    let db = &yaml(&files, "stack.yml")["services"]["db"];
    assert!(db.get("shm_size").is_none());
    let shm = db["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["target"] == "/dev/shm")
        .expect("a /dev/shm mount");
    assert_eq!(shm["type"], "tmpfs");
    assert_eq!(shm["tmpfs"]["size"].as_u64(), Some(512 * 1024 * 1024));
    // Kubernetes: a memory-backed emptyDir with the size limit, mounted at /dev/shm.
    let (_, files) = with_shm(Engine::Kubernetes);
    let (_, text) = files
        .iter()
        .find(|(_, t)| t.contains("/dev/shm"))
        .expect("a manifest mounting /dev/shm");
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    let pod = &doc["spec"]["template"]["spec"];
    let mount = pod["containers"][0]["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == "/dev/shm")
        .expect("mounted");
    let volume = pod["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("its volume");
    assert_eq!(volume["emptyDir"]["medium"], "Memory");
    assert_eq!(volume["emptyDir"]["sizeLimit"], "512Mi");
}

#[test]
fn shared_memory_and_a_mount_at_dev_shm_are_one_too_many() {
    let d = System::new("x")
        .service(
            Service::builder()
                .name("db")
                .image("postgres:17")
                .shm_size(ByteSize::mib(512))
                .mounts([Mount::tmpfs("/dev/shm")])
                .build(),
        )
        .phase(Phase::new("p", Engine::Compose))
        .check()
        .expect_err("two /dev/shm");
    let e = d
        .iter()
        .find(|x| x.path == "services.db.mounts[0].target")
        .expect("at the mount");
    assert!(e.message.contains("shm_size"), "{}", e.message);
}

/// An edge proxy publishing 80 and 443 in host mode, `replicas` of it, in a Swarm of three.
fn edge_proxy(replicas: u32, placement: Placement) -> System {
    System::new("x")
        .service(
            Service::builder()
                .name("traefik")
                .image("traefik:v3.6")
                .ports([
                    Port::tcp(80).publish(80).host_mode(),
                    Port::tcp(443).publish(443).host_mode(),
                ])
                .replicas(replicas)
                .placement(placement)
                .build(),
        )
        .phase(three_nodes(Phase::new("s", Engine::Swarm)))
}

#[test]
fn a_port_in_host_mode_keeps_client_addresses_one_task_per_node() {
    let s = edge_proxy(2, Placement::anywhere());
    let checked = s.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("s").expect("phase");
    let files = Swarm::new().render(&plan).expect("renders");
    let doc = yaml(&files, "stack.yml");
    let proxy = &doc["services"]["traefik"];
    for port in proxy["ports"].as_sequence().expect("ports") {
        assert_eq!(port["mode"], "host", "{port:?}");
    }
    // Two tasks cannot bind one node's port 80, and a replacement needs the old one gone.
    assert_eq!(
        proxy["deploy"]["placement"]["max_replicas_per_node"].as_u64(),
        Some(1)
    );
    assert_eq!(proxy["deploy"]["update_config"]["order"], "stop-first");
    assert_eq!(
        findings(&s)
            .iter()
            .filter(|d| d.code == codes::HOST_MODE_REPLICAS)
            .count(),
        0
    );
    // The mesh stays the default.
    let model = stack_like();
    let checked = model.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("s").expect("phase");
    let doc = yaml(&Swarm::new().render(&plan).expect("renders"), "stack.yml");
    assert_eq!(doc["services"]["cache"]["ports"][0]["mode"], "ingress");
    assert!(doc["services"]["cache"]["deploy"]
        .get("placement")
        .is_none());
}

fn stack_like() -> System {
    System::new("x")
        .service(
            Service::builder()
                .name("cache")
                .image("nginx:1.27")
                .ports([Port::tcp(80).publish(8081)])
                .build(),
        )
        .phase(Phase::new("s", Engine::Swarm))
}

#[test]
fn more_host_mode_replicas_than_nodes_that_may_run_them_is_an_error() {
    // Three nodes, one of them a manager: three replicas fit anywhere, two do not fit on
    // the one manager.
    assert!(paths(
        &findings(&edge_proxy(3, Placement::anywhere())),
        codes::HOST_MODE_REPLICAS
    )
    .is_empty());
    let d = findings(&edge_proxy(
        2,
        Placement::anywhere().role(NodeRole::Manager),
    ));
    assert_eq!(
        paths(&d, codes::HOST_MODE_REPLICAS),
        ["services.traefik.replicas"]
    );
    let e = d
        .iter()
        .find(|x| x.code == codes::HOST_MODE_REPLICAS)
        .expect("error");
    assert!(
        e.message.contains("2 replicas and 1 node(s)"),
        "{}",
        e.message
    );
    assert!(d.has_errors());
    // Host mode on a port that is not published is refused by the model's check.
    let bad = System::new("x")
        .service(
            Service::builder()
                .name("p")
                .image("traefik:v3.6")
                .ports([Port::tcp(80).host_mode()])
                .build(),
        )
        .phase(Phase::new("s", Engine::Swarm))
        .check()
        .expect_err("host mode without publish");
    assert!(
        bad.iter()
            .any(|d| d.path == "services.p.ports[0].host_mode"),
        "{bad}"
    );
}

/// Capabilities beyond Docker's default set reach compose and Swarm as `cap_add` (a default
/// one only when `cap_drop` took it away), `cap_drop` as written; both files stay valid.
#[test]
fn capabilities_reach_compose_and_swarm() {
    use crate::support::{compose_schema, schema_errors, swarm_schema};
    let system = |drop: &[&str]| {
        System::new("x")
            .service(
                Service::builder()
                    .name("vault")
                    .image("hashicorp/vault:1.18")
                    .capabilities(["IPC_LOCK", "CHOWN"])
                    .drop_capabilities(drop.iter().copied())
                    .build(),
            )
            .phase(Phase::new("c", Engine::Compose))
            .phase(Phase::new("s", Engine::Swarm))
    };
    for (drop, add) in [
        (&[][..], &["IPC_LOCK"][..]),
        (&["ALL"][..], &["IPC_LOCK", "CHOWN"][..]),
    ] {
        let model = system(drop);
        let checked = model.check().unwrap_or_else(|d| panic!("{d}"));
        for (phase, file, schema) in [
            ("c", "docker-compose.yml", compose_schema()),
            ("s", "stack.yml", swarm_schema()),
        ] {
            let plan = checked.plan(phase).expect("phase");
            let files = docker_files(&plan);
            let text = files.get(file).expect("file");
            let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
            let list = |key: &str| -> Vec<String> {
                doc["services"]["vault"][key]
                    .as_sequence()
                    .map(|s| {
                        s.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            assert_eq!(list("cap_add"), add, "{phase}: {text}");
            assert_eq!(list("cap_drop"), drop, "{phase}: {text}");
            assert!(schema_errors(&schema, text).is_empty(), "{phase}: {text}");
        }
    }
}
