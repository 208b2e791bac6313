//! Invariants over generated models (proptest).

use escala::prelude::*;
use escala::Target;
use proptest::prelude::*;
use proptest::sample::select;

use crate::support::{compose_schema, schema_errors, swarm_schema};

const IMAGES: [&str; 4] = [
    "nginx:1.27",
    "ghcr.io/acme/api:1.0",
    "postgres:17",
    "redis:8.2-alpine",
];

#[derive(Debug, Clone)]
struct RawService {
    image: usize,
    build: bool,
    ports: Vec<u16>,
    health: Option<u8>,
    env: Vec<(String, String)>,
    secret_env: bool,
    deps: Vec<(usize, bool)>,
    replicas: u32,
    volume: Option<usize>,
    restart: u8,
    command: Vec<String>,
    labels: Vec<(String, String)>,
    routed: bool,
}

fn raw_service() -> impl Strategy<Value = RawService> {
    (
        (
            0..IMAGES.len(),
            any::<bool>(),
            prop::collection::btree_set(1u16..=65535, 0..3),
            prop::option::of(0u8..3),
        ),
        (
            prop::collection::vec(("[A-Z_][A-Z0-9_]{0,8}", "\\PC{0,12}"), 0..4),
            any::<bool>(),
        ),
        (
            prop::collection::vec((0usize..8, any::<bool>()), 0..3),
            1u32..4,
            prop::option::of(0usize..3),
            0u8..4,
        ),
        (
            prop::collection::vec("\\PC{0,8}", 0..3),
            prop::collection::vec(("[a-z][a-z.]{0,8}", "\\PC{0,8}"), 0..2),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (image, build, ports, health),
                (env, secret_env),
                (deps, replicas, volume, restart),
                (command, labels, routed),
            )| RawService {
                image,
                build,
                ports: ports.into_iter().collect(),
                health,
                env,
                secret_env,
                deps,
                replicas,
                volume,
                restart,
                command,
                labels,
                routed,
            },
        )
}

/// Valid systems: unique names, references only to what exists, no cycles (dependencies
/// point to earlier services), health checks where a dependency waits for health.
pub(crate) fn valid_system() -> impl Strategy<Value = System> {
    (
        prop::collection::vec(raw_service(), 1..7),
        select(vec![0u8, 1, 2]),
    )
        .prop_map(|(raws, platform)| {
            let mut system = System::new("prop")
                .volume(
                    Volume::builder()
                        .name("v0")
                        .access(Access::ReadWriteMany)
                        .build(),
                )
                .volume(
                    Volume::builder()
                        .name("v1")
                        .access(Access::ReadWriteMany)
                        .size(ByteSize::gib(1))
                        .build(),
                )
                .volume(
                    Volume::builder()
                        .name("v2")
                        .access(Access::ReadWriteMany)
                        .backup(true)
                        .build(),
                )
                .secret(Secret::from_env("token", "TOKEN"));
            for (i, raw) in raws.iter().enumerate() {
                let ports: Vec<Port> = raw.ports.iter().map(|p| Port::tcp(*p)).collect();
                let health = match (raw.health, ports.first()) {
                    (Some(0), Some(p)) => Some(HealthCheck::http("/health", p.container)),
                    (Some(1), Some(p)) => Some(HealthCheck::tcp(p.container)),
                    (Some(_), _) => Some(HealthCheck::command(["true"])),
                    (None, _) => None,
                };
                // A literal under a secret-looking name is refused by `check`.
                let mut env: Vec<(String, Env)> = raw
                    .env
                    .iter()
                    .filter(|(k, _)| !escala::looks_secret(k))
                    .map(|(k, v)| (k.clone(), Env::literal(v.clone())))
                    .collect();
                if raw.secret_env {
                    env.push(("SECRET_TOKEN".into(), Env::secret("token")));
                }
                let mut deps = Vec::new();
                for (j, healthy) in &raw.deps {
                    if i == 0 {
                        break;
                    }
                    let j = j % i;
                    let name = format!("s{j}");
                    if deps.iter().any(|d: &Dependency| d.service == name.as_str()) {
                        continue;
                    }
                    let dep_has_health = system.services[j].health.is_some();
                    deps.push(if *healthy && dep_has_health {
                        Dependency::healthy(name)
                    } else {
                        Dependency::started(name)
                    });
                }
                let mut svc = Service::builder()
                    .name(format!("s{i}"))
                    .image(IMAGES[raw.image])
                    .ports(ports)
                    .env(env)
                    .depends_on(deps)
                    .replicas(raw.replicas)
                    .command(raw.command.clone())
                    .labels(raw.labels.clone())
                    .restart(match raw.restart {
                        0 => Restart::Always,
                        1 => Restart::UnlessStopped,
                        2 => Restart::OnFailure {
                            max_attempts: Some(3),
                        },
                        _ => Restart::Never,
                    })
                    .build();
                svc.health = health;
                if raw.build {
                    svc.build = Some(Build::new(format!("./s{i}")));
                }
                if let Some(v) = raw.volume {
                    svc.mounts.push(Mount::volume(format!("v{v}"), "/data"));
                }
                if raw.routed {
                    if let Some(p) = svc.ports.first() {
                        system = system.route(
                            Route::builder()
                                .host(format!("s{i}.example.com"))
                                .service(format!("s{i}"))
                                .port(p.container)
                                .build(),
                        );
                    }
                }
                system.add_service(svc);
            }
            let platform = match platform {
                0 => Platform::Plain,
                1 => Platform::Dokploy { isolated: false },
                _ => Platform::Dokploy { isolated: true },
            };
            system
                .phase(Phase::new("p", Engine::Compose).platform(platform))
                .phase(Phase::new("s", Engine::Swarm).platform(platform))
                .phase(Phase::new("k", Engine::Kubernetes))
        })
}

fn render(system: &System) -> String {
    let checked = system.check().expect("valid");
    let plan = checked.plan("p").expect("phase");
    escala::targets::compose::Compose::new()
        .render(&plan)
        .expect("renders")
        .to_text()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn valid_systems_check_clean_and_render_deterministically(system in valid_system()) {
        let checked = system.check();
        prop_assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
        let checked = checked.expect("checked above");
        let mut diags = escala::Diagnostics::new();
        let plan = checked.plan("p").expect("phase");
        escala::targets::compose::Compose::new().check(&plan, &mut diags);
        prop_assert!(!diags.has_errors(), "{}", diags);
        prop_assert_eq!(render(&system), render(&system.clone()));
    }

    #[test]
    fn compose_output_validates_against_the_schema(system in valid_system()) {
        let text = render(&system);
        let yaml = text.split("--- docker-compose.yml ---\n").nth(1).expect("compose file");
        let errors = schema_errors(&compose_schema(), yaml);
        prop_assert!(errors.is_empty(), "{:#?}\n{}", errors, yaml);
    }

    #[test]
    fn swarm_output_validates_against_the_swarm_schema(system in valid_system()) {
        let checked = system.check().expect("valid");
        let plan = checked.plan("s").expect("phase");
        let mut diags = escala::Diagnostics::new();
        escala::targets::swarm::Swarm::new().check(&plan, &mut diags);
        prop_assert!(!diags.has_errors(), "{}", diags);
        let files = escala::targets::swarm::Swarm::new().render(&plan).expect("renders");
        let yaml = files.get("stack.yml").expect("stack file");
        let errors = schema_errors(&swarm_schema(), yaml);
        prop_assert!(errors.is_empty(), "{:#?}\n{}", errors, yaml);
    }

    #[test]
    fn kubernetes_manifests_round_trip_through_their_types(system in valid_system()) {
        let checked = system.check().expect("valid");
        let plan = checked.plan("k").expect("phase");
        let k = escala::targets::kubernetes::Kubernetes::new();
        let mut diags = escala::Diagnostics::new();
        k.check(&plan, &mut diags);
        prop_assert!(!diags.has_errors(), "{}", diags);
        for (path, text) in k.render(&plan).expect("renders").iter().filter(|(p, _)| p.ends_with(".yaml")) {
            let verdict = crate::kubernetes::round_trips(text);
            prop_assert!(verdict.is_ok(), "{}: {}", path, verdict.err().unwrap_or_default());
        }
    }

    #[test]
    fn systems_round_trip_through_json(system in valid_system()) {
        let json = serde_json::to_string(&system).expect("serializes");
        let mut back: System = serde_json::from_str(&json).expect("deserializes");
        crate::support::copy_origins(&system, &mut back);
        prop_assert_eq!(back, system);
    }

    #[test]
    fn arbitrary_systems_never_panic(
        names in prop::collection::vec(".{0,12}", 0..6),
        refs in prop::collection::vec((0usize..10, ".{0,6}"), 0..10),
        replicas in prop::collection::vec(0u32..5, 0..6),
        nums in prop::collection::vec(any::<u16>(), 0..6),
    ) {
        let mut system = System::new(names.first().cloned().unwrap_or_default());
        for (i, n) in names.iter().enumerate() {
            let mut s = Service::builder().name(n.as_str()).image(n.as_str()).replicas(replicas.get(i).copied().unwrap_or(1)).build();
            if let Some(p) = nums.get(i) {
                s.ports.push(Port::tcp(*p));
                s.health = Some(HealthCheck::http(n.as_str(), *p));
            }
            system.add_service(s);
            system = system.volume(Volume::builder().name(n.as_str()).build()).route(Route::builder().host(n.as_str()).service(n.as_str()).port(nums.get(i).copied().unwrap_or(0)).build());
        }
        for (k, r) in &refs {
            if let Some(s) = system.services.get_mut(k % names.len().max(1)) {
                s.depends_on.push(Dependency::healthy(r.as_str()));
                s.mounts.push(Mount::volume(r.as_str(), r.as_str()));
                s.autoscale = Some(Autoscale::between(*k as u32, 3));
            }
        }
        system = system.phase(Phase::new(names.last().cloned().unwrap_or_default(), Engine::Compose).replicas(names.first().cloned().unwrap_or_default(), 3));
        let targets = escala::targets::all();
        let selection = escala::cli::args::Selection { out: "unused".into(), phases: vec![], targets: vec![], deny_warnings: false, jobs: None };
        // Either outcome is fine; what matters is that neither check nor render panics.
        let _ = escala::cli::generate(&system, &targets, &selection);
    }
}

proptest! {
    // Each case runs the docker CLI twice: a sample of a few dozen per run.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_sample_of_stack_files_passes_swarms_own_loader(system in valid_system()) {
        if std::env::var("ESCALA_CONFORMANCE").as_deref() != Ok("1") {
            return Ok(());
        }
        let checked = system.check().expect("valid");
        let plan = checked.plan("s").expect("phase").with_project_root("../../..");
        let files = escala::targets::swarm::Swarm::new().render(&plan).expect("renders");
        let dir = tempfile::tempdir().expect("tmp");
        let (at, vars) = crate::conformance::write_stack(dir.path(), "s", &files);
        let verdict = crate::conformance::docker_stack_accepts(&at, &vars);
        prop_assert!(verdict.is_ok(), "{}\n{}", verdict.err().unwrap_or_default(), files.get("stack.yml").unwrap_or_default());
    }
}

proptest! {
    // Each case runs kubectl and kubernetes-validate: a small sample per run.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_sample_of_manifests_passes_kubernetes_validate(system in valid_system()) {
        if std::env::var("ESCALA_CONFORMANCE").as_deref() != Ok("1") {
            return Ok(());
        }
        let checked = system.check().expect("valid");
        let plan = checked.plan("k").expect("phase");
        let files = escala::targets::kubernetes::Kubernetes::new().render(&plan).expect("renders");
        let dir = tempfile::tempdir().expect("tmp");
        for (path, content) in files.iter() {
            std::fs::write(dir.path().join(path), content).expect("write");
        }
        let verdict = crate::conformance::kubernetes_accepts(dir.path());
        prop_assert!(verdict.is_ok(), "{}", verdict.err().unwrap_or_default());
    }
}

#[test]
fn the_docker_sample_says_when_it_is_skipped() {
    crate::support::conformance("proptest sample through docker stack config");
}

/// A service whose numbers are anything their types admit.
fn extreme_service(name: &'static str) -> impl Strategy<Value = Service> {
    (
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (
            any::<u32>(),
            prop::option::of((1u32..u32::MAX, any::<u8>())),
        ),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>()),
        (any::<u16>(), any::<u16>(), any::<u64>(), any::<u64>()),
    )
        .prop_map(
            move |(
                (c1, c2, m1, m2),
                (replicas, scale),
                (i, t, sp, retries),
                (port, publish, shm, grace),
            )| {
                let mut b = Service::builder()
                    .name(name)
                    .image("nginx:1.27")
                    .ports([Port::tcp(port.max(1)).publish(publish.max(1))])
                    .replicas(replicas)
                    .resources(
                        Resources::new()
                            .cpu(Cpu::millis(c1), Cpu::cores(c2))
                            .memory(ByteSize::bytes(m1), ByteSize::gib(m2)),
                    )
                    .health(
                        HealthCheck::tcp(port.max(1))
                            .interval(Duration::millis(i))
                            .timeout(Duration::secs(t))
                            .start_period(Duration::mins(sp))
                            .retries(retries),
                    )
                    .shm_size(ByteSize::mib(shm))
                    .stop_grace_period(Duration::secs(grace))
                    .build();
                if let Some((max, cpu)) = scale {
                    b.autoscale = Some(Autoscale::between(1, max).cpu(cpu));
                }
                b
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For any numbers their types admit, `check` and every target neither panic nor wrap
    /// into a silently wrong file: whatever `check` accepts, every target renders.
    #[test]
    fn extreme_numbers_never_panic(
        a in extreme_service("a"),
        b in extreme_service("b"),
        node_cpu in any::<u64>(),
        node_mem in any::<u64>(),
    ) {
        let node = |name: &str, role| Node::builder()
            .name(name)
            .role(role)
            .cpu(Cpu::millis(node_cpu))
            .memory(ByteSize::bytes(node_mem))
            .build();
        let system = System::new("x")
            .service(a)
            .service(b)
            .phase(Phase::new("c", Engine::Compose))
            .phase(Phase::new("s", Engine::Swarm).node(node("m", NodeRole::Manager)).node(node("w", NodeRole::Worker)))
            .phase(Phase::new("k", Engine::Kubernetes).node(node("k", NodeRole::Worker)));
        if let Ok(checked) = system.check() {
            for plan in checked.plans() {
                for t in escala::targets::all().iter().filter(|t| t.accepts(plan.phase())) {
                    let mut d = escala::Diagnostics::new();
                    t.check(&plan, &mut d);
                    if !d.has_errors() {
                        prop_assert!(t.render(&plan).is_ok(), "{} failed to render", t.name());
                    }
                }
            }
        }
    }
}

/// Systems on declared nodes: services with CPU requests and limits, replicas, autoscaling
/// and placement on a node label, in a Swarm and a Kubernetes phase on the same machines.
fn placed_system() -> impl Strategy<Value = System> {
    (
        prop::collection::vec(any::<bool>(), 1..5),
        prop::collection::vec(
            (
                1u64..2000,
                prop::option::of(0u64..2000),
                1u32..5,
                prop::option::of((1u32..4, 0u32..4)),
                any::<bool>(),
                any::<bool>(),
            ),
            1..7,
        ),
    )
        .prop_map(|(labelled, services)| {
            let mut system = System::new("placed");
            for (i, (cpu, extra, replicas, autoscale, pinned, stateful)) in
                services.into_iter().enumerate()
            {
                let name = format!("s{i}");
                let mut b = Service::builder()
                    .name(name.as_str())
                    .image("nginx:1.27")
                    .replicas(replicas)
                    .resources(Resources {
                        cpu_request: Some(Cpu::millis(cpu)),
                        cpu_limit: extra.map(|e| Cpu::millis(cpu + e)),
                        memory_request: Some(ByteSize::mib(64)),
                        memory_limit: Some(ByteSize::mib(128)),
                        ..Resources::default()
                    })
                    .build();
                if stateful {
                    b.workload = Workload::Stateful;
                    b.replicas = 1;
                } else if let Some((min, more)) = autoscale {
                    b.autoscale = Some(Autoscale::between(min, min + more).cpu(70));
                    b.replicas = replicas.clamp(min, min + more);
                }
                if pinned {
                    b.placement = Placement::anywhere().label("tier", "a");
                }
                system = system.service(b);
            }
            let nodes = |mut p: Phase| {
                for (i, l) in labelled.iter().enumerate() {
                    let labels: Vec<(&str, &str)> = if *l || i == 0 {
                        vec![("tier", "a")]
                    } else {
                        vec![]
                    };
                    p = p.node(
                        Node::builder()
                            .name(format!("n{i}"))
                            .role(if i == 0 {
                                NodeRole::Manager
                            } else {
                                NodeRole::Worker
                            })
                            .labels(labels)
                            .cpu(Cpu::cores(256))
                            .memory(ByteSize::gib(1024))
                            .build(),
                    );
                }
                p
            };
            system
                .phase(nodes(Phase::new("s", Engine::Swarm)))
                .phase(nodes(Phase::new("k", Engine::Kubernetes)))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The CPU a plan counts (requested and limits) is what the engine's own files reserve,
    /// for any services, replicas, autoscaling and placement on any nodes.
    #[test]
    fn plan_capacity_equals_what_the_engines_files_reserve(system in placed_system()) {
        let checked = system.check();
        prop_assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
        let checked = checked.expect("checked above");
        let compared = crate::targets::capacity_compared(&checked);
        prop_assert_eq!(compared, Ok(2));
    }
}
