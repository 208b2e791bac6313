//! One module per subcommand.

use std::path::Path;

pub mod build;
pub mod check;
pub mod diff;
pub mod import;
pub mod init;
pub mod plan;

/// Writes `content` to `path` through a temporary file beside it, refusing to replace an
/// existing file unless `force`.
pub(crate) fn write_new(path: &Path, content: &str, force: bool) -> Result<(), String> {
    if path.exists() && !force {
        return Err(format!(
            "`{}` exists; pass --force to replace it",
            path.display()
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("escala-tmp");
    std::fs::write(&tmp, content).map_err(|e| format!("cannot write `{}`: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
