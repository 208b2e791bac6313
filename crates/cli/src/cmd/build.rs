//! `build`: write the generated files.

use escala_core::{System, Target};

use crate::args::BuildArgs;
use crate::{compared, output, Ctx, Exit};

/// Writes every changed file, reports stale ones, prunes them with `--prune`.
pub fn run(
    system: &System,
    targets: &[Box<dyn Target>],
    args: &BuildArgs,
    ctx: &mut Ctx<'_>,
) -> Exit {
    let sel = &args.selection;
    let cmp = match compared(system, targets, sel, output::Mode::Write, ctx) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    // Each file as `out.join(path).display()` shows it, joined at its final size.
    let file = |path| output::joined(&sel.out, path);
    for (path, existed) in cmp.written_files() {
        let verb = if existed { "updated" } else { "created" };
        ctx.say(format_args!("{verb} {}", output::Shown(&file(path))));
    }
    if args.prune {
        if let Err(e) = output::prune(&sel.out, &cmp.stale) {
            return ctx.internal(&e);
        }
        for path in &cmp.stale {
            ctx.say(format_args!("removed {}", output::Shown(&file(path))));
        }
    } else {
        for path in &cmp.stale {
            ctx.say(format_args!(
                "stale {} (no longer generated; `build --prune` removes it)",
                output::Shown(&file(path))
            ));
        }
    }
    // The record of what escala wrote here: what `--prune` may remove later.
    if let Err(e) = output::write_record(&sel.out, &output::recorded(&cmp, !args.prune)) {
        return ctx.internal(&e);
    }
    ctx.say(format_args!(
        "{} written, {} unchanged in {}",
        cmp.written.len(),
        cmp.unchanged,
        sel.out.display()
    ));
    Exit::Ok
}
