//! README.md's HTTP tour (the ```` ```console,http ```` block) runs here:
//! its commands go to `bash` in a fresh directory, in order, with the
//! `offtake` under test first on `PATH` and a free port instead of 8080,
//! and each command's output (stdout and stderr) must match what the
//! README shows (`[..]` is the rest of a line, `...` any lines). Needs
//! `bash`, `curl` and `jq`: without them it skips with a notice, except
//! under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One command of the tour (continuation lines start with four spaces)
/// and the output the README shows for it.
struct Step {
    line: usize,
    command: String,
    expected: String,
}

fn http_tour(readme: &str) -> Vec<Step> {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == "```console,http").expect("the HTTP tour's block");
    let mut steps: Vec<Step> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        if line.starts_with("```") {
            break;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step { line: i + 1, command: cmd.to_owned(), expected: String::new() });
        } else if let Some(step) = steps.last_mut() {
            if line.starts_with("    ") && step.expected.is_empty() {
                step.command.push('\n');
                step.command.push_str(line);
            } else {
                step.expected.push_str(line);
                step.expected.push('\n');
            }
        }
    }
    for s in &mut steps {
        s.expected = s.expected.trim_end().to_owned();
    }
    steps
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

const MARK: &str = "@@readme-step@@";

/// The tour as one bash script; each step's output follows a marker line.
fn script(steps: &[Step], port: u16) -> String {
    let mut out = String::from("trap 'kill $(jobs -p) 2>/dev/null' EXIT\n");
    for s in steps {
        let cmd = s.command.replace("8080", &port.to_string());
        out.push_str(&format!("printf '\\n{MARK}\\n'\n{{ true; {cmd}\n}} 2>&1\n"));
    }
    out
}

#[test]
fn the_http_tour_of_the_readme_runs_as_shown() {
    let missing: Vec<&str> = ["bash", "curl", "jq"].into_iter().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: the HTTP tour needs {missing:?}");
        eprintln!("NOTICE: skipping README's HTTP tour: {missing:?} not installed");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let steps = http_tour(&readme);
    assert!(steps.len() > 10, "the HTTP tour has {} commands", steps.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let bin_dir = Path::new(crate::OFFTAKE).parent().expect("bin dir").to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg("-c")
        .arg(script(&steps, free_port()))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("OFFTAKE_LOG", "error")
        .env_remove("OFFTAKE_DATABASE_URL")
        .env_remove("OFFTAKE_LEDGER")
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout);
    let outputs: Vec<&str> = text.split(&format!("\n{MARK}\n")).skip(1).collect();
    assert_eq!(outputs.len(), steps.len(), "every step ran:\n{text}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    let mut failures = Vec::new();
    for (step, actual) in steps.iter().zip(outputs) {
        let actual = actual.trim_end().to_owned();
        if let Err(e) =
            snapbox::Assert::new().normalize_paths(false).try_eq(None, actual.into(), step.expected.clone().into())
        {
            failures.push(format!("README.md line {}: `{}`\n{e}", step.line, step.command));
        }
    }
    assert!(failures.is_empty(), "{} steps of the HTTP tour differ:\n{}", failures.len(), failures.join("\n"));
}
