//! The capacity section: the placement of [`escala_core::capacity`], as a table per node, and
//! the monthly cost.

use escala_core::capacity::loads as spread;
pub(crate) use escala_core::capacity::{autoscale, most, Load};
use escala_core::{Node, PhasePlan};
use std::fmt::Write as _;

/// The load of every node of the plan's phase.
pub(crate) fn loads(plan: &PhasePlan<'_>) -> Vec<Load> {
    spread(plan.phase(), plan.services())
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
    out.push_str("What the replicas placed on each node request (what the scheduler reserves) and may use at most (limits), against what the node offers. Autoscaled services count at their maximum (on Kubernetes; compose and Swarm run their fixed replicas).\n\n");
    out.push_str("| node | role | CPU requested | CPU limits | CPU offered | memory requested | memory limits | memory offered | headroom (CPU, memory) |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    let loads = loads(plan);
    for (n, l) in nodes.iter().zip(&loads) {
        let cpu_left = n.cpu.as_millis() as i128 - i128::from(l.cpu_request);
        let mem_left = i128::from(n.memory.as_bytes()) - i128::from(l.memory_request);
        let headroom = if l.over(n) {
            "**over capacity**".to_owned()
        } else {
            format!("{}, {}", cores(cpu_left as u64), gib(mem_left as u64))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n.name,
            format!("{:?}", n.role).to_lowercase(),
            cores(l.cpu_request),
            cores(l.cpu_limit),
            cores(n.cpu.as_millis()),
            gib(l.memory_request),
            gib(l.memory_limit),
            gib(n.memory.as_bytes()),
            headroom
        );
    }
    out.push_str("\n| node | replicas placed there |\n|---|---|\n");
    for (n, l) in nodes.iter().zip(&loads) {
        let _ = writeln!(out, "| {} | {} |", n.name, l.placed());
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
