//! Helpers shared by the integration tests.

use std::path::PathBuf;

use escala::{Artifacts, Checked};

/// Whether tests that need something outside the repository must run.
///
/// With `ESCALA_CONFORMANCE=1` (set by `.ci/run`) they run and fail if what they need is
/// missing; without it they print that they were skipped.
pub fn conformance(what: &str) -> bool {
    if std::env::var("ESCALA_CONFORMANCE").as_deref() == Ok("1") {
        true
    } else {
        eprintln!("skipped: {what} (set ESCALA_CONFORMANCE=1 to run it)");
        false
    }
}

/// `../shared` as seen from the repository root.
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A plan laid out as `build --out deploy` does, through the library's own
/// [`escala::cli::generate::laid_out`]: project root `../../..`, the model's config files read
/// from the repository.
pub fn as_the_cli_does(plan: escala::PhasePlan<'_>) -> escala::PhasePlan<'_> {
    let dir = std::path::Path::new("deploy")
        .join(plan.phase().name.as_str())
        .join("target");
    escala::cli::generate::laid_out(plan, &root(), &dir)
}

/// Renders every phase of `checked` with every target that accepts it, laid out as
/// `build --out deploy` does (`deploy/<phase>/<target>/`, so the project root is `../../..`):
/// `(phase, target, artifacts)`.
pub fn render_all(checked: &Checked<'_>) -> Vec<(String, &'static str, Artifacts)> {
    let targets = escala::targets::all();
    let mut out = Vec::new();
    for plan in checked.plans() {
        let plan = as_the_cli_does(plan);
        for t in targets.iter().filter(|t| t.accepts(plan.phase())) {
            let files = t.render(&plan).expect("a checked plan renders");
            // The sql target writes nothing for a system without a database.
            if !files.is_empty() {
                out.push((plan.phase().name.to_string(), t.name(), files));
            }
        }
    }
    out
}

/// Runs `check` of every target over every phase, laid out as the CLI does (config files
/// read), and returns the findings.
pub fn fidelity(checked: &Checked<'_>) -> escala::Diagnostics {
    let mut diags = escala::Diagnostics::new();
    let targets = escala::targets::all();
    for plan in checked.plans() {
        let plan = as_the_cli_does(plan);
        for t in targets.iter().filter(|t| t.accepts(plan.phase())) {
            t.check(&plan, &mut diags);
        }
    }
    diags
}

/// A vendored schema as a validator for `draft`.
fn schema(file: &str, draft: jsonschema::Draft) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/fixtures/schemas").join(file))
        .expect("vendored schema");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    // compose-spec's `$schema` URL (https, no `#`) is not one the crate knows by name; the
    // draft is forced instead.
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
    }
    jsonschema::options()
        .with_draft(draft)
        .build(&schema)
        .expect("the schema compiles")
}

/// The compose-spec schema (vendored copy) as a validator.
pub fn compose_schema() -> jsonschema::Validator {
    schema("compose-spec.json", jsonschema::Draft::Draft7)
}

/// The Swarm stack schema, compose file v3.13 (vendored copy) as a validator.
pub fn swarm_schema() -> jsonschema::Validator {
    schema("config_schema_v3.13.json", jsonschema::Draft::Draft4)
}

/// Validation errors of a YAML document against `validator`, as readable lines.
pub fn schema_errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_yaml::from_str(yaml).expect("generated YAML parses");
    validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Copies the source locations of `from` into `to` (they are deliberately not serialized), so
/// a deserialized model can be compared with the original.
pub fn copy_origins(from: &escala::System, to: &mut escala::System) {
    for (b, s) in to.services.iter_mut().zip(&from.services) {
        b.origin.clone_from(&s.origin);
    }
    for (b, r) in to.routes.iter_mut().zip(&from.routes) {
        b.origin.clone_from(&r.origin);
    }
    for (p, q) in to.phases.iter_mut().zip(&from.phases) {
        for (b, o) in p.overrides.iter_mut().zip(&q.overrides) {
            b.origin.clone_from(&o.origin);
        }
        for (b, n) in p.nodes.iter_mut().zip(&q.nodes) {
            b.origin.clone_from(&n.origin);
        }
    }
    if let (Some(a), Some(b)) = (to.database.as_mut(), from.database.as_ref()) {
        for (t, u) in a.tables.iter_mut().zip(&b.tables) {
            t.origin.clone_from(&u.origin);
        }
    }
}

/// The errors `system`'s check finds, as `(code, path)` pairs in order (none when it passes).
pub fn errors_at(system: &escala::System) -> Vec<(String, String)> {
    system
        .check()
        .err()
        .unwrap_or_default()
        .iter()
        .filter(|d| d.severity == escala::Severity::Error)
        .map(|d| (d.code.clone(), d.path.clone()))
        .collect()
}

/// `system` with backups to a test bucket, and the two secrets its S3 credentials read
/// (`s3-key`, `s3-secret`).
pub fn with_s3_backups(system: escala::System) -> escala::System {
    use escala::prelude::*;
    system
        .secret(Secret::from_env("s3-key", "S3_KEY"))
        .secret(Secret::from_env("s3-secret", "S3_SECRET"))
        .backups(Backups::s3(
            "https://s3.example",
            "b",
            Env::secret("s3-key"),
            Env::secret("s3-secret"),
            "ghcr.io/acme/pg-backup:18",
        ))
}
