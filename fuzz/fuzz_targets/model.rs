//! `cargo +nightly fuzz run model fuzz/seeds/model` (or, on stable, `RUSTC_BOOTSTRAP=1 cargo
//! fuzz run model …`; `.ci/run` runs it for a minute on the fixture systems): a model read
//! from JSON never makes escala panic — not its loading, not `check`, not any target's
//! rendering of whatever `check` accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(system) = serde_json::from_slice::<escala_core::System>(data) else {
        return;
    };
    let selection = escala_cli::args::Selection {
        out: "deploy".into(),
        phases: Vec::new(),
        targets: Vec::new(),
        deny_warnings: false,
        jobs: Some(1),
    };
    let _ = escala_cli::generate(&system, &escala_targets::all(), &selection);
});
