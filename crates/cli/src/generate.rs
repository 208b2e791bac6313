//! From a model to the set of files it generates: check, select, fidelity-check, render.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use escala_core::{Diagnostics, PhasePlan, System, Target};

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

/// What [`generate_into`] found besides the files it handed out.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The `<phase>/<target>` directories that were rendered.
    pub dirs: Vec<PathBuf>,
    /// Warnings from the check and the targets' fidelity reports.
    pub warnings: Diagnostics,
    /// Phases no compiled-in target renders, with their engine.
    pub skipped: Vec<(String, &'static str)>,
}

/// Checks `system` and renders the selected phases with the selected `targets`, holding
/// every file in memory (see [`generate_into`] to stream them).
pub fn generate(
    system: &System,
    targets: &[Box<dyn Target>],
    selection: &Selection,
) -> Result<Generated, GenerateError> {
    let files = std::sync::Mutex::new(BTreeMap::new());
    let outcome = generate_into(system, targets, selection, &|batch| {
        files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(batch);
    })?;
    Ok(Generated {
        files: files
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        dirs: outcome.dirs,
        warnings: outcome.warnings,
        skipped: outcome.skipped,
    })
}

/// Checks `system` and renders the selected phases with the selected `targets`, handing each
/// file (`<phase>/<target>/<path>`, content) to `sink` soon after it is rendered — a few at a
/// time (up to [`BATCH_BYTES`]), so that a sink passing them to another thread does not pay
/// a wake-up per file — so that the caller can write it and let it go. Every check runs first: when this returns an
/// `Invalid` error, `sink` was never called. Any other error can come after some files.
///
/// Phases, and then each phase's targets, are prepared and rendered on as many threads as
/// there are cores, so `sink` is called from several threads, in no particular order; the
/// files and their contents are the same on every run.
pub fn generate_into(
    system: &System,
    targets: &[Box<dyn Target>],
    selection: &Selection,
    sink: &(dyn Fn(Vec<(PathBuf, String)>) + Sync),
) -> Result<Outcome, GenerateError> {
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
    let mut checked = system.check().map_err(GenerateError::Invalid)?;
    let mut out = Outcome {
        warnings: checked.take_warnings(),
        ..Outcome::default()
    };
    let mut diags = Diagnostics::new();
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
    let phases: Vec<&escala_core::Phase> = system
        .phases
        .iter()
        .filter(|phase| {
            selection.phases.is_empty() || selection.phases.iter().any(|p| phase.name == p.as_str())
        })
        .collect();
    // First every phase's plan and every target's check, phases side by side: nothing is
    // rendered (and so nothing written) unless all of them pass.
    let threads = threads(system, selection);
    let mut prepared = parallel(threads, &phases, |phase| {
        prepare(&checked, phase, targets, selection, &cwd, &files)
    });
    for p in &mut prepared {
        if let Some(skipped) = &p.skipped {
            out.skipped.push(skipped.clone());
        }
        diags.extend(std::mem::take(&mut p.diags));
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
    // Then every (phase, target) pair, side by side, each file handed out as it is made.
    let work: Vec<(&Prepared<'_>, &Job<'_>)> = prepared
        .iter()
        .flat_map(|p| p.jobs.iter().map(move |j| (p, j)))
        .collect();
    let rendered = parallel(threads, &work, |(p, job)| -> Result<(), GenerateError> {
        let mut unsafe_path = None;
        let mut batch: Vec<(PathBuf, String)> = Vec::new();
        let mut bytes = 0;
        job.target
            .render_into(&p.plans[job.plan], &mut |path, content| {
                if !is_safe(Path::new(&path)) {
                    unsafe_path.get_or_insert(path);
                } else if unsafe_path.is_none() {
                    bytes += content.len();
                    batch.push((crate::output::joined(&job.dir, Path::new(&path)), content));
                    if bytes >= BATCH_BYTES {
                        sink(std::mem::take(&mut batch));
                        bytes = 0;
                    }
                }
            })?;
        match unsafe_path {
            Some(path) => Err(GenerateError::UnsafePath {
                target: job.target.name(),
                path,
            }),
            None => {
                if !batch.is_empty() {
                    sink(batch);
                }
                Ok(())
            }
        }
    });
    // The first failure in the order of the work, whichever thread met it first.
    for r in rendered {
        r?;
    }
    out.dirs = work.iter().map(|(_, job)| job.dir.clone()).collect();
    Ok(out)
}

/// How many bytes of files [`generate_into`] hands to its sink at once, at most one file
/// more.
pub const BATCH_BYTES: usize = 256 * 1024;

/// One phase, ready to render: its plans (one per project root) and what each target does.
struct Prepared<'a> {
    plans: Vec<escala_core::PhasePlan<'a>>,
    jobs: Vec<Job<'a>>,
    diags: Diagnostics,
    /// The phase and its engine, when no compiled-in target renders it.
    skipped: Option<(String, &'static str)>,
}

/// A target to render with one of its phase's plans, into `<phase>/<target>`.
struct Job<'a> {
    plan: usize,
    target: &'a dyn Target,
    dir: PathBuf,
}

/// Builds `phase`'s plan and runs the chosen targets' checks on it.
fn prepare<'a>(
    checked: &escala_core::Checked<'a>,
    phase: &'a escala_core::Phase,
    targets: &'a [Box<dyn Target>],
    selection: &Selection,
    cwd: &Path,
    files: &[(String, Vec<u8>)],
) -> Prepared<'a> {
    let mut prepared = Prepared {
        plans: Vec::new(),
        jobs: Vec::new(),
        diags: Diagnostics::new(),
        skipped: None,
    };
    let chosen: Vec<&dyn Target> = targets
        .iter()
        .filter(|t| t.accepts(phase))
        .filter(|t| selection.targets.is_empty() || selection.targets.iter().any(|n| n == t.name()))
        .map(|t| t.as_ref())
        .collect();
    if chosen.is_empty() && selection.targets.is_empty() {
        prepared.skipped = Some((phase.name.to_string(), phase.engine.as_str()));
    }
    // One plan per project root (every target of a phase has the same depth, so usually one
    // per phase): a plan holds every service, and copying it per target cost more than
    // rendering small targets.
    let dirs: Vec<PathBuf> = chosen
        .iter()
        .map(|t| Path::new(phase.name.as_str()).join(t.name()))
        .collect();
    let roots: Vec<String> = dirs
        .iter()
        .map(|dir| project_root(cwd, &selection.out.join(dir)))
        .collect();
    let mut unique: Vec<&String> = Vec::new();
    for root in &roots {
        if !unique.contains(&root) {
            unique.push(root);
        }
    }
    let mut base = checked.plan(phase.name.as_str());
    for (i, root) in unique.iter().enumerate() {
        // The last root takes the plan itself; the others a copy.
        let plan = if i + 1 == unique.len() {
            base.take()
        } else {
            base.clone()
        };
        let Some(p) = plan else { continue };
        prepared
            .plans
            .push(with_files(p.with_project_root((*root).clone()), files));
    }
    for ((target, dir), root) in chosen.into_iter().zip(dirs).zip(&roots) {
        let Some(index) = unique.iter().position(|r| *r == root) else {
            continue;
        };
        let Some(plan) = prepared.plans.get(index) else {
            continue;
        };
        // Losses the phase acknowledges are not reported (PLAN.md lists them).
        let mut found = Diagnostics::new();
        target.check(plan, &mut found);
        found.retain(|d| {
            d.severity == escala_core::Severity::Error || phase.accepted_loss(d).is_none()
        });
        prepared.diags.extend(found);
        prepared.jobs.push(Job {
            plan: index,
            target,
            dir,
        });
    }
    prepared
}

/// How many services a model has before building it on several threads pays: below, starting
/// the threads costs more than they save. Measured on two cores with the `copies` example,
/// whole process, two threads against one: 6 services 1.13×, 61 services 1.21×, 126 services
/// 1.03×, 251 services 0.84×, 501 services 0.78×.
const THREADS_FROM_SERVICES: usize = 200;

/// How many threads to build `system` on: `--jobs` when given, else one for a small model
/// and one per core for a large one.
pub fn threads(system: &System, selection: &Selection) -> usize {
    if let Some(jobs) = selection.jobs {
        return usize::from(jobs);
    }
    if system.services.len() < THREADS_FROM_SERVICES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `f` of every item, in the items' order, computed on up to `threads` threads (each takes
/// the next item not yet taken).
fn parallel<T: Sync, R: Send>(threads: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                if let Some(slot) = slots.get(i) {
                    *slot
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
                }
            });
        }
    });
    // A thread that panicked has ended the scope with its panic: every slot is filled.
    slots
        .into_iter()
        .filter_map(|slot| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .collect()
}

/// `plan` with the content of the model's config files.
fn with_files<'a>(mut plan: PhasePlan<'a>, files: &[(String, Vec<u8>)]) -> PhasePlan<'a> {
    for (path, content) in files {
        plan = match String::from_utf8(content.clone()) {
            Ok(text) => plan.with_file(path.clone(), text),
            Err(e) => plan.with_binary_file(path.clone(), e.into_bytes()),
        };
    }
    plan
}

/// `plan` as `build` lays it out before a target renders it into the folder `dir` (relative
/// to `cwd`, the project root: `deploy/prod/compose`): host paths resolve from `dir` back to
/// `cwd`, and the model's config files are read from `cwd` (regular files only, bounded). For
/// a tool that renders one target itself and wants the bytes `build` writes:
///
/// ```
/// use escala_core::prelude::*;
/// use std::path::Path;
/// let system = System::new("shop")
///     .service(Service::builder().name("web").image("nginx:1.27").build())
///     .phase(Phase::new("prod", Engine::Compose));
/// let checked = system.check().expect("a valid model");
/// let plan = checked.plan("prod").expect("the phase");
/// let plan = escala_cli::generate::laid_out(plan, Path::new("."), Path::new("deploy/prod/compose"));
/// assert_eq!(plan.project_root(), "../../..");
/// ```
pub fn laid_out<'a>(plan: PhasePlan<'a>, cwd: &Path, dir: &Path) -> PhasePlan<'a> {
    let files = config_files(cwd, plan.system());
    with_files(plan.with_project_root(project_root(cwd, dir)), &files)
}

/// The most of a config file read: far over every engine's limit for a config (Swarm's
/// 500 KiB, a ConfigMap's 1 MiB), so a bigger file is still reported as too large, while a
/// device or an endless file (`/dev/zero`) cannot exhaust memory.
const CONFIG_READ_LIMIT: u64 = 16 * 1024 * 1024;

/// A regular file's content, at most [`CONFIG_READ_LIMIT`] and one byte; `None` for anything
/// else (a folder, a FIFO, a device) or an unreadable file.
fn read_config(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    // Room for the whole file and the byte that would show it grew: two reads, not a read
    // of 32 bytes, then 64, and so on (`Take` hides the size from `read_to_end`).
    let room = meta.len().min(CONFIG_READ_LIMIT) + 1;
    let mut content = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
    std::fs::File::open(path)
        .ok()?
        .take(CONFIG_READ_LIMIT + 1)
        .read_to_end(&mut content)
        .ok()?;
    Some(content)
}

/// The files the model's configs name, read from `cwd`: a file config's file, and every
/// regular file directly in a folder config's folder (`folder/name`). Unreadable ones (and
/// whatever is not a regular file) are left out: the target that needs them reports it.
fn config_files(cwd: &Path, system: &System) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // A sensitive config's content is read when deploying, never here.
    for c in system.configs.iter().filter(|c| !c.sensitive) {
        match &c.source {
            escala_core::ConfigSource::File(path) => {
                if let Some(content) = read_config(&cwd.join(path)) {
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
                    if let Some(content) = read_config(&cwd.join(&file)) {
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
