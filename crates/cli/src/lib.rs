//! # escala-cli
//!
//! The edge of escala: argument parsing, the output directory and the terminal. Everything
//! here is also a library function, so other tools can drive it.
//!
//! A user's `infra.rs` calls [`run`] with its [`System`]; the standalone `escala` binary
//! offers commands that need no model (listing diagnostic codes, printing the model's JSON
//! Schema).
//!
//! Exit codes: `0` success, `1` diagnostics with errors or files that differ, `2` usage or
//! internal error.

pub mod args;
pub mod cmd;
pub mod generate;
pub mod import;
pub mod output;
pub mod report;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use escala_core::{Diagnostics, System, Target};

use args::{ColorChoice, ErrorFormat, Global, InfraCli, InfraCommand, Selection};
pub use generate::{generate, generate_into, GenerateError, Generated, Outcome};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Diagnostics with errors, or files that differ.
    Findings = 1,
    /// Bad usage or an internal failure.
    Internal = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Where a command writes, and how.
pub struct Ctx<'a> {
    /// Colors or not.
    pub style: report::Style,
    /// Human or JSON diagnostics.
    pub format: ErrorFormat,
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error.
    pub err: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// A progress line for people (stderr; silent in JSON mode). A line made with
    /// `format_args!` is written as it is formatted, with no `String` in between.
    pub fn say(&mut self, line: impl std::fmt::Display) {
        if self.format == ErrorFormat::Human {
            let _ = writeln!(self.err, "{line}");
        }
    }
    /// Reports an internal error and returns exit code 2.
    pub fn internal(&mut self, e: &dyn std::error::Error) -> Exit {
        let _ = writeln!(self.err, "{}: {e}", self.style.paint("1;31", "error"));
        Exit::Internal
    }
    /// Prints diagnostics in the chosen format.
    pub fn diagnostics(&mut self, diags: &Diagnostics) {
        let _ = match self.format {
            ErrorFormat::Human => report::human(diags, self.style, self.err),
            ErrorFormat::Json => report::json(diags, self.out),
        };
    }
}

/// Generates for a selection and compares it with the disk, printing diagnostics and notes;
/// `Err` carries the exit code. The first step of `build` ([`output::Mode::Write`]: the
/// changed files are written, and in place when this returns `Ok`), `diff` and `check`
/// ([`output::Mode::Compare`]).
///
/// Rendering and the disk overlap: this thread renders (with others, see
/// [`generate::threads`]), and hands each batch of files to a second one that compares them
/// with the disk and writes them, so no file waits in memory for the others. A small model is
/// rendered and written on this thread alone.
pub(crate) fn compared(
    system: &System,
    targets: &[Box<dyn Target>],
    sel: &Selection,
    mode: output::Mode,
    ctx: &mut Ctx<'_>,
) -> Result<output::Comparison, Exit> {
    let (generated, mut stream) =
        rendered_into(system, targets, sel, output::Stream::new(&sel.out, mode));
    let outcome = match generated {
        Ok(outcome) => outcome,
        Err(e) => {
            stream.abandon();
            return Err(match e {
                GenerateError::Invalid(diags) => {
                    ctx.diagnostics(&diags);
                    Exit::Findings
                }
                e => ctx.internal(&e),
            });
        }
    };
    if !outcome.warnings.is_empty() || ctx.format == ErrorFormat::Json {
        ctx.diagnostics(&outcome.warnings);
    }
    for (phase, engine) in &outcome.skipped {
        ctx.say(format_args!(
            "note: no target compiled in renders engine `{engine}` yet; phase `{phase}` skipped"
        ));
    }
    if mode == output::Mode::Write {
        stream.commit().map_err(|e| ctx.internal(&e))?;
    }
    let (cmp, failed) = stream.into_parts();
    if let Some(e) = failed {
        return Err(ctx.internal(&e));
    }
    output::finish(&sel.out, cmp, &outcome.dirs, sel).map_err(|e| ctx.internal(&e))
}

/// Renders the selection into `stream`: on this thread alone for a small model, else on
/// several, with a second thread comparing and writing (see [`compared`]).
fn rendered_into(
    system: &System,
    targets: &[Box<dyn Target>],
    sel: &Selection,
    stream: output::Stream,
) -> (Result<generate::Outcome, GenerateError>, output::Stream) {
    if generate::threads(system, sel) > 1 {
        // A few batches of files in flight: enough to keep both sides busy, never the output.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(PathBuf, String)>>(8);
        let (generated, joined) = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let mut stream = stream;
                for batch in rx {
                    for (rel, content) in batch {
                        stream.file(rel, content);
                    }
                }
                stream
            });
            let generated = generate::generate_into(system, targets, sel, &|batch| {
                // The worker ends only when this sender is gone, so the send cannot fail.
                let _ = tx.send(batch);
            });
            drop(tx);
            (generated, worker.join())
        });
        let stream = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (generated, stream)
    } else {
        // A small model: one thread renders and writes.
        let stream = std::sync::Mutex::new(stream);
        let generated = generate::generate_into(system, targets, sel, &|batch| {
            let mut stream = stream
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (rel, content) in batch {
                stream.file(rel, content);
            }
        });
        let stream = stream
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (generated, stream)
    }
}

/// The changes in `cmp` that the engines cannot apply to what is running, each with the file
/// (relative to the output folder) it is in: asked of the target that wrote the file
/// (`<phase>/<target>/<path>`).
pub(crate) fn unappliable(
    cmp: &output::Comparison,
    targets: &[Box<dyn Target>],
) -> Vec<(PathBuf, escala_core::Unappliable)> {
    let mut out = Vec::new();
    for (path, old, new) in &cmp.changed {
        let Some(old) = old else { continue };
        let mut parts = path.iter().filter_map(|p| p.to_str());
        let (Some(_phase), Some(target)) = (parts.next(), parts.next()) else {
            continue;
        };
        let rest: Vec<&str> = parts.collect();
        let Some(t) = targets.iter().find(|t| t.name() == target) else {
            continue;
        };
        for change in t.unappliable(&rest.join("/"), old, new) {
            out.push((path.clone(), change));
        }
    }
    out
}

/// The JSON Schema of the model ([`System`]), pretty-printed, as committed in
/// `schema/escala.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(System);
    // A schema of plain data always serializes.
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

fn style_for(choice: ColorChoice) -> report::Style {
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && io::stderr().is_terminal(),
    };
    report::Style::new(color)
}

/// Runs a user's `infra.rs`: reads `build | diff | check` and options from the process
/// arguments, with every compiled-in target.
///
/// ```no_run
/// use escala_core::prelude::*;
/// fn main() -> std::process::ExitCode {
///     let system = System::new("shop")
///         .service(Service::builder().name("web").image("nginx:1.27").build())
///         .phase(Phase::new("prod", Engine::Compose));
///     escala_cli::run(system)
/// }
/// ```
pub fn run(system: System) -> ExitCode {
    let targets = escala_targets::all();
    // Buffered: a large build reports thousands of lines, and unbuffered each would cost
    // several system calls. Not locked for the whole run: targets render on other threads,
    // and one that prints would wait for the lock forever. Standard error is flushed first,
    // as the commands write it first.
    let mut out = io::BufWriter::new(io::stdout());
    let mut err = io::BufWriter::new(io::stderr());
    let exit = run_with(&system, &targets, std::env::args_os(), &mut out, &mut err);
    let _ = err.flush();
    let _ = out.flush();
    exit.into()
}

/// [`run`] with explicit targets, arguments and output streams (for tests and tools).
pub fn run_with(
    system: &System,
    targets: &[Box<dyn Target>],
    argv: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Exit {
    let cli = match InfraCli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are answers, for stdout (`| less` shows them); usage
            // errors go to stderr.
            return if e.use_stderr() {
                let _ = write!(err, "{}", e.render());
                Exit::Internal
            } else {
                let _ = write!(out, "{}", e.render());
                Exit::Ok
            };
        }
    };
    let Global {
        color,
        error_format,
    } = cli.global;
    let mut ctx = Ctx {
        style: style_for(color),
        format: error_format,
        out,
        err,
    };
    match &cli.command {
        InfraCommand::Build(a) => cmd::build::run(system, targets, a, &mut ctx),
        InfraCommand::Diff(sel) => cmd::diff::run(system, targets, sel, &mut ctx),
        InfraCommand::Check(sel) => cmd::check::run(system, targets, sel, &mut ctx),
        InfraCommand::Plan(a) => cmd::plan::run(system, a, &mut ctx),
    }
}
