//! `escala import`: compose files → `infra.rs`.

use std::path::{Path, PathBuf};

use crate::Exit;

/// Imports compose files and prints or writes the `infra.rs`.
pub fn run(
    file: &Path,
    more: &[PathBuf],
    env_file: Option<&Path>,
    out: Option<&Path>,
    force: bool,
) -> Exit {
    use crate::import::{compose, infra_rs, ComposeFile};
    let mut files = Vec::new();
    for path in std::iter::once(file).chain(more.iter().map(PathBuf::as_path)) {
        let file =
            std::fs::read(path).map(|b| ComposeFile::from_bytes(path.display().to_string(), b));
        match file {
            Ok(Ok(f)) => files.push(f),
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                return Exit::Findings;
            }
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Exit::Internal;
            }
        }
    }
    let dotenv = env_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.with_file_name(".env"));
    let mut env = match std::fs::read_to_string(&dotenv) {
        Ok(text) => crate::import::interp::dotenv(&text),
        Err(_) if env_file.is_none() => Default::default(),
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", dotenv.display());
            return Exit::Internal;
        }
    };
    // The shell's environment wins over `.env`, as in compose.
    env.extend(std::env::vars());
    let (system, diags) = match compose(&files, &env) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Findings;
        }
    };
    let style = crate::report::Style::new(false);
    let _ = crate::report::human(&diags, style, &mut std::io::stderr());
    if diags.has_errors() {
        return Exit::Findings;
    }
    let source = files
        .iter()
        .map(|f| format!("`{}`", f.path))
        .collect::<Vec<_>>()
        .join(" + ");
    let code = infra_rs(&system, &source);
    match out {
        None => {
            print!("{code}");
            Exit::Ok
        }
        Some(path) => match super::write_new(path, &code, force) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                Exit::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Internal
            }
        },
    }
}
