//! Replicas, autoscaling, resources, placement, workloads, phases and alerts.
//!
//! Rules about how a service runs are checked on the service itself (path `services.x.…`)
//! and again for every phase override that changes the fields involved (path
//! `phases.p.overrides[i].…`), so a problem is reported once, where it was written.

use foldhash::HashSet;
use foldhash::HashSetExt;
use std::fmt;

use crate::checked::with_override;
use crate::codes::{
    ALERTS, PHASE_INVALID, PHASE_NONE, RESOURCES_REQUEST, SCALE_AUTOSCALE, SCALE_COUNT,
    SCALE_REPLICAS, SCALE_SINGLE_WRITER, WORKLOAD_SCHEDULE,
};
use crate::{
    Access, Diagnostics, Engine, MountSource, Origin, Platform, Service, System, Threshold,
    Workload,
};

/// Where a finding of these checks is, written out only for a finding: a service
/// ([`crate::At`]) or a phase's override of it.
type Place<'a> = &'a dyn fmt::Display;

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    // Each phase's overrides and left-out services by name, looked up once per service.
    let phases: Vec<(&crate::Phase, crate::checked::PhaseIndex<'_>)> = system
        .phases
        .iter()
        .map(|p| (p, crate::checked::PhaseIndex::of(p)))
        .collect();
    for s in &system.services {
        let at = crate::At::service(s.name.as_str());
        let o = s.origin.as_ref();
        autoscale(s, &at, "", o, diags);
        replicas(s, &at, "", o, diags);
        // On Kubernetes each replica of a stateful service has its own claim: the replicas
        // share the volume only in the other engines' phases that keep the declared count.
        let declared = phases
            .iter()
            .filter(|(_, ix)| {
                !ix.without.contains(&s.name)
                    && ix
                        .overrides
                        .get(&s.name)
                        .is_none_or(|o| o.replicas.is_none() && o.autoscale.is_none())
            })
            .map(|(p, _)| *p);
        let mut declared = declared.peekable();
        if declared.peek().is_none() || declared.any(|p| shares_volumes(s, p)) {
            single_writer(system, s, &at, "", o, diags);
        }
        resources(s, &at, "", o, diags);
        if let Workload::Scheduled { schedule } = &s.workload {
            if let Some(problem) = super::cron_problem(schedule) {
                diags
                    .error(WORKLOAD_SCHEDULE, format!("{at}.workload"), problem)
                    .help("write minute hour day-of-month month day-of-week, e.g. `0 3 * * *`")
                    .origin(o);
            }
        }
    }

    if system.phases.is_empty() {
        diags
            .warning(
                PHASE_NONE,
                "phases",
                "the system declares no phase, so nothing will be generated",
            )
            .help("add one, e.g. `.phase(Phase::new(\"single-node\", Engine::Compose))`");
    }

    let by_name: foldhash::HashMap<&crate::Name, &crate::Service> =
        system.services.iter().rev().map(|s| (&s.name, s)).collect();
    for phase in &system.phases {
        let pat = format!("phases.{}", phase.name);
        let ctx = format!(" in phase `{}`", phase.name);
        if phase.engine == Engine::Kubernetes && matches!(phase.platform, Platform::Dokploy { .. })
        {
            diags
                .error(
                    PHASE_INVALID,
                    format!("{pat}.platform"),
                    "Dokploy deploys compose files and Swarm stacks, not Kubernetes",
                )
                .help("use `Platform::Plain` for a Kubernetes phase");
        }
        let mut seen = HashSet::new();
        for (i, ov) in phase.overrides.iter().enumerate() {
            let at = format!("{pat}.overrides[{i}]");
            if !seen.insert(&ov.service) {
                diags
                    .error(
                        PHASE_INVALID,
                        &at,
                        format!(
                            "phase `{}` overrides `{}` more than once",
                            phase.name, ov.service
                        ),
                    )
                    .help("merge the overrides into one");
                continue;
            }
            let Some(base) = by_name.get(&ov.service).copied() else {
                continue;
            };
            let s = with_override(base, Some(ov));
            if ov.autoscale.is_some() {
                autoscale(&s, &at, &ctx, ov.origin.as_ref(), diags);
            }
            if ov.replicas.is_some() || ov.autoscale.is_some() {
                replicas(&s, &at, &ctx, ov.origin.as_ref(), diags);
                if shares_volumes(&s, phase) {
                    single_writer(system, &s, &at, &ctx, ov.origin.as_ref(), diags);
                }
            }
            if ov.resources.is_some() {
                resources(&s, &at, &ctx, ov.origin.as_ref(), diags);
            }
        }
    }

    let a = &system.alerts;
    percent("cpu_percent", &a.cpu_percent, diags);
    percent("memory_percent", &a.memory_percent, diags);
    percent("disk_percent", &a.disk_percent, diags);
    percent("error_rate_percent", &a.error_rate_percent, diags);
    if a.p95_latency.warning >= a.p95_latency.critical {
        diags
            .error(
                ALERTS,
                "alerts.p95_latency",
                "the warning level is not below the critical level",
            )
            .help("make `warning` smaller than `critical`");
    }
}

fn percent(name: &str, t: &Threshold<f64>, diags: &mut Diagnostics) {
    let in_range = |v: f64| (0.0..=100.0).contains(&v);
    if !in_range(t.warning) || !in_range(t.critical) {
        diags
            .error(
                ALERTS,
                format!("alerts.{name}"),
                format!("{name} thresholds must lie between 0 and 100"),
            )
            .help("give percentages, e.g. 65.0 and 80.0");
    } else if t.warning >= t.critical {
        diags
            .error(
                ALERTS,
                format!("alerts.{name}"),
                "the warning level is not below the critical level",
            )
            .help("make `warning` smaller than `critical`");
    }
}

fn autoscale(s: &Service, at: Place<'_>, ctx: &str, o: Option<&Origin>, diags: &mut Diagnostics) {
    let Some(a) = &s.autoscale else { return };
    let path = format_args!("{at}.autoscale");
    let problem = if a.min == 0 {
        Some(format!("autoscaling of `{}`{ctx} has min 0", s.name))
    } else if a.min > a.max {
        Some(format!(
            "autoscaling of `{}`{ctx} has min {} > max {}",
            s.name, a.min, a.max
        ))
    } else if a.cpu_percent.is_none() && a.memory_percent.is_none() {
        Some(format!(
            "autoscaling of `{}`{ctx} has no metric to scale on",
            s.name
        ))
    } else if a.cpu_percent == Some(0) || a.memory_percent == Some(0) {
        Some(format!("autoscaling of `{}`{ctx} targets 0 %", s.name))
    } else {
        None
    };
    if let Some(msg) = problem {
        diags
            .error(SCALE_AUTOSCALE, path.to_string(), msg)
            .help("use `Autoscale::between(min, max).cpu(70)` with 1 ≤ min ≤ max and a target above 0")
            .origin(o);
    } else if matches!(s.workload, Workload::Scheduled { .. } | Workload::PerNode) {
        diags
            .error(SCALE_AUTOSCALE, path.to_string(), format!("`{}`{ctx} runs on a schedule or on every node; there is no replica count to autoscale", s.name))
            .help("remove the autoscaling; a scheduled job runs `replicas` copies each time")
            .origin(o);
    } else if a.cpu_percent.is_some() && s.resources.cpu_request.is_none() {
        // A warning: Kompose files carry such autoscalers, and the rest of the model holds.
        diags
            .warning(SCALE_AUTOSCALE, path.to_string(), format!("autoscaling of `{}`{ctx} targets a CPU use, but it requests no CPU: a utilization is a share of the request, so the autoscaler has nothing to compute and never scales", s.name))
            .help("give it a CPU request: `.resources(Resources::new().cpu(Cpu::millis(250), Cpu::cores(1)))`")
            .origin(o);
    } else if a.memory_percent.is_some() && s.resources.memory_request.is_none() {
        diags
            .warning(SCALE_AUTOSCALE, path.to_string(), format!("autoscaling of `{}`{ctx} targets a memory use, but it requests no memory: a utilization is a share of the request", s.name))
            .help("give it a memory request: `.resources(Resources::new().memory(ByteSize::mib(256), ByteSize::mib(512)))`")
            .origin(o);
    }
}

fn replicas(s: &Service, at: Place<'_>, ctx: &str, o: Option<&Origin>, diags: &mut Diagnostics) {
    let most = s.replicas.max(s.autoscale.as_ref().map_or(0, |a| a.max));
    if most > crate::capacity::MAX_REPLICAS {
        diags
            .error(SCALE_COUNT, format!("{at}.replicas"), format!("`{}` can run {most} replicas{ctx}; more than {} is not a deployment escala can check or an engine will schedule", s.name, crate::capacity::MAX_REPLICAS))
            .help("run fewer replicas (autoscaling's maximum included), or split the service")
            .origin(o);
    } else if most == 0 && s.workload != Workload::PerNode {
        diags
            .warning(SCALE_COUNT, format!("{at}.replicas"), format!("`{}` runs no replica{ctx}", s.name))
            .help(format!("to leave it out of a phase, use `Phase::without(\"{}\")`; to run it, give it at least one replica", s.name))
            .origin(o);
    }
    let Some(a) = &s.autoscale else { return };
    if a.min <= a.max && (s.replicas < a.min || s.replicas > a.max) {
        diags
            .error(SCALE_REPLICAS, format!("{at}.replicas"), format!("`{}` runs {} replicas{ctx}, outside its autoscaling bounds {}–{}", s.name, s.replicas, a.min, a.max))
            .help(format!("set replicas between {} and {}; they are the starting count the autoscaler adjusts", a.min, a.max))
            .origin(o);
    }
}

/// Whether the replicas of `s` share its volumes in `phase`: everywhere but a stateful
/// service on Kubernetes (a StatefulSet gives each replica its own claim).
fn shares_volumes(s: &Service, phase: &crate::Phase) -> bool {
    !(s.workload == Workload::Stateful && phase.engine == crate::Engine::Kubernetes)
}

fn single_writer(
    system: &System,
    s: &Service,
    at: Place<'_>,
    ctx: &str,
    o: Option<&Origin>,
    diags: &mut Diagnostics,
) {
    let most = s.replicas.max(s.autoscale.as_ref().map_or(0, |a| a.max));
    if most <= 1 {
        return;
    }
    for m in &s.mounts {
        let MountSource::Volume(v) = &m.source else {
            continue;
        };
        let single = system
            .volumes
            .iter()
            .find(|x| &x.name == v)
            .is_some_and(|x| x.access == Access::SingleWriter);
        if single && !m.read_only {
            diags
                .error(SCALE_SINGLE_WRITER, format!("{at}.replicas"), format!("`{}` can run {most} replicas{ctx}, but they would all write to single-writer volume `{v}`", s.name))
                .help(format!("run one replica, mount `{v}` read-only, or declare it `Access::ReadWriteMany` on storage that allows it"))
                .origin(o);
        }
    }
}

fn resources(s: &Service, at: Place<'_>, ctx: &str, o: Option<&Origin>, diags: &mut Diagnostics) {
    let r = &s.resources;
    if let (Some(req), Some(lim)) = (r.cpu_request, r.cpu_limit) {
        if req > lim {
            diags
                .error(
                    RESOURCES_REQUEST,
                    format!("{at}.resources.cpu_request"),
                    format!(
                        "`{}` requests {} CPU{ctx} but is limited to {}",
                        s.name,
                        req.to_decimal(),
                        lim.to_decimal()
                    ),
                )
                .help("make the request at most the limit")
                .origin(o);
        }
    }
    if let (Some(req), Some(lim)) = (r.memory_request, r.memory_limit) {
        if req > lim {
            diags
                .error(
                    RESOURCES_REQUEST,
                    format!("{at}.resources.memory_request"),
                    format!(
                        "`{}` requests {req} of memory{ctx} but is limited to {lim}",
                        s.name
                    ),
                )
                .help("make the request at most the limit")
                .origin(o);
        }
    }
}
