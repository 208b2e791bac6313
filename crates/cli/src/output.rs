//! The only module that touches the output directory: compare, write atomically, prune.
//!
//! Rules: nothing is written outside `--out`; every file is written to a temporary file in
//! its own directory and renamed into place only after all temporary files were written, so
//! an interrupted build leaves the previous files intact; a file is considered escala's only
//! if its first line carries [`GENERATED_MARKER`], and no other file is ever deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use escala_core::GENERATED_MARKER;

use crate::args::Selection;
use crate::generate::Generated;

/// How the files on disk relate to what the model generates.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Files to create or update: relative path, current content (if any), new content.
    pub changed: Vec<(PathBuf, Option<String>, String)>,
    /// Files already identical.
    pub unchanged: usize,
    /// escala-generated files on disk that the model no longer produces.
    pub stale: Vec<PathBuf>,
}

impl Comparison {
    /// Whether disk and model agree.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.stale.is_empty()
    }
}

/// A failure reading or writing the output directory.
#[derive(Debug, thiserror::Error)]
#[error("{action} `{}`: {source}", path.display())]
pub struct OutputError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

fn err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.to_owned();
    move |source| OutputError {
        action,
        path,
        source,
    }
}

/// Compares `generated` with the files under `out`.
pub fn compare(
    out: &Path,
    generated: &Generated,
    selection: &Selection,
) -> Result<Comparison, OutputError> {
    let mut cmp = Comparison::default();
    for (rel, content) in &generated.files {
        let path = out.join(rel);
        let current = match fs::read(&path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(err("cannot read", &path)(e)),
        };
        if current.as_deref() == Some(content.as_str()) {
            cmp.unchanged += 1;
        } else {
            cmp.changed.push((rel.clone(), current, content.clone()));
        }
    }
    let mut found = Vec::new();
    if out.is_dir() {
        walk(out, Path::new(""), &mut found)?;
    }
    for rel in found {
        if generated.files.contains_key(&rel) || !selected(&rel, selection) {
            continue;
        }
        if is_generated(&out.join(&rel)) {
            cmp.stale.push(rel);
        }
    }
    cmp.stale.sort();
    Ok(cmp)
}

/// Whether `<phase>/<target>/…` is inside the `--phase` / `--target` selection.
fn selected(rel: &Path, selection: &Selection) -> bool {
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    let (Some(phase), Some(target)) = (parts.next(), parts.next()) else {
        return false;
    };
    (selection.phases.is_empty() || selection.phases.iter().any(|p| *p == phase))
        && (selection.targets.is_empty() || selection.targets.iter().any(|t| *t == target))
}

fn walk(root: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> Result<(), OutputError> {
    let dir = root.join(rel);
    for entry in fs::read_dir(&dir).map_err(err("cannot list", &dir))? {
        let entry = entry.map_err(err("cannot list", &dir))?;
        let kind = entry
            .file_type()
            .map_err(err("cannot stat", &entry.path()))?;
        let child = rel.join(entry.file_name());
        if kind.is_dir() {
            walk(root, &child, found)?;
        } else if kind.is_file() {
            found.push(child);
        }
    }
    Ok(())
}

/// Whether the file's first line says escala generated it.
fn is_generated(path: &Path) -> bool {
    fs::read(path)
        .map(|bytes| {
            let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            String::from_utf8_lossy(first).contains(GENERATED_MARKER)
        })
        .unwrap_or(false)
}

/// Writes every changed file atomically: all temporaries first, then all renames.
pub fn write(out: &Path, changed: &[(PathBuf, Option<String>, String)]) -> Result<(), OutputError> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (rel, _, content) in changed {
            let path = out.join(rel);
            let dir = path.parent().unwrap_or(out);
            fs::create_dir_all(dir).map_err(err("cannot create directory", dir))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.escala-tmp"));
            staged.push((tmp.clone(), path.clone()));
            fs::write(&tmp, content).map_err(err("cannot write", &tmp))?;
        }
        for (tmp, path) in &staged {
            fs::rename(tmp, path).map_err(err("cannot replace", path))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

/// Deletes stale generated files (only those whose first line carries the marker).
pub fn prune(out: &Path, stale: &[PathBuf]) -> Result<(), OutputError> {
    for rel in stale {
        let path = out.join(rel);
        if is_generated(&path) {
            fs::remove_file(&path).map_err(err("cannot delete", &path))?;
        }
    }
    Ok(())
}
