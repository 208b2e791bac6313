//! `plan [FROM] TO`: print the plan of a phase (what `build` writes as `<TO>/plan/PLAN.md`).

use escala_core::{System, Target};
use escala_targets::plan::Plan;

use crate::args::PlanArgs;
use crate::{Ctx, Exit};

/// Prints the plan on stdout; exit 1 if the model has errors, 2 for an unknown phase.
pub fn run(system: &System, args: &PlanArgs, ctx: &mut Ctx<'_>) -> Exit {
    let (from, to) = match args.phases.as_slice() {
        [to] => (None, to),
        [from, to] => (Some(from), to),
        _ => return Exit::Internal,
    };
    let known = || {
        system
            .phases
            .iter()
            .map(|p| p.name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for name in from.into_iter().chain([to]) {
        if !system.phases.iter().any(|p| p.name.as_str() == name) {
            let _ = writeln!(ctx.err, "error: unknown phase `{name}`; known: {}", known());
            return Exit::Internal;
        }
    }
    let checked = match system.check() {
        Ok(c) => c,
        Err(diags) => {
            ctx.diagnostics(&diags);
            return Exit::Findings;
        }
    };
    let Some(plan) = checked.plan(to) else {
        return Exit::Internal;
    };
    let target = match from {
        Some(f) => Plan::from(f.clone()),
        None => Plan::new(),
    };
    match target.render(&plan) {
        Ok(files) => {
            for (_, text) in files.iter() {
                let _ = ctx.out.write_all(text.as_bytes());
            }
            Exit::Ok
        }
        Err(e) => ctx.internal(&e),
    }
}
