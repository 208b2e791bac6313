//! Rendering diagnostics and diffs for people (optionally colored) or as JSON.

use std::fmt;
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
    /// `text` wrapped in the ANSI code `code` when colors are on, written as it is displayed
    /// (no `String` is made for it).
    pub fn paint<'a, T: fmt::Display>(&self, code: &'a str, text: T) -> Painted<'a, T> {
        Painted {
            code: self.color.then_some(code),
            text,
        }
    }
}

/// Text displayed in an ANSI color, or plain: see [`Style::paint`].
#[derive(Debug, Clone, Copy)]
pub struct Painted<'a, T> {
    /// The ANSI code, when colors are on.
    code: Option<&'a str>,
    text: T,
}

impl<T: fmt::Display> fmt::Display for Painted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "\x1b[{code}m{}\x1b[0m", self.text),
            None => self.text.fmt(f),
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
        // Looked up before it is inserted: the name is copied once per file, not once per
        // diagnostic.
        if !self.files.contains_key(file) {
            let lines = std::fs::read_to_string(file)
                .ok()
                .map(|text| text.lines().map(str::to_owned).collect());
            self.files.insert(file.to_owned(), lines);
        }
        self.files
            .get(file)?
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
        style.paint(color, format_args!("{label}[{}]", d.code)),
        style.paint("1", format_args!(": {}", d.message))
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
            Style::new(false).paint("", line)
        };
        writeln!(w, "{painted}")?;
    }
    Ok(())
}
