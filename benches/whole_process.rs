//! Whole-process timing of `build`, the way a user runs it: the `copies` example (N copies of
//! a five-service stack in a compose, a Swarm and a Kubernetes phase) built in release mode
//! and run as a child process, output on tmpfs when there is one. For N = 1, 100 and 1,000
//! (and 10,000 with `ESCALA_BENCH_LARGE=1`), all targets and Kubernetes only, it prints the
//! median of five runs and the ratios that matter on a noisy machine: each N against 1,000,
//! and 10,000 against 1,000 (linear is 10×).
//!
//! `cargo bench --bench whole_process`

#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn copies_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--example", "copies"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the copies example builds");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release/examples/copies")
}

fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("escala-bench-{}", std::process::id()))
    } else {
        std::env::temp_dir().join(format!("escala-bench-{}", std::process::id()))
    }
}

/// The median wall time of `runs` builds into a fresh folder each.
fn median(exe: &Path, copies: usize, only: Option<&str>, runs: usize) -> Duration {
    let out = scratch();
    let mut times = Vec::new();
    for _ in 0..runs + 1 {
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(exe);
        cmd.env("ESCALA_COPIES", copies.to_string())
            .args(["build", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(t) = only {
            cmd.args(["--target", t]);
        }
        let start = Instant::now();
        let status = cmd.status().expect("runs");
        let took = start.elapsed();
        assert!(status.success(), "{copies} copies build");
        times.push(took);
    }
    let _ = std::fs::remove_dir_all(&out);
    times.remove(0); // the warm-up
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: then skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let exe = copies_binary();
    let mut sizes = vec![1, 100, 1_000];
    if std::env::var("ESCALA_BENCH_LARGE").as_deref() == Ok("1") {
        sizes.push(10_000);
    }
    for only in [None, Some("kubernetes")] {
        let label = only.map_or("all targets", |_| "kubernetes only");
        let times: Vec<(usize, Duration)> = sizes
            .iter()
            .map(|&n| (n, median(&exe, n, only, 5)))
            .collect();
        let base = times
            .iter()
            .find(|(n, _)| *n == 1_000)
            .map_or(Duration::from_secs(1), |(_, t)| *t);
        println!("whole process, {label} (median of 5):");
        for (n, t) in &times {
            println!(
                "  {n:>6} copies: {:>9.1} ms  {:>6.3}× the 1,000-copy build",
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() / base.as_secs_f64()
            );
        }
    }
}
