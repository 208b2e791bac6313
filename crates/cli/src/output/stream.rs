//! Files compared with the disk, and written, one by one as they are rendered.
//!
//! A [`Stream`] takes each generated file as it comes, compares it with what is on disk and,
//! in [`Mode::Write`], writes a changed one to a temporary file at once — so no file is held
//! in memory longer than it takes to write it. Nothing reaches its final name until
//! [`Stream::commit`], after every file was rendered and written: a failed or interrupted
//! build leaves the previous files intact, and its temporaries are removed.

use foldhash::{HashMap, HashSet};
use foldhash::{HashMapExt, HashSetExt};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{err, OutputError};

/// What a [`Stream`] does with a changed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `diff` and `check`: write nothing; keep the current and the new content of every
    /// changed file (in [`Comparison::changed`](super::Comparison::changed)).
    Compare,
    /// `build`: write each changed file to a temporary file as it arrives and keep only its
    /// index (in [`Comparison::written`](super::Comparison::written)); [`Stream::commit`]
    /// moves them all into place.
    Write,
}

/// The temporary files of the write in progress, for the interrupt handler to remove.
static STAGED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes every staged temporary file or folder. Called on an interrupt, with the lock held
/// until the process exits, so no new temporary file appears after it.
fn remove_staged(staged: &mut Vec<PathBuf>) {
    for tmp in staged.drain(..) {
        if fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_dir()) {
            let _ = fs::remove_dir_all(tmp);
        } else {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// The interrupt lock, also when a thread panicked holding it.
fn staged() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    STAGED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Once per process: on SIGINT, SIGTERM or SIGHUP during a build, remove the temporary
/// files written so far and exit 130. The files already renamed into place are whole (the
/// previous build's, or this one's); none is ever partial under its final name.
fn clean_up_on_interrupt() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another handler (a tool linking escala) keeps its own; then leftovers are cleared
        // by the next build.
        let _ = ctrlc::set_handler(|| {
            let mut pending = staged();
            remove_staged(&mut pending);
            // No message: the main thread may hold the standard error's lock, and waiting
            // for it here would hang the process instead of ending it.
            std::process::exit(130);
        });
    });
}

/// The staging folder of a build, at the root of `out`.
const STAGE: &str = ".escala-stage";

/// Compares, and in [`Mode::Write`] writes, generated files one at a time (see the module).
#[derive(Debug)]
pub struct Stream {
    out: PathBuf,
    mode: Mode,
    /// Whether a folder (relative to `out`) exists: one lookup per folder, not per file.
    known: HashMap<PathBuf, bool>,
    /// The last file's folder (relative to `out`), and its [`Stream::new_folder`].
    last_folder: Option<(PathBuf, Option<PathBuf>)>,
    /// Folders created so far (absolute), each created once.
    made: HashSet<PathBuf>,
    /// The last folder [`Stream::mkdir`] was asked for (empty at first).
    last_made: PathBuf,
    /// Temporary files beside their final name: (temporary, final).
    beside: Vec<(PathBuf, PathBuf)>,
    /// New folders (relative to `out`) whose files are in the staging folder.
    new_folders: BTreeSet<PathBuf>,
    staging_ready: bool,
    /// The temporary files and folders this stream registered for the interrupt handler
    /// (which removes every stream's); the stream removes only its own.
    mine: Vec<PathBuf>,
    cmp: super::Comparison,
    /// The first failure; later files are ignored.
    failed: Option<OutputError>,
    /// What an existing file is read into to compare it, kept from file to file.
    scratch: Vec<u8>,
}

/// What is at a file's final path.
enum OnDisk {
    Absent,
    /// Exactly the new content.
    Same,
    /// Something else: its bytes.
    Different(Vec<u8>),
}

/// Compares the file at `path` with `content`, reading it into `scratch`, which is kept from
/// file to file (an unchanged file costs no allocation) and given away with the bytes of a
/// file that differs. No size lookup first: at most one byte more than `content` is read to
/// tell them apart, and the rest only when they differ.
fn on_disk(path: &Path, content: &[u8], scratch: &mut Vec<u8>) -> io::Result<OnDisk> {
    use std::io::Read as _;
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OnDisk::Absent),
        Err(e) => return Err(e),
    };
    scratch.clear();
    let limit = content.len() + 1;
    scratch.reserve(limit);
    (&mut file).take(limit as u64).read_to_end(scratch)?;
    if scratch.as_slice() == content {
        return Ok(OnDisk::Same);
    }
    let mut bytes = std::mem::take(scratch);
    file.read_to_end(&mut bytes)?;
    Ok(OnDisk::Different(bytes))
}

impl Stream {
    /// A stream into the output folder `out`.
    pub fn new(out: &Path, mode: Mode) -> Self {
        let cmp = super::Comparison {
            fresh: fs::symlink_metadata(out).is_err(),
            ..super::Comparison::default()
        };
        Stream {
            out: out.to_path_buf(),
            mode,
            known: HashMap::new(),
            last_folder: None,
            made: HashSet::new(),
            last_made: PathBuf::new(),
            beside: Vec::new(),
            new_folders: BTreeSet::new(),
            staging_ready: false,
            mine: Vec::new(),
            cmp,
            failed: None,
            scratch: Vec::new(),
        }
    }

    /// Takes one generated file: `rel` (relative to the output folder) and its content.
    pub fn file(&mut self, rel: PathBuf, content: String) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.take(&rel, content) {
            self.failed = Some(e);
        }
        self.cmp.generated.push(rel);
    }

    fn take(&mut self, rel: &Path, content: String) -> Result<(), OutputError> {
        if let Some(folder) = self.new_folder(rel) {
            // A folder that does not exist holds no file: nothing to read.
            match self.mode {
                Mode::Compare => self.cmp.changed.push((rel.to_path_buf(), None, content)),
                Mode::Write => {
                    self.stage_new(folder, rel, &content)?;
                    // Its index in `generated`, which takes it next.
                    self.cmp.written.push((self.cmp.generated.len(), false));
                }
            }
            return Ok(());
        }
        let path = super::joined(&self.out, rel);
        let current = match on_disk(&path, content.as_bytes(), &mut self.scratch) {
            Ok(OnDisk::Same) => {
                self.cmp.unchanged += 1;
                return Ok(());
            }
            Ok(OnDisk::Different(bytes)) => Some(bytes),
            Ok(OnDisk::Absent) => None,
            Err(e) => return Err(err("cannot read", &path)(e)),
        };
        match self.mode {
            Mode::Compare => {
                let current = current.map(|b| String::from_utf8_lossy(&b).into_owned());
                self.cmp.changed.push((rel.to_path_buf(), current, content));
            }
            Mode::Write => {
                self.write_beside(&path, &content)?;
                let index = self.cmp.generated.len();
                self.cmp.written.push((index, current.is_some()));
            }
        }
        Ok(())
    }

    /// The first folder on the way from `out` to `rel`'s file that does not exist yet (its
    /// parent does), relative to `out`; `None` when the file's folder exists.
    fn new_folder(&mut self, rel: &Path) -> Option<PathBuf> {
        let parent = rel.parent()?;
        // A target's files come one folder after another: the answer for the last folder
        // is kept (what `known` says of a folder never changes).
        if let Some((last, answer)) = &self.last_folder {
            if last.as_os_str() == parent.as_os_str() {
                return answer.clone();
            }
        }
        let answer = self.first_new_folder(parent);
        self.last_folder = Some((parent.to_path_buf(), answer.clone()));
        answer
    }

    /// [`Stream::new_folder`] of a file in `parent`, looked up folder by folder.
    fn first_new_folder(&mut self, parent: &Path) -> Option<PathBuf> {
        let mut at = PathBuf::new();
        for c in parent.components() {
            at.push(c);
            let there = match self.known.get(&at) {
                Some(there) => *there,
                None => {
                    let there = fs::symlink_metadata(self.out.join(&at)).is_ok();
                    self.known.insert(at.clone(), there);
                    there
                }
            };
            if !there {
                return Some(at);
            }
        }
        None
    }

    fn mkdir(&mut self, dir: &Path) -> Result<(), OutputError> {
        // Files come folder by folder: the last folder made is checked first.
        if self.last_made.as_os_str() == dir.as_os_str() && !dir.as_os_str().is_empty() {
            return Ok(());
        }
        if !self.made.contains(dir) {
            fs::create_dir_all(dir).map_err(err("cannot create directory", dir))?;
            self.made.insert(dir.to_path_buf());
        }
        dir.clone_into(&mut self.last_made);
        Ok(())
    }

    /// Writes a file of a new folder into the staging folder.
    fn stage_new(&mut self, folder: PathBuf, rel: &Path, content: &str) -> Result<(), OutputError> {
        let staging = super::joined(&self.out, Path::new(STAGE));
        // A leftover of an interrupted build is not ours to trust: start clean.
        if !self.staging_ready {
            if fs::symlink_metadata(&staging).is_ok() {
                fs::remove_dir_all(&staging)
                    .map_err(err("cannot remove a stale staging folder", &staging))?;
            }
            // The handler is installed with the first temporary (a build that writes nothing
            // starts no thread for it).
            clean_up_on_interrupt();
            staged().push(staging.clone());
            self.mine.push(staging.clone());
            self.staging_ready = true;
        }
        self.new_folders.insert(folder);
        let tmp = super::joined(&staging, rel);
        // Written with the lock held: once an interrupt takes it to remove the staging
        // folder, no file appears in it any more.
        let _writing = staged();
        self.mkdir(tmp.parent().unwrap_or(&staging))?;
        fs::write(&tmp, content).map_err(err("cannot write", &tmp))
    }

    /// Writes a file of an existing folder to a temporary file beside its final name.
    fn write_beside(&mut self, path: &Path, content: &str) -> Result<(), OutputError> {
        let dir = path.parent().unwrap_or(&self.out).to_path_buf();
        self.mkdir(&dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.escala-tmp"));
        self.beside.push((tmp.clone(), path.to_path_buf()));
        // Registered and written with the lock held: an interrupt removes it whole, and once
        // the interrupt holds the lock no new one appears.
        clean_up_on_interrupt();
        let mut pending = staged();
        pending.push(tmp.clone());
        self.mine.push(tmp.clone());
        fs::write(&tmp, content).map_err(err("cannot write", &tmp))
    }

    /// Moves every written file into place: the temporaries beside their final names, then
    /// each new folder from the staging folder with one rename. The first failure of the
    /// stream, if any, is returned instead, and the temporaries are removed.
    pub fn commit(&mut self) -> Result<(), OutputError> {
        let result = match self.failed.take() {
            Some(e) => Err(e),
            None => self.place(),
        };
        self.release(result.is_err());
        result
    }

    /// Takes this stream's temporaries off the interrupt handler's list, removing them from
    /// the disk first when `remove` (other streams of the process keep theirs).
    fn release(&mut self, remove: bool) {
        let mut pending = staged();
        let mine: HashSet<PathBuf> = self.mine.drain(..).collect();
        if mine.is_empty() {
            return;
        }
        pending.retain(|p| !mine.contains(p));
        if remove {
            remove_staged(&mut mine.into_iter().collect());
        }
    }

    fn place(&mut self) -> Result<(), OutputError> {
        for (tmp, path) in &self.beside {
            fs::rename(tmp, path).map_err(err("cannot replace", path))?;
        }
        // Outermost first: a folder inside another new folder arrives with it.
        let staging = self.out.join(STAGE);
        let folders = std::mem::take(&mut self.new_folders);
        let mut placed: Vec<&PathBuf> = Vec::new();
        for folder in &folders {
            if placed.iter().any(|p| folder.starts_with(p)) {
                continue;
            }
            let to = self.out.join(folder);
            self.mkdir(to.parent().unwrap_or(&self.out).to_path_buf().as_path())?;
            fs::rename(staging.join(folder), &to).map_err(err("cannot place", &to))?;
            placed.push(folder);
        }
        if !folders.is_empty() {
            fs::remove_dir_all(&staging).map_err(err("cannot remove", &staging))?;
        }
        Ok(())
    }

    /// Removes whatever this stream wrote (the build failed after it started).
    pub fn abandon(&mut self) {
        self.release(true);
    }

    /// The comparison so far (every file taken), and the first failure if any.
    pub fn into_parts(self) -> (super::Comparison, Option<OutputError>) {
        (self.cmp, self.failed)
    }
}
