//! The Swarm target: its checks, and what the reference stack file promises.

use escala::prelude::*;
use escala::targets::swarm::{codes, Swarm};
use escala::{Diagnostics, Target};

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
    let checked = systems::ALL[0].1().check().expect("valid");
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
    let checked = systems::stack().check().expect("valid");
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
