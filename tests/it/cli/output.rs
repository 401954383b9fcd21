//! CLI output conventions: stdout carries only data (the API's wire
//! objects as JSON, or a table), hints go to stderr, and a closed pipe
//! ends the program quietly with status 0.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

fn offtake(db: &Path, args: &[&str]) -> Output {
    crate::support::offtake().sqlite(db).run(args)
}

fn ok(db: &Path, args: &[&str]) -> Output {
    let out = offtake(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn ledger() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cli.db");
    ok(&db, &["init"]);
    ok(&db, &["account", "create", "equity", "--currency", "USD", "--side", "credit"]);
    ok(&db, &["account", "create", "cash:a", "--currency", "USD"]);
    for key in ["t1", "t2", "t3"] {
        ok(&db, &["transfer", "--from", "equity", "--to", "cash:a", "--amount", "10.00", "--key", key]);
    }
    (dir, db)
}

#[test]
fn entries_are_json_lines_and_the_next_page_hint_is_on_stderr() {
    let (_dir, db) = ledger();
    let out = ok(&db, &["entries", "cash:a", "--limit", "2"]);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("every stdout line is JSON")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0]["legs"][0]["amount"],
        serde_json::json!({"amount": "10.00", "amount_minor": 1000, "currency": "USD"})
    );
    assert!(lines[0]["effective_date"].as_str().is_some_and(|d| d.len() == 10), "{}", lines[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("next page: --cursor "), "{stderr}");
}

#[test]
fn balances_print_as_a_table_or_as_the_wire_object() {
    let (_dir, db) = ledger();
    let table = stdout(&ok(&db, &["balance", "cash:a"]));
    assert!(table.contains("posted                     30.00"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&ok(&db, &["balance", "cash:a", "--output", "json"])))
        .expect("--output json is JSON");
    assert_eq!(json["posted"]["amount_minor"], 3000);
    assert_eq!(json["available"]["amount"], "30.00");
}

#[test]
fn financing_objects_print_as_tables_on_request() {
    let (_dir, db) = ledger();
    ok(&db, &["party", "add", "bank", "--role", "lender", "--name", "Bank"]);
    ok(&db, &["party", "add", "loom", "--role", "maker", "--name", "Loom"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&ok(
        &db,
        &[
            "facility",
            "open",
            "f1",
            "--lender",
            "bank",
            "--maker",
            "loom",
            "--limit",
            "300000.00",
            "--opened-on",
            "2026-01-01",
        ],
    )))
    .expect("JSON by default");
    assert_eq!(json["opened_on"], "2026-01-01");
    assert_eq!(json["terms"]["limit"]["amount"], "300000.00");
    let table = stdout(&ok(&db, &["facility", "show", "f1", "--output", "table"]));
    assert!(table.lines().any(|l| l.starts_with("terms.limit") && l.ends_with("300,000.00 USD")), "{table}");
    // A list is the API's page: the cursor, then the items as rows.
    let parties = stdout(&ok(&db, &["party", "list", "--output", "table"]));
    let lines: Vec<&str> = parties.lines().collect();
    assert_eq!(lines.get(..3), Some(&["next_cursor  -", "", "items:"][..]), "{parties}");
    assert!(lines.get(3).is_some_and(|h| h.contains("id") && h.contains("kind")), "{parties}");
}

#[test]
fn a_closed_pipe_ends_the_demo_quietly() {
    let mut child = crate::support::offtake()
        .command()
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run offtake demo");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("first line");
    // The reader is dropped here: like `offtake demo | head -1`.
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!first.is_empty());
    assert!(out.status.success(), "status {:?}, stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
