//! Capacity per node: where each replica goes, and what the replicas placed on a node ask for.
//!
//! Placement constraints are honoured; a service that may run on several nodes has its
//! replicas spread over them (each to the least-requested candidate, in order); autoscaling
//! counts at its maximum; one-per-node services count once per candidate; compose runs
//! everything on the phase's first node; jobs that run and finish are left out.

use escala_core::{ByteSize, Cpu, Engine, Node, PhasePlan, Restart, Service, Workload};

/// What one node holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Load {
    /// CPU requested and limited, millicores.
    pub cpu_request: u64,
    /// CPU limit.
    pub cpu_limit: u64,
    /// Memory requested, bytes.
    pub memory_request: u64,
    /// Memory limit.
    pub memory_limit: u64,
    /// `(service, replicas)` placed here, in service order.
    pub replicas: Vec<(String, u32)>,
}

fn candidates<'a>(plan: &'a PhasePlan<'_>, s: &Service) -> Vec<usize> {
    let nodes: &'a [Node] = &plan.phase().nodes;
    if plan.phase().engine == Engine::Compose {
        return if nodes.is_empty() { vec![] } else { vec![0] };
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.satisfies(&s.placement))
        .map(|(i, _)| i)
        .collect()
}

/// Jobs that run and finish (scheduled, or restarted only on failure): they hold no capacity
/// for long, and are left out.
pub(crate) fn one_shot(s: &Service) -> bool {
    matches!(s.workload, Workload::Scheduled { .. })
        || (s.workload == Workload::Stateless
            && matches!(s.restart, Restart::Never | Restart::OnFailure { .. }))
}

/// The replicas a service runs at most in the phase.
pub(crate) fn most(s: &Service) -> u32 {
    s.autoscale
        .as_ref()
        .map_or(s.replicas, |a| a.max.max(s.replicas))
}

/// The load of every node of the phase, in node order.
pub(crate) fn loads(plan: &PhasePlan<'_>) -> Vec<Load> {
    let mut out = vec![Load::default(); plan.phase().nodes.len()];
    for s in plan.services() {
        if one_shot(s) {
            continue;
        }
        let nodes = candidates(plan, s);
        if nodes.is_empty() {
            continue;
        }
        let mut placed = vec![0u32; out.len()];
        let count = if s.workload == Workload::PerNode {
            nodes.len() as u64
        } else {
            u64::from(most(s))
        };
        for k in 0..count {
            let target = if s.workload == Workload::PerNode {
                nodes[k as usize % nodes.len()]
            } else {
                // The least-requested candidate, the first one on a tie.
                *nodes
                    .iter()
                    .min_by_key(|&&i| (out[i].cpu_request, out[i].memory_request, i))
                    .unwrap_or(&nodes[0])
            };
            let l = &mut out[target];
            l.cpu_request += s.resources.cpu_request.map_or(0, Cpu::as_millis);
            l.cpu_limit += s.resources.cpu_limit.map_or(0, Cpu::as_millis);
            l.memory_request += s.resources.memory_request.map_or(0, ByteSize::as_bytes);
            l.memory_limit += s.resources.memory_limit.map_or(0, ByteSize::as_bytes);
            placed[target] += 1;
        }
        for (i, n) in placed.into_iter().enumerate() {
            if n > 0 {
                out[i].replicas.push((s.name.to_string(), n));
            }
        }
    }
    out
}

/// `1.5` cores from millicores.
pub(crate) fn cores(millis: u64) -> String {
    let whole = millis / 1000;
    let frac = millis % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// `1.5 GiB` from bytes, to a tenth.
pub(crate) fn gib(bytes: u64) -> String {
    let tenths = (u128::from(bytes) * 10 + (1 << 29)) / (1 << 30);
    if tenths % 10 == 0 {
        format!("{} GiB", tenths / 10)
    } else {
        format!("{}.{} GiB", tenths / 10, tenths % 10)
    }
}

/// The capacity section.
pub(crate) fn section(plan: &PhasePlan<'_>) -> String {
    let nodes = &plan.phase().nodes;
    let mut out = String::from("## Capacity\n\n");
    if nodes.is_empty() {
        out.push_str("The phase declares no node, so nothing is placed or priced. Declare them with `Phase::node`.\n\n");
        return out;
    }
    out.push_str("What the replicas placed on each node request (what the scheduler reserves) and may use at most (limits), against what the node offers. Autoscaled services count at their maximum.\n\n");
    out.push_str("| node | role | CPU requested | CPU limits | CPU offered | memory requested | memory limits | memory offered | headroom (CPU, memory) |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    let loads = loads(plan);
    for (n, l) in nodes.iter().zip(&loads) {
        let cpu_left = n.cpu.as_millis() as i128 - i128::from(l.cpu_request);
        let mem_left = i128::from(n.memory.as_bytes()) - i128::from(l.memory_request);
        let headroom = if cpu_left < 0 || mem_left < 0 {
            "**over capacity**".to_owned()
        } else {
            format!("{}, {}", cores(cpu_left as u64), gib(mem_left as u64))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            n.name,
            format!("{:?}", n.role).to_lowercase(),
            cores(l.cpu_request),
            cores(l.cpu_limit),
            cores(n.cpu.as_millis()),
            gib(l.memory_request),
            gib(l.memory_limit),
            gib(n.memory.as_bytes()),
            headroom
        ));
    }
    out.push_str("\n| node | replicas placed there |\n|---|---|\n");
    for (n, l) in nodes.iter().zip(&loads) {
        let list: Vec<String> = l
            .replicas
            .iter()
            .map(|(s, k)| {
                if *k == 1 {
                    s.clone()
                } else {
                    format!("{s} ×{k}")
                }
            })
            .collect();
        out.push_str(&format!("| {} | {} |\n", n.name, list.join(", ")));
    }
    out.push('\n');
    out
}

/// The monthly cost of a phase's nodes, when every node declares a price.
pub(crate) fn cost(nodes: &[Node]) -> Option<u64> {
    if nodes.is_empty() {
        return None;
    }
    nodes
        .iter()
        .map(|n| n.price_per_month.map(u64::from))
        .sum::<Option<u64>>()
}
