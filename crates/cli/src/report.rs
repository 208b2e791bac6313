//! Rendering diagnostics and diffs for people (optionally colored) or as JSON.

use std::io::{self, Write};

use escala_core::{Diagnostic, Diagnostics, Severity};
use serde::Serialize;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colors on or off.
    pub fn new(color: bool) -> Self {
        Style { color }
    }
    /// Wraps `text` in the ANSI code `code` when colors are on.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Writes `diags` for people: rustc-like, with the `infra.rs` line when it can be read.
pub fn human(diags: &Diagnostics, style: Style, w: &mut dyn Write) -> io::Result<()> {
    // Each source file read once, however many diagnostics point into it.
    let mut sources = Sources::default();
    for d in diags {
        one(d, style, &mut sources, w)?;
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    if errors > 0 {
        let plural = if errors == 1 { "" } else { "s" };
        writeln!(
            w,
            "{}: {errors} error{plural}{}; nothing was written",
            style.paint("1;31", "error"),
            if warnings > 0 {
                format!(" and {warnings} warning(s)")
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// The lines of the source files diagnostics point into, each file read at most once.
#[derive(Default)]
struct Sources {
    /// File → its lines (`None`: unreadable).
    files: foldhash::HashMap<String, Option<Vec<String>>>,
}

impl Sources {
    /// Line `line` (1-based) of `file`, when it can be read.
    fn line(&mut self, file: &str, line: u32) -> Option<&str> {
        let lines = self.files.entry(file.to_owned()).or_insert_with(|| {
            std::fs::read_to_string(file)
                .ok()
                .map(|text| text.lines().map(str::to_owned).collect())
        });
        lines
            .as_ref()?
            .get(line.checked_sub(1)? as usize)
            .map(String::as_str)
    }
}

fn one(d: &Diagnostic, style: Style, sources: &mut Sources, w: &mut dyn Write) -> io::Result<()> {
    let (label, color) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    writeln!(
        w,
        "{}{}",
        style.paint(color, &format!("{label}[{}]", d.code)),
        style.paint("1", &format!(": {}", d.message))
    )?;
    writeln!(w, "  {} {}", style.paint("1;34", "-->"), d.path)?;
    if let Some(o) = &d.origin {
        writeln!(w, "   {} {o}", style.paint("1;34", "="))?;
        if let Some(line) = sources.line(&o.file, o.line) {
            writeln!(w, "   {} {}", style.paint("1;34", "|"), line.trim_end())?;
        }
    }
    if let Some(help) = &d.help {
        writeln!(w, "   {} {help}", style.paint("1;36", "= help:"))?;
    }
    writeln!(w)
}

#[derive(Serialize)]
struct JsonReport<'a> {
    errors: usize,
    warnings: usize,
    diagnostics: &'a Diagnostics,
}

/// Writes `diags` as one JSON document.
pub fn json(diags: &Diagnostics, w: &mut dyn Write) -> io::Result<()> {
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let report = JsonReport {
        errors,
        warnings: diags.len() - errors,
        diagnostics: diags,
    };
    serde_json::to_writer_pretty(&mut *w, &report)?;
    writeln!(w)
}

/// Writes a unified diff of `old` → `new` for the file `path`.
pub fn diff(
    path: &str,
    old: Option<&str>,
    new: &str,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    let old_text = old.unwrap_or("");
    let from = if old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_owned()
    };
    let text = similar::TextDiff::from_lines(old_text, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &format!("b/{path}"))
        .to_string();
    for line in text.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            style.paint("1", line)
        } else if line.starts_with('+') {
            style.paint("32", line)
        } else if line.starts_with('-') {
            style.paint("31", line)
        } else if line.starts_with("@@") {
            style.paint("36", line)
        } else {
            line.to_owned()
        };
        writeln!(w, "{painted}")?;
    }
    Ok(())
}
