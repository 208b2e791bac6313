//! `escala import`: golden compose files → reviewed `infra.rs` that compiles and builds; the
//! example's own output imports back; arbitrary input never panics.

use std::collections::BTreeMap;

use escala::cli::import::{compose, infra_rs, ComposeFile, ImportError};
use escala::prelude::{ByteSize, Duration, Ulimit};
use escala::{System, Target};
use proptest::prelude::*;

use crate::support::{compose_schema, render_all, root, schema_errors};

/// The golden compose files; each has a generated `infra.rs` under `generated/`, compiled
/// into this test binary below.
const GOLDEN: &[&str] = &["webapp", "traefik", "swarm", "kompose", "syntax"];

// Exactly as `escala import` writes them (prettyplease), so rustfmt must leave them alone.
#[rustfmt::skip]
#[allow(dead_code)]
#[path = "fixtures/compose/generated"]
mod generated {
    pub mod kompose;
    pub mod swarm;
    pub mod syntax;
    pub mod traefik;
    pub mod webapp;
}

fn env() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/compose/.env")).expect(".env");
    escala::cli::import::interp::dotenv(&text)
}

fn import(name: &str) -> (System, escala::Diagnostics, String) {
    let path = format!("tests/fixtures/compose/{name}.yml");
    let text = std::fs::read_to_string(root().join(&path)).expect("fixture");
    let (system, diags) = compose(
        &[ComposeFile {
            path: path.clone(),
            text,
        }],
        &env(),
    )
    .expect("imports");
    let code = infra_rs(&system, &format!("`{path}`"));
    (system, diags, code)
}

#[test]
fn golden_files_import_to_reviewed_infra_rs() {
    for name in GOLDEN {
        let (_, diags, code) = import(name);
        let mut report = String::new();
        for d in &diags {
            report.push_str(&format!("{d}\n"));
        }
        insta::assert_snapshot!(format!("import_{name}"), format!("{report}---\n{code}"));
        let committed = std::fs::read_to_string(
            root().join(format!("tests/fixtures/compose/generated/{name}.rs")),
        )
        .unwrap_or_default();
        assert!(committed == code, "tests/fixtures/compose/generated/{name}.rs is stale: regenerate it with `escala import tests/fixtures/compose/{name}.yml --env-file tests/fixtures/compose/.env -o … --force` under `env -i`");
    }
}

#[test]
fn every_unrepresentable_key_is_a_diagnostic_with_a_location() {
    let (_, diags, _) = import("syntax");
    let found: Vec<String> = diags
        .iter()
        .map(|d| {
            let o = d.origin.as_ref().expect("a location in the YAML");
            format!("{} {}:{}", d.code, o.line, o.column)
        })
        .collect();
    for expected in [
        "escala::import::unsupported 2:1",   // version
        "escala::import::secret_value 36:7", // API_TOKEN
        "escala::import::unsupported 52:5",  // privileged
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} not in {found:#?}"
        );
    }
    let (system, diags, code) = import("syntax");
    assert_eq!(
        system.services[0].container_name.as_deref(),
        Some("app"),
        "container_name is the container's name"
    );
    // The runtime settings the model holds are imported, not reported as left out.
    let app = &system.services[0];
    for key in [
        "init",
        "working_dir",
        "stop_grace_period",
        "shm_size",
        "extra_hosts",
        "sysctls",
        "ulimits",
        "cap_drop",
        "annotations",
    ] {
        assert!(
            !diags
                .iter()
                .any(|d| d.path == format!("services.app.{key}")),
            "{key}: {diags}"
        );
    }
    assert!(app.init);
    assert_eq!(app.working_dir.as_deref(), Some("/srv/app"));
    assert_eq!(app.stop_grace_period, Some(Duration::secs(90)));
    assert_eq!(app.shm_size, Some(ByteSize::mib(256)));
    assert_eq!(app.extra_hosts["v6.internal"], "::1");
    assert_eq!(app.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(app.ulimits["nofile"], Ulimit::new(20000, 40000));
    assert_eq!(app.ulimits["nproc"], Ulimit::new(65535, 65535));
    assert_eq!(app.drop_capabilities, ["NET_RAW"]);
    assert_eq!(app.annotations["prometheus.io/scrape"], "true");
    assert!(
        !code.contains("abc123"),
        "a secret-looking value never lands in infra.rs"
    );
}

/// Import one in-memory compose file, returning `path line:column message` per diagnostic.
fn import_text(text: &str) -> (System, Vec<String>) {
    let (system, diags) = compose(
        &[ComposeFile {
            path: "labels.yml".into(),
            text: text.into(),
        }],
        &BTreeMap::new(),
    )
    .expect("imports");
    let found = diags
        .iter()
        .map(|d| {
            let o = d.origin.as_ref().expect("a location in the YAML");
            format!("{} {}:{} {}", d.path, o.line, o.column, d.message)
        })
        .collect();
    (system, found)
}

/// Every diagnostic in `found` starts with one of `expected` (`path line:col`), and each of
/// those is there.
#[track_caller]
fn reported_exactly(found: &[String], expected: &[&str]) {
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "{e} not in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn traefik_and_kompose_labels_without_an_equivalent_are_reported() {
    let (system, found) = import_text(
        r#"services:
  api:
    image: api:1
    ports: ["8080"]
    labels:
      traefik.enable: "true"
      traefik.http.routers.api.rule: Host(`api.acme.dev`)
      traefik.http.routers.api.entrypoints: websecure
      traefik.http.routers.api.middlewares: auth
      traefik.http.routers.api.priority: "10"
      traefik.http.middlewares.auth.basicauth.users: "admin:x"
      traefik.http.services.api.loadbalancer.server.port: "8080"
      traefik.http.services.api.loadbalancer.sticky.cookie: "true"
      traefik.tcp.routers.pg.rule: HostSNI(`*`)
      traefik.http.routers.metrics.rule: PathPrefix(`/metrics`)
      kompose.hpa.cpu: lots
      kompose.controller.type: replicaset
  off:
    image: off:1
    labels:
      - traefik.enable=false
      - traefik.http.routers.off.rule=Host(`off.acme.dev`)
  bare:
    labels:
      kompose.service.expose: bare.acme.dev
    image: bare:1
  late:
    labels:
      kompose.service.expose: late.acme.dev
    image: late:1
    ports: ["9000"]
volumes:
  data:
    labels:
      kompose.volume.size: huge
      kompose.volume.storage-class-name: longhorn
      team: data
"#,
    );
    let expected = &[
        "services.api.labels.traefik.http.routers.api.middlewares 9:7",
        "services.api.labels.traefik.http.routers.api.priority 10:7",
        "services.api.labels.traefik.http.middlewares.auth.basicauth.users 11:7",
        "services.api.labels.traefik.http.services.api.loadbalancer.sticky.cookie 13:7",
        "services.api.labels.traefik.tcp.routers.pg.rule 14:7",
        "services.api.labels.traefik.http.routers.metrics.rule 15:7",
        "services.api.labels.kompose.hpa.cpu 16:7",
        "services.api.labels.kompose.controller.type 17:7",
        "services.off.labels.traefik.enable 21:9",
        "services.off.labels.traefik.http.routers.off.rule 22:9",
        "services.bare.labels.kompose.service.expose 25:7",
        "volumes.data.labels.kompose.volume.size 35:7",
        "volumes.data.labels.team 37:7",
    ];
    // What has an equivalent became the model, and was not reported.
    reported_exactly(&found, expected);
    let hosts: Vec<&str> = system.routes.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["api.acme.dev", "late.acme.dev"]);
    assert!(system.routes[0].tls.is_some());
    assert_eq!(system.volumes[0].storage_class.as_deref(), Some("longhorn"));
}

#[test]
fn a_serving_router_with_a_redirect_middleware_is_still_a_route() {
    let (system, found) = import_text(
        r#"services:
  www:
    image: www:1
    ports: ["80"]
    labels:
      traefik.http.routers.www.rule: Host(`acme.dev`)
      traefik.http.routers.www.entrypoints: websecure
      traefik.http.routers.www.middlewares: redirect-to-www
"#,
    );
    assert_eq!(system.routes.len(), 1, "the router serves acme.dev");
    assert_eq!(system.routes[0].host, "acme.dev");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("services.www.labels.traefik.http.routers.www.middlewares 8:7"),
        "{found:#?}"
    );
}

#[test]
fn options_of_known_keys_without_an_equivalent_are_reported() {
    let (_, found) = import_text(
        r#"services:
  api:
    build:
      context: ./api
      cache_from: [api:cache]
    ports:
      - target: 8080
        mode: host
    volumes:
      - type: bind
        source: ./data
        target: /data
        bind:
          propagation: rshared
    tmpfs: ["/tmp:size=64m"]
    healthcheck:
      test: ["CMD", "true"]
      start_interval: 1s
      retries: often
    depends_on:
      db:
        condition: service_healthy
        required: false
    secrets:
      - source: token
        mode: 0400
    restart: sometimes
    deploy:
      replicas: many
      resources:
        limits:
          cpus: lots
          pids: 100
      placement:
        max_replicas_per_node: 1
      restart_policy:
        condition: on-failure
        delay: 5s
  db:
    image: postgres:17
secrets:
  token:
    environment: TOKEN
    template_driver: golang
"#,
    );
    let expected = &[
        "services.api.build.cache_from 5:7",
        "services.api.ports[0].mode 8:9",
        "services.api.volumes[0].bind 13:9",
        "services.api.tmpfs[0] ",
        "services.api.healthcheck.start_interval 18:7",
        "services.api.healthcheck.retries ",
        "services.api.depends_on.db.required 23:9",
        "services.api.secrets[0].mode 26:9",
        "services.api.restart ",
        "services.api.deploy.replicas ",
        "services.api.deploy.resources.limits.cpus ",
        "services.api.deploy.resources.limits.pids 33:11",
        "services.api.deploy.placement.max_replicas_per_node 35:9",
        "services.api.deploy.restart_policy.delay 38:9",
        "secrets.token.template_driver 44:5",
    ];
    reported_exactly(&found, expected);
}

#[test]
fn env_files_are_read_and_environment_wins() {
    let (system, diags, code) = import("webapp");
    use escala::prelude::Env;
    let web = system
        .services
        .iter()
        .find(|s| s.name == "web")
        .expect("web");
    assert_eq!(web.env["NODE_ENV"], Env::literal("production"));
    // The env file is a config (Kompose's ConfigMap); `environment` still wins.
    assert_eq!(web.env["LOG_LEVEL"], Env::config("web-env", "LOG_LEVEL"));
    let config = system
        .configs
        .iter()
        .find(|c| c.name == "web-env")
        .expect("the env file's config");
    assert!(
        matches!(&config.source, escala::ConfigSource::Values(v) if v["LOG_LEVEL"] == "info" && v["NODE_ENV"] == "development" && !v.contains_key("STRIPE_API_KEY"))
    );
    assert_eq!(web.env["STRIPE_API_KEY"], Env::secret("stripe-api-key"));
    assert!(
        !code.contains("sk_test"),
        "a secret from an env file never lands in infra.rs"
    );
    assert!(diags
        .iter()
        .any(|d| d.path == "services.web.env_file[0].STRIPE_API_KEY"));
    // A required env file that is missing is an error; an optional one is skipped.
    let (_, found) = import_text(
        "services:\n  a:\n    image: a:1\n    env_file: [no-such.env, {path: nor-this.env, required: false}]\n",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("services.a.env_file[0] 4:16 env file `no-such.env` cannot be read"),
        "{found:#?}"
    );
    let (_, found) = import_text("services:\n  a:\n    image: a:1\n    env_file: /dev/zero\n");
    assert!(
        found.len() == 1 && found[0].contains("not a regular file"),
        "{found:#?}"
    );
}

#[test]
fn the_generated_systems_check_and_build_every_phase() {
    let systems: Vec<crate::systems::Fixture> = vec![
        ("webapp", generated::webapp::system),
        ("traefik", generated::traefik::system),
        ("swarm", generated::swarm::system),
        ("kompose", generated::kompose::system),
        ("syntax", generated::syntax::system),
    ];
    let schema = compose_schema();
    for (name, build) in systems {
        let model = build();
        let checked = model.check().unwrap_or_else(|d| panic!("{name}: {d}"));
        let outputs = render_all(&checked);
        assert!(!outputs.is_empty(), "{name} renders");
        for (phase, target, files) in outputs {
            if let Some(yaml) = files.get("docker-compose.yml") {
                let errors = schema_errors(&schema, yaml);
                assert!(errors.is_empty(), "{name}/{phase}/{target}: {errors:#?}");
            }
        }
    }
}

#[test]
fn imported_details_match_the_compose_files() {
    let (s, _, _) = import("traefik");
    let hosts: Vec<(&str, &str, u16, bool)> = s
        .routes
        .iter()
        .map(|r| (r.host.as_str(), r.service.as_str(), r.port, r.tls.is_some()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("api.acme.dev", "api", 8000, true),
            ("api.acme.io", "api", 8000, true),
            ("acme.dev", "docs", 80, false)
        ]
    );
    assert_eq!(s.routes[2].path.as_deref(), Some("/docs"));
    assert!(matches!(
        s.phases[0].platform,
        escala::Platform::Dokploy { isolated: false }
    ));
    let (s, _, _) = import("webapp");
    assert_eq!(
        s.services[0].image.as_deref(),
        Some("ghcr.io/acme/shop-web:1.2.3"),
        "interpolated from .env"
    );
    assert_eq!(
        s.services[0].env.get("DATABASE_URL"),
        Some(&escala::Env::literal("postgres://shop@db/shop"))
    );
    assert_eq!(
        s.services[1].env.get("POSTGRES_PASSWORD"),
        Some(&escala::Env::secret("postgres-password"))
    );
    assert_eq!(
        s.services[0].depends_on[0],
        escala::Dependency::healthy("db")
    );
    let (s, _, _) = import("swarm");
    let web = &s.services[0];
    assert_eq!(
        (web.replicas, web.placement.role),
        (4, Some(escala::NodeRole::Worker))
    );
    assert_eq!(web.resources.memory_limit, Some(escala::ByteSize::mib(512)));
    assert_eq!(
        web.restart,
        escala::Restart::OnFailure {
            max_attempts: Some(3)
        }
    );
    assert_eq!(s.services[1].workload, escala::Workload::PerNode);
    assert_eq!(
        s.routes[0]
            .tls
            .as_ref()
            .and_then(|t| t.cert_resolver.as_deref()),
        Some("le")
    );
    let (s, _, _) = import("kompose");
    assert_eq!(s.services[0].workload, escala::Workload::Stateful);
    let hpa = s.services[1].autoscale.as_ref().expect("hpa");
    assert_eq!((hpa.min, hpa.max, hpa.cpu_percent), (2, 10, Some(60)));
    assert_eq!(
        s.services[2].workload,
        escala::Workload::Scheduled {
            schedule: "0 3 * * *".into()
        }
    );
    assert_eq!(s.volumes[0].size, Some(escala::ByteSize::gib(20)));
}

#[test]
fn the_examples_own_compose_output_imports_back() {
    let original = crate::systems::ALL[0].1();
    let checked = original.check().expect("valid");
    let plan = checked.plan("single-node").expect("phase");
    let files = escala::targets::compose::Compose::new()
        .render(&plan)
        .expect("renders");
    let text = files.get("docker-compose.yml").expect("file").to_owned();
    let (back, _) = compose(
        &[ComposeFile {
            path: "docker-compose.yml".into(),
            text,
        }],
        &BTreeMap::new(),
    )
    .expect("imports");
    let running: Vec<_> = plan.services().iter().collect();
    assert_eq!(back.services.len(), running.len());
    for (b, o) in back.services.iter().zip(running) {
        assert_eq!(b.name, o.name);
        assert_eq!(b.image, o.image, "{}", o.name);
        assert_eq!(b.env, o.env, "{}", o.name);
        assert_eq!(b.mounts, o.mounts, "{}", o.name);
        assert_eq!(b.depends_on, o.depends_on, "{}", o.name);
        assert_eq!(b.health, o.health, "{}", o.name);
        assert_eq!(b.resources, o.resources, "{}", o.name);
        assert_eq!(b.replicas, o.replicas, "{}", o.name);
        assert_eq!(b.secrets, o.secrets, "{}", o.name);
        assert_eq!(
            b.ports.iter().map(|p| p.container).collect::<Vec<_>>(),
            o.ports.iter().map(|p| p.container).collect::<Vec<_>>()
        );
    }
    let routes = |s: &System| {
        s.routes
            .iter()
            .map(|r| (r.host.clone(), r.service.to_string(), r.port))
            .collect::<Vec<_>>()
    };
    assert_eq!(routes(&back), routes(&original));
    let volumes = |s: &System| {
        s.volumes
            .iter()
            .filter(|v| v.name != "letsencrypt")
            .map(|v| (v.name.to_string(), v.backup))
            .collect::<Vec<_>>()
    };
    // The compose file also declares the replica's own volume, which the model derives.
    let mut expected = volumes(&original);
    expected.push(("pgdata-replica".to_owned(), false));
    assert_eq!(volumes(&back), expected);
    let mut secrets: Vec<String> = back.secrets.iter().map(|s| s.name.to_string()).collect();
    secrets.sort();
    assert_eq!(
        secrets,
        [
            "backup-access-key-id",
            "backup-secret-access-key",
            "database-url",
            "grafana-admin-password",
            "pgbouncer-userlist",
            "postgres-password",
            "replication-password"
        ]
    );
}

#[test]
fn malformed_yaml_is_an_error_with_a_location() {
    let file = ComposeFile {
        path: "bad.yml".into(),
        text: "services:\n  web:\n    image: [nginx\n".into(),
    };
    match compose(&[file], &BTreeMap::new()) {
        Err(ImportError::Yaml { path, line, .. }) => {
            assert_eq!((path.as_str(), line), ("bad.yml", 4))
        }
        other => panic!("{other:?}"),
    }
}

/// Random YAML-ish documents: nested maps and lists of compose-looking keys and odd scalars.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "services",
        "web",
        "image",
        "ports",
        "volumes",
        "environment",
        "deploy",
        "labels",
        "healthcheck",
        "test",
        "depends_on",
        "build",
        "secrets",
        "networks",
        "x",
        "<<",
        "traefik.http.routers.r.rule",
    ]);
    let scalar = prop_oneof![
        Just("~".to_owned()),
        Just("\"${X:?}\"".to_owned()),
        Just("&a 1".to_owned()),
        Just("*a".to_owned()),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        "[a-z0-9:./=-]{0,12}"
    ];
    let leaf = (key.clone(), scalar).prop_map(|(k, v)| format!("{k}: {v}"));
    leaf.prop_recursive(4, 24, 4, move |inner| {
        (
            key.clone(),
            prop::collection::vec(inner, 0..4),
            any::<bool>(),
        )
            .prop_map(|(k, items, as_list)| {
                let body: Vec<String> = items
                    .iter()
                    .flat_map(|i| {
                        i.lines()
                            .map(|l| format!("  {}{l}", if as_list { "- " } else { "" }))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                format!("{k}:\n{}", body.join("\n"))
            })
    })
}

proptest! {
    /// Any bytes: an error that says where (the first byte that is not UTF-8, a line and
    /// column of the YAML), or a model whose every diagnostic points at its line — and soon:
    /// a generous bound that only a runaway (an alias bomb, a quadratic walk) would pass.
    #[test]
    fn any_bytes_give_a_model_or_located_errors_in_bounded_time(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            yamlish().prop_map(String::into_bytes),
            (yamlish(), prop::collection::vec(any::<u8>(), 1..8), any::<prop::sample::Index>())
                .prop_map(|(doc, junk, at)| {
                    let mut b = doc.into_bytes();
                    let i = at.index(b.len() + 1);
                    b.splice(i..i, junk);
                    b
                }),
        ]
    ) {
        let started = std::time::Instant::now();
        let valid_up_to = std::str::from_utf8(&bytes).map_or_else(|e| Some(e.valid_up_to()), |_| None);
        match ComposeFile::from_bytes("f.yml", bytes.clone()) {
            Err(ImportError::NotUtf8 { offset, line, .. }) => {
                prop_assert_eq!(Some(offset), valid_up_to);
                prop_assert_eq!(line, bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1);
            }
            Err(e) => prop_assert!(false, "{e}"),
            Ok(file) => match compose(&[file], &BTreeMap::new()) {
                Ok((_, diags)) => {
                    for d in &diags {
                        prop_assert!(d.origin.is_some(), "no location: {d}");
                    }
                }
                Err(ImportError::Yaml { line, column, .. }) => {
                    prop_assert!(line >= 1 && column >= 1);
                }
                Err(ImportError::NoServices { .. }) => {}
                Err(e) => prop_assert!(false, "{e}"),
            },
        }
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn arbitrary_yaml_never_panics(doc in yamlish()) {
        if let Ok((system, _)) = compose(&[ComposeFile { path: "f.yml".into(), text: doc }], &BTreeMap::new()) {
            let _ = system.check();
            let _ = infra_rs(&system, "f.yml");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// What the compose target expresses comes back from the importer unchanged.
    #[test]
    fn importing_compose_output_gives_back_the_system(system in crate::props::valid_system()) {
        let checked = system.check().expect("valid");
        let plan = checked.plan("p").expect("phase");
        let files = escala::targets::compose::Compose::new().render(&plan).expect("renders");
        let text = files.get("docker-compose.yml").expect("file").to_owned();
        let (back, diags) = compose(&[ComposeFile { path: "docker-compose.yml".into(), text }], &BTreeMap::new()).expect("imports");
        prop_assert!(!diags.has_errors(), "{}", diags);
        prop_assert_eq!(back.services.len(), system.services.len());
        for (b, o) in back.services.iter().zip(&system.services) {
            prop_assert_eq!(&b.name, &o.name);
            prop_assert_eq!(&b.image, &o.image);
            prop_assert_eq!(&b.build, &o.build);
            prop_assert_eq!(&b.command, &o.command);
            prop_assert_eq!(&b.env, &o.env);
            prop_assert_eq!(&b.ports, &o.ports);
            prop_assert_eq!(&b.mounts, &o.mounts);
            prop_assert_eq!(&b.depends_on, &o.depends_on);
            prop_assert_eq!(&b.health, &o.health);
            prop_assert_eq!(b.replicas, o.replicas);
            prop_assert_eq!(&b.restart, &o.restart);
            prop_assert_eq!(&b.labels, &o.labels);
        }
        let routes = |s: &System| s.routes.iter().map(|r| (r.host.clone(), r.path.clone(), r.service.to_string(), r.port, r.tls.is_some())).collect::<Vec<_>>();
        prop_assert_eq!(routes(&back), routes(&system));
        let secrets = |s: &System| s.secrets.iter().filter(|x| s.services.iter().any(|svc| svc.env.values().any(|e| *e == escala::Env::secret(x.name.clone())))).cloned().collect::<Vec<_>>();
        prop_assert_eq!(secrets(&back), secrets(&system));
    }
}

/// The Kubernetes target in compat mode and Kompose 1.38 (as `../shared/reference/kompose.md`
/// describes it) agree on kinds, names, selectors, ports and claims for the golden Kompose file.
#[test]
fn kompose_equivalence_on_the_golden_kompose_file() {
    let system =
        generated::kompose::system().phase(escala::Phase::new("k8s", escala::Engine::Kubernetes));
    let checked = system.check().expect("valid");
    let plan = checked.plan("k8s").expect("phase");
    let files = escala::targets::kubernetes::Kubernetes::new()
        .compat(true)
        .render(&plan)
        .expect("renders");
    let kinds: Vec<&str> = files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".yaml") && *p != "kustomization.yaml")
        .collect();
    // Kompose: `db` (statefulset label) → StatefulSet + Service; `api` → Deployment + Service +
    // HPA + Ingress (for kompose.service.expose); `report` (restart no + cronjob label) → CronJob.
    for expected in [
        "db-statefulset.yaml",
        "db-service.yaml",
        "api-deployment.yaml",
        "api-service.yaml",
        "api-horizontalpodautoscaler.yaml",
        "report-cronjob.yaml",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    // A deliberate difference: no standalone PVC next to the StatefulSet's claim template
    // (Kompose #2090). The Ingress is named after the service, as Kompose names it.
    assert!(!kinds.contains(&"dbdata-persistentvolumeclaim.yaml"));
    assert!(kinds.contains(&"api-ingress.yaml"));
    let svc: serde_json::Value =
        serde_yaml::from_str(files.get("api-service.yaml").expect("service")).expect("yaml");
    assert_eq!(svc["spec"]["selector"]["io.kompose.service"], "api");
    assert_eq!(
        svc["spec"]["ports"][0]["name"], "8080",
        "Kompose names Service ports after the number"
    );
    let st: serde_json::Value =
        serde_yaml::from_str(files.get("db-statefulset.yaml").expect("statefulset")).expect("yaml");
    assert_eq!(
        st["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "dbdata",
        "claims named after the volume"
    );
    assert_eq!(
        st["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "20Gi",
        "kompose.volume.size honoured"
    );
}

#[test]
fn several_files_merge_in_order() {
    let base = ComposeFile {
        path: "docker-compose.yml".into(),
        text: "services:\n  web:\n    image: nginx:1.27\n    environment:\n      A: \"1\"\n      B: \"1\"\n    ports: [\"80\"]\n    command: [\"a\"]\n".into(),
    };
    let prod = ComposeFile {
        path: "docker-compose.prod.yml".into(),
        text: "services:\n  web:\n    image: nginx:1.28\n    environment:\n      B: \"2\"\n    ports: [\"443\"]\n    command: [\"b\"]\n  cache:\n    image: redis:8\n".into(),
    };
    let (s, diags) = compose(&[base, prod], &BTreeMap::new()).expect("imports");
    assert!(diags.is_empty(), "{diags}");
    let web = &s.services[0];
    assert_eq!(web.image.as_deref(), Some("nginx:1.28"), "later files win");
    assert_eq!(
        web.env.get("A"),
        Some(&escala::Env::literal("1")),
        "mappings merge key by key"
    );
    assert_eq!(web.env.get("B"), Some(&escala::Env::literal("2")));
    assert_eq!(
        web.ports.iter().map(|p| p.container).collect::<Vec<_>>(),
        [80, 443],
        "lists append"
    );
    assert_eq!(web.command, ["b"], "command is replaced");
    assert_eq!(s.services[1].name, "cache");
}

#[test]
fn golden_outputs_pass_check_jsonschema() {
    if !crate::support::conformance("check-jsonschema on the compose output of every golden import")
    {
        return;
    }
    let tool =
        std::env::var("ESCALA_CHECK_JSONSCHEMA").unwrap_or_else(|_| "check-jsonschema".into());
    let dir = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for (name, build) in [
        ("webapp", generated::webapp::system as fn() -> System),
        ("traefik", generated::traefik::system),
        ("swarm", generated::swarm::system),
        ("kompose", generated::kompose::system),
        ("syntax", generated::syntax::system),
    ] {
        for (phase, _, artifacts) in render_all(&build().check().expect("valid")) {
            if let Some(yaml) = artifacts.get("docker-compose.yml") {
                let path = dir.path().join(format!("{name}-{phase}.yml"));
                std::fs::write(&path, yaml).expect("write");
                files.push(path);
            }
        }
    }
    let out = std::process::Command::new(&tool)
        .arg("--schemafile")
        .arg(crate::support::shared().join("schemas/compose-spec.json"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{tool}`: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A Kompose Service port: (name, port, targetPort).
type KomposePort = (&'static str, u16, u16);

/// What `kompose convert` 1.38 writes for one golden file, worked out by hand from
/// `../shared/reference/kompose.md` (§2 objects, §3 names, §5 ports), next to what escala's
/// compat mode writes instead, with the reason for each difference.
struct KomposeExpectation {
    golden: &'static str,
    build: fn() -> System,
    /// Kompose's files, `<name>-<kind>.yaml`.
    kompose: &'static [&'static str],
    /// Kompose files escala does not write, and why.
    not_written: &'static [(&'static str, &'static str)],
    /// Files escala writes that Kompose does not, and why.
    added: &'static [(&'static str, &'static str)],
    /// Kompose's Service ports per service: (name, port, targetPort).
    kompose_ports: &'static [(&'static str, &'static [KomposePort])],
}

const EVERY_PHASE_ADDS: &[&str] = &["kustomization.yaml", "secrets.example"];

const KOMPOSE: &[KomposeExpectation] = &[
    KomposeExpectation {
        golden: "webapp",
        build: generated::webapp::system,
        kompose: &[
            "web-service.yaml",
            "web-deployment.yaml",
            "web-env-configmap.yaml",
            "db-deployment.yaml",
            "pgdata-persistentvolumeclaim.yaml",
            "cache-deployment.yaml",
            "cachedata-persistentvolumeclaim.yaml",
        ],
        not_written: &[],
        added: &[],
        // `8080:3000`: Kompose's Service listens on the published port.
        kompose_ports: &[("web", &[("8080", 8080, 3000)])],
    },
    KomposeExpectation {
        golden: "traefik",
        build: generated::traefik::system,
        kompose: &[
            "api-service.yaml",
            "api-deployment.yaml",
            "docs-deployment.yaml",
        ],
        not_written: &[],
        added: &[
            ("docs-service.yaml", "the Traefik route to docs:80 needs a Service"),
            ("api-ingress.yaml", "Traefik routers become routes"),
            ("docs-ingress.yaml", "Traefik routers become routes"),
        ],
        kompose_ports: &[("api", &[("8000", 8000, 8000)])],
    },
    KomposeExpectation {
        golden: "swarm",
        build: generated::swarm::system,
        // `restart_policy: on-failure` makes Kompose write a bare Pod; `mode: global` a
        // DaemonSet; the docker.sock bind mount is skipped.
        kompose: &["web-pod.yaml", "agent-daemonset.yaml"],
        not_written: &[],
        added: &[
            ("web-service.yaml", "the Traefik route to web:80 needs a Service"),
            ("web-ingress.yaml", "Traefik routers become routes"),
        ],
        kompose_ports: &[],
    },
    KomposeExpectation {
        golden: "syntax",
        build: generated::syntax::system,
        // `restart: on-failure:5` → a bare Pod; `./config` does not exist, so a claim
        // `app-claim1` (index 1 in the volume list); the file secret becomes a Secret holding
        // the key's content.
        kompose: &[
            "app-service.yaml",
            "app-pod.yaml",
            "data-persistentvolumeclaim.yaml",
            "app-claim1-persistentvolumeclaim.yaml",
            "tls-key-secret.yaml",
            "motd-configmap.yaml",
        ],
        not_written: &[
            (
                "app-claim1-persistentvolumeclaim.yaml",
                "a bind mount of a project path is an error (escala::kubernetes::project_bind_mount), not an empty claim",
            ),
            (
                "tls-key-secret.yaml",
                "secrets are references; the Secret is created by hand (secrets.example)",
            ),
        ],
        added: &[],
        kompose_ports: &[(
            "app",
            &[("80", 80, 8080), ("9090", 9090, 9090), ("53", 53, 53)],
        )],
    },
];

#[test]
fn kompose_equivalence_on_every_golden_file() {
    for e in KOMPOSE {
        let system = (e.build)().phase(escala::Phase::new("k8s", escala::Engine::Kubernetes));
        let checked = system.check().expect("valid");
        let plan = crate::support::as_the_cli_does(checked.plan("k8s").expect("phase"));
        let k = escala::targets::kubernetes::Kubernetes::new().compat(true);
        let mut diags = escala::Diagnostics::new();
        k.check(&plan, &mut diags);
        let errors: Vec<&str> = diags
            .iter()
            .filter(|d| d.severity == escala::Severity::Error)
            .map(|d| d.code.as_str())
            .collect();
        let expected_errors: Vec<&str> = if e.golden == "syntax" {
            vec![escala::targets::kubernetes::codes::PROJECT_BIND]
        } else {
            vec![]
        };
        assert_eq!(errors, expected_errors, "{}", e.golden);
        let files = k.render(&plan).expect("renders");
        let written: std::collections::BTreeSet<&str> = files.iter().map(|(p, _)| p).collect();
        let mut expected: std::collections::BTreeSet<&str> = e
            .kompose
            .iter()
            .copied()
            .filter(|f| !e.not_written.iter().any(|(n, _)| n == f))
            .collect();
        expected.extend(e.added.iter().map(|(f, _)| *f));
        expected.extend(EVERY_PHASE_ADDS);
        assert_eq!(written, expected, "{}: kinds and names", e.golden);
        // Selectors and pod labels: exactly `io.kompose.service: <service>`.
        for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
            let doc: serde_json::Value = serde_yaml::from_str(text).expect("yaml");
            let service = path.split('-').next().unwrap_or_default();
            let selector = match doc["kind"].as_str() {
                Some("Service") => &doc["spec"]["selector"],
                Some("Deployment" | "StatefulSet" | "DaemonSet") => {
                    assert_eq!(
                        doc["spec"]["template"]["metadata"]["labels"],
                        serde_json::json!({"io.kompose.service": service}),
                        "{}/{path}",
                        e.golden
                    );
                    &doc["spec"]["selector"]["matchLabels"]
                }
                Some("Pod") => &doc["metadata"]["labels"],
                _ => continue,
            };
            assert_eq!(
                *selector,
                serde_json::json!({"io.kompose.service": service}),
                "{}/{path}",
                e.golden
            );
        }
        // Ports: in compat mode the Service listens on the published port and names it
        // after it, as Kompose does (default mode: the container port).
        for (service, ports) in e.kompose_ports {
            let svc: serde_json::Value = serde_yaml::from_str(
                files
                    .get(&format!("{service}-service.yaml"))
                    .expect("a Service"),
            )
            .expect("yaml");
            let got: Vec<(String, u64, u64)> = svc["spec"]["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["port"].as_u64().unwrap_or_default(),
                        p["targetPort"].as_u64().unwrap_or_default(),
                    )
                })
                .collect();
            // Compat mode listens on the published port, as Kompose does.
            let kompose: Vec<(String, u64, u64)> = ports
                .iter()
                .map(|(name, port, target)| {
                    ((*name).to_owned(), u64::from(*port), u64::from(*target))
                })
                .collect();
            assert_eq!(got, kompose, "{}/{service}", e.golden);
        }
    }
}

fn import_err(text: String) -> String {
    let file = ComposeFile {
        path: "f.yml".into(),
        text,
    };
    match compose(&[file], &BTreeMap::new()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("imported"),
    }
}

/// The importer does not run away: an alias bomb stops at a node budget, deep nesting at a
/// depth limit, and a very large system imports into code whose builder chains stay short
/// (formatting a 20,000-call chain overflowed the stack).
#[test]
fn the_importer_stays_bounded() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10u8 {
        let (this, prev) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{prev}"); 9].join(", ");
        bomb.push_str(&format!("{this}: &{this} [{refs}]\n"));
    }
    bomb.push_str("services:\n  web:\n    image: nginx\n");
    let start = std::time::Instant::now();
    let e = import_err(bomb);
    assert!(e.contains("holds more than"), "{e}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "bounded in time"
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(import_err(deep).contains("recursion limit"));
    // 2,000 services: the builder chain is cut into statements.
    let mut big = String::from("services:\n");
    for i in 0..2000 {
        big.push_str(&format!("  s{i}:\n    image: nginx:1.27\n"));
    }
    let (system, diags) = compose(
        &[ComposeFile {
            path: "big.yml".into(),
            text: big,
        }],
        &BTreeMap::new(),
    )
    .expect("imports");
    assert!(!diags.has_errors());
    assert_eq!(system.services.len(), 2000);
    let code = infra_rs(&system, "`big.yml`");
    assert!(code.contains("let system = system"), "cut into statements");
    // Formatted (prettyplease indents; unparsable source would come back on few lines).
    assert!(
        code.lines().count() > 2000 * 4,
        "formatted, one service function each"
    );
    // Over the size limit: an error, before any parsing.
    let huge = format!("services: {{}}\n#{}", "x".repeat(64 * 1024 * 1024));
    assert!(import_err(huge).contains("reads at most"));
}

#[test]
fn an_empty_file_or_bytes_that_are_not_text_are_errors_that_say_where() {
    let e = import_err(String::new());
    assert!(e.contains("no `services:` to import"), "{e}");
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, b"services:\n  web:\n    image: ng\xffinx\n").expect("write");
    let exit = escala::cli::cmd::import::run(&bad, &[], None, None, false);
    assert_eq!(exit, escala::cli::Exit::Findings);
}

/// A compose secret renamed for Kubernetes (`db_password` → `db-password`) is mounted under
/// its new name; the variables and commands that named its compose path follow it.
#[test]
fn renamed_secrets_keep_their_references() {
    let file = ComposeFile {
        path: "f.yml".into(),
        text: "services:\n  db:\n    image: postgres:17\n    command: [\"sh\", \"-c\", \"cat /run/secrets/db_password\"]\n    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/db_password\n      OTHER: file=/run/secrets/db_password\n    secrets: [db_password]\nsecrets:\n  db_password:\n    environment: DB_PASSWORD\n".into(),
    };
    let (s, _) = compose(&[file], &BTreeMap::new()).expect("imports");
    let db = &s.services[0];
    assert_eq!(db.secrets, [escala::Name::from("db-password")]);
    assert_eq!(
        db.env["POSTGRES_PASSWORD_FILE"],
        escala::Env::secret_file("db-password")
    );
    assert_eq!(
        db.env["OTHER"],
        escala::Env::literal("file=/run/secrets/db-password")
    );
    assert_eq!(db.command[2], "cat /run/secrets/db-password");
}

/// A Windows host path is a located error, not a volume named `c`.
#[test]
fn windows_paths_are_refused_where_they_are() {
    let file = ComposeFile {
        path: "f.yml".into(),
        text: "services:\n  db:\n    image: postgres:17\n    volumes:\n      - C:\\Users\\x:D:\\config\n".into(),
    };
    let (_, diags) = compose(&[file], &BTreeMap::new()).expect("parses");
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == escala::Severity::Error)
        .map(|d| (d.path.as_str(), d.message.contains("Windows path")))
        .collect();
    assert_eq!(errors, [("services.db.volumes[0]", true)]);
}

fn import_diags(text: &str) -> (System, escala::Diagnostics) {
    let file = ComposeFile {
        path: "f.yml".into(),
        text: text.into(),
    };
    compose(&[file], &BTreeMap::new()).expect("imports")
}

/// Port ranges expand a port per number (`9090-9091:8080-8081`), a repeated port is listed
/// once per protocol, and a range too long or of mismatched lengths is a located error.
#[test]
fn port_ranges_expand() {
    let (s, diags) = import_diags(
        "services:\n  web:\n    image: nginx\n    ports:\n      - \"3000\"\n      - \"3000-3002\"\n      - \"9090-9091:8080-8081\"\n      - \"6379/tcp\"\n      - \"6379/udp\"\n      - \"127.0.0.1:5000-5001:5000-5001\"\n",
    );
    let ports: Vec<(u16, Option<u16>, escala::Protocol)> = s.services[0]
        .ports
        .iter()
        .map(|p| (p.container, p.publish, p.protocol))
        .collect();
    use escala::Protocol::{Tcp, Udp};
    assert_eq!(
        ports,
        [
            (3000, None, Tcp),
            (3001, None, Tcp),
            (3002, None, Tcp),
            (8080, Some(9090), Tcp),
            (8081, Some(9091), Tcp),
            (6379, None, Tcp),
            (6379, None, Udp),
            (5000, Some(5000), Tcp),
            (5001, Some(5001), Tcp),
        ]
    );
    assert!(!diags.has_errors(), "{diags}");
    for bad in ["1-5000", "9090-9092:8080-8081", "80:81/sctp", "5-3"] {
        let (_, diags) = import_diags(&format!(
            "services:\n  web:\n    image: nginx\n    ports: [\"{bad}\"]\n"
        ));
        assert!(
            diags
                .iter()
                .any(|d| d.severity == escala::Severity::Error && d.path == "services.web.ports[0]"),
            "{bad}: {diags}"
        );
    }
}

/// A secret interpolated into a command would land in infra.rs: a located error instead.
#[test]
fn a_secret_in_a_command_is_refused() {
    let (s, diags) = import_diags(
        "services:\n  cache:\n    image: redis\n    command: redis-server --requirepass ${REDIS_PASSWORD}\n",
    );
    assert!(s.services[0].command.is_empty());
    let e: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == escala::Severity::Error)
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(e, ["services.cache.command"]);
    // `$$VAR` is the shell's, read at run time: fine.
    let (s, diags) = import_diags(
        "services:\n  cache:\n    image: redis\n    command: [\"sh\", \"-c\", \"exec redis-server --requirepass \\\"$$REDIS_PASSWORD\\\"\"]\n",
    );
    assert!(!diags.has_errors(), "{diags}");
    assert_eq!(
        s.services[0].command[2],
        "exec redis-server --requirepass \"$REDIS_PASSWORD\""
    );
}

/// Small importer rules: `app: {}` joins a network without a warning, Kompose's service
/// volume labels size the claims, `mem_limit` and `group_add` map, a switch under a
/// secret-looking name stays a setting.
#[test]
fn service_level_details_import() {
    let (s, diags) = import_diags(
        "services:\n  db:\n    image: postgres:17\n    mem_limit: 512m\n    group_add: [\"1234\"]\n    environment:\n      ALLOW_EMPTY_PASSWORD: \"no\"\n    networks:\n      app: {}\n    volumes: [\"data:/var/lib/postgresql/data\"]\n    labels:\n      kompose.volume.size: 5Gi\nnetworks:\n  app: {}\nvolumes:\n  data: {}\n",
    );
    assert!(diags.is_empty(), "{diags}");
    let db = &s.services[0];
    assert_eq!(db.resources.memory_limit, Some(escala::ByteSize::mib(512)));
    assert_eq!(db.groups, [1234]);
    assert_eq!(
        db.env["ALLOW_EMPTY_PASSWORD"],
        escala::Env::NotSecret("no".into())
    );
    assert_eq!(s.volumes[0].size, Some(escala::ByteSize::gib(5)));
}

/// A bind mount of a project file or folder that exists becomes a config mounted at the same
/// path (Kompose's ConfigMap `<service>-cm<index>`); one that does not stays a bind mount.
#[test]
fn project_bind_mounts_become_configs() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("conf.d")).expect("dir");
    std::fs::write(dir.path().join("conf.d/a.conf"), "a").expect("file");
    std::fs::write(dir.path().join("app.ini"), "x=1").expect("file");
    let path = dir.path().join("compose.yaml");
    let file = ComposeFile {
        path: path.display().to_string(),
        text: "services:\n  web:\n    image: nginx\n    volumes:\n      - ./conf.d:/etc/nginx/conf.d:ro\n      - ./app.ini:/app.ini\n      - ./missing:/data\n".into(),
    };
    let (s, diags) = compose(&[file], &BTreeMap::new()).expect("imports");
    let web = &s.services[0];
    let configs: Vec<(&str, &str)> = web
        .configs
        .iter()
        .map(|c| (c.config.as_str(), c.target.as_str()))
        .collect();
    assert_eq!(
        configs,
        [("web-cm0", "/etc/nginx/conf.d"), ("web-cm1", "/app.ini")]
    );
    assert!(matches!(&s.configs[0].source, escala::ConfigSource::Dir(p) if p.ends_with("/conf.d")));
    assert!(
        matches!(&s.configs[1].source, escala::ConfigSource::File(p) if p.ends_with("/app.ini"))
    );
    assert_eq!(web.mounts.len(), 1, "the missing path stays a bind mount");
    // Not `:ro`: the service could have written there; a config is read-only.
    let warned: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(warned, ["services.web.volumes[1]"]);
    assert!(!s.configs[0].sensitive && !s.configs[1].sensitive);
    // A private key, or a folder holding one, is a sensitive config: a Secret, not a ConfigMap.
    std::fs::create_dir(dir.path().join("tls")).expect("dir");
    std::fs::write(dir.path().join("tls/site.crt"), "cert").expect("file");
    std::fs::write(dir.path().join("tls/site.key"), "key").expect("file");
    std::fs::write(
        dir.path().join("jwt.pem"),
        "-----BEGIN PRIVATE KEY-----\nx\n",
    )
    .expect("file");
    let file = ComposeFile {
        path: path.display().to_string(),
        text: "services:\n  web:\n    image: nginx\n    volumes:\n      - ./tls:/tls:ro\n      - ./jwt.pem:/jwt.pem:ro\n      - ./app.ini:/app.ini:ro\n".into(),
    };
    let (s, _) = compose(&[file], &BTreeMap::new()).expect("imports");
    let sensitive: Vec<bool> = s.configs.iter().map(|c| c.sensitive).collect();
    assert_eq!(sensitive, [true, true, false]);
    // A path leaving the compose file's folder stays a bind mount: its content is not
    // copied into generated files without the model saying so.
    std::fs::create_dir(dir.path().join("sub")).expect("dir");
    let file = ComposeFile {
        path: dir.path().join("sub/compose.yaml").display().to_string(),
        text: "services:\n  web:\n    image: nginx\n    volumes: [\"../app.ini:/app.ini:ro\"]\n"
            .into(),
    };
    let (s, _) = compose(&[file], &BTreeMap::new()).expect("imports");
    assert!(s.configs.is_empty());
    assert!(
        matches!(&s.services[0].mounts[0].source, escala::MountSource::Bind(p) if p.ends_with("/app.ini"))
    );
}
