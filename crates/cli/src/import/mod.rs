//! `escala import`: docker-compose files → a model and a readable `infra.rs`.
//!
//! Several files merge in order as compose merges them (mappings key by key, lists appended,
//! `command`/`entrypoint`/`test` replaced); `${VAR}` interpolation reads the given
//! environment (the `.env` file and the process environment). Everything escala cannot
//! represent is a diagnostic pointing at the file, line and column — never dropped in silence —
//! and values that look like secrets become secret references, never literals in `infra.rs`.

mod codegen;
mod deploy;
mod env;
pub mod interp;
mod kompose;
mod map;
mod mounts;
mod ports;
mod runtime;
mod service;
mod top;
mod traefik;
pub mod yaml;

use std::collections::BTreeMap;

use escala_core::{Diagnostics, System};

pub use codegen::infra_rs;
pub use map::codes;
use yaml::Node;

/// One compose file: its path (for diagnostics) and its text.
#[derive(Clone, Debug)]
pub struct ComposeFile {
    /// The path, as given on the command line.
    pub path: String,
    /// The file's content.
    pub text: String,
}

impl ComposeFile {
    /// A compose file from the bytes read from `path`: an error that says where when they are
    /// not UTF-8 text.
    ///
    /// ```
    /// use escala_cli::import::{ComposeFile, ImportError};
    /// let err = ComposeFile::from_bytes("c.yml", b"services:\n  \xff".to_vec()).unwrap_err();
    /// assert!(matches!(err, ImportError::NotUtf8 { offset: 12, line: 2, .. }));
    /// ```
    pub fn from_bytes(path: impl Into<String>, bytes: Vec<u8>) -> Result<Self, ImportError> {
        let path = path.into();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(ComposeFile { path, text }),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..offset]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                Err(ImportError::NotUtf8 { path, offset, line })
            }
        }
    }
}

/// Why nothing could be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file is not YAML.
    #[error("{path}:{line}:{column}: not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A file is not UTF-8 text.
    #[error("{path}: not UTF-8 text: the byte at offset {offset} (line {line}) is not valid UTF-8; compose files are UTF-8")]
    NotUtf8 {
        /// The file.
        path: String,
        /// The offset of the first byte that is not UTF-8.
        offset: usize,
        /// Its 1-based line.
        line: usize,
    },
    /// No file was given.
    #[error("no compose file given")]
    NoFile,
    /// The files define no service: nothing to import.
    #[error("{path}: no `services:` to import (an empty or non-compose file)")]
    NoServices {
        /// The first file.
        path: String,
    },
}

fn merge(base: Node, over: Node, key: &str) -> Node {
    match (base, over) {
        (Node::Map(mut a, pos), Node::Map(b, _)) => {
            for (k, p, v) in b {
                match a.iter().position(|(x, _, _)| *x == k) {
                    Some(i) => {
                        let (_, _, old) = a.remove(i);
                        let merged = merge(old, v, &k);
                        a.insert(i, (k, p, merged));
                    }
                    None => a.push((k, p, v)),
                }
            }
            Node::Map(a, pos)
        }
        (Node::Seq(mut a, pos), Node::Seq(b, _))
            if !matches!(key, "command" | "entrypoint" | "test") =>
        {
            for item in b {
                if !a.iter().any(|x| x.str().is_some() && x.str() == item.str()) {
                    a.push(item);
                }
            }
            Node::Seq(a, pos)
        }
        (_, over) => over,
    }
}

/// Imports compose files (merged in order) into a model, with every diagnostic.
///
/// ```
/// use escala_cli::import::{compose, ComposeFile};
/// let file = ComposeFile { path: "docker-compose.yml".into(), text: "services:\n  web:\n    image: nginx:1.27\n    ports: [\"8080:80\"]\n".into() };
/// let (system, diags) = compose(&[file], &Default::default()).unwrap();
/// assert_eq!(system.services[0].ports[0].publish, Some(8080));
/// assert!(diags.is_empty());
/// ```
pub fn compose(
    files: &[ComposeFile],
    env: &BTreeMap<String, String>,
) -> Result<(System, Diagnostics), ImportError> {
    let mut merged: Option<Node> = None;
    for f in files {
        let doc = yaml::parse(&f.text).map_err(|e| ImportError::Yaml {
            path: f.path.clone(),
            line: e.pos.line,
            column: e.pos.col,
            message: e.message,
        })?;
        merged = Some(match merged {
            None => doc,
            Some(base) => merge(base, doc, ""),
        });
    }
    let doc = merged.ok_or(ImportError::NoFile)?;
    let first = files.first().map(|f| f.path.clone()).unwrap_or_default();
    let project = std::path::Path::new(&first)
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "app".to_owned());
    let base = std::path::Path::new(&first)
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut ctx = map::Ctx {
        base,
        file: files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join("+"),
        env,
        diags: Diagnostics::new(),
        secrets: Vec::new(),
        configs: Vec::new(),
        volume_defaults: Vec::new(),
        routes: Vec::new(),
        dokploy: false,
    };
    let system = map::system(&mut ctx, &doc, &project);
    if system.services.is_empty() && !ctx.diags.has_errors() {
        return Err(ImportError::NoServices { path: first });
    }
    Ok((system, ctx.diags))
}
