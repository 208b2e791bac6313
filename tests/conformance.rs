//! Checks against real consumers and files outside the repository. They run with
//! `ESCALA_CONFORMANCE=1` (set by `.ci/run`) and then fail if what they need is missing;
//! otherwise they print that they were skipped.

use std::process::Command;

use crate::support::{conformance, render_all, root, shared};
use crate::systems;

#[test]
fn vendored_compose_schema_matches_the_shared_one() {
    if !conformance("vendored schema equals ../shared/schemas/compose-spec.json") {
        return;
    }
    let shared = std::fs::read(shared().join("schemas/compose-spec.json"))
        .expect("../shared/schemas/compose-spec.json is missing");
    let vendored = std::fs::read(root().join("tests/fixtures/schemas/compose-spec.json"))
        .expect("vendored schema");
    assert!(
        shared == vendored,
        "tests/fixtures/schemas/compose-spec.json differs from ../shared; copy it again"
    );
}

/// check-jsonschema (the validator the reference recommends) as a second, independent judge:
/// compose files against the compose-spec, stack files against the Swarm v3.13 schema.
#[test]
fn check_jsonschema_accepts_every_generated_file() {
    if !conformance("check-jsonschema on every generated compose and stack file") {
        return;
    }
    let tool =
        std::env::var("ESCALA_CHECK_JSONSCHEMA").unwrap_or_else(|_| "check-jsonschema".into());
    let dir = tempfile::tempdir().expect("tmp");
    for (file, schema) in [
        ("docker-compose.yml", "compose-spec.json"),
        ("stack.yml", "config_schema_v3.13.json"),
    ] {
        let mut files = Vec::new();
        for (fixture, build) in systems::ALL {
            for (phase, target, artifacts) in render_all(&build().check().expect("valid")) {
                let Some(yaml) = artifacts.get(file) else {
                    continue;
                };
                let path = dir.path().join(format!("{fixture}-{phase}-{target}.yml"));
                std::fs::write(&path, yaml).expect("write");
                files.push(path);
            }
        }
        assert!(!files.is_empty(), "no {file} generated");
        let output = Command::new(&tool)
            .arg("--schemafile")
            .arg(shared().join("schemas").join(schema))
            .args(&files)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `{tool}` (install it: pip install check-jsonschema): {e}")
            });
        assert!(
            output.status.success(),
            "{schema}:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Writes a swarm target's files under `dir/<name>/` and returns the directory and the
/// variables its `stack.env.example` lists (set to dummy values, as an operator would).
pub fn write_stack(
    dir: &std::path::Path,
    name: &str,
    artifacts: &escala::Artifacts,
) -> (std::path::PathBuf, Vec<(String, String)>) {
    let at = dir.join(name);
    for (path, content) in artifacts.iter() {
        let file = at.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, content).expect("write");
    }
    let vars = artifacts
        .get("stack.env.example")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_suffix('='))
        .filter(|v| !v.starts_with('#'))
        .map(|v| (v.to_owned(), "dummy".to_owned()))
        .collect();
    (at, vars)
}

/// Runs Swarm's own loader on a stack file: `docker stack config`, then the load stage of
/// `docker stack deploy` against a dead socket, which must print nothing before it fails to
/// connect (no "Ignoring unsupported options", no deprecation warnings).
pub fn docker_stack_accepts(at: &std::path::Path, vars: &[(String, String)]) -> Result<(), String> {
    let config = Command::new("docker")
        .args(["stack", "config", "-c", "stack.yml"])
        .current_dir(at)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .map_err(|e| format!("cannot run `docker` (the docker CLI must be installed): {e}"))?;
    if !config.status.success() {
        return Err(format!(
            "docker stack config rejected {}:\n{}",
            at.display(),
            String::from_utf8_lossy(&config.stderr)
        ));
    }
    let deploy = Command::new("docker")
        .args([
            "stack",
            "deploy",
            "--detach=true",
            "-c",
            "stack.yml",
            "probe",
        ])
        .current_dir(at)
        // Never a real engine: the load stage runs, then the connection fails.
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .map_err(|e| format!("cannot run `docker`: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&deploy.stdout),
        String::from_utf8_lossy(&deploy.stderr)
    );
    let before: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Cannot connect to the Docker daemon"))
        .collect();
    if before.len() == text.lines().count() {
        return Err(format!(
            "the deploy probe never reached the daemon for {}:\n{text}",
            at.display()
        ));
    }
    if !before.is_empty() {
        return Err(format!(
            "the stack loader warned about {}:\n{}",
            at.display(),
            before.join("\n")
        ));
    }
    Ok(())
}

#[test]
fn docker_stack_loader_accepts_every_stack_file_without_warnings() {
    if !conformance("docker stack config and the deploy load stage on every generated stack file") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let mut checked_files = 0;
    for (fixture, build) in systems::ALL {
        for (phase, target, artifacts) in render_all(&build().check().expect("valid")) {
            if target != "swarm" {
                continue;
            }
            let (at, vars) = write_stack(dir.path(), &format!("{fixture}-{phase}"), &artifacts);
            if let Err(e) = docker_stack_accepts(&at, &vars) {
                panic!("{fixture}/{phase}: {e}");
            }
            checked_files += 1;
        }
    }
    assert!(checked_files >= 4, "fixtures with swarm phases");
}

#[test]
fn the_deploy_probe_can_fail() {
    if !conformance("the deploy probe reports loader warnings") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("stack.yml"),
        "services:\n  web:\n    image: nginx\n    build: .\n    restart: always\n",
    )
    .expect("write");
    let err = docker_stack_accepts(dir.path(), &[]).expect_err("warns about build and restart");
    assert!(
        err.contains("Ignoring unsupported options: build, restart"),
        "{err}"
    );
}

/// `kubectl kustomize DIR`, then `kubernetes-validate --strict` on what it prints.
pub fn kubernetes_accepts(dir: &std::path::Path) -> Result<(), String> {
    let built = Command::new("kubectl")
        .args(["kustomize"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run `kubectl` (it must be installed): {e}"))?;
    if !built.status.success() {
        return Err(format!(
            "kubectl kustomize {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    let tool = std::env::var("ESCALA_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".into());
    let mut child = Command::new(&tool)
        .args(["--strict", "-k", "1.33", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run `{tool}` (install it: pip install kubernetes-validate): {e}")
        })?;
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin.write_all(&built.stdout).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The only tolerated complaints: the PrometheusRule and Traefik Middleware CRDs have no
    // bundled schema.
    let unexpected: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("INFO") && !l.trim().is_empty())
        .filter(|l| {
            !(l.starts_with("WARN") && (l.contains("PrometheusRule") || l.contains("Middleware")))
        })
        .collect();
    if out.status.success() && unexpected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "kubernetes-validate rejected {}:\n{text}",
            dir.display()
        ))
    }
}

#[test]
fn kustomize_and_kubernetes_validate_accept_every_manifest() {
    if !conformance(
        "kubectl kustomize and kubernetes-validate --strict on every generated directory",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let mut dirs = 0;
    for (fixture, build) in systems::ALL {
        for (phase, target, artifacts) in render_all(&build().check().expect("valid")) {
            if target != "kubernetes" {
                continue;
            }
            let at = dir.path().join(format!("{fixture}-{phase}"));
            for (path, content) in artifacts.iter() {
                std::fs::create_dir_all(&at).expect("mkdir");
                std::fs::write(at.join(path), content).expect("write");
            }
            kubernetes_accepts(&at).unwrap_or_else(|e| panic!("{fixture}/{phase}: {e}"));
            dirs += 1;
        }
    }
    assert!(dirs >= 2, "fixtures with a kubernetes phase");
}

#[test]
fn kubernetes_validate_can_fail() {
    if !conformance("kubernetes-validate rejects a bad manifest") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n  - svc.yaml\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  port: 80\n",
    )
    .expect("write");
    assert!(kubernetes_accepts(dir.path()).is_err());
}

/// `promtool check rules FILE`: Prometheus's own parser and PromQL checker.
pub fn promtool_accepts_rules(file: &std::path::Path) -> Result<(), String> {
    let tool = std::env::var("ESCALA_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let out = Command::new(&tool)
        .args(["check", "rules"])
        .arg(file)
        .output()
        .map_err(|e| {
            format!("cannot run `{tool}` (it ships with Prometheus; Debian's `prometheus` package has it): {e}")
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool rejected {}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn promtool_accepts_every_generated_alert_rules_file() {
    if !conformance("promtool check rules on every generated alert rules file") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for (fixture, build) in systems::ALL {
        for (phase, target, artifacts) in render_all(&build().check().expect("valid")) {
            // A rules file is a YAML document with `groups:`: the compose and Swarm
            // `alerts.rules.yml`, a ConfigMap's data, a PrometheusRule's spec.
            let mut rules: Vec<(String, String)> = Vec::new();
            for (path, content) in artifacts.iter() {
                let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(content) else {
                    continue;
                };
                if doc.get("groups").is_some() {
                    rules.push((path.to_owned(), content.to_owned()));
                }
                if doc.get("kind").and_then(|k| k.as_str()) == Some("PrometheusRule") {
                    let spec = serde_yaml::to_string(&doc["spec"]).expect("yaml");
                    rules.push((format!("{path}.spec"), spec));
                }
                if let Some(data) = doc.get("data").and_then(|d| d.as_mapping()) {
                    for (key, value) in data {
                        let text = value.as_str().unwrap_or_default();
                        let inner = serde_yaml::from_str::<serde_yaml::Value>(text);
                        if inner.is_ok_and(|v| v.get("groups").is_some()) {
                            rules.push((
                                format!("{path}.{}", key.as_str().unwrap_or("?")),
                                text.to_owned(),
                            ));
                        }
                    }
                }
            }
            for (path, text) in rules {
                let file = dir.path().join(format!("{fixture}-{phase}-{target}.yml"));
                std::fs::write(&file, text).expect("write");
                promtool_accepts_rules(&file)
                    .unwrap_or_else(|e| panic!("{fixture}/{phase}/{target}/{path}: {e}"));
                checked += 1;
            }
        }
    }
    // compose and Swarm files of every fixture, plus the example's ConfigMap and
    // PrometheusRule and the other Kubernetes fixture's PrometheusRule.
    assert!(checked >= 10, "only {checked} rules files found");
}

#[test]
fn promtool_can_fail() {
    if !conformance("promtool rejects a bad rules file") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.yml");
    std::fs::write(
        &file,
        "groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: rate(x[5m] > 1\n",
    )
    .expect("write");
    assert!(promtool_accepts_rules(&file).is_err());
}

#[test]
fn the_examples_prometheus_loads_its_config_and_the_alert_rules() {
    if !conformance("promtool check config on the example's prometheus.yml") {
        return;
    }
    // The configuration as mounted, with the rules where the example mounts them.
    let (_, build) = systems::ALL
        .iter()
        .find(|(name, _)| *name == "finanzas")
        .expect("the example is a fixture");
    let system = build();
    let prometheus = system
        .services
        .iter()
        .find(|s| s.name == "prometheus")
        .expect("the example has Prometheus");
    let rules_at = prometheus
        .configs
        .iter()
        .find(|c| c.config == "alert-rules")
        .map(|c| c.target.clone())
        .expect("Prometheus mounts the alert rules");
    let config_text =
        std::fs::read_to_string(root().join("examples/finanzas/monitoring/prometheus.yml"))
            .expect("prometheus.yml");
    let config: serde_yaml::Value = serde_yaml::from_str(&config_text).expect("yaml");
    let globs: Vec<&str> = config["rule_files"]
        .as_sequence()
        .expect("rule_files")
        .iter()
        .filter_map(|g| g.as_str())
        .collect();
    // Re-root the mounted paths in a temporary directory, then let promtool load both.
    let dir = tempfile::tempdir().expect("tmp");
    let rebase = |p: &str| dir.path().join(p.trim_start_matches('/'));
    let checked = system.check().expect("valid");
    let (_, _, files) = render_all(&checked)
        .into_iter()
        .find(|(phase, target, _)| phase == "single-node" && *target == "compose")
        .expect("single-node compose");
    let rules_file = rebase(&rules_at);
    std::fs::create_dir_all(rules_file.parent().expect("dir")).expect("mkdir");
    std::fs::write(&rules_file, files.get("alerts.rules.yml").expect("rules")).expect("write");
    let mut rebased = config.clone();
    rebased["rule_files"] = serde_yaml::Value::Sequence(
        globs
            .iter()
            .map(|g| rebase(g).display().to_string().into())
            .collect(),
    );
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, serde_yaml::to_string(&rebased).expect("yaml")).expect("write");
    let tool = std::env::var("ESCALA_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let out = Command::new(&tool)
        .args(["check", "config"])
        .arg(&config_file)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // The glob found the mounted rules: promtool names each rules file it checked.
    assert!(
        text.contains("10 rules found"),
        "prometheus.yml's rule_files {globs:?} do not load {rules_at}:\n{text}"
    );
}

/// Every architecture diagram of every plan parses with Mermaid's own parser (npm `mermaid`,
/// with `jsdom` for the DOM it wants even to parse), and a broken one does not.
#[test]
fn mermaid_parses_every_plans_diagram() {
    if !conformance("Mermaid's parser on the plans' diagrams") {
        return;
    }
    let modules = std::env::var("ESCALA_MERMAID_DIR")
        .expect("ESCALA_MERMAID_DIR names a directory whose node_modules holds mermaid and jsdom (.ci/run installs them)");
    let script = std::path::Path::new(&modules).join("escala-parse.mjs");
    std::fs::copy(root().join("tests/mermaid/parse.mjs"), &script).expect("copy the parser script");
    let dir = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for (fixture, build) in systems::ALL {
        let model = build();
        let checked = model.check().expect("valid");
        for (phase, target, artifacts) in render_all(&checked) {
            if target != "plan" {
                continue;
            }
            let file = dir.path().join(format!("{fixture}-{phase}.md"));
            std::fs::write(&file, artifacts.get("PLAN.md").expect("PLAN.md")).expect("write");
            files.push(file);
        }
    }
    let run = |files: &[std::path::PathBuf]| {
        Command::new("node")
            .arg(&script)
            .args(files)
            .output()
            .expect("node runs")
    };
    let out = run(&files);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "parsed {} mermaid block(s), 0 failed",
            files.len()
        )),
        "{said}"
    );
    let broken = dir.path().join("broken.md");
    std::fs::write(
        &broken,
        "```mermaid\nflowchart LR\n  a[[\"unclosed\"\n```\n",
    )
    .expect("write");
    assert!(!run(&[broken]).status.success(), "a broken diagram fails");
}

/// The finanzas example's `build --out out`, its renames slowed down by strace (100 ms each).
fn slowed_build(out: &std::path::Path) -> std::process::Child {
    let exe = root().join("target/debug/examples/finanzas");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test --workspace` builds the examples",
        exe.display()
    );
    Command::new("strace")
        .args([
            "-f",
            "-q",
            "-o",
            "/dev/null",
            "-e",
            "trace=rename,renameat,renameat2",
        ])
        .args(["-e", "inject=rename,renameat,renameat2:delay_enter=100000"])
        .arg(&exe)
        .args(["build", "--out"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace is missing (Debian's strace)")
}

/// Every file under `dir`, with its content.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out
}

fn interrupt(out: &std::path::Path, mut child: std::process::Child) {
    let finanzas = Command::new("pkill")
        .args(["-INT", "-f"])
        .arg(format!("examples/finanzas build --out {}", out.display()))
        .status()
        .expect("pkill");
    assert!(finanzas.success());
    let status = child.wait().expect("ends");
    assert!(!status.success(), "it was interrupted");
}

/// An interrupted build leaves no temporary file, and no partial file or folder under a final
/// name: the finanzas example's `build`, its renames slowed down by strace, gets SIGINT
/// half-way — once rewriting the files of existing folders (each renamed over the old one),
/// once writing new folders (staged, each renamed into place whole).
#[test]
fn an_interrupted_build_leaves_no_temporary_file() {
    if !conformance("an interrupted build (strace slows the renames, SIGINT half-way)") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("deploy");
    let is_tmp = |p: &std::path::Path| {
        p.to_string_lossy().ends_with(".escala-tmp")
            || p.to_string_lossy().contains(".escala-stage")
    };

    // New folders: staged, then each moved into place whole.
    let child = slowed_build(&out);
    let start = std::time::Instant::now();
    while !files_under(&out).iter().any(|(p, _)| is_tmp(p))
        && start.elapsed() < std::time::Duration::from_secs(60)
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        files_under(&out).iter().any(|(p, _)| is_tmp(p)),
        "the files are staged first"
    );
    interrupt(&out, child);
    assert!(
        !files_under(&out).iter().any(|(p, _)| is_tmp(p)),
        "nothing staged is left"
    );
    let whole = std::process::Command::new(root().join("target/debug/examples/finanzas"))
        .args(["build", "--out"])
        .arg(dir.path().join("whole"))
        .output()
        .expect("a whole build");
    assert!(whole.status.success());
    let reference = files_under(&dir.path().join("whole"));
    for (p, content) in files_under(&out) {
        let rel = p.strip_prefix(&out).expect("under out");
        let same = reference
            .iter()
            .find(|(q, _)| q.strip_prefix(dir.path().join("whole")).ok() == Some(rel));
        assert_eq!(
            same.map(|(_, c)| c),
            Some(&content),
            "{} is whole",
            rel.display()
        );
    }

    // Existing folders: each file written beside its final name, renamed over it.
    std::fs::remove_dir_all(&out).ok();
    let status = Command::new(root().join("target/debug/examples/finanzas"))
        .args(["build", "--out"])
        .arg(&out)
        .output()
        .expect("build");
    assert!(status.status.success());
    for (p, content) in files_under(&out) {
        if !p.ends_with(".escala-files") {
            std::fs::write(&p, format!("{content}# stale\n")).expect("write");
        }
    }
    let stale = |c: &str| c.ends_with("# stale\n");
    let child = slowed_build(&out);
    let start = std::time::Instant::now();
    let renewed = || {
        files_under(&out)
            .iter()
            .filter(|(p, c)| !is_tmp(p) && !stale(c) && !p.ends_with(".escala-files"))
            .count()
    };
    while renewed() < 3 && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        files_under(&out).iter().any(|(p, _)| is_tmp(p)),
        "the temporary files are written first"
    );
    interrupt(&out, child);
    assert!(
        !files_under(&out).iter().any(|(p, _)| is_tmp(p)),
        "no temporary file left"
    );
    let placed = renewed();
    let total = files_under(&out).len();
    assert!(
        placed >= 3 && placed + 10 < total,
        "interrupted half-way: {placed} of {total} files renewed"
    );
}
