//! The CLI against a real output directory.

use std::fs;
use std::path::Path;

use escala::cli::{run_with, Exit};
use escala::prelude::*;

use crate::systems;

struct Run {
    exit: Exit,
    out: String,
    err: String,
}

fn run(system: &System, args: &[&str]) -> Run {
    let targets = escala::targets::all();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("infra").chain(args.iter().copied());
    let exit = run_with(system, &targets, argv, &mut out, &mut err);
    Run {
        exit,
        out: String::from_utf8(out).expect("utf-8"),
        err: String::from_utf8(err).expect("utf-8"),
    }
}

fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push((
                    p.strip_prefix(dir).expect("inside").display().to_string(),
                    fs::read(&p).expect("read"),
                ));
            }
        }
    }
    files.sort();
    files
}

fn finanzas() -> System {
    systems::ALL[0].1()
}

#[test]
fn build_writes_the_layout_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("deploy");
    let out_s = out.to_str().expect("utf-8");
    let r = run(&finanzas(), &["build", "--out", out_s, "--color", "never"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert!(out.join("single-node/compose/docker-compose.yml").is_file());
    assert!(out.join("single-node/compose/.env.example").is_file());
    assert!(out.join("swarm/swarm/stack.yml").is_file());
    assert!(out.join("swarm/swarm/stack.env.example").is_file());
    assert!(out.join("k3s/kubernetes/kustomization.yaml").is_file());
    let first = snapshot_dir(&out);
    let record = first
        .iter()
        .find(|(p, _)| p == ".escala-files")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("the record of what escala wrote");
    let first: Vec<_> = first
        .into_iter()
        .filter(|(p, _)| p != ".escala-files")
        .collect();
    assert_eq!(record.lines().count(), first.len() + 1, "{record}");
    assert!(first.iter().all(|(p, _)| record.lines().any(|l| l == p)));
    assert_eq!(
        first.iter().filter(|(p, _)| !p.starts_with("k3s/")).count(),
        19,
        "compose 3, swarm 3, sql 2 + 3 and a restore.sh each, the 4 steps of the migration from single-node, a PLAN.md each"
    );
    assert!(first.len() > 30, "{} files", first.len());
    let again = run(&finanzas(), &["build", "--out", out_s]);
    assert_eq!(again.exit, Exit::Ok);
    assert!(
        again
            .err
            .contains(&format!("0 written, {} unchanged", first.len())),
        "{}",
        again.err
    );
    let second: Vec<_> = snapshot_dir(&out)
        .into_iter()
        .filter(|(p, _)| p != ".escala-files")
        .collect();
    assert_eq!(second, first, "same bytes on the second build");
    assert!(
        first.iter().all(|(p, _)| !p.contains("escala-tmp")),
        "no temporary file left"
    );
}

#[test]
fn check_passes_after_build_and_fails_after_an_edit() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    assert_eq!(
        run(&finanzas(), &["check", "--out", out]).exit,
        Exit::Findings,
        "nothing built yet"
    );
    assert_eq!(run(&finanzas(), &["build", "--out", out]).exit, Exit::Ok);
    let ok = run(&finanzas(), &["check", "--out", out]);
    assert_eq!(ok.exit, Exit::Ok, "{}", ok.err);
    let file = dir.path().join("single-node/compose/docker-compose.yml");
    let edited = fs::read_to_string(&file)
        .expect("read")
        .replace("replicas: 2", "replicas: 3");
    fs::write(&file, edited).expect("write");
    let bad = run(&finanzas(), &["check", "--out", out]);
    assert_eq!(bad.exit, Exit::Findings);
    assert!(
        bad.err.contains("modified: ")
            && bad.err.contains("single-node/compose/docker-compose.yml"),
        "{}",
        bad.err
    );
}

#[test]
fn diff_shows_a_unified_diff() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    run(&finanzas(), &["build", "--out", out]);
    let file = dir.path().join("single-node/compose/docker-compose.yml");
    let edited = fs::read_to_string(&file)
        .expect("read")
        .replace("replicas: 2", "replicas: 3");
    fs::write(&file, edited).expect("write");
    let r = run(&finanzas(), &["diff", "--out", out, "--color", "never"]);
    assert_eq!(r.exit, Exit::Findings);
    let diff: Vec<&str> = r
        .out
        .lines()
        .filter(|l| l.starts_with(['+', '-']))
        .collect();
    assert_eq!(diff.len(), 4, "{}", r.out);
    assert!(diff[0].starts_with("--- a/") && diff[1].starts_with("+++ b/"));
    assert_eq!(&diff[2..], ["-      replicas: 3", "+      replicas: 2"]);
    let colored = run(&finanzas(), &["diff", "--out", out, "--color", "always"]);
    assert!(
        colored.out.contains("\x1b[32m+      replicas: 2\x1b[0m"),
        "{}",
        colored.out
    );
    run(&finanzas(), &["build", "--out", out]);
    let clean = run(&finanzas(), &["diff", "--out", out]);
    assert_eq!((clean.exit, clean.out.as_str()), (Exit::Ok, ""));
}

fn broken() -> System {
    let mut s = finanzas();
    s.services[2].depends_on[0] = Dependency::healthy("postgress");
    s.routes[1].port = 4001;
    s.add_service(
        Service::builder()
            .name("Bad_Worker")
            .image("ghcr.io/finanzas/backend:1.0.0")
            .build(),
    );
    s
}

#[test]
fn a_broken_model_reports_everything_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    run(&finanzas(), &["build", "--out", out]);
    let before = snapshot_dir(dir.path());
    let r = run(&broken(), &["build", "--out", out, "--color", "never"]);
    assert_eq!(r.exit, Exit::Findings);
    assert_eq!(snapshot_dir(dir.path()), before, "nothing on disk changed");
    // The source line of each service is shown when the file is readable (it is, from the
    // repository root); filter it so the snapshot does not depend on line numbers.
    let text = r
        .err
        .lines()
        .map(|l| {
            if l.starts_with("   = ") && !l.starts_with("   = help") {
                "   = <file:line:column>"
            } else if l.starts_with("   | ") {
                "   | <source line>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("broken_model_human", text);
    let json = run(
        &broken(),
        &["check", "--out", out, "--error-format", "json"],
    );
    assert_eq!(json.exit, Exit::Findings);
    let v: serde_json::Value = serde_json::from_str(&json.out).expect("one JSON document");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "escala::name::invalid",
            "escala::ref::unknown",
            "escala::route::unknown_port",
        ]
    );
    assert_eq!(v["errors"], 3);
    assert_eq!(
        v["diagnostics"][1]["path"],
        "services.backend.depends_on[0]"
    );
    assert_eq!(v["diagnostics"][1]["help"], "did you mean `postgres`?");
}

fn without_grafana() -> System {
    let mut s = finanzas();
    let grafana = |n: &escala::Name| n.as_str() == "grafana";
    s.services.retain(|x| !grafana(&x.name));
    s.routes.retain(|r| !grafana(&r.service));
    for p in &mut s.phases {
        p.overrides.retain(|o| !grafana(&o.service));
        p.without.retain(|w| !grafana(w));
    }
    s
}

#[test]
fn stale_files_are_reported_and_pruned_only_when_asked() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    run(&finanzas(), &["build", "--out", out]);
    let compose_dir = dir.path().join("single-node/compose");
    // Files escala did not write: never stale, whatever their first line says.
    let lookalike = compose_dir.join("old.yml");
    fs::write(
        &lookalike,
        "# generated by escala 0.0.1 (target `compose`); do not edit, change infra.rs instead\nx: 1\n",
    )
    .expect("write");
    let mine = compose_dir.join("notes.txt");
    fs::write(&mine, "my own notes\n").expect("write");
    // A model without Grafana: the files escala wrote for it are stale.
    let smaller = without_grafana();
    let grafana = dir.path().join("k3s/kubernetes/grafana-statefulset.yaml");
    assert!(grafana.exists());
    let r = run(&smaller, &["build", "--out", out]);
    assert!(
        r.err.contains("stale ") && r.err.contains("grafana-statefulset.yaml"),
        "{}",
        r.err
    );
    assert!(
        !r.err.contains("old.yml") && !r.err.contains("notes.txt"),
        "{}",
        r.err
    );
    assert!(grafana.exists());
    assert_eq!(
        run(&smaller, &["check", "--out", out]).exit,
        Exit::Findings,
        "stale files are drift"
    );
    let r = run(&smaller, &["build", "--out", out, "--prune"]);
    assert!(r.err.contains("removed "), "{}", r.err);
    assert!(!grafana.exists(), "the stale generated file is gone");
    assert!(
        mine.exists() && lookalike.exists(),
        "files escala did not write stay"
    );
    assert_eq!(run(&smaller, &["check", "--out", out]).exit, Exit::Ok);
}

/// `build --out . --prune` in a project: only what escala wrote may go, never a file whose
/// first line merely mentions escala, and never through a link out of the output folder.
#[test]
fn prune_removes_only_what_escala_wrote_and_follows_no_link() {
    let project = tempfile::tempdir().expect("tmp");
    let out = project.path().to_str().expect("utf-8");
    fs::create_dir_all(project.path().join("src")).expect("mkdir");
    fs::create_dir_all(project.path().join("docs")).expect("mkdir");
    let helpers = project.path().join("src/helpers.rs");
    fs::write(&helpers, "// not generated by escala\nfn main() {}\n").expect("write");
    let howto = project.path().join("docs/HOWTO.md");
    fs::write(
        &howto,
        "Deploy files are generated by escala from infra.rs.\n",
    )
    .expect("write");
    // A file with a real escala header, in a folder escala does not write to.
    let copied = project.path().join("docs/old-stack.yml");
    fs::write(
        &copied,
        "# generated by escala 0.1.0 (target `swarm`); do not edit, change infra.rs instead\n",
    )
    .expect("write");
    assert_eq!(
        run(&finanzas(), &["build", "--out", out, "--prune"]).exit,
        Exit::Ok
    );
    assert!(helpers.exists() && howto.exists() && copied.exists());
    // A recorded folder replaced by a link to somewhere else: nothing there is touched.
    let outside = tempfile::tempdir().expect("tmp");
    let victim = outside.path().join("grafana-statefulset.yaml");
    fs::write(&victim, "precious\n").expect("write");
    let k8s = project.path().join("k3s/kubernetes");
    fs::remove_dir_all(&k8s).expect("rm");
    std::os::unix::fs::symlink(outside.path(), &k8s).expect("symlink");
    let mut smaller = without_grafana();
    smaller.phases.retain(|p| p.name.as_str() != "k3s");
    let r = run(&smaller, &["build", "--out", out, "--prune"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert_eq!(fs::read_to_string(&victim).expect("kept"), "precious\n");
    assert!(helpers.exists() && howto.exists() && copied.exists());
}

#[test]
fn filters_and_usage_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    let r = run(
        &finanzas(),
        &["build", "--out", out, "--phase", "single-nod"],
    );
    assert_eq!(r.exit, Exit::Internal);
    assert!(r.err.contains("unknown phase `single-nod`"), "{}", r.err);
    assert_eq!(
        run(&finanzas(), &["build", "--out", out, "--target", "helm"]).exit,
        Exit::Internal
    );
    assert_eq!(run(&finanzas(), &["frobnicate"]).exit, Exit::Internal);
    assert_eq!(run(&finanzas(), &["--help"]).exit, Exit::Ok);
    let r = run(&finanzas(), &["build", "--out", out, "--phase", "swarm"]);
    assert_eq!(r.exit, Exit::Ok);
    assert!(
        !dir.path().join("single-node").exists(),
        "only the selected phase"
    );
}

#[test]
fn deny_warnings_makes_fidelity_losses_fatal() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    // Without the example's acknowledgements, its losses are fatal.
    let mut s = finanzas();
    for p in &mut s.phases {
        p.accepted.clear();
    }
    let r = run(&s, &["build", "--out", out, "--deny-warnings"]);
    assert_eq!(r.exit, Exit::Findings);
    assert!(
        r.err
            .contains("error[escala::compose::health_assumes_tool]"),
        "{}",
        r.err
    );
    assert!(
        fs::read_dir(dir.path()).expect("list").next().is_none(),
        "nothing written"
    );
}

#[test]
fn init_scaffolds_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tmp");
    let at = dir.path().join("my-infra");
    assert_eq!(escala::cli::cmd::init::run(&at, None), Exit::Ok);
    // Built from this checkout: the new repository depends on it by path (escala is not on
    // crates.io, so a version alone would not resolve).
    let cargo = fs::read_to_string(at.join("Cargo.toml")).expect("Cargo.toml");
    let here = crate::support::root().canonicalize().expect("root");
    assert!(
        cargo.contains(&format!(
            "escala = {{ path = {:?} }}",
            here.display().to_string()
        )),
        "{cargo}"
    );
    assert!(fs::read_to_string(at.join("infra.rs"))
        .expect("infra.rs")
        .contains("escala::run(system())"));
    assert!(fs::read_to_string(at.join(".gitignore"))
        .expect(".gitignore")
        .contains(".env"));
    fs::write(at.join("infra.rs"), "// mine\n").expect("write");
    assert_eq!(escala::cli::cmd::init::run(&at, None), Exit::Internal);
    assert_eq!(
        fs::read_to_string(at.join("infra.rs")).expect("kept"),
        "// mine\n",
        "an existing file is never replaced"
    );
}

#[test]
fn init_imports_the_compose_file_beside_it_and_takes_an_escala_path() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  api:\n    image: ghcr.io/acme/api:3\n    ports: [\"8080:8080\"]\n",
    )
    .expect("compose");
    let sources = dir.path().join("vendor/escala");
    assert_eq!(
        escala::cli::cmd::init::run(dir.path(), Some(&sources)),
        Exit::Ok
    );
    let infra = fs::read_to_string(dir.path().join("infra.rs")).expect("infra.rs");
    assert!(infra.contains("ghcr.io/acme/api:3"), "{infra}");
    let cargo = fs::read_to_string(dir.path().join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        cargo.contains(&format!(
            "escala = {{ path = {:?} }}",
            sources.display().to_string()
        )),
        "{cargo}"
    );
}

#[test]
fn import_writes_infra_rs_and_refuses_to_clobber() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("infra.rs");
    let file = crate::support::root().join("tests/fixtures/compose/traefik.yml");
    assert_eq!(
        escala::cli::cmd::import::run(&file, &[], None, Some(&out), false),
        Exit::Ok
    );
    assert!(fs::read_to_string(&out)
        .expect("written")
        .contains("fn system() -> System"));
    assert_eq!(
        escala::cli::cmd::import::run(&file, &[], None, Some(&out), false),
        Exit::Internal
    );
    let bad = dir.path().join("bad.yml");
    fs::write(&bad, "services: [\n").expect("write");
    assert_eq!(
        escala::cli::cmd::import::run(&bad, &[], None, Some(&dir.path().join("x.rs")), false),
        Exit::Findings
    );
    assert!(!dir.path().join("x.rs").exists());
}

#[test]
fn acknowledged_losses_are_quiet_listed_in_the_plan_and_new_ones_still_fail() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("deploy");
    let out_s = out.to_str().expect("utf-8");
    // The example acknowledges every loss its engines report: it builds quietly, even with
    // --deny-warnings.
    let r = run(
        &finanzas(),
        &[
            "build",
            "--out",
            out_s,
            "--deny-warnings",
            "--color",
            "never",
        ],
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert!(!r.err.contains("warning["), "{}", r.err);
    let plan = fs::read_to_string(out.join("swarm/plan/PLAN.md")).expect("plan");
    assert!(
        plan.contains("| `escala::swarm::dropped` | `services.backend.depends_on` | Swarm starts services in no order; `depends_on` of `backend` is ignored in phase `swarm` | yes: it retries until its dependencies answer |"),
        "the plan still lists it"
    );
    // A loss nobody acknowledged speaks, and --deny-warnings makes it fatal.
    let mut s = finanzas();
    s.phases[1]
        .accepted
        .retain(|a| a.path != "services.grafana.depends_on");
    let r = run(&s, &["build", "--out", out_s, "--color", "never"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert!(
        r.err
            .contains("`depends_on` of `grafana` is ignored in phase `swarm`"),
        "{}",
        r.err
    );
    assert_eq!(r.err.matches("warning[").count(), 1, "{}", r.err);
    let r = run(
        &s,
        &[
            "build",
            "--out",
            out_s,
            "--deny-warnings",
            "--color",
            "never",
        ],
    );
    assert_ne!(r.exit, Exit::Ok, "{}", r.err);
}

#[test]
fn plan_prints_the_move_to_a_phase() {
    let r = run(&finanzas(), &["plan", "swarm"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert!(r.out.starts_with("<!-- generated by escala"), "{}", r.out);
    assert!(r.out.contains("## Moving from `single-node`"), "{}", r.out);
    assert!(
        r.out
            .contains("**Cost:** 120 a month for 3 node(s) (+80 a month from `single-node`)."),
        "{}",
        r.out
    );
    let r = run(&finanzas(), &["plan", "single-node", "k3s"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
    assert!(r.out.contains("# Phase `k3s` (kubernetes)"));
    assert!(r.out.contains("The engine changes: compose → kubernetes."));
    let r = run(&finanzas(), &["plan", "swram"]);
    assert_eq!(r.exit, Exit::Internal);
    assert!(
        r.err
            .contains("unknown phase `swram`; known: single-node, swarm, k3s"),
        "{}",
        r.err
    );
}

/// A grown volume, a network made encrypted: `check` and `diff` say which changes the
/// engines cannot apply to what runs, and what to do instead.
#[test]
fn changes_the_engines_cannot_apply_in_place_are_flagged_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    assert_eq!(run(&finanzas(), &["build", "--out", out]).exit, Exit::Ok);
    let mut grown = finanzas();
    for v in &mut grown.volumes {
        if v.name.as_str() == "pgdata" {
            v.size = Some(ByteSize::gib(100));
        }
    }
    for n in &mut grown.networks {
        n.encrypted = !n.encrypted;
    }
    let r = run(&grown, &["check", "--out", out]);
    assert_eq!(r.exit, Exit::Findings);
    assert!(
        r.err.contains("k3s/kubernetes/postgres-statefulset.yaml: StatefulSet `postgres`: `spec.volumeClaimTemplates` changes"),
        "{}",
        r.err
    );
    assert!(
        r.err.contains("kubectl -n finanzas patch pvc pgdata-postgres-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"100Gi\"}}}}'"),
        "{}",
        r.err
    );
    assert!(r.err.contains("--cascade=orphan"), "{}", r.err);
    assert!(
        r.err.contains("swarm/swarm/stack.yml: network `finanzas_"),
        "{}",
        r.err
    );
    let d = run(&grown, &["diff", "--out", out, "--color", "never"]);
    assert!(
        d.out.contains("warning: ") && d.out.contains("cannot be applied in place"),
        "{}",
        d.out
    );
    // Changes that apply in place say nothing of the kind.
    let mut more = finanzas();
    more.phases.iter_mut().for_each(|p| {
        if p.name.as_str() == "k3s" {
            *p = p.clone().replicas("frontend", 5);
        }
    });
    let r = run(&more, &["check", "--out", out]);
    assert_eq!(r.exit, Exit::Findings);
    assert!(!r.err.contains("cannot be applied in place"), "{}", r.err);
}

/// `escala::render` gives a linking tool, in memory, exactly the bytes `build` writes.
#[test]
fn the_library_renders_the_bytes_build_writes() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().to_str().expect("utf-8");
    assert_eq!(run(&finanzas(), &["build", "--out", out]).exit, Exit::Ok);
    let generated = escala::render(&finanzas(), dir.path()).expect("renders");
    let written: Vec<_> = snapshot_dir(dir.path())
        .into_iter()
        .filter(|(p, _)| p != ".escala-files")
        .collect();
    assert_eq!(written.len(), generated.files.len());
    for (path, bytes) in &written {
        let rendered = generated
            .files
            .get(std::path::Path::new(path))
            .unwrap_or_else(|| panic!("{path} not rendered"));
        assert!(rendered.as_bytes() == bytes.as_slice(), "{path} differs");
    }
}

#[test]
fn help_goes_to_stdout_and_usage_errors_to_stderr() {
    let help = run(&finanzas(), &["--help"]);
    assert_eq!(help.exit, Exit::Ok);
    assert!(
        help.out.contains("Usage:") && help.err.is_empty(),
        "{}",
        help.err
    );
    let bad = run(&finanzas(), &["--no-such-flag"]);
    assert_eq!(bad.exit, Exit::Internal);
    assert!(
        bad.out.is_empty() && bad.err.contains("--no-such-flag"),
        "{}",
        bad.err
    );
}

#[test]
fn an_empty_secret_file_stops_the_build() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = dir.path().join("token.txt");
    fs::write(&token, "").expect("write");
    let system = System::new("x")
        .service(
            Service::builder()
                .name("api")
                .image("ghcr.io/acme/api:1")
                .secrets(["token"])
                .build(),
        )
        .secret(Secret::from_file("token", token.display().to_string()))
        .phase(Phase::new("s", Engine::Swarm));
    let out = dir.path().join("deploy");
    let r = run(&system, &["build", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.exit, Exit::Findings, "{}", r.err);
    assert!(r.err.contains("escala::secret::empty_file"), "{}", r.err);
    assert!(!out.exists(), "nothing written");
    fs::write(&token, "s3cret").expect("write");
    let r = run(&system, &["build", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.err);
}

#[allow(dead_code)] // its `main` is the example's
#[path = "../examples/copies.rs"]
mod copies;

/// Rendering on several threads changes nothing: a model large enough to be built on every
/// core (50 copies of a five-service stack) writes the same files, the same record and the
/// same report with `--jobs 1`, `--jobs 3` and the default, and the same files as the
/// in-memory [`escala::render`].
#[test]
fn the_same_files_on_one_thread_and_on_many() {
    let system = copies::system(50);
    let dir = tempfile::tempdir().expect("tmp");
    let mut trees = Vec::new();
    let mut reports = Vec::new();
    for jobs in [Some("1"), Some("3"), None] {
        let out = dir
            .path()
            .join(format!("deploy-{}", jobs.unwrap_or("default")));
        let out_s = out.to_str().expect("utf-8");
        let mut args = vec!["build", "--out", out_s, "--color", "never"];
        if let Some(j) = jobs {
            args.extend(["--jobs", j]);
        }
        let r = run(&system, &args);
        assert_eq!(r.exit, Exit::Ok, "{}", r.err);
        assert!(
            r.err.contains("created") && r.err.contains("written, 0 unchanged"),
            "{}",
            r.err
        );
        reports.push(r.err.replace(out_s, "<out>"));
        trees.push(snapshot_dir(&out));
    }
    assert!(trees[0].len() > 250, "{} files", trees[0].len());
    assert!(
        trees.iter().all(|t| t == &trees[0]),
        "same files, same bytes"
    );
    assert!(reports.iter().all(|r| r == &reports[0]), "same report");
    let in_memory = escala::render(&system, dir.path().join("deploy-1")).expect("renders");
    let rendered: Vec<(String, Vec<u8>)> = in_memory
        .files
        .iter()
        .map(|(p, c)| (p.display().to_string(), c.as_bytes().to_vec()))
        .collect();
    let written: Vec<(String, Vec<u8>)> = trees[0]
        .iter()
        .filter(|(p, _)| p != ".escala-files")
        .cloned()
        .collect();
    let mut rendered = rendered;
    rendered.sort();
    assert_eq!(rendered, written);
}

#[test]
fn jobs_must_be_at_least_one() {
    let r = run(&finanzas(), &["build", "--jobs", "0"]);
    assert_eq!(r.exit, Exit::Internal);
    assert!(r.err.contains("--jobs"), "{}", r.err);
}
