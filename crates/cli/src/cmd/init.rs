//! `escala init`: a new repository with `Cargo.toml`, `infra.rs` and `.gitignore`.

use std::path::Path;

use crate::Exit;

/// Scaffolds a new infra repository in `dir`; never overwrites a file.
pub fn run(dir: &Path) -> Exit {
    let name = dir
        .canonicalize()
        .ok()
        .or_else(|| Some(dir.to_path_buf()))
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|n| escala_core::Name::from(n.as_str()).suggestion())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "app".into());
    let cargo = format!(
        "[package]\nname = \"{name}-infra\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[[bin]]\nname = \"infra\"\npath = \"infra.rs\"\n\n[dependencies]\nescala = \"{}\"\n",
        env!("CARGO_PKG_VERSION")
    );
    let infra = format!(
        "//! The infrastructure of {name}: `cargo run -- build` writes the deployment files.\n\nuse escala::prelude::*;\n\nfn main() -> std::process::ExitCode {{\n    escala::run(system())\n}}\n\n/// The whole system.\nfn system() -> System {{\n    System::new(\"{name}\")\n        .service(\n            Service::builder()\n                .name(\"web\")\n                .image(\"nginx:1.27\")\n                .ports([Port::tcp(80)])\n                .build(),\n        )\n        .route(Route::builder().host(\"{name}.example.com\").service(\"web\").port(80).build())\n        .phase(Phase::new(\"single-node\", Engine::Compose))\n}}\n"
    );
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
