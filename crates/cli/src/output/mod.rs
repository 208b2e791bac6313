//! The only module that touches the output directory: compare, write atomically, prune.
//!
//! Rules: nothing is written outside `--out`; every file is written to a temporary file (in
//! its own directory, or for a folder that does not exist yet, in a staging folder that
//! becomes it with one rename) as soon as it is rendered, and moved into place only after all
//! files were rendered and written ([`Stream`]), so a failed or interrupted build leaves the
//! previous files intact. A file is escala's to delete only
//! if escala wrote it: `build` records every file it writes in `<out>/.escala-files`, and
//! `--prune` removes only files that record lists and the model no longer produces — regular
//! files, never through a link. Output from before the record existed is pruned only where
//! a file's first line is exactly the header escala writes, inside a `<phase>/<target>`
//! folder this build writes.

use foldhash::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::args::Selection;
use crate::generate::Generated;

mod record;
mod stream;

pub use record::{write_record, RECORD};
pub use stream::{Mode, Stream};

use record::{has_escala_header, read_record};

/// How the files on disk relate to what the model generates.
#[derive(Debug, Default)]
pub struct Comparison {
    /// [`Mode::Compare`]: the files that differ from the disk, sorted: relative path, current
    /// content (if any), new content.
    pub changed: Vec<(PathBuf, Option<String>, String)>,
    /// [`Mode::Write`]: the files written, in the order of `generated`: the file's index in
    /// `generated` (its path is not copied again), and whether a file was there before
    /// (updated) or not (created). [`Comparison::written_files`] gives their paths.
    pub written: Vec<(usize, bool)>,
    /// Files already identical.
    pub unchanged: usize,
    /// escala-generated files on disk that the model no longer produces, sorted.
    pub stale: Vec<PathBuf>,
    /// Every file this build generates, sorted.
    pub generated: Vec<PathBuf>,
    /// Files the previous build recorded outside this build's `--phase`/`--target`
    /// selection, sorted.
    pub kept: Vec<PathBuf>,
    /// Whether the output folder did not exist when the comparison started (then nothing in
    /// it can be stale, and it is not searched).
    pub fresh: bool,
}

/// A path as text, as [`Path::display`] shows it, checked for UTF-8 in one pass (`display`
/// walks the path chunk by chunk): "created …" lines name every file written.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a Path);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.to_str() {
            Some(text) => f.write_str(text),
            None => self.0.display().fmt(f),
        }
    }
}

/// `base.join(rel)`, allocated once at its final size (`Path::join` copies `base`, then
/// grows the copy for `rel`): the output's paths are joined several times per file.
pub(crate) fn joined(base: &Path, rel: &Path) -> PathBuf {
    let mut path = PathBuf::with_capacity(base.as_os_str().len() + 1 + rel.as_os_str().len());
    path.push(base);
    path.push(rel);
    path
}

/// The order of [`Path`]'s `Ord` (component by component) for the relative paths of
/// normal components that a build generates, without splitting them into components: bytes
/// compared with the separator as the smallest byte. The common start of the two paths is
/// skipped eight bytes at a time, as two integers (generated paths share long ones:
/// `k3s/kubernetes/…`), the first differing byte found from where the integers differ, and
/// only that byte is compared as a key.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let shorter = a.len().min(b.len());
    let mut common = 0;
    while let (Some(x), Some(y)) = (
        a[common..shorter].first_chunk::<8>(),
        b[common..shorter].first_chunk::<8>(),
    ) {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            // Big-endian: the first byte that differs holds the highest differing bit.
            common += ((x ^ y).leading_zeros() / 8) as usize;
            break;
        }
        common += 8;
    }
    while common < shorter && a[common] == b[common] {
        common += 1;
    }
    // The first byte that differs, the separator lowest; a path that ended first is a prefix
    // of the other (`None` sorts first).
    let key = |s: &[u8]| s.get(common).map(|&c| if c == b'/' { 0 } else { c });
    key(a).cmp(&key(b))
}

impl Comparison {
    /// The files written ([`Comparison::written`]): relative path, and whether a file was
    /// there before (updated) or not (created). An index out of `generated` is skipped.
    pub fn written_files(&self) -> impl Iterator<Item = (&Path, bool)> {
        self.written
            .iter()
            .filter_map(|&(i, existed)| Some((self.generated.get(i)?.as_path(), existed)))
    }
    /// Whether disk and model agree.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.written.is_empty() && self.stale.is_empty()
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

/// Compares `generated` with the files under `out` (all in memory; `build`, `diff` and
/// `check` stream instead, through [`Stream`]).
pub fn compare(
    out: &Path,
    generated: &Generated,
    selection: &Selection,
) -> Result<Comparison, OutputError> {
    let mut stream = Stream::new(out, Mode::Compare);
    for (rel, content) in &generated.files {
        stream.file(rel.clone(), content.clone());
    }
    let (cmp, failed) = stream.into_parts();
    if let Some(e) = failed {
        return Err(e);
    }
    finish(out, cmp, &generated.dirs, selection)
}

/// Completes a comparison whose files were all taken: sorts it, and finds the stale files
/// (generated before, in `dirs` or the record, and not any more).
pub fn finish(
    out: &Path,
    mut cmp: Comparison,
    dirs: &[PathBuf],
    selection: &Selection,
) -> Result<Comparison, OutputError> {
    cmp.changed.sort_unstable_by(|a, b| path_order(&a.0, &b.0));
    sort_generated_and_written(&mut cmp);
    let mut stale = Vec::new();
    let mut kept = Vec::new();
    // Made only when the folder was there before (a fresh one has nothing stale).
    let generated = || -> HashSet<&Path> { cmp.generated.iter().map(PathBuf::as_path).collect() };
    match read_record(out) {
        // The output folder did not exist before this build: nothing in it is stale.
        _ if cmp.fresh => {}
        // What escala wrote, and the model no longer produces: still there, a regular file.
        Some(recorded) => {
            let generated = generated();
            for rel in recorded {
                if generated.contains(rel.as_path()) {
                    continue;
                }
                if !selected(&rel, selection) {
                    kept.push(rel);
                } else if is_regular_file(out, &rel) {
                    stale.push(rel);
                }
            }
        }
        // Output written before the record: only exact headers, in folders this build owns.
        None => {
            let generated = generated();
            let mut found = Vec::new();
            if out.is_dir() {
                walk(out, Path::new(""), &mut found)?;
            }
            for rel in found {
                let owned = dirs.iter().any(|d| rel.starts_with(d));
                if !generated.contains(rel.as_path())
                    && owned
                    && selected(&rel, selection)
                    && has_escala_header(&out.join(&rel))
                {
                    stale.push(rel);
                }
            }
        }
    }
    stale.sort_unstable_by(|a, b| path_order(a, b));
    kept.sort_unstable_by(|a, b| path_order(a, b));
    cmp.stale = stale;
    cmp.kept = kept;
    Ok(cmp)
}

/// Sorts the generated files, each with what became of it: the written files' indices
/// follow their files, and stay in the order of `generated`.
fn sort_generated_and_written(cmp: &mut Comparison) {
    let mut fates: Vec<Option<bool>> = vec![None; cmp.generated.len()];
    for &(i, existed) in &cmp.written {
        if let Some(fate) = fates.get_mut(i) {
            *fate = Some(existed);
        }
    }
    let mut both: Vec<(PathBuf, Option<bool>)> = std::mem::take(&mut cmp.generated)
        .into_iter()
        .zip(fates)
        .collect();
    both.sort_unstable_by(|a, b| path_order(&a.0, &b.0));
    cmp.written.clear();
    cmp.generated.reserve_exact(both.len());
    for (i, (path, fate)) in both.into_iter().enumerate() {
        if let Some(existed) = fate {
            cmp.written.push((i, existed));
        }
        cmp.generated.push(path);
    }
}

/// What the record of a finished build lists (see [`write_record`]): every file it
/// generated, the files the previous record listed outside its selection, and the stale
/// files unless they were pruned (`with_stale`); in `Path`'s order, each once. The lists of
/// a finished [`Comparison`] are each sorted already: they are merged, not sorted again.
pub fn recorded(cmp: &Comparison, with_stale: bool) -> Vec<&Path> {
    let stale: &[PathBuf] = if with_stale { &cmp.stale } else { &[] };
    let mut extra: Vec<&Path> = cmp.kept.iter().chain(stale).map(PathBuf::as_path).collect();
    // Each sorted, but not together.
    extra.sort_unstable_by(|a, b| path_order(a, b));
    let mut generated = cmp.generated.iter().map(PathBuf::as_path).peekable();
    let mut extra = extra.into_iter().peekable();
    let mut all: Vec<&Path> =
        Vec::with_capacity(cmp.generated.len() + cmp.kept.len() + stale.len());
    loop {
        let next = match (generated.peek(), extra.peek()) {
            (Some(g), Some(e)) if path_order(g, e).is_gt() => extra.next(),
            (Some(_), _) => generated.next(),
            (None, _) => extra.next(),
        };
        let Some(path) = next else { break };
        if all
            .last()
            .is_none_or(|last| last.as_os_str() != path.as_os_str())
        {
            all.push(path);
        }
    }
    all
}

/// Whether `out/rel` is a regular file reached through no link (every folder on the way a
/// real folder inside `out`).
fn is_regular_file(out: &Path, rel: &Path) -> bool {
    let mut at = out.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    fs::symlink_metadata(&at).is_ok_and(|m| m.is_file())
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

/// Deletes stale files escala wrote (see the module's rules); never through a link.
pub fn prune(out: &Path, stale: &[PathBuf]) -> Result<(), OutputError> {
    for rel in stale {
        if is_regular_file(out, rel) {
            let path = out.join(rel);
            fs::remove_file(&path).map_err(err("cannot delete", &path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{joined, path_order, recorded, Comparison, Shown};
    use std::path::{Path, PathBuf};

    /// A path shows as `Path::display` shows it, UTF-8 or not (then lossily).
    #[test]
    fn a_path_shows_as_display_shows_it() {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt as _;
            let odd = Path::new(std::ffi::OsStr::from_bytes(b"deploy/k3s/a\xff\xfeb.yaml"));
            assert_eq!(Shown(odd).to_string(), odd.display().to_string());
            assert!(Shown(odd).to_string().contains('\u{fffd}'));
        }
        let plain = Path::new("deploy/vps/compose/docker-compose.yml");
        assert_eq!(Shown(plain).to_string(), plain.display().to_string());
    }

    /// Joining at the final size is `Path::join`.
    #[test]
    fn joined_is_join() {
        for (base, rel) in [
            ("deploy", "k3s/a.yaml"),
            ("deploy/", "a"),
            ("", "a/b"),
            ("/", "x"),
        ] {
            assert_eq!(
                joined(Path::new(base), Path::new(rel)),
                Path::new(base).join(rel)
            );
            assert_eq!(
                joined(Path::new(base), Path::new(rel)).as_os_str(),
                Path::new(base).join(rel).as_os_str()
            );
        }
    }

    proptest::proptest! {
        /// The byte order with the separator lowest is `Path`'s component order, for the
        /// relative paths of normal components a build generates (names with `-`, `.`, `_`,
        /// digits: the bytes that sort below or near `/`). A component may start with `.`
        /// (`.env.example`) but is never `.` or `..`: those are not normal components, and
        /// `Path::iter` drops a `.`.
        #[test]
        fn path_order_is_the_component_order(
            a in proptest::collection::vec("\\.?[a-z0-9_-][a-z0-9._-]{0,3}", 1..4),
            b in proptest::collection::vec("\\.?[a-z0-9_-][a-z0-9._-]{0,3}", 1..4),
        ) {
            let (a, b): (PathBuf, PathBuf) = (a.iter().collect(), b.iter().collect());
            proptest::prop_assert_eq!(path_order(&a, &b), a.cmp(&b));
        }

        /// The same with a long common start (skipped eight bytes at a time), and a path
        /// against itself.
        #[test]
        fn path_order_is_the_component_order_after_a_long_common_start(
            start in proptest::collection::vec("\\.?[a-z0-9_-][a-z0-9._-]{0,11}", 1..5),
            a in proptest::collection::vec("\\.?[a-z0-9_-][a-z0-9._-]{0,19}", 0..3),
            b in proptest::collection::vec("\\.?[a-z0-9_-][a-z0-9._-]{0,19}", 0..3),
        ) {
            let a: PathBuf = start.iter().chain(&a).collect();
            let b: PathBuf = start.iter().chain(&b).collect();
            proptest::prop_assert_eq!(path_order(&a, &b), a.cmp(&b));
            proptest::prop_assert_eq!(path_order(&a, &a), std::cmp::Ordering::Equal);
        }

        /// Sorting the generated files keeps each written file's fate with it, whatever the
        /// order the written files were taken in.
        #[test]
        fn one_sort_keeps_each_file_with_its_fate(
            files in proptest::collection::btree_map(proptest::collection::vec("[a-c]{1,2}", 1..3), proptest::option::of(proptest::bool::ANY), 0..16),
            shuffle in proptest::collection::vec(proptest::num::usize::ANY, 16),
            in_order: bool,
        ) {
            // Each file generated, and written (created or updated) or not.
            let mut files: Vec<(PathBuf, Option<bool>)> =
                files.into_iter().map(|(p, w)| (p.iter().collect(), w)).collect();
            for (i, j) in shuffle.iter().enumerate().take(files.len()) {
                let len = files.len();
                files.swap(i, j % len);
            }
            let mut written: Vec<(usize, bool)> = files
                .iter()
                .enumerate()
                .filter_map(|(i, (_, w))| w.map(|w| (i, w)))
                .collect();
            if !in_order {
                written.reverse();
            }
            let mut cmp = Comparison {
                generated: files.iter().map(|(p, _)| p.clone()).collect(),
                written,
                ..Comparison::default()
            };
            super::sort_generated_and_written(&mut cmp);
            let mut generated: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
            generated.sort();
            let mut expected: Vec<(PathBuf, bool)> = files
                .into_iter()
                .filter_map(|(p, w)| w.map(|w| (p, w)))
                .collect();
            expected.sort();
            let listed: Vec<(PathBuf, bool)> = cmp
                .written_files()
                .map(|(p, w)| (p.to_path_buf(), w))
                .collect();
            proptest::prop_assert_eq!(&cmp.generated, &generated);
            proptest::prop_assert_eq!(listed, expected);
            proptest::prop_assert!(cmp.written.windows(2).all(|w| w[0].0 < w[1].0));
        }

        /// The record's list is what a `BTreeSet` of all three lists holds (`Path`'s own
        /// order, each once), the stale files left out when pruned.
        #[test]
        fn the_record_lists_every_path_once_in_path_order(
            generated in proptest::collection::btree_set(proptest::collection::vec("[a-c]{1,2}", 1..3), 0..12),
            kept in proptest::collection::btree_set(proptest::collection::vec("[a-c]{1,2}", 1..3), 0..6),
            stale in proptest::collection::btree_set(proptest::collection::vec("[a-c]{1,2}", 1..3), 0..6),
            with_stale: bool,
        ) {
            let paths = |set: &std::collections::BTreeSet<Vec<String>>| -> Vec<PathBuf> {
                let mut v: Vec<PathBuf> = set.iter().map(|p| p.iter().collect()).collect();
                v.sort_unstable_by(|a, b| path_order(a, b));
                v
            };
            let cmp = Comparison {
                generated: paths(&generated),
                kept: paths(&kept),
                stale: paths(&stale),
                ..Comparison::default()
            };
            let mut expected: std::collections::BTreeSet<&Path> =
                cmp.generated.iter().chain(&cmp.kept).map(PathBuf::as_path).collect();
            if with_stale {
                expected.extend(cmp.stale.iter().map(PathBuf::as_path));
            }
            let expected: Vec<&Path> = expected.into_iter().collect();
            proptest::prop_assert_eq!(recorded(&cmp, with_stale), expected);
        }
    }
}
