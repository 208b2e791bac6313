//! `diff`: show what `build` would change.

use escala_core::{System, Target};

use crate::args::Selection;
use crate::{compared, output, report, unappliable, Ctx, Exit};

/// Prints a unified diff per changed file; exit 1 when anything differs.
pub fn run(
    system: &System,
    targets: &[Box<dyn Target>],
    sel: &Selection,
    ctx: &mut Ctx<'_>,
) -> Exit {
    let cmp = match compared(system, targets, sel, output::Mode::Compare, ctx) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    for (path, old, new) in &cmp.changed {
        let shown = sel.out.join(path).display().to_string();
        if report::diff(&shown, old.as_deref(), new, ctx.style, ctx.out).is_err() {
            return Exit::Internal;
        }
    }
    for path in &cmp.stale {
        let _ = writeln!(
            ctx.out,
            "stale {} (no longer generated)",
            sel.out.join(path).display()
        );
    }
    for (path, change) in unappliable(&cmp, targets) {
        let warning = ctx.style.paint("1;33", "warning");
        let _ = writeln!(
            ctx.out,
            "{warning}: {}: cannot be applied in place: {}\n  = do instead: {}",
            sel.out.join(path).display(),
            change.what,
            change.instead
        );
    }
    if cmp.is_clean() {
        Exit::Ok
    } else {
        Exit::Findings
    }
}
