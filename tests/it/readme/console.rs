//! README.md is executed: every ```` ```console ```` block runs here with
//! `trycmd`, each in a fresh directory holding only the financing tour's
//! documents (`examples/financing/`) and the bank tour's statement
//! (`examples/bank/`), and its output must match what the
//! README shows (`[..]` stands for the rest of a line, `...` for lines;
//! `? 1` after a command means it must fail with status 1). A change that
//! breaks a tour fails `cargo test`.
//!
//! The HTTP tour (```` ```console,http ````) needs a shell and a running
//! server: `tests/it/readme/http.rs` runs it. Blocks marked
//! ```` ```console,ignore ```` (the witness tour, which needs a second
//! process watching the API) are not run.

use std::path::{Path, PathBuf};

/// One ```` ```console ```` block of the README: its first and last line
/// (the fences), 1-based.
struct Block {
    fence_open: usize,
    fence_close: usize,
}

/// The console blocks trycmd should run, in README order.
fn console_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, bool)> = None;
    for (i, line) in readme.lines().enumerate() {
        let n = i + 1;
        match open {
            None if line.starts_with("```") => open = Some((n, line.trim_end() == "```console")),
            Some((start, run)) if line.trim_end() == "```" => {
                if run {
                    blocks.push(Block { fence_open: start, fence_close: n });
                }
                open = None;
            }
            _ => {}
        }
    }
    blocks
}

/// The README with every line outside `block` blanked, so trycmd's line
/// numbers point into the README (up to the block's first command output;
/// see below).
///
/// trycmd drops the last newline of an expected output ("for formatting
/// purposes"), so its own files put a blank line after every output. The
/// README does not; the blank line is added here, after each output that
/// does not end with `...` (which already matches to the end).
fn only(readme: &str, block: &Block) -> String {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if !(block.fence_open..=block.fence_close).contains(&n) {
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
        let next = lines.get(i + 1).copied().unwrap_or("```");
        let is_output = n > block.fence_open && !line.starts_with("$ ") && !line.starts_with("? ");
        if is_output && *line != "..." && (next.starts_with("$ ") || n + 1 == block.fence_close) {
            out.push('\n');
        }
    }
    out
}

fn copy_examples(to: &Path) {
    std::fs::create_dir_all(to).expect("case dir");
    // The financing tour's documents and the bank tour's statement.
    for (dir, ext) in [("examples/financing", "json"), ("examples/bank", "xml")] {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&examples).expect(dir) {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == ext) {
                std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy example");
            }
        }
    }
}

#[test]
fn every_console_block_of_the_readme_runs_as_shown() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = console_blocks(&readme);
    assert!(blocks.len() >= 4, "expected the ledger, financing, signing and audit tours, found {}", blocks.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("offtake", PathBuf::from(crate::OFFTAKE))
        .env("OFFTAKE_LOG", "error")
        .timeout(std::time::Duration::from_secs(120));
    for block in &blocks {
        // `README-<line>.md` runs in `README-<line>.in/`, a fresh directory.
        let name = format!("README-{}", block.fence_open);
        std::fs::write(tmp.path().join(format!("{name}.md")), only(&readme, block)).expect("write case");
        copy_examples(&tmp.path().join(format!("{name}.in")));
        cases.case(tmp.path().join(format!("{name}.md")));
    }
    cases.run();
}
