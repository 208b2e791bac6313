//! `escala init`: a new repository with `Cargo.toml`, `infra.rs` and `.gitignore`.

use std::path::{Path, PathBuf};

use crate::Exit;

/// The compose file names `docker compose` looks for, in its order.
const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// How the new `Cargo.toml` depends on escala: a path to its sources when given (or when this
/// binary was built from a checkout that is still there), else the version, with a comment
/// saying how to point at the sources — escala is not on crates.io yet.
fn dependency(escala_path: Option<&Path>) -> String {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = escala_path.map(Path::to_path_buf).or_else(|| {
        built_from
            .join("src/lib.rs")
            .is_file()
            .then(|| built_from.canonicalize().unwrap_or(built_from))
    });
    match path {
        Some(p) => format!("escala = {{ path = {:?} }}\n", p.display().to_string()),
        None => format!(
            "# escala is not published on crates.io yet: point at its sources instead, e.g.\n# escala = {{ path = \"../escala\" }} or escala = {{ git = \"<its repository>\" }}\nescala = \"{}\"\n",
            env!("CARGO_PKG_VERSION")
        ),
    }
}

/// The `infra.rs` imported from the compose file in `dir`, if there is one: the file and
/// the generated code (`None` when there is no compose file).
fn imported(dir: &Path) -> Result<Option<(PathBuf, String)>, String> {
    let Some(file) = COMPOSE_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let mut env = std::fs::read_to_string(dir.join(".env"))
        .map(|t| crate::import::interp::dotenv(&t))
        .unwrap_or_default();
    env.extend(std::env::vars());
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = [crate::import::ComposeFile {
        path: name.clone(),
        text,
    }];
    let (system, diags) = crate::import::compose(&files, &env).map_err(|e| e.to_string())?;
    let _ = crate::report::human(
        &diags,
        crate::report::Style::new(false),
        &mut std::io::stderr(),
    );
    if diags.has_errors() {
        return Err(format!(
            "`{}` cannot be imported (see above)",
            file.display()
        ));
    }
    Ok(Some((
        file,
        crate::import::infra_rs(&system, &format!("`{name}`")),
    )))
}

/// Scaffolds a new infra repository in `dir`; never overwrites a file. A compose file in
/// `dir` becomes the `infra.rs` (as `escala import` would write it); `escala_path` points the
/// dependency at escala's sources.
pub fn run(dir: &Path, escala_path: Option<&Path>) -> Exit {
    let name = dir
        .canonicalize()
        .ok()
        .or_else(|| Some(dir.to_path_buf()))
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|n| escala_core::Name::from(n.as_str()).suggestion())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "app".into());
    let cargo = format!(
        "[package]\nname = \"{name}-infra\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[[bin]]\nname = \"infra\"\npath = \"infra.rs\"\n\n[dependencies]\n{}",
        dependency(escala_path)
    );
    let imported = match imported(dir) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Findings;
        }
    };
    let example = format!(
        "//! The infrastructure of {name}: `cargo run -- build` writes the deployment files.\n\nuse escala::prelude::*;\n\nfn main() -> std::process::ExitCode {{\n    escala::run(system())\n}}\n\n/// The whole system.\nfn system() -> System {{\n    System::new(\"{name}\")\n        .service(\n            Service::builder()\n                .name(\"web\")\n                .image(\"nginx:1.27\")\n                .ports([Port::tcp(80)])\n                .build(),\n        )\n        .route(Route::builder().host(\"{name}.example.com\").service(\"web\").port(80).build())\n        .phase(Phase::new(\"single-node\", Engine::Compose))\n}}\n"
    );
    let infra = match &imported {
        Some((file, code)) => {
            eprintln!("importing {}", file.display());
            code.clone()
        }
        None => example,
    };
    let gitignore = "/target/\n.env\n";
    for (file, content) in [
        ("Cargo.toml", cargo.as_str()),
        ("infra.rs", infra.as_str()),
        (".gitignore", gitignore),
    ] {
        if let Err(e) = super::write_new(&dir.join(file), content, false) {
            eprintln!("error: {e}");
            return Exit::Internal;
        }
        eprintln!("created {}", dir.join(file).display());
    }
    eprintln!("next: cd {} && cargo run -- build", dir.display());
    Exit::Ok
}
