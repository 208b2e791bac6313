//! The Kubernetes target: Kompose-compatibility rules pinned on small models, what the
//! reference manifests promise, and the typed round trip of every manifest.

use escala::prelude::*;
use escala::targets::kubernetes::Kubernetes;
use escala::{Artifacts, Target};
use serde_json::Value;

use crate::systems;

fn render(system: &System, k: &Kubernetes) -> Artifacts {
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked
        .plans()
        .into_iter()
        .find(|p| k.accepts(p.phase()))
        .map(crate::support::as_the_cli_does)
        .expect("a kubernetes phase");
    let mut diags = escala::Diagnostics::new();
    k.check(&plan, &mut diags);
    assert!(!diags.has_errors(), "{diags}");
    k.render(&plan).expect("renders")
}

fn doc(files: &Artifacts, file: &str) -> Value {
    let text = files.get(file).unwrap_or_else(|| {
        panic!(
            "{file} missing; have {:?}",
            files.iter().map(|(p, _)| p).collect::<Vec<_>>()
        )
    });
    serde_yaml::from_str(text).expect("YAML")
}

fn k3s(services: Vec<Service>) -> System {
    let mut s = System::new("shop").phase(Phase::new("k3s", Engine::Kubernetes));
    for svc in services {
        s.add_service(svc);
    }
    s
}

/// Parses a manifest into its k8s-openapi type and serializes it again: unknown or
/// misplaced fields do not survive, so the two values differ.
pub fn round_trips(yaml: &str) -> Result<(), String> {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy};
    let value: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
    let kind = value["kind"].as_str().unwrap_or_default().to_owned();
    fn again<T: serde::de::DeserializeOwned + serde::Serialize>(
        v: &Value,
    ) -> Result<Value, String> {
        let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        serde_json::to_value(typed).map_err(|e| e.to_string())
    }
    let back = match kind.as_str() {
        "Namespace" => again::<core::v1::Namespace>(&value)?,
        "Service" => again::<core::v1::Service>(&value)?,
        "Pod" => again::<core::v1::Pod>(&value)?,
        "ConfigMap" => again::<core::v1::ConfigMap>(&value)?,
        "PersistentVolumeClaim" => again::<core::v1::PersistentVolumeClaim>(&value)?,
        "Deployment" => again::<apps::v1::Deployment>(&value)?,
        "StatefulSet" => again::<apps::v1::StatefulSet>(&value)?,
        "DaemonSet" => again::<apps::v1::DaemonSet>(&value)?,
        "CronJob" => again::<batch::v1::CronJob>(&value)?,
        "HorizontalPodAutoscaler" => again::<autoscaling::v2::HorizontalPodAutoscaler>(&value)?,
        "PodDisruptionBudget" => again::<policy::v1::PodDisruptionBudget>(&value)?,
        "Ingress" => again::<networking::v1::Ingress>(&value)?,
        "NetworkPolicy" => again::<networking::v1::NetworkPolicy>(&value)?,
        // CRDs and the kustomization have no k8s-openapi type.
        "PrometheusRule" | "Middleware" | "Kustomization" => return Ok(()),
        other => return Err(format!("no typed round trip for kind `{other}`")),
    };
    if back == value {
        Ok(())
    } else {
        Err(format!(
            "{kind} changed in the round trip:\n{}\n---\n{}",
            serde_yaml::to_string(&value).unwrap_or_default(),
            serde_yaml::to_string(&back).unwrap_or_default()
        ))
    }
}

#[test]
fn every_manifest_round_trips_through_its_typed_object() {
    let mut n = 0;
    for (fixture, build) in systems::ALL {
        for (phase, target, files) in crate::support::render_all(&build().check().expect("valid")) {
            if target != "kubernetes" {
                continue;
            }
            for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
                round_trips(text).unwrap_or_else(|e| panic!("{fixture}/{phase}/{path}: {e}"));
                n += 1;
            }
        }
    }
    assert!(n > 30, "manifests checked: {n}");
}

#[test]
fn the_round_trip_can_fail() {
    let bad = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  port: 80\n";
    assert!(round_trips(bad).is_err());
}

#[test]
fn kompose_names_labels_and_selectors() {
    let files = render(
        &k3s(vec![Service::builder()
            .name("web")
            .image("nginx:1.27")
            .ports([Port::tcp(80), Port::udp(53)])
            .build()]),
        &Kubernetes::new().compat(true),
    );
    let svc = doc(&files, "web-service.yaml");
    assert_eq!(svc["metadata"]["name"], "web");
    assert_eq!(svc["metadata"]["labels"]["io.kompose.service"], "web");
    assert_eq!(svc["spec"]["selector"]["io.kompose.service"], "web");
    // Kompose names Service ports after the port number, omits TCP, keeps UDP.
    assert_eq!(
        svc["spec"]["ports"][0],
        serde_json::json!({"name": "80", "port": 80, "targetPort": 80})
    );
    assert_eq!(svc["spec"]["ports"][1]["protocol"], "UDP");
    let dep = doc(&files, "web-deployment.yaml");
    assert_eq!(
        dep["spec"]["selector"]["matchLabels"]["io.kompose.service"],
        "web"
    );
    assert_eq!(
        dep["spec"]["template"]["metadata"]["labels"]["io.kompose.service"],
        "web"
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["ports"][0],
        serde_json::json!({"containerPort": 80, "protocol": "TCP"})
    );
    assert_eq!(dep["spec"]["replicas"], 1);
}

#[test]
fn kompose_controller_choices() {
    let svc = |name: &str, workload: Workload, restart: Restart| {
        Service::builder()
            .name(name)
            .image("nginx")
            .workload(workload)
            .restart(restart)
            .build()
    };
    let files = render(
        &k3s(vec![
            svc("web", Workload::Stateless, Restart::Always),
            svc("migrate", Workload::Stateless, Restart::Never),
            svc("db", Workload::Stateful, Restart::Always),
            svc("agent", Workload::PerNode, Restart::Always),
            svc(
                "report",
                Workload::Scheduled {
                    schedule: "0 3 * * *".into(),
                },
                Restart::Never,
            ),
        ]),
        &Kubernetes::new().compat(true),
    );
    assert_eq!(doc(&files, "web-deployment.yaml")["kind"], "Deployment");
    let pod = doc(&files, "migrate-pod.yaml");
    assert_eq!(
        pod["spec"]["restartPolicy"], "Never",
        "Kompose turns `restart: no` into a bare Pod"
    );
    let st = doc(&files, "db-statefulset.yaml");
    assert_eq!(st["spec"]["serviceName"], "db");
    assert_eq!(
        doc(&files, "db-service.yaml")["spec"]["clusterIP"],
        "None",
        "a headless Service for the StatefulSet"
    );
    assert!(
        doc(&files, "db-service.yaml")["spec"]
            .get("ports")
            .is_none(),
        "no dummy 55555 port, no targetPort 0"
    );
    assert!(doc(&files, "agent-daemonset.yaml")["spec"]
        .get("replicas")
        .is_none());
    assert_eq!(
        doc(&files, "report-cronjob.yaml")["spec"]["schedule"],
        "0 3 * * *"
    );
}

#[test]
fn kompose_volumes_become_claims_named_after_them() {
    let s = k3s(vec![
        Service::builder()
            .name("web")
            .image("nginx")
            .mounts([
                Mount::volume("uploads", "/srv/uploads"),
                Mount::tmpfs("/tmp"),
            ])
            .build(),
        Service::builder()
            .name("db")
            .image("postgres:17")
            .mounts([Mount::volume("pgdata", "/var/lib/postgresql/data")])
            .workload(Workload::Stateful)
            .build(),
    ])
    .volume(Volume::builder().name("uploads").build())
    .volume(
        Volume::builder()
            .name("pgdata")
            .size(ByteSize::gib(50))
            .storage_class("local-path")
            .build(),
    );
    let files = render(&s, &Kubernetes::new());
    let pvc = doc(&files, "uploads-persistentvolumeclaim.yaml");
    assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteOnce");
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"], "100Mi",
        "Kompose's default size"
    );
    let dep = doc(&files, "web-deployment.yaml");
    assert_eq!(
        dep["spec"]["strategy"]["type"], "Recreate",
        "a claim forces Recreate, as in Kompose"
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][1]["emptyDir"]["medium"],
        "Memory"
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][1]["name"],
        "web-tmpfs1"
    );
    // A StatefulSet's volume is a claim template, never also a standalone claim (Kompose #2090).
    assert!(files.get("pgdata-persistentvolumeclaim.yaml").is_none());
    let st = doc(&files, "db-statefulset.yaml");
    assert_eq!(
        st["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
    assert_eq!(
        st["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        "local-path"
    );
}

#[test]
fn escala_fixes_komposes_quirks() {
    let s = k3s(vec![Service::builder()
        .name("api")
        .image("ghcr.io/a/api:1")
        .ports([Port::tcp(8080).named("http")])
        .secrets(["token"])
        .env([("DB_PASSWORD", Env::secret("db-password"))])
        .health(HealthCheck::command([
            "sh",
            "-c",
            "curl -f localhost:8080 || exit 1",
        ]))
        .build()])
    .secret(Secret::from_env("token", "TOKEN"))
    .secret(Secret::external("db-password", "shared-db"));
    let files = render(&s, &Kubernetes::new());
    let c = &doc(&files, "api-deployment.yaml")["spec"]["template"]["spec"]["containers"][0];
    // Secrets mounted as the file /run/secrets/<name>, not over /run/secrets (Kompose #1280).
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/run/secrets/token");
    assert_eq!(c["volumeMounts"][0]["subPath"], "token");
    // Env secrets as references, never plain values.
    assert_eq!(
        c["env"][0]["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "shared-db", "key": "db-password"})
    );
    // Exec probes keep their argv (no CMD-SHELL collapsed into one word).
    assert_eq!(
        c["livenessProbe"]["exec"]["command"][2],
        "curl -f localhost:8080 || exit 1"
    );
    assert_eq!(c["readinessProbe"], c["livenessProbe"]);
    // No Secret object at all.
    assert!(files
        .iter()
        .all(|(_, text)| !text.contains("kind: \"Secret\"")));
    let example = files.get("secrets.example").expect("secrets.example");
    assert!(
        example.contains("create secret generic token --from-literal=token=\"$TOKEN\""),
        "{example}"
    );
    assert!(
        example.contains("create secret generic shared-db"),
        "{example}"
    );
}

#[test]
fn compat_mode_drops_escalas_additions() {
    let s = || {
        k3s(vec![
            Service::builder()
                .name("db")
                .image("postgres:17")
                .ports([Port::tcp(5432)])
                .health(HealthCheck::command(["pg_isready"]))
                .build(),
            Service::builder()
                .name("web")
                .image("nginx")
                .user("1000")
                .ports([Port::tcp(80)])
                .replicas(2)
                .depends_on([Dependency::healthy("db")])
                .build(),
        ])
    };
    let full = render(&s(), &Kubernetes::new());
    assert!(full
        .get("default-deny-ingress-networkpolicy.yaml")
        .is_some());
    assert!(full.get("web-poddisruptionbudget.yaml").is_some());
    let pod = &doc(&full, "web-deployment.yaml")["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][0]["name"], "wait-for-db");
    assert_eq!(
        pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        pod["containers"][0]["securityContext"]["runAsNonRoot"],
        true
    );
    assert_eq!(
        pod["containers"][0]["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
    let compat = render(&s(), &Kubernetes::new().compat(true));
    assert!(compat
        .iter()
        .all(|(p, _)| !p.contains("networkpolicy") && !p.contains("poddisruptionbudget")));
    let pod = &doc(&compat, "web-deployment.yaml")["spec"]["template"]["spec"];
    assert!(pod.get("initContainers").is_none());
    assert_eq!(
        pod["containers"][0]["securityContext"],
        serde_json::json!({"runAsUser": 1000}),
        "what Kompose maps from `user`"
    );
}

#[test]
fn tls_ingresses_on_traefik_redirect_http_to_https() {
    let s = || {
        k3s(vec![Service::builder()
            .name("web")
            .image("nginx")
            .ports([Port::tcp(80)])
            .build()])
        .route(
            Route::builder()
                .host("shop.example")
                .service("web")
                .port(80)
                .build(),
        )
        .route(
            Route::builder()
                .host("plain.example")
                .service("web")
                .port(80)
                .tls(None)
                .build(),
        )
    };
    let annotation = "traefik.ingress.kubernetes.io/router.middlewares";
    let files = render(&s(), &Kubernetes::new());
    let tls = doc(&files, "shop-example-ingress.yaml");
    assert_eq!(
        tls["metadata"]["annotations"][annotation], "shop-https-redirect@kubernetescrd",
        "`<namespace>-<middleware>@kubernetescrd`, as Traefik names CRD middlewares"
    );
    let plain = doc(&files, "plain-example-ingress.yaml");
    assert!(
        plain["metadata"].get("annotations").is_none(),
        "a route without TLS is served on HTTP"
    );
    let m = doc(&files, "https-redirect-middleware.yaml");
    assert_eq!(m["apiVersion"], "traefik.io/v1alpha1");
    assert_eq!(m["metadata"]["namespace"], "shop");
    assert_eq!(
        m["spec"],
        serde_json::json!({"redirectScheme": {"scheme": "https", "permanent": true}})
    );
    // Another controller has no Traefik CRDs; compat mode matches Kompose.
    for (k, ingress) in [
        (
            Kubernetes::new().ingress_class("nginx"),
            "shop-example-ingress.yaml",
        ),
        // Kompose writes one Ingress per service, named after it.
        (Kubernetes::new().compat(true), "web-ingress.yaml"),
    ] {
        let files = render(&s(), &k);
        assert!(files.get("https-redirect-middleware.yaml").is_none());
        let tls = doc(&files, ingress);
        assert!(tls["metadata"]["annotations"].get(annotation).is_none());
    }
}

#[test]
fn network_policies_follow_the_dependency_graph() {
    let files = render(&systems::ALL[0].1(), &Kubernetes::new());
    let allow = |svc: &str| doc(&files, &format!("allow-{svc}-networkpolicy.yaml"));
    let from = |p: &Value| -> Vec<String> {
        p["spec"]["ingress"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rule| rule["from"].as_array().cloned().unwrap_or_default())
            .filter_map(|peer| {
                peer["podSelector"]["matchLabels"]
                    .as_object()
                    .and_then(|m| m.values().next())
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
            .collect()
    };
    // The jobs (backup, partition upkeep, the Citus cluster's registration, the replica's
    // setup), PgBouncer, the Citus workers and the read replica (it streams from the primary)
    // connect to postgres too (the coordinator on K3s).
    assert_eq!(
        from(&allow("postgres")),
        [
            "backend",
            "backup-database",
            "bullmq-worker",
            "citus-nodes",
            "partition-upkeep",
            "pgbouncer",
            "postgres-replica",
            "postgres-worker-1",
            "postgres-worker-2",
            "replication-setup"
        ]
    );
    assert_eq!(
        from(&allow("postgres-worker-1")),
        ["citus-nodes", "postgres", "postgres-worker-2"]
    );
    assert_eq!(from(&allow("redis")), ["backend", "bullmq-worker"]);
    assert_eq!(
        from(&allow("embedding")),
        ["backend", "bullmq-worker", "prometheus"]
    );
    assert_eq!(
        from(&allow("frontend")),
        ["traefik"],
        "only the ingress controller reaches the front end"
    );
    let deny = doc(&files, "default-deny-ingress-networkpolicy.yaml");
    assert_eq!(
        deny["spec"],
        serde_json::json!({"podSelector": {}, "policyTypes": ["Ingress"]})
    );
}

#[test]
fn finanzas_k3s_has_what_the_seed_sketches() {
    let files = render(&systems::ALL[0].1(), &Kubernetes::new());
    let pg = doc(&files, "postgres-statefulset.yaml");
    assert_eq!(
        pg["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
    assert_eq!(
        pg["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"][0],
        "pg_isready"
    );
    let backend = doc(&files, "backend-deployment.yaml");
    assert!(
        backend["spec"].get("replicas").is_none(),
        "the HPA owns the replica count"
    );
    let api = &backend["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(api["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(api["readinessProbe"]["httpGet"]["path"], "/ready");
    let hpa = doc(&files, "backend-horizontalpodautoscaler.yaml");
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_i64(),
            hpa["spec"]["maxReplicas"].as_i64()
        ),
        (Some(2), Some(6))
    );
    assert_eq!(hpa["spec"]["metrics"].as_array().map(Vec::len), Some(2));
    for host in ["app.finanzas.example", "api.finanzas.example"] {
        let ing = doc(&files, &format!("{}-ingress.yaml", host.replace('.', "-")));
        assert_eq!(ing["spec"]["tls"][0]["hosts"][0], host);
        assert_eq!(ing["spec"]["ingressClassName"], "traefik");
        assert_eq!(
            ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
            "letsencrypt"
        );
    }
    let rule = doc(&files, "finanzas-alerts-prometheusrule.yaml");
    let alerts: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["alert"].as_str())
        .collect();
    assert!(
        alerts.contains(&"HostHighCpu") && alerts.contains(&"PodRestarting"),
        "{alerts:?}"
    );
    assert!(
        files.iter().all(|(_, t)| !t.contains("kind: \"Secret\"")),
        "no Secret carries a value"
    );
    let kustomization = doc(&files, "kustomization.yaml");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let yaml_files: Vec<&str> = files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".yaml") && *p != "kustomization.yaml")
        .collect();
    assert_eq!(listed, yaml_files, "the kustomization lists every manifest");
    let config = doc(&files, "prometheus-config-configmap.yaml");
    assert!(
        config["data"]["prometheus.yml"]
            .as_str()
            .is_some_and(|t| t.contains("scrape_configs")),
        "the ConfigMap holds the file"
    );
}

#[test]
fn bind_mounts_of_project_paths_are_errors_and_node_paths_warnings() {
    let s = k3s(vec![Service::builder()
        .name("agent")
        .image("agent:1")
        .mounts([
            Mount::bind("/var/run/docker.sock", "/var/run/docker.sock"),
            Mount::bind("./config", "/etc/agent"),
        ])
        .build()]);
    let checked = s.check().expect("valid model");
    let plan = checked.plan("k3s").expect("phase");
    let mut diags = escala::Diagnostics::new();
    Kubernetes::new().check(&plan, &mut diags);
    let found: Vec<(String, String, bool)> = diags
        .iter()
        .map(|d| {
            (
                d.code.clone(),
                d.path.clone(),
                d.severity == escala::Severity::Error,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                escala::targets::kubernetes::codes::BIND_MOUNT.to_owned(),
                "services.agent.mounts[0]".to_owned(),
                false
            ),
            (
                escala::targets::kubernetes::codes::PROJECT_BIND.to_owned(),
                "services.agent.mounts[1]".to_owned(),
                true
            ),
        ]
    );
}

/// A routed web service in a Kubernetes phase whose ingress controller is `ingress`.
fn routed_web(ingress: Option<IngressController>) -> System {
    let mut phase = Phase::new("k3s", Engine::Kubernetes);
    if let Some(i) = ingress {
        phase = phase.ingress(i);
    }
    routed_web_in(phase)
}

/// A routed web service (port 80, `shop.example.com`) in the Kubernetes phase `phase`.
fn routed_web_in(phase: Phase) -> System {
    System::new("shop")
        .service(
            Service::builder()
                .name("web")
                .image("nginx:1.27")
                .ports([Port::tcp(80)])
                .build(),
        )
        .route(
            Route::builder()
                .host("shop.example.com")
                .service("web")
                .port(80)
                .build(),
        )
        .phase(phase)
}

/// Who `allow-web` lets in on the routed port: (namespace, pod labels).
fn admitted(files: &Artifacts) -> (String, Value) {
    let allow = doc(files, "allow-web-networkpolicy.yaml");
    let peer = &allow["spec"]["ingress"][0]["from"][0];
    (
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            .as_str()
            .expect("a namespace")
            .to_owned(),
        peer["podSelector"]["matchLabels"].clone(),
    )
}

#[test]
fn network_policies_let_in_the_phases_ingress_controller() {
    // K3s's Traefik, the default.
    let files = render(&routed_web(None), &Kubernetes::new());
    let (ns, pods) = admitted(&files);
    assert_eq!(ns, "kube-system");
    assert_eq!(
        pods,
        serde_json::json!({"app.kubernetes.io/name": "traefik"})
    );
    // ingress-nginx: its namespace and labels, its class, and no Traefik middleware.
    let files = render(
        &routed_web(Some(IngressController::nginx())),
        &Kubernetes::new(),
    );
    let (ns, pods) = admitted(&files);
    assert_eq!(ns, "ingress-nginx");
    assert_eq!(
        pods,
        serde_json::json!({"app.kubernetes.io/name": "ingress-nginx"})
    );
    let ingress = files
        .iter()
        .find(|(p, _)| p.ends_with("-ingress.yaml"))
        .map(|(_, t)| serde_yaml::from_str::<Value>(t).expect("yaml"))
        .expect("an Ingress");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert!(files
        .iter()
        .all(|(_, t)| !t.contains("traefik.io/v1alpha1")));
    // Traefik from its Helm chart, in its own namespace.
    let files = render(
        &routed_web(Some(IngressController::traefik("traefik"))),
        &Kubernetes::new(),
    );
    assert_eq!(admitted(&files).0, "traefik");
    // The target's class alone still picks the usual installation.
    let files = render(&routed_web(None), &Kubernetes::new().ingress_class("nginx"));
    assert_eq!(admitted(&files).0, "ingress-nginx");
}

#[test]
fn an_ingress_class_escala_cannot_place_is_an_error_with_a_fix() {
    let system = routed_web(None);
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("k3s").expect("phase");
    let mut diags = escala::Diagnostics::new();
    Kubernetes::new()
        .ingress_class("haproxy")
        .check(&plan, &mut diags);
    let e = diags
        .iter()
        .find(|d| d.code == escala::targets::kubernetes::codes::INGRESS_CONTROLLER)
        .expect("the error");
    assert_eq!(e.path, "routes");
    assert!(e
        .help
        .as_deref()
        .is_some_and(|h| h.contains("IngressController::new(\"haproxy\"")));
    // Named on the phase, it is fine.
    let system = routed_web(Some(IngressController::new(
        "haproxy",
        "haproxy-controller",
        [("app.kubernetes.io/name", "kubernetes-ingress")],
    )));
    let files = render(&system, &Kubernetes::new().ingress_class("haproxy"));
    assert_eq!(admitted(&files).0, "haproxy-controller");
}

/// The `fsGroup` of the pod of a service running as `user` (with `fs_group`), mounting a
/// volume or not, rendered by `k`.
fn fs_group(
    user: Option<&str>,
    fs_group: Option<u32>,
    volume: bool,
    k: &Kubernetes,
) -> Option<i64> {
    let mut svc = Service::builder()
        .name("search")
        .image("docker.elastic.co/elasticsearch/elasticsearch:8.15.0")
        .workload(Workload::Stateful)
        .build();
    svc.user = user.map(str::to_owned);
    svc.fs_group = fs_group;
    if volume {
        svc.mounts = vec![Mount::volume("esdata", "/usr/share/elasticsearch/data")];
    }
    let system = k3s(vec![svc]).volume(Volume::builder().name("esdata").build());
    let files = render(&system, k);
    let sts = doc(&files, "search-statefulset.yaml");
    sts["spec"]["template"]["spec"]["securityContext"]["fsGroup"].as_i64()
}

#[test]
fn a_non_root_service_can_write_its_volumes() {
    let k = Kubernetes::new();
    assert_eq!(fs_group(Some("1000"), None, true, &k), Some(1000));
    assert_eq!(fs_group(Some("1000:2000"), None, true, &k), Some(2000));
    // An image that runs as non-root on its own (Elasticsearch) says so.
    assert_eq!(fs_group(None, Some(1000), true, &k), Some(1000));
    assert_eq!(
        fs_group(Some("elasticsearch"), Some(1000), true, &k),
        Some(1000)
    );
    // Nothing to own: no volume, root, or a name escala cannot resolve to a group.
    assert_eq!(fs_group(Some("1000"), None, false, &k), None);
    assert_eq!(fs_group(Some("0"), None, true, &k), None);
    assert_eq!(fs_group(Some("elasticsearch"), None, true, &k), None);
    assert_eq!(fs_group(None, None, true, &k), None);
    // Compat mode keeps Kompose's output, except what the model asks for explicitly.
    let compat = Kubernetes::new().compat(true);
    assert_eq!(fs_group(Some("1000"), None, true, &compat), None);
    assert_eq!(fs_group(None, Some(1000), true, &compat), Some(1000));
}

/// `secrets.example` runs as written, before `kubectl apply -k .`: its first command creates
/// the namespace from the very manifest the kustomization applies, then the Secrets in it.
#[test]
fn secrets_example_creates_the_namespace_first_from_its_manifest() {
    let system = crate::systems::ALL[0].1();
    let files = render(&system, &Kubernetes::new());
    let example = files.get("secrets.example").expect("secrets.example");
    let commands: Vec<&str> = example
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let ns = system.name.as_str();
    assert_eq!(
        commands[0],
        format!("kubectl apply -f ./{ns}-namespace.yaml")
    );
    let manifest = doc(&files, &format!("{ns}-namespace.yaml"));
    assert_eq!(manifest["kind"], "Namespace");
    assert_eq!(manifest["metadata"]["name"], ns);
    let kustomization = doc(&files, "kustomization.yaml");
    assert!(kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .any(|r| r.as_str() == Some(&format!("{ns}-namespace.yaml"))));
    assert!(commands.len() > 1);
    for c in &commands[1..] {
        assert!(
            c.starts_with(&format!("kubectl -n {ns} create secret")),
            "{c}"
        );
    }
}

#[test]
fn sysctls_the_kubelet_refuses_and_ulimits_it_cannot_set_are_reported() {
    let system = k3s(vec![Service::builder()
        .name("api")
        .image("ghcr.io/acme/api:1")
        .sysctls([
            ("net.core.somaxconn", "1024"),
            ("net.ipv4.tcp_keepalive_time", "600"),
        ])
        .ulimits([("nofile", Ulimit::both(65536))])
        .init(true)
        .stop_grace_period(Duration::secs(45))
        .build()]);
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("k3s").expect("phase");
    let mut diags = escala::Diagnostics::new();
    Kubernetes::new().check(&plan, &mut diags);
    let codes = escala::targets::kubernetes::codes::UNSAFE_SYSCTL;
    let unsafe_: Vec<&str> = diags
        .iter()
        .filter(|d| d.code == codes)
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(unsafe_, ["services.api.sysctls.net.core.somaxconn"]);
    assert!(diags.iter().any(|d| d.path == "services.api.ulimits"
        && d.code == escala::targets::kubernetes::codes::DROPPED));
    let files = render(&system, &Kubernetes::new());
    let pod = doc(&files, "api-deployment.yaml");
    let spec = &pod["spec"]["template"]["spec"];
    assert_eq!(spec["shareProcessNamespace"], true);
    assert_eq!(spec["terminationGracePeriodSeconds"], 45);
    assert_eq!(
        spec["securityContext"]["sysctls"][1]["name"],
        "net.ipv4.tcp_keepalive_time"
    );
}

/// The Kubernetes target's options are reachable from `infra.rs`, on the phase.
#[test]
fn the_phase_sets_compat_mode_and_the_certificate_issuer() {
    let with = routed_web_in;
    let plain = render(
        &with(Phase::new("k3s", Engine::Kubernetes)),
        &Kubernetes::new(),
    );
    assert!(plain.iter().any(|(p, _)| p.ends_with("networkpolicy.yaml")));
    let ingress = |files: &Artifacts| {
        files
            .iter()
            .find(|(p, _)| p.ends_with("-ingress.yaml"))
            .map(|(_, t)| serde_yaml::from_str::<Value>(t).expect("yaml"))
            .expect("an Ingress")
    };
    assert_eq!(
        ingress(&plain)["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
    let compat = render(
        &with(Phase::new("k3s", Engine::Kubernetes).kompose_compat()),
        &Kubernetes::new(),
    );
    assert!(compat
        .iter()
        .all(|(p, _)| !p.ends_with("networkpolicy.yaml")));
    let issued = render(
        &with(Phase::new("k3s", Engine::Kubernetes).cert_issuer("letsencrypt-prod")),
        &Kubernetes::new(),
    );
    assert_eq!(
        ingress(&issued)["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt-prod"
    );
}

/// What the kubelet does to `command`, `args` and env values (Kubernetes' documented
/// expansion): `$$` becomes `$`, `$(VAR)` is a variable (none is defined here, so it stays
/// as written), any other `$` stays.
fn kubelet_expand(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'$') {
            chars.next();
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn literal_values_reach_the_container_byte_for_byte() {
    let values = ["cost: $$5", "price $5", "$(NOT_A_VAR)", "$$(x)", "a$", "$"];
    let svc = Service::builder()
        .name("api")
        .image("ghcr.io/acme/api:1")
        .command(values)
        .env(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("V{i}"), Env::literal(*v))),
        )
        .build();
    let files = render(&k3s(vec![svc]), &Kubernetes::new());
    let c = &doc(&files, "api-deployment.yaml")["spec"]["template"]["spec"]["containers"][0];
    for (i, v) in values.iter().enumerate() {
        let arg = c["args"][i].as_str().expect("arg");
        assert_eq!(kubelet_expand(arg), *v, "args[{i}] as written: {arg}");
        let env = c["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == format!("V{i}"))
            .and_then(|e| e["value"].as_str())
            .expect("env value");
        assert_eq!(kubelet_expand(env), *v, "V{i} as written: {env}");
    }
}

#[test]
fn a_scheduled_job_runs_as_many_copies_as_on_swarm() {
    let job = Service::builder()
        .name("report")
        .image("ghcr.io/acme/report:1")
        .replicas(3)
        .workload(Workload::Scheduled {
            schedule: "0 4 * * *".into(),
        })
        .build();
    let files = render(&k3s(vec![job]), &Kubernetes::new());
    let spec = &doc(&files, "report-cronjob.yaml")["spec"]["jobTemplate"]["spec"];
    assert_eq!(
        (spec["parallelism"].as_i64(), spec["completions"].as_i64()),
        (Some(3), Some(3))
    );
}

/// A sidecar (`network_of`, compose's `network_mode: service:<x>`) is a second container of
/// the pods of the service it runs beside, with its own mounts; it has no workload of its
/// own. compose writes `network_mode`, Swarm refuses it.
#[test]
fn a_sidecar_is_a_container_of_its_hosts_pods() {
    let web = Service::builder()
        .name("web")
        .image("nginx:1.27")
        .ports([Port::tcp(80)])
        .container_name("web-main")
        .pull_policy(PullPolicy::Always)
        .groups([1234])
        .mounts([Mount::volume("cache", "/var/cache/nginx").sub_path("nginx")])
        .build();
    let exporter = Service::builder()
        .name("exporter")
        .image("nginx/nginx-prometheus-exporter:1.3")
        .network_of("web")
        .mounts([Mount::tmpfs("/tmp")])
        .build();
    let system = k3s(vec![web, exporter]).volume(Volume::builder().name("cache").build());
    let files = render(&system, &Kubernetes::new());
    assert!(files.get("exporter-deployment.yaml").is_none());
    let pod = &doc(&files, "web-deployment.yaml")["spec"]["template"]["spec"];
    let names: Vec<&str> = pod["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["web-main", "exporter"]);
    assert_eq!(pod["containers"][1]["volumeMounts"][0]["mountPath"], "/tmp");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(pod["containers"][0]["volumeMounts"][0]["subPath"], "nginx");
    assert_eq!(pod["securityContext"]["supplementalGroups"][0], 1234);
    assert!(pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .any(|v| v["name"] == "exporter-tmpfs0"));

    let compose = system.clone().phase(Phase::new("one", Engine::Compose));
    let checked = compose.check().expect("valid");
    let plan = checked.plan("one").expect("phase");
    let files = escala::targets::compose::Compose::new()
        .render(&plan)
        .expect("renders");
    let yaml: Value =
        serde_yaml::from_str(files.get("docker-compose.yml").expect("compose")).expect("yaml");
    assert_eq!(yaml["services"]["exporter"]["network_mode"], "service:web");
    assert!(yaml["services"]["exporter"].get("networks").is_none());
    assert_eq!(yaml["services"]["web"]["container_name"], "web-main");
    assert_eq!(yaml["services"]["web"]["pull_policy"], "always");
    assert_eq!(yaml["services"]["web"]["group_add"][0], "1234");
    assert_eq!(
        yaml["services"]["web"]["volumes"][0]["volume"]["subpath"],
        "nginx"
    );
    let errors = crate::support::schema_errors(
        &crate::support::compose_schema(),
        files.get("docker-compose.yml").expect("compose"),
    );
    assert!(errors.is_empty(), "{errors:?}");

    let swarm = system.phase(Phase::new("swarm", Engine::Swarm));
    let checked = swarm.check().expect("valid");
    let plan = checked.plan("swarm").expect("phase");
    let mut diags = escala::Diagnostics::new();
    escala::targets::swarm::Swarm::new().check(&plan, &mut diags);
    let errors: Vec<&str> = diags
        .iter()
        .filter(|d| d.severity == escala::Severity::Error)
        .map(|d| d.code.as_str())
        .collect();
    assert!(
        errors.contains(&escala::targets::swarm::codes::SHARED_NAMESPACE),
        "{errors:?}"
    );
    // What stack files cannot say is reported, not dropped in silence.
    for path in [
        "services.web.pull_policy",
        "services.web.groups",
        "services.web.mounts[0].sub_path",
        "services.web.container_name",
    ] {
        assert!(diags.iter().any(|d| d.path == path), "{path}: {diags}");
    }
}

/// Init steps: init containers after the dependency waits on Kubernetes; on compose a
/// one-shot service each, in order, that the service waits for; Swarm reports them.
#[test]
fn init_steps_run_before_the_service_on_every_engine() {
    let web = Service::builder()
        .name("web")
        .image("ghcr.io/acme/web:1.0")
        .ports([Port::tcp(80)])
        .init_steps([
            InitStep::new("migrate", "ghcr.io/acme/web:1.0", ["web", "migrate"]),
            InitStep::new("warm", "busybox:1.37", ["sh", "-c", "echo $$HOME"]),
        ])
        .build();
    let system = k3s(vec![web]).phase(Phase::new("one", Engine::Compose));
    let files = render(&system, &Kubernetes::new());
    let pod = &doc(&files, "web-deployment.yaml")["spec"]["template"]["spec"];
    let steps: Vec<&str> = pod["initContainers"]
        .as_array()
        .expect("init containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(steps, ["migrate", "warm"]);
    assert_eq!(pod["initContainers"][0]["command"][1], "migrate");

    let checked = system.check().expect("valid");
    let plan = checked.plan("one").expect("phase");
    let files = escala::targets::compose::Compose::new()
        .render(&plan)
        .expect("renders");
    let text = files.get("docker-compose.yml").expect("compose");
    let yaml: Value = serde_yaml::from_str(text).expect("yaml");
    let services = &yaml["services"];
    assert_eq!(
        services["web"]["depends_on"]["web-warm"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        services["web-warm"]["depends_on"]["web-migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(services["web-migrate"]["restart"], "no");
    let errors = crate::support::schema_errors(&crate::support::compose_schema(), text);
    assert!(errors.is_empty(), "{errors:?}");
}

/// A sensitive file config (a private key) never lands in a generated file: Kubernetes
/// mounts it from a Secret whose `kubectl create secret` line is in `secrets.example`, compose
/// and Swarm mount the file as a secret at the same path.
#[test]
fn a_sensitive_config_is_a_secret_on_every_engine() {
    let web = Service::builder()
        .name("web")
        .image("nginx:1.27")
        .ports([Port::tcp(443)])
        .configs([ConfigMount::new("tls-key", "/etc/nginx/tls.key")])
        .build();
    let system = k3s(vec![web])
        .config(Config::file("tls-key", "Cargo.toml").sensitive())
        .phase(Phase::new("one", Engine::Compose))
        .phase(Phase::new("swarm", Engine::Swarm));
    let files = render(&system, &Kubernetes::new());
    assert!(
        files.iter().all(|(p, _)| !p.contains("configmap")),
        "no ConfigMap"
    );
    assert!(
        files.iter().all(|(_, text)| !text.contains("[workspace]")),
        "the file's content is nowhere"
    );
    let pod = &doc(&files, "web-deployment.yaml")["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], "tls-key");
    assert_eq!(pod["volumes"][0]["secret"]["items"][0]["key"], "Cargo.toml");
    assert_eq!(
        pod["containers"][0]["volumeMounts"][0]["subPath"],
        "tls.key"
    );
    let example = files.get("secrets.example").expect("secrets.example");
    assert!(
        example
            .contains("create secret generic tls-key --from-file=Cargo.toml=../../../Cargo.toml"),
        "{example}"
    );

    let checked = system.check().expect("valid");
    for (phase, target) in [("one", "compose"), ("swarm", "swarm")] {
        let plan = crate::support::as_the_cli_does(checked.plan(phase).expect("phase"));
        let t = escala::targets::all()
            .into_iter()
            .find(|t| t.name() == target)
            .expect("target");
        let out = t.render(&plan).expect("renders");
        let (_, text) = out
            .iter()
            .find(|(p, _)| p.ends_with(".yml") && !p.contains("alerts"))
            .expect("a compose or stack file");
        let yaml: Value = serde_yaml::from_str(text).expect("yaml");
        assert_eq!(
            yaml["secrets"]["tls-key"]["file"], "../../../Cargo.toml",
            "{target}"
        );
        assert!(yaml.get("configs").is_none(), "{target}");
        assert_eq!(
            yaml["services"]["web"]["secrets"][0]["target"], "/etc/nginx/tls.key",
            "{target}"
        );
        assert!(!text.contains("[workspace]"), "{target}");
    }
}

/// A route that names its own ingress class is served by that class's controller: the
/// NetworkPolicy lets that controller in (not the phase's), and a class escala cannot place
/// is an error at the route.
#[test]
fn a_routes_own_ingress_class_lets_its_controller_in() {
    let with_class = |class: &str| {
        let mut s = routed_web(None);
        s.routes[0].ingress_class = Some(class.to_owned());
        s
    };
    let files = render(&with_class("nginx"), &Kubernetes::new());
    let (ns, pods) = admitted(&files);
    assert_eq!(ns, "ingress-nginx");
    assert_eq!(
        pods,
        serde_json::json!({"app.kubernetes.io/name": "ingress-nginx"})
    );
    let system = with_class("haproxy");
    let checked = system.check().unwrap_or_else(|d| panic!("{d}"));
    let plan = checked.plan("k3s").expect("phase");
    let mut diags = escala::Diagnostics::new();
    Kubernetes::new().check(&plan, &mut diags);
    let e = diags
        .iter()
        .find(|d| d.code == escala::targets::kubernetes::codes::INGRESS_CONTROLLER)
        .expect("the error");
    assert_eq!(e.path, "routes[0].ingress_class");
    assert!(diags.has_errors());
}
