//! The plan target: `PLAN.md` for each phase, what a team reads before a migration weekend.
//!
//! It holds the phase's architecture (a Mermaid diagram), its capacity per node and monthly
//! cost (with the change from the previous phase), the move from the previous phase (services
//! that change, the data to move with the commands that move it), the checklist in order
//! (backup, nodes and firewall, labels, secrets, deploy, data, DNS, TLS), and the scaling
//! triggers. Like every target it is pure: the same model gives the same bytes.

use std::fmt::Write as _;

mod capacity;
mod diagram;
mod moving;

use escala_core::{header, Artifacts, Diagnostics, Phase, PhasePlan, Target, TargetError};

/// The plan backend.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    from: Option<String>,
}

impl Plan {
    /// The plan target: each phase's move is from the phase before it.
    pub fn new() -> Self {
        Plan { from: None }
    }
    /// Plans the move from the phase named `from` instead of the previous one.
    pub fn from(from: impl Into<String>) -> Self {
        Plan {
            from: Some(from.into()),
        }
    }
}

fn previous<'a>(phases: &'a [Phase], phase: &Phase) -> Option<&'a Phase> {
    let at = phases.iter().position(|p| p.name == phase.name)?;
    at.checked_sub(1).and_then(|i| phases.get(i))
}

fn cost(plan: &PhasePlan<'_>, from: Option<&Phase>) -> String {
    let Some(now) = capacity::cost(&plan.phase().nodes) else {
        return String::new();
    };
    let delta = from
        .and_then(|f| capacity::cost(&f.nodes))
        .map(|before| {
            let d = now as i128 - before as i128;
            format!(
                " ({}{d} a month from `{}`)",
                if d >= 0 { "+" } else { "" },
                from.map(|f| f.name.to_string()).unwrap_or_default()
            )
        })
        .unwrap_or_default();
    format!(
        "**Cost:** {now} a month for {} node(s){delta}.\n\n",
        plan.phase().nodes.len()
    )
}

/// Every feature the phase's engine targets drop or approximate, acknowledged or not.
fn fidelity(plan: &PhasePlan<'_>) -> String {
    let mut found = Diagnostics::new();
    for t in crate::all()
        .iter()
        .filter(|t| t.name() != "plan" && t.accepts(plan.phase()))
    {
        t.check(plan, &mut found);
    }
    let mut out = String::from(
        "## Fidelity

",
    );
    let losses: Vec<_> = found
        .iter()
        .filter(|d| d.severity == escala_core::Severity::Warning)
        .collect();
    if losses.is_empty() {
        out.push_str(
            "The engine's files express everything the model says for this phase.

",
        );
        return out;
    }
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    out.push_str("What the files of this phase drop or approximate. `--deny-warnings` makes any of them fatal unless acknowledged with `Phase::accept(code, path, reason)`.\n\n| code | where | what | acknowledged |\n|---|---|---|---|\n");
    for d in losses {
        let ack = plan
            .phase()
            .accepted_loss(d)
            .map_or("—".to_owned(), |a| format!("yes: {}", cell(&a.reason)));
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {ack} |",
            d.code,
            d.path,
            cell(&d.message)
        );
    }
    out.push('\n');
    out
}

fn triggers(plan: &PhasePlan<'_>) -> String {
    let a = &plan.system().alerts;
    format!(
        "## Scaling triggers\n\nThe alerts the monitoring raises, and what to do next.\n\n| alert | warning | critical | then |\n|---|---:|---:|---|\n| CPU | {}% | {}% | add a worker node, or raise the replicas of the busiest service |\n| memory | {}% | {}% | add memory or a node; look for a leak if it only grows |\n| disk | {}% | {}% | grow the volume; retire old partitions (`drop_after`) |\n| p95 latency | {} | {} | look at slow queries (`pg_stat_statements`), then add replicas |\n| error rate | {}% | {}% | roll back the last deploy, then look at the logs |\n\n",
        a.cpu_percent.warning,
        a.cpu_percent.critical,
        a.memory_percent.warning,
        a.memory_percent.critical,
        a.disk_percent.warning,
        a.disk_percent.critical,
        a.p95_latency.warning,
        a.p95_latency.critical,
        a.error_rate_percent.warning,
        a.error_rate_percent.critical,
    )
}

impl Target for Plan {
    fn name(&self) -> &'static str {
        "plan"
    }

    fn accepts(&self, _phase: &Phase) -> bool {
        true
    }

    fn check(&self, _plan: &PhasePlan<'_>, _diags: &mut Diagnostics) {}

    fn render(&self, plan: &PhasePlan<'_>) -> Result<Artifacts, TargetError> {
        let phase = plan.phase();
        // A `from` that names no phase (the CLI refuses it first) falls back to the previous.
        let from = self
            .from
            .as_ref()
            .and_then(|name| {
                plan.system()
                    .phases
                    .iter()
                    .find(|p| p.name.as_str() == name)
            })
            .or_else(|| previous(&plan.system().phases, phase));
        let mut out = header("plan")
            .replacen("# ", "<!-- ", 1)
            .replacen('\n', " -->\n", 1);
        let _ = write!(
            out,
            "# Phase `{}` ({})\n\n",
            phase.name,
            phase.engine.as_str()
        );
        let _ = write!(
            out,
            "{} service(s){}. Generated from the model: change `infra.rs`, not this file.\n\n",
            plan.services().len(),
            if phase.nodes.is_empty() {
                String::new()
            } else {
                format!(" on {} node(s)", phase.nodes.len())
            }
        );
        out.push_str(&cost(plan, from));
        out.push_str(&diagram::section(plan));
        out.push_str(&capacity::section(plan));
        out.push_str(&fidelity(plan));
        if let Some(from) = from {
            out.push_str(&moving::section(plan, from));
        }
        out.push_str(&moving::checklist(plan, from));
        out.push_str(&triggers(plan));
        let mut artifacts = Artifacts::new();
        artifacts.insert("PLAN.md", out);
        Ok(artifacts)
    }
}
