//! The README and the book show code that compiles.

use crate::support::root;

#[test]
fn the_readme_shows_the_readme_example_verbatim() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let example = std::fs::read_to_string(root().join("examples/readme/main.rs")).expect("example");
    assert!(
        readme.contains(example.trim()),
        "README.md must embed examples/readme/main.rs unchanged"
    );
}

#[test]
fn book_includes_point_at_existing_files() {
    let src = root().join("book/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).expect("book/src") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("page");
        for inc in text.split("{{#include ").skip(1) {
            let target = inc
                .split("}}")
                .next()
                .expect("closed")
                .split(':')
                .next()
                .expect("path");
            assert!(
                src.join(target).is_file(),
                "{}: {{{{#include {target}}}}} points at nothing",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "the book includes its code from files");
}
