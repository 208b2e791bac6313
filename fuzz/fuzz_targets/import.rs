//! `cargo +nightly fuzz run import` (or, on stable, `RUSTC_BOOTSTRAP=1 cargo fuzz run import`;
//! `.ci/run` runs it for a minute on the compose fixtures): the importer never panics,
//! whatever the bytes — not UTF-8 ones either, which are an error that says where.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = escala_cli::import::ComposeFile::from_bytes("fuzz.yml", data.to_vec()) else {
        return;
    };
    if let Ok((system, _)) = escala_cli::import::compose(&[file], &Default::default()) {
        let _ = escala_cli::import::infra_rs(&system, "fuzz.yml");
    }
});
