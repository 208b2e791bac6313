//! `System::check`: every rule, one file per family, all findings collected.
//!
//! Each rule appends to one [`Diagnostics`] sink and never returns early, so a user sees every
//! problem of a model in one run.

mod backup;
pub(crate) mod database;
mod depends;
mod growth;
mod implied;
mod names;
mod placement;
mod refs;
mod routes;
mod runtime;
mod scaling;
mod upkeep;

use crate::{suggest, Diagnostic, Diagnostics, Name, System};

/// Runs every rule on `system`.
/// `services`: each phase's, in the system's phase order.
pub(crate) fn check(system: &System, services: &[Vec<crate::InPhase<'_>>]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    names::check(system, &mut diags);
    runtime::check(system, &mut diags);
    refs::check(system, &mut diags);
    depends::check(system, &mut diags);
    routes::check(system, &mut diags);
    scaling::check(system, &mut diags);
    placement::check(system, services, &mut diags);
    database::check(system, &mut diags);
    growth::check(system, &mut diags);
    upkeep::check(system, &mut diags);
    backup::check(system, services, &mut diags);
    implied::check(system, services, &mut diags);
    // A finding about a table points at the line that added it, unless it says better.
    if let Some(db) = &system.database {
        for d in diags.iter_mut().filter(|d| d.origin.is_none()) {
            let Some(rest) = d.path.strip_prefix("database.tables.") else {
                continue;
            };
            let table = db.tables.iter().find(|t| {
                rest.strip_prefix(t.name.as_str())
                    .is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('['))
            });
            if let Some(t) = table {
                d.origin.clone_from(&t.origin);
            }
        }
    }
    diags
}

/// Why `schedule` is not a cron schedule every engine's scheduler takes (five fields, each
/// in range, as Kubernetes CronJobs want them), or `None`. Parsed by croner.
pub(crate) fn cron_problem(schedule: &str) -> Option<String> {
    if schedule.split_whitespace().count() != 5 {
        return Some(format!(
            "cron schedule `{schedule}` does not have five fields"
        ));
    }
    match croner::Cron::new(schedule).parse() {
        Ok(_) => None,
        Err(e) => Some(format!("cron schedule `{schedule}` is not valid: {e}")),
    }
}

/// Reports a reference to `wanted` among `known` objects of `kind`, with a did-you-mean.
pub(crate) fn unknown<'a>(
    diags: &'a mut Diagnostics,
    path: String,
    kind: &str,
    wanted: &Name,
    known: impl IntoIterator<Item = &'a Name>,
    declare: &str,
) -> &'a mut Diagnostic {
    let known: Vec<&Name> = known.into_iter().collect();
    let hint = suggest::closest(wanted.as_str(), known.iter().map(|n| n.as_str()));
    let help = match hint {
        Some(h) => format!("did you mean `{h}`?"),
        None if known.is_empty() => format!("no {kind} is declared; add one with `{declare}`"),
        None => format!(
            "declare it with `{declare}`, or use one of: {}",
            known
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let d = diags.error(
        crate::codes::REF_UNKNOWN,
        path,
        format!("unknown {kind} `{wanted}`"),
    );
    d.help(help);
    d
}
