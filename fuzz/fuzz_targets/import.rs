//! `cargo +nightly fuzz run import` (or, on stable, `RUSTC_BOOTSTRAP=1 cargo fuzz run import`;
//! `.ci/run` runs it for a minute on the compose fixtures): the importer never panics,
//! whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let file = escala_cli::import::ComposeFile { path: "fuzz.yml".into(), text };
    if let Ok((system, _)) = escala_cli::import::compose(&[file], &Default::default()) {
        let _ = escala_cli::import::infra_rs(&system, "fuzz.yml");
    }
});
