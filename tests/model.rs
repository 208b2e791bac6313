use escala::prelude::*;

use crate::systems;

#[test]
fn builder_defaults_are_sensible() {
    let s = Service::builder().name("web").image("nginx:1.27").build();
    assert_eq!(s.replicas, 1);
    assert_eq!(s.restart, Restart::UnlessStopped);
    assert_eq!(s.workload, Workload::Stateless);
    assert!(s.env.is_empty() && s.ports.is_empty() && s.health.is_none());
}

#[test]
fn add_service_records_the_callers_line() {
    let system = System::new("x").service(Service::builder().name("web").image("nginx").build());
    let origin = system.services[0].origin.as_ref().expect("recorded");
    assert!(origin.file.ends_with("model.rs"), "{}", origin.file);
    assert_eq!(origin.line, line!() - 3);
}

#[test]
fn fixtures_round_trip_through_json() {
    for (name, build) in systems::ALL {
        let system = build();
        let json = serde_json::to_string(&system).expect("serializes");
        let mut back: System = serde_json::from_str(&json).expect("deserializes");
        // Origins are source locations, deliberately not serialized.
        crate::support::copy_origins(&system, &mut back);
        assert_eq!(back, system, "{name}");
    }
}

#[test]
fn phase_overrides_apply_only_in_their_phase() {
    let model = systems::ALL[0].1();
    let checked = model.check().expect("finanzas checks");
    let replicas = |phase: &str, svc: &str| {
        let plan = checked.plan(phase).expect("phase exists");
        plan.services()
            .iter()
            .find(|s| s.name == svc)
            .map(|s| s.replicas)
    };
    // The replica table of DESIGN.md.
    for (svc, single, swarm) in [
        ("frontend", 1, 4),
        ("backend", 2, 6),
        ("embedding", 1, 2),
        ("postgres", 1, 1),
        ("redis", 1, 1),
        ("bullmq-worker", 1, 3),
    ] {
        assert_eq!(
            replicas("single-node", svc),
            Some(single),
            "{svc} single-node"
        );
        assert_eq!(replicas("swarm", svc), Some(swarm), "{svc} swarm");
    }
    assert_eq!(
        replicas("single-node", "traefik"),
        None,
        "Dokploy brings its own Traefik"
    );
    let k3s = checked.plan("k3s").expect("k3s");
    let backend = k3s
        .services()
        .iter()
        .find(|s| s.name == "backend")
        .expect("backend");
    let hpa = backend.autoscale.as_ref().expect("autoscaled on k3s");
    assert_eq!(
        (hpa.min, hpa.max, hpa.cpu_percent, hpa.memory_percent),
        (2, 6, Some(70), Some(80))
    );
}

#[test]
fn default_alerts_are_the_seeds_triggers() {
    let a = Alerts::default();
    assert_eq!(
        (a.cpu_percent.warning, a.cpu_percent.critical),
        (65.0, 80.0)
    );
    assert_eq!(
        (a.memory_percent.warning, a.memory_percent.critical),
        (70.0, 85.0)
    );
    assert_eq!(
        (a.disk_percent.warning, a.disk_percent.critical),
        (60.0, 75.0)
    );
    assert_eq!(
        (a.p95_latency.warning, a.p95_latency.critical),
        (Duration::millis(150), Duration::millis(300))
    );
    assert_eq!(
        (a.error_rate_percent.warning, a.error_rate_percent.critical),
        (0.5, 2.0)
    );
}

#[test]
fn the_committed_json_schema_is_current() {
    let path = crate::support::root().join("schema/escala.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = escala::cli::schema_json();
    assert!(
        committed == current,
        "schema/escala.schema.json is stale; run `cargo run -q -p escala-cli -- schema > schema/escala.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&current).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    for (name, build) in crate::systems::ALL {
        let instance = serde_json::to_value(build()).expect("serializes");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

/// The model fuzz target's seeds (`fuzz/seeds/model/<fixture>.json`) are the fixture systems
/// as JSON, kept current: `ESCALA_UPDATE_SEEDS=1 cargo test model_fuzz_seeds` rewrites them.
#[test]
fn model_fuzz_seeds_are_the_fixture_systems() {
    let dir = crate::support::root().join("fuzz/seeds/model");
    for (name, build) in crate::systems::ALL {
        let json = serde_json::to_string_pretty(&build()).expect("serializes") + "\n";
        let path = dir.join(format!("{name}.json"));
        if std::env::var_os("ESCALA_UPDATE_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).expect("seed folder");
            std::fs::write(&path, &json).expect("seed written");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == json,
            "{} is stale: run `ESCALA_UPDATE_SEEDS=1 cargo test model_fuzz_seeds`",
            path.display()
        );
        let back: escala::System = serde_json::from_str(&committed).expect("deserializes");
        assert_eq!(back.name, build().name);
    }
}
