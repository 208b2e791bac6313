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
    let out = Under::new(&sel.out);
    for (path, existed) in cmp.written_files() {
        let verb = if existed { "updated" } else { "created" };
        ctx.say(format_args!("{verb} {}", out.file(path)));
    }
    if args.prune {
        if let Err(e) = output::prune(&sel.out, &cmp.stale) {
            return ctx.internal(&e);
        }
        for path in &cmp.stale {
            ctx.say(format_args!("removed {}", out.file(path)));
        }
    } else {
        for path in &cmp.stale {
            ctx.say(format_args!(
                "stale {} (no longer generated; `build --prune` removes it)",
                out.file(path)
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

/// The output folder, to show the files under it as `out.join(path).display()` shows them.
struct Under<'a> {
    out: &'a std::path::Path,
    /// `out` with the separator a relative path is joined after: on Unix, `Path::join` of a
    /// relative path only adds that separator, so it is joined once for every line.
    prefix: std::path::PathBuf,
}

impl<'a> Under<'a> {
    fn new(out: &'a std::path::Path) -> Self {
        Under {
            out,
            prefix: out.join(""),
        }
    }

    /// The file `path` (relative to the folder), shown.
    fn file(&'a self, path: &'a std::path::Path) -> impl std::fmt::Display + 'a {
        std::fmt::from_fn(move |f| {
            if cfg!(unix) {
                write!(f, "{}{}", output::Shown(&self.prefix), output::Shown(path))
            } else {
                // Elsewhere a join may rewrite the path (Windows' verbatim `\\?\` folders
                // turn every `/` into `\`): joined as before, line by line.
                write!(f, "{}", output::Shown(&self.out.join(path)))
            }
        })
    }
}
