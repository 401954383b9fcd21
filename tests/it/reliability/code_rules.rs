//! Code rules that SECURITY.md promises, checked on the source tree: no
//! `unsafe` in the project's crates, and no private key or API key secret
//! ever formatted into a log line.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn project_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files
}

/// Source text without comments and string literals, roughly: enough to
/// find a keyword used as code.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .map(|l| {
            let mut out = String::new();
            let mut in_str = false;
            for c in l.chars() {
                if c == '"' {
                    in_str = !in_str;
                } else if !in_str {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_unsafe_code_in_project_crates() {
    let mut found = Vec::new();
    for file in project_sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in code_only(&text).lines().enumerate() {
            let words: Vec<&str> = line.split(|c: char| !c.is_alphanumeric() && c != '_').collect();
            if words.contains(&"unsafe") {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "unsafe code:\n{}", found.join("\n"));
}

#[test]
fn secrets_are_never_logged() {
    // A tracing or print macro naming a secret-bearing variable.
    let secrets = ["seed", "private_key", "secret", "api_key.key", "issued.key", "token"];
    let macros = ["tracing::", "info!(", "warn!(", "error!(", "debug!(", "trace!(", "eprintln!("];
    let mut found = Vec::new();
    for file in project_sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with("//") || !macros.iter().any(|m| l.contains(m)) {
                continue;
            }
            if secrets.iter().any(|s| {
                l.contains(&format!("{{{s}")) || l.contains(&format!("= %{s}")) || l.contains(&format!("?{s}"))
            }) {
                found.push(format!("{}:{}: {l}", file.display(), i + 1));
            }
        }
    }
    assert!(found.is_empty(), "secrets in log lines:\n{}", found.join("\n"));
}
