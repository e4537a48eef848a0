//! Every Rust snippet in the README is a program that the doc tests compile and run
//! (`ReadmeSnippets` in `src/lib.rs`, against the built-in mock broker). This test fails when
//! a snippet would escape that: a code block whose language is not a plain `rust` (then
//! rustdoc skips it or, untagged, runs it as Rust by accident), or the README no longer
//! included. The repository's other Markdown (`docs/`) holds no Rust snippet to test.

use std::path::Path;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Languages a block may have: `rust` (compiled and run) and text that is never code.
const NOT_RUST: &[&str] = &["sh", "text", "toml"];

/// (line number, info string) of every fenced code block's opening fence.
fn code_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut inside = false;
    for (n, line) in markdown.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if !inside {
                blocks.push((n + 1, info.trim().to_owned()));
            }
            inside = !inside;
        }
    }
    assert!(!inside, "an unclosed code block");
    blocks
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn every_readme_rust_block_is_a_doc_test() {
    let readme = read(&Path::new(ROOT).join("README.md"));
    let blocks = code_blocks(&readme);
    let rust = blocks.iter().filter(|(_, info)| info == "rust").count();
    assert!(
        rust >= 3,
        "the README's Rust snippets are gone? found {rust}"
    );
    for (line, info) in &blocks {
        assert!(
            info == "rust" || NOT_RUST.contains(&info.as_str()),
            "README.md:{line}: code block ```{info}: a Rust snippet must be a plain ```rust block \
             (compiled and run by the doc tests), anything else ```sh, ```text or ```toml"
        );
    }
    let lib = read(&Path::new(ROOT).join("tests/src/lib.rs"));
    assert!(
        lib.contains("#[doc = include_str!(\"../../README.md\")]"),
        "tests/src/lib.rs no longer includes the README as doc tests"
    );
}

#[test]
fn docs_hold_no_untested_rust() {
    let dir = Path::new(ROOT).join("docs");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files += 1;
            for (line, info) in code_blocks(&read(&path)) {
                assert!(
                    NOT_RUST.contains(&info.as_str()),
                    "{}:{line}: code block ```{info}: Rust belongs in the README (tested) or in \
                     a crate's doc comments (doc tests), other blocks are ```sh/```text/```toml",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0, "no Markdown in docs/");
}
