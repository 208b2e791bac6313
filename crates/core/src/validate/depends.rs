//! Start-order dependencies: health conditions that can be met, and no cycles.

use foldhash::HashMap;
use std::collections::BTreeSet;

use crate::codes::{DEP_CYCLE, DEP_NO_HEALTH};
use crate::{Condition, Diagnostics, System};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    let index: HashMap<&str, usize> = system
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();

    for s in &system.services {
        for (i, dep) in s.depends_on.iter().enumerate() {
            if dep.condition != Condition::Healthy {
                continue;
            }
            if let Some(&j) = index.get(dep.service.as_str()) {
                if system.services[j].health.is_none() {
                    diags
                        .error(
                            DEP_NO_HEALTH,
                            format!("services.{}.depends_on[{i}]", s.name),
                            format!("`{}` waits for `{}` to be healthy, but `{}` has no health check", s.name, dep.service, dep.service),
                        )
                        .help(format!("give `{}` a `.health(HealthCheck::…)`, or depend on it with `Dependency::started`", dep.service))
                        .origin(s.origin.as_ref());
                }
            }
        }
    }

    // Edges to known, distinct services only; unknown names and self-loops are reported by refs.
    let edges: Vec<Vec<(usize, usize)>> = system
        .services
        .iter()
        .map(|s| {
            s.depends_on
                .iter()
                .enumerate()
                .filter_map(|(k, d)| index.get(d.service.as_str()).map(|&j| (j, k)))
                .filter(|&(j, _)| system.services[j].name != s.name)
                .collect()
        })
        .collect();

    // Iterative DFS (a deep chain must not overflow the stack); each back edge closes a cycle.
    let n = system.services.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&(to, k)) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let start = stack.iter().position(|&(x, _)| x == to).unwrap_or(0);
                        let members: Vec<usize> = stack[start..].iter().map(|&(x, _)| x).collect();
                        let mut key = members.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            let names: Vec<&str> = members
                                .iter()
                                .chain(std::iter::once(&to))
                                .map(|&x| system.services[x].name.as_str())
                                .collect();
                            let s = &system.services[node];
                            diags
                                .error(
                                    DEP_CYCLE,
                                    format!("services.{}.depends_on[{k}]", s.name),
                                    format!("dependency cycle: {}", names.join(" → ")),
                                )
                                .help(
                                    "remove one of these dependencies; no engine can start a cycle",
                                )
                                .origin(s.origin.as_ref());
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}
