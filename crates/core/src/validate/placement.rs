//! Phases that declare their nodes: every placement can be satisfied, every label exists,
//! and the reservations fit.
//!
//! The capacity check is deliberately simple and never wrong in the "fits" direction it
//! reports: it sums CPU and memory *reservations* (what Swarm and Kubernetes schedule on)
//! of replicas that can only go to one node (pinned services and one-per-node workloads),
//! per node; it checks that a single replica fits at least one node it may run on; and it
//! checks the whole phase against the sum of its nodes. It does not try to bin-pack
//! services that may run on several nodes. Which nodes a service may use, how many copies
//! count (autoscaling at its maximum) and which jobs are left out come from
//! [`crate::capacity`], the same source as the plan's capacity table.

use crate::capacity;
use crate::codes::{
    PLACEMENT_CAPACITY, PLACEMENT_CROWDED, PLACEMENT_UNKNOWN_LABEL, PLACEMENT_UNSATISFIABLE,
};
use crate::{ByteSize, Cpu, Diagnostics, Engine, Node, Phase, Service, System, Workload};

pub(super) fn check(
    system: &System,
    services: &[Vec<crate::InPhase<'_>>],
    diags: &mut Diagnostics,
) {
    for (phase, services) in system
        .phases
        .iter()
        .zip(services)
        .filter(|(p, _)| !p.nodes.is_empty())
    {
        if phase.engine == Engine::Swarm
            && !phase
                .nodes
                .iter()
                .any(|n| n.role == crate::NodeRole::Manager)
        {
            diags
                .error(PLACEMENT_UNSATISFIABLE, format!("phases.{}.nodes", phase.name), format!("Swarm phase `{}` declares no manager node: a Swarm needs one to exist, and `docker stack deploy` runs on it", phase.name))
                .help("declare one node with `NodeRole::Manager` (managers run services too)");
        }
        for s in services {
            satisfiable(system, phase, s, diags);
        }
        capacity(phase, services, diags);
    }
}

/// Where a placement problem was written: the phase override, or the service.
fn placement_path(system: &System, phase: &Phase, s: &Service) -> (String, Option<crate::Origin>) {
    match phase
        .overrides
        .iter()
        .position(|o| o.service == s.name && o.placement.is_some())
    {
        Some(i) => (
            format!("phases.{}.overrides[{i}].placement", phase.name),
            phase.overrides[i].origin.clone(),
        ),
        None => (
            format!("services.{}.placement", s.name),
            // A phase's copy keeps the origin of the service it was made from.
            s.origin
                .clone()
                .or_else(|| system.find_service(&s.name).and_then(|b| b.origin.clone())),
        ),
    }
}

fn satisfiable(system: &System, phase: &Phase, s: &Service, diags: &mut Diagnostics) {
    if phase.engine == Engine::Compose || !s.placement.constrains() {
        return;
    }
    if phase.nodes.iter().any(|n| n.satisfies(&s.placement)) {
        return;
    }
    let (path, origin) = placement_path(system, phase, s);
    let missing: Vec<&String> = s
        .placement
        .labels
        .keys()
        .filter(|k| !phase.nodes.iter().any(|n| n.labels.contains_key(*k)))
        .collect();
    if let Some(key) = missing.first() {
        diags
            .error(PLACEMENT_UNKNOWN_LABEL, path, format!("`{}` must run on nodes labelled `{key}`, but no node of phase `{}` carries that label", s.name, phase.name))
            .help(format!("label the nodes meant for it in the phase, e.g. `Node::builder()….labels([(\"{key}\", \"{}\")])`, and on the cluster (`docker node update --label-add` / `kubectl label node`)", s.placement.labels.get(*key).map_or("true", String::as_str)))
            .origin(origin.as_ref());
        return;
    }
    let wanted: Vec<String> = s
        .placement
        .role
        .iter()
        .map(|r| format!("role {r:?}").to_lowercase())
        .chain(
            s.placement
                .labels
                .iter()
                .map(|(k, v)| format!("label {k}={v}")),
        )
        .collect();
    diags
        .error(
            PLACEMENT_UNSATISFIABLE,
            path,
            format!(
                "no node of phase `{}` satisfies the placement of `{}` ({})",
                phase.name,
                s.name,
                wanted.join(", ")
            ),
        )
        .help("declare a node with that role and labels in the phase, or relax the placement")
        .origin(origin.as_ref());
}

fn capacity(phase: &Phase, services: &[crate::InPhase<'_>], diags: &mut Diagnostics) {
    let mut pinned: Vec<(u64, u64, Vec<String>)> = vec![(0, 0, Vec::new()); phase.nodes.len()];
    let (mut total_cpu, mut total_mem) = (0u64, 0u64);
    for s in services {
        // The same placement and counts as the plan's capacity table.
        if capacity::one_shot(s) {
            continue;
        }
        let cpu = s.resources.cpu_request.map_or(0, Cpu::as_millis);
        let mem = s.resources.memory_request.map_or(0, ByteSize::as_bytes);
        if cpu == 0 && mem == 0 {
            continue;
        }
        let nodes: Vec<(usize, &Node)> = capacity::candidates(phase, s)
            .into_iter()
            .map(|i| (i, &phase.nodes[i]))
            .collect();
        if nodes.is_empty() {
            continue; // reported by `satisfiable`
        }
        if !nodes
            .iter()
            .any(|(_, n)| n.cpu.as_millis() >= cpu && n.memory.as_bytes() >= mem)
        {
            diags
                .error(PLACEMENT_CAPACITY, format!("phases.{}", phase.name), format!("one replica of `{}` reserves {} CPU and {} of memory, more than any node of phase `{}` it may run on offers", s.name, Cpu::millis(cpu).to_decimal(), ByteSize::bytes(mem), phase.name))
                .help("lower its reservations (`Resources::cpu` / `memory` requests) or declare a larger node")
                .origin(s.origin.as_ref());
            continue;
        }
        let per_node = s.workload == Workload::PerNode;
        let copies = capacity::copies(phase, s);
        // Saturating: a sum past u64::MAX is over any node's capacity anyway.
        total_cpu = total_cpu.saturating_add(cpu.saturating_mul(copies));
        total_mem = total_mem.saturating_add(mem.saturating_mul(copies));
        if per_node || nodes.len() == 1 {
            let each = if per_node { 1 } else { copies };
            for (i, _) in &nodes {
                pinned[*i].0 = pinned[*i].0.saturating_add(cpu.saturating_mul(each));
                pinned[*i].1 = pinned[*i].1.saturating_add(mem.saturating_mul(each));
                pinned[*i].2.push(if each == 1 {
                    s.name.to_string()
                } else {
                    format!("{} ×{each}", s.name)
                });
            }
        }
    }
    let mut node_over = false;
    for (i, (node, (cpu, mem, names))) in phase.nodes.iter().zip(&pinned).enumerate() {
        if *cpu > node.cpu.as_millis() || *mem > node.memory.as_bytes() {
            node_over = true;
            diags
                .error(PLACEMENT_CAPACITY, format!("phases.{}.nodes[{i}]", phase.name), format!("services that can only run on node `{}` ({}) reserve {} CPU and {} of memory; it offers {} CPU and {}", node.name, names.join(", "), Cpu::millis(*cpu).to_decimal(), ByteSize::bytes(*mem), node.cpu.to_decimal(), node.memory))
                .help("move some of them to other nodes (placement), lower their reservations, or give the node more CPU and memory")
                .origin(node.origin.as_ref());
        }
    }
    let cpu_all: u64 = phase
        .nodes
        .iter()
        .fold(0, |t, n| t.saturating_add(n.cpu.as_millis()));
    let mem_all: u64 = phase
        .nodes
        .iter()
        .fold(0, |t, n| t.saturating_add(n.memory.as_bytes()));
    // An overflowing node already explains an overflowing phase; say it once.
    if !node_over && (total_cpu > cpu_all || total_mem > mem_all) {
        diags
            .error(PLACEMENT_CAPACITY, format!("phases.{}", phase.name), format!("the replicas of phase `{}` reserve {} CPU and {} of memory; its nodes offer {} CPU and {}", phase.name, Cpu::millis(total_cpu).to_decimal(), ByteSize::bytes(total_mem), Cpu::millis(cpu_all).to_decimal(), ByteSize::bytes(mem_all)))
            .help("declare another node (see \"add a worker\" in the book), lower replicas, or lower reservations");
        return;
    }
    if node_over {
        return;
    }
    // The totals fit; the replicas may still not: spread as the plan's capacity table spreads
    // them (each to the least-requested node it may run on), a node can be asked for more than
    // it offers — three replicas of 1.2 CPU on two 2-CPU nodes. The same placement as the
    // table, so a node it marks over capacity is always this warning.
    for (i, (node, load)) in phase
        .nodes
        .iter()
        .zip(capacity::loads(phase, services))
        .enumerate()
    {
        if load.over(node) {
            diags
                .warning(PLACEMENT_CROWDED, format!("phases.{}.nodes[{i}]", phase.name), format!("spread over the nodes they may run on, the replicas placed on `{}` ({}) reserve {} CPU and {} of memory; it offers {} CPU and {}: a scheduler would find no room for one of them", node.name, load.placed(), Cpu::millis(load.cpu_request).to_decimal(), ByteSize::bytes(load.memory_request), node.cpu.to_decimal(), node.memory))
                .help("give the nodes more room (a larger node, or another), lower the replicas or their reservations, or pin some services elsewhere; PLAN.md shows the placement")
                .origin(node.origin.as_ref());
        }
    }
}
