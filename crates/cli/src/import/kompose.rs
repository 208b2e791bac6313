//! Kompose's `kompose.*` service labels → the model: controllers, CronJobs, autoscaling,
//! routes (`service.expose`), Service types, probes, image pull policy, volumes and pod
//! security. A label escala does not represent is a located warning, never dropped.

use escala_core::prelude::*;
use escala_core::{Exposure, InitStep, Name, Probe, PullPolicy};

use super::map::{codes, Ctx};
use super::service::timing;
use super::traefik::Label;
use super::yaml::{Node, Pos};

/// Applies every `kompose.*` label of a service. `health` is its compose `healthcheck`
/// block, which Kompose's liveness labels (`http_get_*`, `tcp_port`) complete.
pub(super) fn labels(
    ctx: &mut Ctx<'_>,
    s: &mut Service,
    labels: &[Label],
    health: Option<(&Node, String)>,
) {
    // `service.expose` first: the TLS and class labels apply to the routes it adds.
    let mut ordered: Vec<&Label> = labels.iter().collect();
    // The traffic policy last: it applies to a LoadBalancer, whichever order they came in.
    ordered.sort_by_key(|l| match l.key.as_str() {
        "kompose.service.expose" => 0,
        "kompose.service.external-traffic-policy" => 2,
        _ => 1,
    });
    let mut init: Vec<(&str, &Label)> = Vec::new();
    let mut readiness: Vec<(&str, &Label)> = Vec::new();
    let mut liveness: Vec<(&str, &Label)> = Vec::new();
    for l in ordered {
        let key = l.key.strip_prefix("kompose.").unwrap_or_default();
        if let Some(k) = key.strip_prefix("init.containers.") {
            init.push((k, l));
        } else if let Some(k) = key.strip_prefix("service.healthcheck.readiness.") {
            readiness.push((k, l));
        } else if let Some(k) = key.strip_prefix("service.healthcheck.liveness.") {
            liveness.push((k, l));
        } else {
            one(ctx, s, key, &l.value, &l.path, l.pos);
        }
    }
    if !init.is_empty() {
        init_step(ctx, s, &init);
    }
    if !readiness.is_empty() {
        s.readiness = probe_labels(ctx, &readiness);
    }
    if !liveness.is_empty() {
        match &health {
            Some((node, path)) => {
                if let Some(mut h) = probe_labels(ctx, &liveness) {
                    timing(ctx, node, path, &mut h);
                    s.health = Some(h);
                }
            }
            None => {
                let l = liveness[0].1;
                ctx.warn(
                    codes::UNSUPPORTED,
                    &l.path,
                    l.pos,
                    "a liveness label without a `healthcheck:` block was left out (Kompose reads it only with one)".into(),
                    "add a `healthcheck:` with its interval, timeout and retries",
                );
            }
        }
    }
}

/// Kompose's `init.containers.{name,image,command}`: one init step (name `init-service`
/// unless given); the command a JSON-style list (`["sh", "-c", "…"]`) or words.
fn init_step(ctx: &mut Ctx<'_>, s: &mut Service, labels: &[(&str, &Label)]) {
    let get = |k: &str| labels.iter().find(|(x, _)| *x == k).map(|(_, l)| *l);
    for (k, l) in labels {
        if !matches!(*k, "name" | "image" | "command") {
            ctx.unsupported(
                &l.path,
                &l.key,
                l.pos,
                "Kompose's init container labels are name, image and command",
            );
        }
    }
    let Some(image) = get("image") else {
        let l = labels[0].1;
        ctx.error(
            &l.path,
            l.pos,
            "an init container needs `kompose.init.containers.image`".into(),
            "add the image it runs",
        );
        return;
    };
    let command = match get("command").map(|l| (l, l.value.trim())) {
        None => Vec::new(),
        Some((_, text)) if text.starts_with('[') => {
            match serde_json::from_str::<Vec<String>>(text) {
                Ok(words) => words,
                Err(_) => text
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|w| w.trim().trim_matches(['"', '\'']).to_owned())
                    .filter(|w| !w.is_empty())
                    .collect(),
            }
        }
        Some((l, text)) => match shell_words::split(text) {
            Ok(words) => words,
            Err(_) => {
                ctx.error(
                    &l.path,
                    l.pos,
                    format!("`{text}` is not a command"),
                    "write `[\"sh\", \"-c\", \"…\"]` or words quoted as in a shell",
                );
                return;
            }
        },
    };
    let name = get("name").map_or("init-service", |l| l.value.as_str());
    s.init_steps.push(InitStep::new(
        Name::from(Name::from(name).suggestion()),
        image.value.clone(),
        command,
    ));
}

/// A probe from Kompose's `service.healthcheck.{readiness,liveness}.*` labels.
fn probe_labels(ctx: &mut Ctx<'_>, labels: &[(&str, &Label)]) -> Option<HealthCheck> {
    let get = |k: &str| labels.iter().find(|(x, _)| *x == k).map(|(_, l)| *l);
    if get("disable").is_some_and(|l| l.value == "true") {
        return None;
    }
    let port = |ctx: &mut Ctx<'_>, l: &Label| -> Option<u16> {
        let p = l.value.parse().ok();
        if p.is_none() {
            ctx.error(
                &l.path,
                l.pos,
                format!("`{}` is not a port", l.value),
                "write a port number such as `8080`",
            );
        }
        p
    };
    let probe = if let Some(l) = get("http_get_port") {
        Probe::Http {
            path: get("http_get_path").map_or_else(|| "/".to_owned(), |p| p.value.clone()),
            port: port(ctx, l)?,
        }
    } else if let Some(l) = get("tcp_port") {
        Probe::Tcp {
            port: port(ctx, l)?,
        }
    } else if let Some(l) = get("test") {
        // Kompose splits the test into words, as a shell would, and runs it without one.
        match shell_words::split(&l.value) {
            Ok(words) if !words.is_empty() => Probe::Command(words),
            _ => {
                ctx.error(
                    &l.path,
                    l.pos,
                    format!("`{}` is not a command", l.value),
                    "write the command and its arguments, quoted as in a shell",
                );
                return None;
            }
        }
    } else {
        let l = labels[0].1;
        ctx.warn(
            codes::UNSUPPORTED,
            &l.path,
            l.pos,
            "a probe label without a test, HTTP port or TCP port was left out".into(),
            "add `test`, `http_get_port` or `tcp_port`",
        );
        return None;
    };
    let mut h = match probe {
        Probe::Http { path, port } => HealthCheck::http(path, port),
        Probe::Tcp { port } => HealthCheck::tcp(port),
        Probe::Command(args) => HealthCheck::command(args),
    };
    for (k, l) in labels {
        match *k {
            "interval" | "timeout" | "start_period" => match l.value.parse::<Duration>() {
                Ok(d) if *k == "interval" => h.interval = d,
                Ok(d) if *k == "timeout" => h.timeout = d,
                Ok(d) => h.start_period = d,
                Err(e) => ctx.error(
                    &l.path,
                    l.pos,
                    e.to_string(),
                    "write a Go duration such as `10s`",
                ),
            },
            "retries" => match l.value.parse() {
                Ok(n) => h.retries = n,
                Err(_) => ctx.error(
                    &l.path,
                    l.pos,
                    format!("`{}` is not a whole number", l.value),
                    "write a count such as `3`",
                ),
            },
            "test" | "http_get_path" | "http_get_port" | "tcp_port" | "disable" => {}
            other => ctx.unsupported(
                &l.path,
                other,
                l.pos,
                "Kompose's probe labels are test, interval, timeout, retries, start_period, http_get_path, http_get_port, tcp_port and disable",
            ),
        }
    }
    Some(h)
}

fn one(ctx: &mut Ctx<'_>, s: &mut Service, key: &str, value: &str, path: &str, pos: Pos) {
    match key {
        "controller.type" => match value.to_ascii_lowercase().as_str() {
            "deployment" => s.workload = Workload::Stateless,
            "statefulset" => s.workload = Workload::Stateful,
            "daemonset" => s.workload = Workload::PerNode,
            other => ctx.error(
                path,
                pos,
                format!("`{other}` is not a controller kompose knows"),
                "write `deployment`, `statefulset` or `daemonset`",
            ),
        },
        "cronjob.schedule" => {
            s.workload = Workload::Scheduled {
                schedule: value.to_owned(),
            }
        }
        // escala's CronJobs never overlap runs, which is Kompose's `Forbid`.
        "cronjob.concurrency_policy" if value.eq_ignore_ascii_case("forbid") => {}
        "cronjob.backoff_limit" => match value.parse::<u32>() {
            Ok(0) => s.restart = Restart::Never,
            Ok(n) => {
                s.restart = Restart::OnFailure {
                    max_attempts: Some(n),
                }
            }
            Err(_) => ctx.error(
                path,
                pos,
                format!("`{value}` is not a whole number"),
                "write how many times a failed run is retried, such as `0`",
            ),
        },
        "hpa.replicas.min" | "hpa.replicas.max" | "hpa.cpu" | "hpa.memory" => {
            let Ok(n) = value.trim_end_matches('%').parse::<u32>() else {
                ctx.error(
                    path,
                    pos,
                    format!("`{value}` is not a whole number"),
                    "write a count of replicas, or a percentage such as `70`",
                );
                return;
            };
            let a = s.autoscale.get_or_insert(Autoscale::between(1, 3));
            match key {
                "hpa.replicas.min" => a.min = n,
                "hpa.replicas.max" => a.max = n,
                "hpa.cpu" => a.cpu_percent = u8::try_from(n).ok(),
                _ => a.memory_percent = u8::try_from(n).ok(),
            }
        }
        "service.expose" => {
            let Some(port) = s.ports.first().map(|p| p.container) else {
                ctx.warn(
                    codes::UNSUPPORTED,
                    path,
                    pos,
                    "the service is exposed but has no port; the route was left out".into(),
                    "list the port the service listens on under `ports:` or `expose:`",
                );
                return;
            };
            for host in value
                .split(',')
                .map(str::trim)
                .filter(|h| *h != "true" && !h.is_empty())
            {
                let (host, path) = host
                    .split_once('/')
                    .map_or((host, None), |(h, p)| (h, Some(format!("/{p}"))));
                let mut r = Route::builder()
                    .host(host)
                    .service(s.name.clone())
                    .port(port)
                    .tls(None)
                    .build();
                r.path = path;
                ctx.routes.push(r);
            }
        }
        "service.expose.tls-secret" => {
            // A named Secret holds the certificate (made by hand); `true` asks the issuer.
            let tls = match value {
                "true" => Tls::auto(),
                secret => Tls::auto().secret(secret),
            };
            for r in ctx.routes.iter_mut().filter(|r| r.service == s.name) {
                r.tls = Some(tls.clone());
            }
        }
        "service.expose.ingress-class-name" => {
            for r in ctx.routes.iter_mut().filter(|r| r.service == s.name) {
                r.ingress_class = Some(value.to_owned());
            }
        }
        "service.type" => match value.to_ascii_lowercase().as_str() {
            "clusterip" => s.exposure = Exposure::Internal,
            "headless" => s.exposure = Exposure::Headless,
            "nodeport" => s.exposure = Exposure::NodePort,
            "loadbalancer" => {
                s.exposure = Exposure::LoadBalancer {
                    local_traffic: false,
                }
            }
            other => ctx.error(
                path,
                pos,
                format!("`{other}` is not a Service type Kompose knows"),
                "write `clusterip`, `headless`, `nodeport` or `loadbalancer`",
            ),
        },
        "service.external-traffic-policy" => match value.to_ascii_lowercase().as_str() {
            "local" | "cluster" => {
                let local = value.eq_ignore_ascii_case("local");
                match &mut s.exposure {
                    Exposure::LoadBalancer { local_traffic } => *local_traffic = local,
                    // Kompose applies the policy to LoadBalancer Services only.
                    _ => ctx.warn(
                        codes::UNSUPPORTED,
                        path,
                        pos,
                        "a traffic policy applies to a LoadBalancer Service only; it was left out".into(),
                        "add `kompose.service.type: loadbalancer`, or drop the label",
                    ),
                }
            }
            other => ctx.error(
                path,
                pos,
                format!("`{other}` is not a traffic policy"),
                "write `local` or `cluster`",
            ),
        },
        "image-pull-policy" => match value.to_ascii_lowercase().as_str() {
            "always" => s.pull_policy = Some(PullPolicy::Always),
            "ifnotpresent" => s.pull_policy = Some(PullPolicy::IfMissing),
            "never" => s.pull_policy = Some(PullPolicy::Never),
            other => ctx.error(
                path,
                pos,
                format!("`{other}` is not an image pull policy"),
                "write `Always`, `IfNotPresent` or `Never`",
            ),
        },
        "security-context.fsgroup" => match value.parse() {
            Ok(g) => s.fs_group = Some(g),
            Err(_) => ctx.error(
                path,
                pos,
                format!("`{value}` is not a group id"),
                "write a numeric group id such as `1000`",
            ),
        },
        "volume.size" | "volume.storage-class-name" => {
            let size = if key == "volume.size" {
                match value.parse::<ByteSize>() {
                    Ok(b) => Some(b),
                    Err(_) => {
                        ctx.error(
                            path,
                            pos,
                            format!("`{value}` is not a size"),
                            "write a Kubernetes quantity such as `20Gi`",
                        );
                        return;
                    }
                }
            } else {
                None
            };
            let class = (key != "volume.size").then(|| value.to_owned());
            for m in &s.mounts {
                if let MountSource::Volume(v) = &m.source {
                    ctx.volume_defaults.push((v.clone(), size, class.clone()));
                }
            }
        }
        "volume.subpath" => {
            for m in s
                .mounts
                .iter_mut()
                .filter(|m| matches!(m.source, MountSource::Volume(_)))
            {
                m.sub_path = Some(value.to_owned());
            }
        }
        _ => ctx.unsupported(
            path,
            &format!("kompose.{key}"),
            pos,
            "escala maps kompose's controller, cronjob, hpa, expose, service type, probe, image pull, fsgroup and volume subpath labels",
        ),
    }
}
