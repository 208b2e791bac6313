//! The architecture as a Mermaid flowchart: the internet and its routes (host → port, HTTPS),
//! the nodes with the services placed on them (replicas, autoscaling range, networks), the
//! volumes they write, the dependencies, and the database's topology (its workers, pooler,
//! replica and jobs are services of the phase).

use escala_core::{PhasePlan, Workload};
use foldhash::{HashMapExt, HashSetExt};
use std::fmt::Write as _;

use super::capacity::{autoscale, loads, most};

/// A Mermaid id: letters, digits and `_`.
fn id<'s>(prefix: &'s str, name: &'s str) -> Id<'s> {
    Id(prefix, name)
}

/// A Mermaid id, written where it goes (no string of its own).
struct Id<'s>(&'s str, &'s str);

impl std::fmt::Display for Id<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)?;
        f.write_char('_')?;
        // Every character but an ASCII letter or digit becomes `_`; the runs between them are
        // written whole (a diagram names each service several times).
        let name = self.1;
        let mut run = 0;
        for (i, c) in name.char_indices() {
            if !c.is_ascii_alphanumeric() {
                f.write_str(&name[run..i])?;
                f.write_char('_')?;
                run = i + c.len_utf8();
            }
        }
        f.write_str(&name[run..])
    }
}

fn label(plan: &PhasePlan<'_>, name: &str) -> String {
    let Some(s) = plan.service(&name.into()) else {
        return name.to_owned();
    };
    let phase = plan.phase();
    let count = match (autoscale(phase, s), &s.workload) {
        (Some(a), _) => format!(" ×{}–{}", a.min, a.max),
        (None, Workload::Scheduled { schedule }) => format!(" · cron {schedule}"),
        (None, Workload::PerNode) => " · each node".to_owned(),
        (None, _) if most(phase, s) > 1 => format!(" ×{}", most(phase, s)),
        _ => String::new(),
    };
    let nets = if s.networks.is_empty() {
        String::new()
    } else {
        format!(
            " · {}",
            s.networks
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!("{name}{count}{nets}")
}

/// The ```` ```mermaid ```` block.
pub(crate) fn section(plan: &PhasePlan<'_>) -> String {
    let mut out = String::from("## Architecture\n\n```mermaid\nflowchart LR\n");
    out.push_str("  internet((internet))\n");
    let nodes = &plan.phase().nodes;
    let loads = loads(plan);
    let mut placed: Vec<String> = Vec::new();
    // On how many nodes each service has replicas.
    let mut spread: foldhash::HashMap<&str, usize> = foldhash::HashMap::new();
    for l in &loads {
        let mut seen = foldhash::HashSet::new();
        for (s, _) in &l.replicas {
            if seen.insert(s.as_str()) {
                *spread.entry(s.as_str()).or_default() += 1;
            }
        }
    }
    // A service drawn on one node when all its replicas are there; otherwise in "spread".
    for (n, l) in nodes.iter().zip(&loads) {
        let here: Vec<&String> = l
            .replicas
            .iter()
            .map(|(s, _)| s)
            .filter(|s| spread.get(s.as_str()) == Some(&1))
            .collect();
        if here.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  subgraph {}[\"{} ({})\"]",
            id("node", n.name.as_str()),
            n.name,
            format!("{:?}", n.role).to_lowercase()
        );
        for s in here {
            let _ = writeln!(out, "    {}[\"{}\"]", id("svc", s), label(plan, s));
            placed.push(s.clone());
        }
        out.push_str("  end\n");
    }
    let placed: foldhash::HashSet<&str> = placed.iter().map(String::as_str).collect();
    let rest: Vec<&str> = plan
        .services()
        .iter()
        .map(|s| s.name.as_str())
        .filter(|s| !placed.contains(s))
        .collect();
    if !rest.is_empty() {
        let title = if nodes.is_empty() {
            "services"
        } else {
            "spread over the nodes"
        };
        let _ = writeln!(out, "  subgraph spread[\"{title}\"]");
        for s in rest {
            let _ = writeln!(out, "    {}[\"{}\"]", id("svc", s), label(plan, s));
        }
        out.push_str("  end\n");
    }
    for r in plan.routes() {
        let tls = if r.tls.is_some() { "https " } else { "" };
        let _ = writeln!(
            out,
            "  internet -->|\"{tls}{} → :{}\"| {}",
            r.host,
            r.port,
            id("svc", r.service.as_str())
        );
    }
    // The volumes services write, as cylinders.
    let mut volumes: foldhash::HashSet<&escala_core::Name> =
        foldhash::HashSet::with_capacity(plan.volumes().len());
    for s in plan.services() {
        for m in s.mounts.iter().filter(|m| !m.read_only) {
            if let escala_core::MountSource::Volume(v) = &m.source {
                if volumes.insert(v) {
                    let _ = writeln!(out, "  {}[(\"{v}\")]", id("vol", v.as_str()));
                }
                let _ = writeln!(
                    out,
                    "  {} --- {}",
                    id("svc", s.name.as_str()),
                    id("vol", v.as_str())
                );
            }
        }
    }
    let mut edges: foldhash::HashSet<(&str, &str)> =
        foldhash::HashSet::with_capacity(plan.services().len());
    for s in plan.services() {
        for d in &s.depends_on {
            if plan.service(&d.service).is_some()
                && edges.insert((s.name.as_str(), d.service.as_str()))
            {
                let _ = writeln!(
                    out,
                    "  {} --> {}",
                    id("svc", s.name.as_str()),
                    id("svc", d.service.as_str())
                );
            }
        }
    }
    // The database's topology, whatever each engine needs to wait for: the pooler and the
    // replica in front of and behind the primary, the Citus workers under the coordinator.
    if let Some(db) = plan.system().database.as_ref() {
        let primary = db.service.as_str();
        let mut topology: Vec<(String, &str, String)> = vec![
            (
                escala_core::pooler::SERVICE.to_owned(),
                "pools",
                primary.to_owned(),
            ),
            (
                escala_core::replica::name(&db.service).to_string(),
                "streams from",
                primary.to_owned(),
            ),
        ];
        if let Some(cluster) = escala_core::cluster::in_phase(plan.system(), plan.phase()) {
            for n in 1..=cluster.workers {
                let worker = escala_core::cluster::worker_name(&db.service, n).to_string();
                topology.push((primary.to_owned(), "shards on", worker));
            }
        }
        for (from, what, to) in &topology {
            let present = |n: &str| plan.service(&n.into()).is_some();
            if present(from) && present(to) && !edges.contains(&(from.as_str(), to.as_str())) {
                let _ = writeln!(
                    out,
                    "  {} -.->|\"{what}\"| {}",
                    id("svc", from),
                    id("svc", to)
                );
            }
        }
    }
    out.push_str("```\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::Id;

    proptest::proptest! {
        /// An id is the prefix, `_`, and the name with every character but an ASCII letter or
        /// digit (multi-byte ones included) replaced by one `_`.
        #[test]
        fn an_id_replaces_each_other_character(prefix in "[a-z]{1,3}", name in "\\PC{0,12}") {
            let expected: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            proptest::prop_assert_eq!(
                Id(&prefix, &name).to_string(),
                format!("{prefix}_{expected}")
            );
        }
    }
}
