//! `check`: fail when the files on disk are not what the model generates (for CI).

use escala_core::{System, Target};

use crate::args::Selection;
use crate::{compared, output, unappliable, Ctx, Exit};

/// Lists every file that differs; exit 1 if any does, 0 if all match.
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
    for (path, old, _) in &cmp.changed {
        let what = if old.is_some() { "modified" } else { "missing" };
        ctx.say(format_args!("{what}: {}", sel.out.join(path).display()));
    }
    for path in &cmp.stale {
        ctx.say(format_args!("stale: {}", sel.out.join(path).display()));
    }
    for (path, change) in unappliable(&cmp, targets) {
        ctx.say(format_args!(
            "cannot be applied in place: {}: {}\n  = do instead: {}",
            sel.out.join(path).display(),
            change.what,
            change.instead
        ));
    }
    if cmp.is_clean() {
        ctx.say(format_args!(
            "up to date: {} file(s) in {}",
            cmp.unchanged,
            sel.out.display()
        ));
        Exit::Ok
    } else {
        ctx.say("the generated files are out of date; run `build` and commit the result");
        Exit::Findings
    }
}
