//! Compile errors a user sees (trybuild).

#[test]
fn missing_required_builder_fields() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
