//! Whole-process timing and peak memory of `build`, the way a user runs it: the `copies`
//! example (N copies of a five-service stack in a compose, a Swarm and a Kubernetes phase)
//! built in release mode and run as a child process, output on tmpfs when there is one. For
//! N = 1, 100 and 1,000 (and 10,000 with `ESCALA_BENCH_LARGE=1`), all targets and Kubernetes
//! only, it prints the median of five runs and the ratios that matter on a noisy machine:
//! each N against 1,000 (linear is 10× at 10,000), for the wall time, the CPU time (user and
//! system, every thread) and the peak memory (flat would be 1×).
//!
//! Each build runs under a small helper process (this program, started again) so that the
//! peak memory read from the operating system is that one build's.
//!
//! Then the `finanzas` example, a real system of three phases: `build` into an up-to-date
//! folder, against two floors started the same way in the same run, one run of each in
//! turn: the same binary asked only for `--version` (the process started, the model built,
//! the command line parsed, nothing checked or written) and `/bin/true` (starting any
//! process at all). What escala's build itself costs is the difference between the first
//! two.
//!
//! With `ESCALA_BENCH_INSTRUCTIONS=1` (and valgrind installed), it ends with the instructions
//! each build executes, counted by valgrind's cachegrind: a count that moves by tenths of a
//! percent from run to run, on a machine whose timings move by more than the 10 % that tells
//! linear from not. The copies
//! builds against the 1,000-copy one (10,000 too with `ESCALA_BENCH_LARGE=1`: about three
//! minutes), and the finanzas build against its `--version`.
//!
//! `cargo bench --bench whole_process`

#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Builds an example in release mode and returns its binary.
fn example_binary(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--example", name])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the {name} example builds");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release/examples").join(name)
}

/// What each build renders (`--target`, or every target) and its label.
const SELECTIONS: [(Option<&str>, &str); 2] = [
    (None, "all targets"),
    (Some("kubernetes"), "kubernetes only"),
];

fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("escala-bench-{}", std::process::id()))
    } else {
        std::env::temp_dir().join(format!("escala-bench-{}", std::process::id()))
    }
}

/// One build's wall time, CPU time (user and system, all threads) and peak resident memory.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    peak_kib: i64,
}

/// The helper: runs one build (`--one <exe> <copies> <target or -> <out>`), then prints its
/// wall time in nanoseconds and, from `getrusage(RUSAGE_CHILDREN)`, the CPU time of its only
/// child in nanoseconds and its peak resident memory, in KiB on Linux (macOS counts bytes
/// there; this benchmark is written for Linux, tmpfs included).
fn one(args: &[String]) {
    let [exe, copies, only, out] = args else {
        panic!("--one <exe> <copies> <target or -> <out>");
    };
    let mut cmd = Command::new(exe);
    cmd.env("ESCALA_COPIES", copies)
        .args(["build", "--out", out])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if only != "-" {
        cmd.args(["--target", only]);
    }
    let start = Instant::now();
    let status = cmd.status().expect("runs");
    let took = start.elapsed();
    assert!(status.success(), "{copies} copies build");
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).expect("positive"))
            + Duration::from_micros(u64::try_from(t.tv_usec()).expect("positive"))
    };
    let cpu = time(usage.user_time()) + time(usage.system_time());
    println!("{} {} {}", took.as_nanos(), cpu.as_nanos(), usage.max_rss());
}

/// The median wall time and the median peak memory of `runs` builds into a fresh folder each.
fn median(exe: &Path, copies: usize, only: Option<&str>, runs: usize) -> Run {
    let out = scratch();
    let me = std::env::current_exe().expect("the bench's own path");
    let mut measured = Vec::new();
    for _ in 0..runs + 1 {
        let _ = std::fs::remove_dir_all(&out);
        let printed = Command::new(&me)
            .arg("--one")
            .arg(exe)
            .arg(copies.to_string())
            .arg(only.unwrap_or("-"))
            .arg(&out)
            .output()
            .expect("the helper runs");
        assert!(printed.status.success(), "{copies} copies build");
        let text = String::from_utf8_lossy(&printed.stdout);
        let mut fields = text
            .split_whitespace()
            .map(|f| f.parse::<i64>().expect("a number"));
        let (Some(nanos), Some(cpu_nanos), Some(peak_kib)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("the helper printed `{text}`");
        };
        measured.push(Run {
            wall: Duration::from_nanos(u64::try_from(nanos).expect("positive")),
            cpu: Duration::from_nanos(u64::try_from(cpu_nanos).expect("positive")),
            peak_kib,
        });
    }
    let _ = std::fs::remove_dir_all(&out);
    measured.remove(0); // the warm-up
    let mut walls: Vec<Duration> = measured.iter().map(|r| r.wall).collect();
    let mut cpus: Vec<Duration> = measured.iter().map(|r| r.cpu).collect();
    let mut peaks: Vec<i64> = measured.iter().map(|r| r.peak_kib).collect();
    cpus.sort();
    walls.sort();
    peaks.sort_unstable();
    Run {
        wall: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
        peak_kib: peaks[peaks.len() / 2],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--one") {
        one(&args[at + 1..]);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: then skip.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let exe = example_binary("copies");
    let mut sizes = vec![1, 100, 1_000];
    if std::env::var("ESCALA_BENCH_LARGE").as_deref() == Ok("1") {
        sizes.push(10_000);
    }
    for (only, label) in SELECTIONS {
        let runs: Vec<(usize, Run)> = sizes
            .iter()
            .map(|&n| (n, median(&exe, n, only, 5)))
            .collect();
        let base = runs.iter().find(|(n, _)| *n == 1_000).map_or(
            Run {
                wall: Duration::from_secs(1),
                cpu: Duration::from_secs(1),
                peak_kib: 1,
            },
            |(_, r)| *r,
        );
        println!("whole process, {label} (median of 5; each ratio against the 1,000-copy build):");
        for (n, r) in &runs {
            println!(
                "  {n:>6} copies: wall {:>9.1} ms {:>6.3}×;  CPU {:>9.1} ms {:>6.3}×;  peak {:>7.1} MiB {:>6.3}×",
                r.wall.as_secs_f64() * 1e3,
                r.wall.as_secs_f64() / base.wall.as_secs_f64(),
                r.cpu.as_secs_f64() * 1e3,
                r.cpu.as_secs_f64() / base.cpu.as_secs_f64(),
                r.peak_kib as f64 / 1024.0,
                r.peak_kib as f64 / base.peak_kib as f64,
            );
        }
    }
    finanzas();
    if std::env::var("ESCALA_BENCH_INSTRUCTIONS").as_deref() == Ok("1") {
        instructions(&exe, &sizes);
    }
}

/// The instructions one run of `exe` with `args` executes (every thread), counted by
/// valgrind's cachegrind, with `ESCALA_COPIES` set to `copies` and `dir` as the working
/// directory.
fn counted(exe: &Path, args: &[&str], copies: usize, dir: &Path) -> u64 {
    let log = scratch().with_extension("valgrind.log");
    let status = Command::new("valgrind")
        .args([
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ])
        .arg(format!("--log-file={}", log.display()))
        .arg(exe)
        .args(args)
        .env("ESCALA_COPIES", copies.to_string())
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("valgrind runs (ESCALA_BENCH_INSTRUCTIONS=1 needs it installed)");
    assert!(
        status.success(),
        "{} {args:?} under valgrind",
        exe.display()
    );
    let text = std::fs::read_to_string(&log).expect("valgrind's log");
    let _ = std::fs::remove_file(&log);
    // `==123== I   refs:      2,073,473,938` (`I refs:` in newer versions).
    let line = text
        .lines()
        .find(|l| l.contains(" I ") && l.contains("refs:"))
        .unwrap_or_else(|| panic!("no instruction count in valgrind's log:\n{text}"));
    let count = line.rsplit(':').next().unwrap_or_default();
    count.trim().replace(',', "").parse().expect("a count")
}

/// The instructions of each copies build (all targets, and Kubernetes only) against the
/// 1,000-copy one, and of the finanzas build against its `--version`.
fn instructions(copies_exe: &Path, sizes: &[usize]) {
    let out = scratch();
    let out_arg = out.to_string_lossy().into_owned();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = ["build", "--out", out_arg.as_str()];
    for (only, label) in SELECTIONS {
        let mut args = build.to_vec();
        if let Some(target) = only {
            args.extend(["--target", target]);
        }
        let counts: Vec<(usize, u64)> = sizes
            .iter()
            .map(|&n| {
                let _ = std::fs::remove_dir_all(&out);
                (n, counted(copies_exe, &args, n, root))
            })
            .collect();
        let _ = std::fs::remove_dir_all(&out);
        let base = counts
            .iter()
            .find(|(n, _)| *n == 1_000)
            .map_or(1, |(_, c)| *c);
        println!("instructions, {label} (cachegrind; each ratio against the 1,000-copy build):");
        for (n, c) in &counts {
            println!(
                "  {n:>6} copies: {c:>15} {:>7.3}×  ({:.0} per copy)",
                *c as f64 / base as f64,
                *c as f64 / *n as f64
            );
        }
    }
    let finanzas = example_binary("finanzas");
    // Into an up-to-date folder, as in the timed runs: the first build writes it.
    let _ = std::fs::remove_dir_all(&out);
    counted(&finanzas, &build, 1, root);
    let built = counted(&finanzas, &build, 1, root);
    let version = counted(&finanzas, &["--version"], 1, root);
    let _ = std::fs::remove_dir_all(&out);
    println!("instructions, the finanzas example (cachegrind):");
    println!("       build: {built:>12}");
    println!(
        "   --version: {version:>12}  {:.3}× the build",
        version as f64 / built as f64
    );
    println!("  own work (build − --version): {}", built - version);
}

/// The `finanzas` build against its two floors, one run of each in turn (`ROUNDS` rounds),
/// medians printed with their ratios.
fn finanzas() {
    const ROUNDS: usize = 200;
    let exe = example_binary("finanzas");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = scratch();
    let _ = std::fs::remove_dir_all(&out);
    let out_arg = out.to_string_lossy().into_owned();
    let commands: [(&str, &Path, Vec<&str>); 3] = [
        ("build", &exe, vec!["build", "--out", &out_arg]),
        ("--version", &exe, vec!["--version"]),
        ("/bin/true", Path::new("/bin/true"), vec![]),
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    // The first round writes the files (later builds find them up to date) and is not kept.
    for round in 0..=ROUNDS {
        for (i, (label, program, args)) in commands.iter().enumerate() {
            let start = Instant::now();
            let status = Command::new(program)
                .args(args)
                .current_dir(root)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("runs");
            let took = start.elapsed();
            assert!(status.success(), "finanzas {label}");
            if round > 0 {
                times[i].push(took);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2].as_secs_f64() * 1e3
        })
        .collect();
    println!("whole process, the finanzas example (median of {ROUNDS}, taken in turn):");
    for ((label, _, _), m) in commands.iter().zip(&medians) {
        println!(
            "  {label:>10}: {m:>7.3} ms  {:>6.3}× the build",
            m / medians[0]
        );
    }
    println!(
        "  the build's own work (build − --version): {:.3} ms",
        medians[0] - medians[1]
    );
}
