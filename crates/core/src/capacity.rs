//! Capacity: where each replica of a phase goes, and what the replicas placed on a node ask
//! for. One source for the `check`'s capacity rules and for the plan's capacity table.
//!
//! Placement constraints are honoured; a service that may run on several nodes has its
//! replicas spread over them (each to the least-requested candidate, in order); autoscaling
//! counts at its maximum where the engine autoscales (Kubernetes; compose and Swarm run the
//! fixed replicas); one-per-node services count once per candidate; compose runs
//! everything on the phase's first node; jobs that run and finish are left out.

use crate::{Autoscale, ByteSize, Cpu, Engine, Node, Phase, Restart, Service, Workload};

/// What one node holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Load {
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

impl Load {
    /// Whether what is placed here reserves more CPU or memory than `node` offers.
    pub fn over(&self, node: &Node) -> bool {
        self.cpu_request > node.cpu.as_millis() || self.memory_request > node.memory.as_bytes()
    }
    /// The replicas placed here, for a person: `web ×2, db`.
    pub fn placed(&self) -> String {
        self.replicas
            .iter()
            .map(|(s, n)| {
                if *n == 1 {
                    s.clone()
                } else {
                    format!("{s} ×{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The nodes (indexes into the phase's nodes) a service may run on: every node satisfying its
/// placement; on compose, the phase's first node (one machine, placement ignored).
pub fn candidates(phase: &Phase, s: &Service) -> Vec<usize> {
    let nodes: &[Node] = &phase.nodes;
    if phase.engine == Engine::Compose {
        return if nodes.is_empty() { vec![] } else { vec![0] };
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.satisfies(&s.placement))
        .map(|(i, _)| i)
        .collect()
}

/// More replicas than this is an error of the model's check (`escala::scale::replica_count`);
/// capacity sums leave such services out rather than loop over them.
pub const MAX_REPLICAS: u32 = 10_000;

/// How many copies of a service hold capacity: one per candidate node for a one-per-node
/// service, its most replicas otherwise.
pub fn copies(phase: &Phase, s: &Service) -> u64 {
    if s.workload == Workload::PerNode {
        candidates(phase, s).len() as u64
    } else {
        u64::from(most(phase, s))
    }
}

/// Jobs that run and finish (scheduled, or restarted only on failure): they hold no capacity
/// for long, and are left out.
pub fn one_shot(s: &Service) -> bool {
    matches!(s.workload, Workload::Scheduled { .. })
        || (s.workload == Workload::Stateless
            && matches!(s.restart, Restart::Never | Restart::OnFailure { .. }))
}

/// The autoscaling the phase's engine carries out: Kubernetes' (an HPA); compose and Swarm run
/// the fixed replicas, and their targets report the autoscaling as dropped.
pub fn autoscale<'s>(phase: &Phase, s: &'s Service) -> Option<&'s Autoscale> {
    s.autoscale
        .as_ref()
        .filter(|_| phase.engine == Engine::Kubernetes)
}

/// The replicas a service runs at most in the phase.
pub fn most(phase: &Phase, s: &Service) -> u32 {
    autoscale(phase, s).map_or(s.replicas, |a| a.max.max(s.replicas))
}

/// The load of every node of `phase` running `services`, in node order: replicas spread
/// over their candidates, each to the least-requested one.
pub fn loads(phase: &Phase, services: &[crate::InPhase<'_>]) -> Vec<Load> {
    let mut out = vec![Load::default(); phase.nodes.len()];
    for s in services {
        if one_shot(s) {
            continue;
        }
        let nodes = candidates(phase, s);
        if nodes.is_empty() {
            continue;
        }
        let mut placed = vec![0u32; out.len()];
        let count = copies(phase, s);
        if count > u64::from(MAX_REPLICAS) {
            continue; // an error of the check
        }
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
            let add = |total: &mut u64, v: u64| *total = total.saturating_add(v);
            add(
                &mut l.cpu_request,
                s.resources.cpu_request.map_or(0, Cpu::as_millis),
            );
            add(
                &mut l.cpu_limit,
                s.resources.cpu_limit.map_or(0, Cpu::as_millis),
            );
            add(
                &mut l.memory_request,
                s.resources.memory_request.map_or(0, ByteSize::as_bytes),
            );
            add(
                &mut l.memory_limit,
                s.resources.memory_limit.map_or(0, ByteSize::as_bytes),
            );
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
