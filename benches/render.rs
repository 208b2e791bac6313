//! Check + render of the reference example and of synthetic systems of 100, 1 000 and
//! 10 000 services (`cargo bench`).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use escala::prelude::*;
use escala::Target;

#[path = "../examples/finanzas/system.rs"]
mod finanzas;

/// `n` services in chains of ten, each with ports, env, a health check and a route.
fn synthetic(n: usize) -> System {
    let mut system = System::new("synthetic").volume(
        Volume::builder()
            .name("data")
            .access(Access::ReadWriteMany)
            .build(),
    );
    for i in 0..n {
        let mut s = Service::builder()
            .name(format!("svc-{i}"))
            .image("ghcr.io/acme/app:1.0")
            .ports([Port::tcp(8080)])
            .env([
                ("INDEX", Env::literal(i.to_string())),
                ("MODE", Env::literal("production")),
            ])
            .health(HealthCheck::http("/health", 8080))
            .mounts([Mount::volume("data", "/data")])
            .replicas(2)
            .build();
        if i % 10 != 0 {
            s.depends_on
                .push(Dependency::healthy(format!("svc-{}", i - 1)));
        }
        system.add_service(s);
        system = system.route(
            Route::builder()
                .host(format!("svc-{i}.example.com"))
                .service(format!("svc-{i}"))
                .port(8080)
                .build(),
        );
    }
    system
        .phase(Phase::new("vps", Engine::Compose).platform(Platform::Dokploy { isolated: false }))
        .phase(Phase::new("swarm", Engine::Swarm))
        .phase(Phase::new("k8s", Engine::Kubernetes))
}

/// `synthetic(n)` whose Swarm phase sets every service's replicas and leaves the last one
/// out: the lookups by name of the check and of the phase's plan, at scale (linear is 10×
/// from 1,000 to 10,000).
fn overridden(n: usize) -> System {
    let mut system = synthetic(n);
    if let Some(i) = system.phases.iter().position(|p| p.name == "swarm") {
        let mut swarm = system.phases.remove(i);
        for s in 0..n {
            swarm = swarm.replicas(format!("svc-{s}"), 3);
        }
        swarm = swarm.without(format!("svc-{}", n - 1));
        system.phases.insert(i, swarm);
    }
    system
}

const PROMETHEUS_YML: &str = "examples/finanzas/monitoring/prometheus.yml";

/// Checks the model and renders every phase with every target that accepts it.
fn check_and_render(system: &System, targets: &[Box<dyn Target>]) -> usize {
    let checked = system.check().expect("valid");
    let mut bytes = 0;
    for plan in checked.plans() {
        // As the CLI does: the config files the model names, read beforehand.
        let plan = plan.with_file(
            PROMETHEUS_YML,
            include_str!("../examples/finanzas/monitoring/prometheus.yml"),
        );
        for t in targets.iter().filter(|t| t.accepts(plan.phase())) {
            let mut diags = escala::Diagnostics::new();
            t.check(&plan, &mut diags);
            bytes += t.render(&plan).expect("renders").to_text().len();
        }
    }
    bytes
}

fn bench(c: &mut Criterion) {
    let targets = escala::targets::all();
    let example = finanzas::system();
    c.bench_function("finanzas", |b| {
        b.iter(|| check_and_render(&example, &targets))
    });
    let mut group = c.benchmark_group("synthetic");
    group.sample_size(10);
    for n in [100, 1_000, 10_000] {
        let system = synthetic(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &system, |b, s| {
            b.iter(|| check_and_render(s, &targets))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("check-overridden");
    group.sample_size(10);
    for n in [1_000, 10_000] {
        let system = overridden(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &system, |b, s| {
            b.iter(|| {
                let checked = s.check().expect("valid");
                checked
                    .plans()
                    .iter()
                    .map(|p| p.services().len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();

    // The YAML writer against a serialization floor: the same typed objects (Kubernetes
    // Deployments as escala builds them) written by serde_json, the fastest serializer that
    // also quotes every string, which escala's YAML rules require.
    let mut group = c.benchmark_group("serializer");
    group.sample_size(10);
    for n in [100, 10_000] {
        let objects = deployments(n);
        group.bench_with_input(BenchmarkId::new("escala-yaml", n), &objects, |b, o| {
            b.iter(|| {
                o.iter()
                    .map(|d| escala::targets::yaml::to_string(d).map_or(0, |t| t.len()))
                    .sum::<usize>()
            })
        });
        group.bench_with_input(BenchmarkId::new("serde_json-floor", n), &objects, |b, o| {
            b.iter(|| {
                o.iter()
                    .map(|d| serde_json::to_vec(d).map_or(0, |t| t.len()))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

/// `n` Deployments of a typical service: labels, a container with ports, env, probes,
/// resources and a volume.
fn deployments(n: usize) -> Vec<k8s_openapi::api::apps::v1::Deployment> {
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec, Probe,
        VolumeMount,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    (0..n)
        .map(|i| {
            let name = format!("svc-{i}");
            let labels =
                std::collections::BTreeMap::from([("io.kompose.service".to_owned(), name.clone())]);
            let probe = Probe {
                http_get: Some(HTTPGetAction {
                    path: Some("/health".into()),
                    port: IntOrString::Int(8080),
                    ..HTTPGetAction::default()
                }),
                period_seconds: Some(30),
                ..Probe::default()
            };
            Deployment {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some("synthetic".into()),
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(DeploymentSpec {
                    replicas: Some(2),
                    selector: LabelSelector {
                        match_labels: Some(labels.clone()),
                        ..LabelSelector::default()
                    },
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(PodSpec {
                            containers: vec![Container {
                                name: name.clone(),
                                image: Some("ghcr.io/acme/app:1.0".into()),
                                ports: Some(vec![ContainerPort {
                                    container_port: 8080,
                                    protocol: Some("TCP".into()),
                                    ..ContainerPort::default()
                                }]),
                                env: Some(vec![
                                    EnvVar {
                                        name: "INDEX".into(),
                                        value: Some(i.to_string()),
                                        ..EnvVar::default()
                                    },
                                    EnvVar {
                                        name: "MODE".into(),
                                        value: Some("production".into()),
                                        ..EnvVar::default()
                                    },
                                ]),
                                liveness_probe: Some(probe.clone()),
                                readiness_probe: Some(probe),
                                volume_mounts: Some(vec![VolumeMount {
                                    name: "data".into(),
                                    mount_path: "/data".into(),
                                    ..VolumeMount::default()
                                }]),
                                ..Container::default()
                            }],
                            ..PodSpec::default()
                        }),
                    },
                    ..DeploymentSpec::default()
                }),
                ..Deployment::default()
            }
        })
        .collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
