//! Diagnostics: findings about a model, each with a stable code, a model path, a message
//! and, where there is one, a fix.
//!
//! Checks never stop at the first problem: they append to a [`Diagnostics`] sink and the
//! caller sees everything at once. Rendering for humans or as JSON is the CLI's business;
//! this module only holds the data.

use std::fmt;
use std::panic::Location;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something a target drops or approximates; output is still written.
    Warning,
    /// The model is wrong; nothing is written.
    Error,
}

/// A place in the user's Rust source, recorded with `#[track_caller]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The source file, as the compiler saw it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Origin {
    /// The caller's location.
    #[track_caller]
    pub fn caller() -> Self {
        let at = Location::caller();
        Origin {
            file: at.file().to_owned(),
            line: at.line(),
            column: at.column(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A place in the model named by its collection and its name (`services.api`), written out
/// only when a diagnostic is recorded there: a check that finds nothing makes no string for
/// it. `format!("{at}.ports")` gives `services.api.ports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At<'a> {
    collection: &'a str,
    name: &'a str,
}

impl<'a> At<'a> {
    /// The item `name` of `collection`: `At::new("services", "api")` is `services.api`.
    pub fn new(collection: &'a str, name: &'a str) -> Self {
        At { collection, name }
    }
    /// The service `name`: `services.<name>`.
    pub fn service(name: &'a str) -> Self {
        At::new("services", name)
    }
}

impl From<At<'_>> for String {
    fn from(at: At<'_>) -> String {
        at.to_string()
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.collection, self.name)
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, `escala::<area>::<what>`; see [`codes`](crate::codes).
    pub code: String,
    /// Where in the model: `services.backend.depends_on[1]`.
    pub path: String,
    /// What is wrong, lowercase, names in backticks.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where in `infra.rs` the object was added, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl Diagnostic {
    /// Sets the help line.
    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
    /// Sets the source location.
    pub fn origin(&mut self, origin: Option<&Origin>) -> &mut Self {
        self.origin = origin.cloned();
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}] {}: {}", self.code, self.path, self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// An ordered collection of findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No findings.
    pub fn new() -> Self {
        Self::default()
    }
    /// The findings, to amend (the model check fills in source locations).
    pub(crate) fn iter_mut(&mut self) -> std::slice::IterMut<'_, Diagnostic> {
        self.0.iter_mut()
    }
    fn push(
        &mut self,
        severity: Severity,
        code: &str,
        path: String,
        message: String,
    ) -> &mut Diagnostic {
        self.0.push(Diagnostic {
            severity,
            code: code.to_owned(),
            path,
            message,
            help: None,
            origin: None,
        });
        let last = self.0.len() - 1;
        &mut self.0[last]
    }
    /// Records an error and returns it for `.help(..)`.
    pub fn error(
        &mut self,
        code: &str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Error, code, path.into(), message.into())
    }
    /// Records a warning and returns it for `.help(..)`.
    pub fn warning(
        &mut self,
        code: &str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Warning, code, path.into(), message.into())
    }
    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// Whether there are no findings at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many findings.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The findings, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
    /// The codes of all findings, in order (handy in tests).
    pub fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|d| d.code.as_str()).collect()
    }
    /// Keeps only the findings `keep` says yes to.
    pub fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.0.retain(keep);
    }
    /// Turns every warning into an error (`--deny-warnings`).
    pub fn deny_warnings(&mut self) {
        for d in &mut self.0 {
            d.severity = Severity::Error;
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
