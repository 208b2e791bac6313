//! From a model to the set of files it generates: check, select, fidelity-check, render.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use escala_core::{Diagnostics, System, Target};

use crate::args::Selection;

/// Everything generated for a selection: relative path → content, plus warnings.
#[derive(Debug, Default)]
pub struct Generated {
    /// Files, keyed by `<phase>/<target>/<path>`, sorted.
    pub files: BTreeMap<PathBuf, String>,
    /// The `<phase>/<target>` directories that were rendered.
    pub dirs: Vec<PathBuf>,
    /// Warnings from the check and the targets' fidelity reports.
    pub warnings: Diagnostics,
    /// Phases no compiled-in target renders, with their engine.
    pub skipped: Vec<(String, &'static str)>,
}

/// Why nothing could be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The model (or a target's view of it) has errors.
    #[error("the model has errors")]
    Invalid(Diagnostics),
    /// A `--phase` or `--target` filter names nothing.
    #[error("unknown {kind} `{name}`; known: {known}")]
    UnknownFilter {
        /// `phase` or `target`.
        kind: &'static str,
        /// What was asked for.
        name: String,
        /// What exists.
        known: String,
    },
    /// A target failed to render (a bug).
    #[error(transparent)]
    Target(#[from] escala_core::TargetError),
    /// A target produced a path outside its directory (a bug).
    #[error("target `{target}` produced the unsafe path `{path}`")]
    UnsafePath {
        /// The target.
        target: &'static str,
        /// The path.
        path: String,
    },
}

/// Checks `system` and renders the selected phases with the selected `targets`.
pub fn generate(
    system: &System,
    targets: &[Box<dyn Target>],
    selection: &Selection,
) -> Result<Generated, GenerateError> {
    for name in &selection.phases {
        if !system.phases.iter().any(|p| p.name == name.as_str()) {
            return Err(GenerateError::UnknownFilter {
                kind: "phase",
                name: name.clone(),
                known: system
                    .phases
                    .iter()
                    .map(|p| p.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    for name in &selection.targets {
        if !targets.iter().any(|t| t.name() == name) {
            return Err(GenerateError::UnknownFilter {
                kind: "target",
                name: name.clone(),
                known: targets
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let checked = system.check().map_err(GenerateError::Invalid)?;
    let mut out = Generated {
        warnings: checked.warnings().clone(),
        ..Generated::default()
    };
    let mut diags = Diagnostics::new();
    let mut work = Vec::new();
    let mut plans: Vec<escala_core::PhasePlan<'_>> = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_default();
    // Files the model names, for targets that embed them; a missing one is left out and the
    // target that needs it reports it.
    let files = config_files(&cwd, system);
    // An empty secret file: Swarm refuses it at deploy time, and no credential is empty.
    // Only its size is read, never its content.
    for (i, secret) in system.secrets.iter().enumerate() {
        if let escala_core::SecretSource::File(path) = &secret.source {
            if std::fs::metadata(cwd.join(path)).is_ok_and(|m| m.is_file() && m.len() == 0) {
                diags
                    .error(escala_core::codes::SECRET_EMPTY, format!("secrets[{i}]"), format!("secret `{}` reads `{path}`, which is empty; Swarm refuses an empty secret, and no program can use one", secret.name))
                    .help(format!("put the value in `{path}` (without committing it), or read it from the environment with `Secret::from_env`"));
            }
        }
    }
    for plan in checked.plans() {
        let phase = plan.phase();
        if !selection.phases.is_empty()
            && !selection.phases.iter().any(|p| phase.name == p.as_str())
        {
            continue;
        }
        let chosen: Vec<&dyn Target> = targets
            .iter()
            .filter(|t| t.accepts(phase))
            .filter(|t| {
                selection.targets.is_empty() || selection.targets.iter().any(|n| n == t.name())
            })
            .map(|t| t.as_ref())
            .collect();
        if chosen.is_empty() && selection.targets.is_empty() {
            out.skipped
                .push((phase.name.to_string(), phase.engine.as_str()));
        }
        // One plan per project root (every target of a phase has the same depth, so usually
        // one per phase): a plan holds every service, and cloning it per target cost more
        // than rendering small targets.
        let mut this_phase: Vec<usize> = Vec::new();
        for target in chosen {
            let dir = Path::new(phase.name.as_str()).join(target.name());
            let root = project_root(&cwd, &selection.out.join(&dir));
            let index = match this_phase
                .iter()
                .find(|i| plans[**i].project_root() == root)
            {
                Some(i) => *i,
                None => {
                    let mut p = plan.clone().with_project_root(root);
                    for (path, content) in &files {
                        p = match String::from_utf8(content.clone()) {
                            Ok(text) => p.with_file(path.clone(), text),
                            Err(e) => p.with_binary_file(path.clone(), e.into_bytes()),
                        };
                    }
                    plans.push(p);
                    this_phase.push(plans.len() - 1);
                    plans.len() - 1
                }
            };
            // Losses the phase acknowledges are not reported (PLAN.md lists them).
            let mut found = Diagnostics::new();
            target.check(&plans[index], &mut found);
            found.retain(|d| {
                d.severity == escala_core::Severity::Error || phase.accepted_loss(d).is_none()
            });
            diags.extend(found);
            work.push((index, target, dir));
        }
    }
    if selection.deny_warnings {
        out.warnings.extend(diags);
        out.warnings.deny_warnings();
        if out.warnings.has_errors() {
            return Err(GenerateError::Invalid(out.warnings));
        }
    } else if diags.has_errors() {
        let mut all = out.warnings;
        all.extend(diags);
        return Err(GenerateError::Invalid(all));
    } else {
        out.warnings.extend(diags);
    }
    for (index, target, dir) in work {
        for (path, content) in target.render(&plans[index])? {
            if !is_safe(Path::new(&path)) {
                return Err(GenerateError::UnsafePath {
                    target: target.name(),
                    path,
                });
            }
            out.files.insert(dir.join(path), content);
        }
        out.dirs.push(dir);
    }
    Ok(out)
}

/// The files the model's configs name, read from `cwd`: a file config's file, and every
/// regular file directly in a folder config's folder (`folder/name`). Unreadable ones are
/// left out: the target that needs them reports it.
fn config_files(cwd: &Path, system: &System) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // A sensitive config's content is read when deploying, never here.
    for c in system.configs.iter().filter(|c| !c.sensitive) {
        match &c.source {
            escala_core::ConfigSource::File(path) => {
                if let Ok(content) = std::fs::read(cwd.join(path)) {
                    out.push((path.clone(), content));
                }
            }
            escala_core::ConfigSource::Dir(path) => {
                let Ok(entries) = std::fs::read_dir(cwd.join(path)) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect();
                names.sort();
                for name in names {
                    let file = format!("{}/{name}", path.trim_end_matches('/'));
                    if let Ok(content) = std::fs::read(cwd.join(&file)) {
                        out.push((file, content));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The project root (`cwd`) as a relative path from the output directory `dir` (itself
/// relative to `cwd`, or absolute): `../../..` for `deploy/single-node/compose`.
pub fn project_root(cwd: &Path, dir: &Path) -> String {
    let normal = |p: &Path| {
        let mut out: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        out
    };
    let from = normal(&cwd.join(dir));
    let to = normal(cwd);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(to[common..].iter().map(String::as_str));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// A relative path that stays inside its directory.
fn is_safe(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::{is_safe, project_root};
    use std::path::Path;

    #[test]
    fn project_root_from_the_output_directory() {
        let cwd = Path::new("/work/app");
        assert_eq!(
            project_root(cwd, Path::new("deploy/prod/compose")),
            "../../.."
        );
        assert_eq!(
            project_root(cwd, Path::new("./out/../deploy/p/c")),
            "../../.."
        );
        assert_eq!(
            project_root(cwd, Path::new("/work/app/deploy/p/c")),
            "../../.."
        );
        assert_eq!(
            project_root(cwd, Path::new("/tmp/x/p/c")),
            "../../../../work/app"
        );
        assert_eq!(
            project_root(cwd, Path::new("../elsewhere/p/c")),
            "../../../app"
        );
        assert_eq!(project_root(cwd, Path::new("")), ".");
    }

    #[test]
    fn only_relative_paths_inside() {
        assert!(is_safe(Path::new("docker-compose.yml")));
        assert!(is_safe(Path::new("a/b.yaml")));
        assert!(!is_safe(Path::new("../x")));
        assert!(!is_safe(Path::new("/etc/passwd")));
        assert!(!is_safe(Path::new("a/../../x")));
        assert!(!is_safe(Path::new("")));
    }
}
