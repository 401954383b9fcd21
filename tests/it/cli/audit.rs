//! `offtake export …` and `offtake audit …` driven as an auditor would:
//! exit codes, stable error codes, files on disk, and the real `bean-check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn offtake(dir: &Path, args: &[&str]) -> Output {
    crate::support::offtake().in_dir(dir).run(args)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = offtake(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails_with(dir: &Path, args: &[&str], code: &str) -> String {
    let out = offtake(dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
    stderr
}

/// The demo ledger in a fresh directory, and a ledger key.
fn demo() -> (tempfile::TempDir, String, String) {
    let (dir, url, public, _) = demo_with_size();
    (dir, url, public)
}

/// The demo ledger, a ledger key, and the number of entries in the ledger.
fn demo_with_size() -> (tempfile::TempDir, String, String, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("demo.db").display());
    let story = ok(dir.path(), &["demo", "--demo-database-url", &url]);
    let entries = story
        .lines()
        .find_map(|l| l.trim().strip_prefix("chain ok: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the demo reports its chain");
    let keygen = ok(dir.path(), &["audit", "keygen", "--key", "ledger.key"]);
    let public = keygen.lines().find_map(|l| l.strip_prefix("public key: ")).expect("public key").to_owned();
    (dir, url, public, entries)
}

/// Legs of the bundle's entries, as (account, side) pairs.
fn bundle_legs(bundle: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(bundle.join("entries.jsonl")).expect("read entries");
    let mut legs = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let entry = if v.get("entry").is_some() { &v["entry"] } else { &v };
        for l in entry["legs"].as_array().expect("legs") {
            legs.push((
                l["account"].as_str().unwrap_or_default().to_owned(),
                l["side"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    legs
}

#[test]
fn bundle_exports_verifies_offline_and_reports_tampering() {
    let (dir, url, public, n) = demo_with_size();
    let d = dir.path();
    let out =
        ok(d, &["--database-url", &url, "--ledger", "demo", "export", "bundle", "--key", "ledger.key", "--out", "b"]);
    assert!(out.contains(&format!("entries 1..{n} ({n} of {n} in scope)")), "{out}");
    // Verification needs no database: remove it first.
    std::fs::remove_file(d.join("demo.db")).expect("rm db");
    let verified = ok(d, &["audit", "verify", "b", "--ledger-public-key", &public]);
    assert!(verified.starts_with(&format!("bundle ok: ledger demo, entries 1..{n}")), "{verified}");
    assert!(verified.contains("(pinned)"), "{verified}");
    assert!(!d.join("offtake.db").exists(), "verify must not create a database");

    let unpinned = offtake(d, &["audit", "verify", "b"]);
    assert!(unpinned.status.success());
    assert!(String::from_utf8_lossy(&unpinned.stderr).contains("warning: no --ledger-public-key"));

    let path = d.join("b/entries.jsonl");
    let text = std::fs::read_to_string(&path).expect("read");
    let line = text.lines().position(|l| l.contains("\"kind\":\"advance_funded\"")).expect("funding entry") + 1;
    std::fs::write(&path, text.replacen("\"kind\":\"advance_funded\"", "\"kind\":\"advance_fundeD\"", 1))
        .expect("write");
    let err = fails_with(d, &["audit", "verify", "b", "--ledger-public-key", &public], "entry_hash_mismatch");
    assert!(err.contains(&format!("entries.jsonl line {line}: entry {line} hash is ")), "{err}");

    let other = ok(d, &["audit", "keygen", "--key", "other.key"]);
    let other_pub = other.lines().find_map(|l| l.strip_prefix("public key: ")).expect("key");
    fails_with(d, &["audit", "verify", "b", "--ledger-public-key", other_pub], "untrusted_key");
    fails_with(d, &["audit", "verify", "missing-dir"], "missing_file");
}

#[test]
fn export_refuses_a_readable_key() {
    let (dir, url, _) = demo();
    let d = dir.path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("ledger.key"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        fails_with(
            d,
            &["--database-url", &url, "--ledger", "demo", "export", "bundle", "--key", "ledger.key", "--out", "b"],
            "ledger_key_permissions",
        );
    }
}

#[test]
fn checkpoints_and_proofs_verify_and_fail_when_tampered() {
    let (dir, url, public, n) = demo_with_size();
    let d = dir.path();
    let db = ["--database-url", url.as_str(), "--ledger", "demo"];
    let run = |args: &[&str]| ok(d, &[&db[..], args].concat());
    run(&["audit", "checkpoint", "--key", "ledger.key", "--tree-size", "3", "--out", "cp3.json"]);
    run(&["audit", "checkpoint", "--key", "ledger.key", "--out", "cp8.json"]);
    run(&["audit", "prove-inclusion", "--seq", "5", "--out", "inc.json"]);
    run(&["audit", "prove-consistency", "--old-size", "3", "--out", "con.json"]);
    run(&["export", "bundle", "--key", "ledger.key", "--out", "b"]);

    let pin = ["--ledger-public-key", public.as_str()];
    let verify = |extra: &[&str]| ok(d, &[&["audit", "verify-proof"][..], extra, &pin[..]].concat());
    assert!(verify(&["inc.json", "--checkpoint", "cp8.json"]).contains("proof ok: entry 5"));
    assert!(verify(&["inc.json", "--checkpoint", "b"]).contains("proof ok"), "a bundle is a signed checkpoint too");
    let out = verify(&["con.json", "--old-checkpoint", "cp3.json", "--checkpoint", "cp8.json"]);
    assert!(out.contains("the tree of size 3"), "{out}");

    // Against the wrong checkpoint, and with a tampered path.
    fails_with(d, &["audit", "verify-proof", "inc.json", "--checkpoint", "cp3.json"], "proof_invalid");
    let mut inc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("inc.json")).expect("read")).expect("json");
    let first = inc["path"][0].as_str().expect("hash").to_owned();
    let flipped = format!("{}{}", if first.starts_with('0') { "1" } else { "0" }, &first[1..]);
    inc["path"][0] = flipped.into();
    std::fs::write(d.join("bad-inc.json"), serde_json::to_vec(&inc).expect("json")).expect("write");
    let err = fails_with(d, &["audit", "verify-proof", "bad-inc.json", "--checkpoint", "cp8.json"], "proof_invalid");
    assert!(err.contains("does not match"), "{err}");
    let mut con: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("con.json")).expect("read")).expect("json");
    con["old_size"] = 4.into();
    std::fs::write(d.join("bad-con.json"), serde_json::to_vec(&con).expect("json")).expect("write");
    fails_with(d, &["audit", "verify-proof", "bad-con.json"], "proof_invalid");
    // A checkpoint whose root was edited no longer carries a valid signature.
    let text = std::fs::read_to_string(d.join("cp8.json")).expect("read");
    let edited = text.replace(&format!("\"tree_size\": {n}"), &format!("\"tree_size\": {}", n + 1));
    assert_ne!(text, edited);
    std::fs::write(d.join("cp8.json"), edited).expect("write");
    fails_with(d, &["audit", "verify-proof", "inc.json", "--checkpoint", "cp8.json"], "bad_signature");
}

#[test]
fn csv_has_one_row_per_leg_and_control_totals() {
    let (dir, url, _) = demo();
    let d = dir.path();
    ok(d, &["--database-url", &url, "--ledger", "demo", "export", "bundle", "--key", "ledger.key", "--out", "b"]);
    let expected = bundle_legs(&d.join("b"));
    let csv = ok(d, &["--database-url", &url, "--ledger", "demo", "export", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seq,effective_date,recorded_at,entry_type,kind,leg_no,account"));
    let legs = lines.iter().filter(|l| !l.starts_with("seq") && !l.starts_with("TOTAL")).count();
    assert_eq!(legs, expected.len(), "one row per leg of the demo entries");
    // Control total: debits equal credits.
    let total = lines.iter().find(|l| l.starts_with("TOTAL,,,,control_total,,,,posted,")).expect("posted total");
    let cols: Vec<&str> = total.split(',').collect();
    assert_eq!(cols[9], cols[10], "{total}");
    assert_ne!(cols[9], "0.00");
    let scoped = ok(d, &["--database-url", &url, "--ledger", "demo", "export", "csv", "--scope-prefix", "income:"]);
    let income_legs = expected.iter().filter(|(a, _)| a.starts_with("income:")).count();
    assert!(income_legs > 0);
    assert_eq!(scoped.lines().filter(|l| l.contains(",income:")).count(), income_legs, "{scoped}");
}

/// A virtualenv with beancount from PyPI, under the target directory.
/// `None` (after a NOTICE) when it cannot be installed, unless CI=true.
fn bean_check() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("beancount-venv");
    let bin = venv.join("bin/bean-check");
    if bin.exists() {
        return Some(bin);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let step = |cmd: &mut Command| cmd.status().map(|s| s.success()).unwrap_or(false);
    let installed = step(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        && step(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "beancount"]))
        && bin.exists();
    if installed {
        return Some(bin);
    }
    assert!(!ci, "CI=true: beancount must install (python3 -m venv + pip install beancount)");
    eprintln!("NOTICE: could not install beancount from PyPI; skipping the bean-check test");
    None
}

#[test]
fn bean_check_accepts_the_demo_ledger_export() {
    let (dir, url, _) = demo();
    let d = dir.path();
    let out = ok(d, &["--database-url", &url, "--ledger", "demo", "export", "beancount", "--out", "demo.beancount"]);
    assert!(out.contains(" transactions"), "{out}");
    ok(
        d,
        &[
            "--database-url",
            &url,
            "--ledger",
            "demo",
            "export",
            "beancount",
            "--include-memo",
            "--out",
            "memo.beancount",
        ],
    );
    ok(
        d,
        &[
            "--database-url",
            &url,
            "--ledger",
            "demo",
            "export",
            "beancount",
            "--from-seq",
            "5",
            "--out",
            "late.beancount",
        ],
    );
    let text = std::fs::read_to_string(d.join("demo.beancount")).expect("read");
    assert!(text.contains("balance Assets:Facility:F1:Principal  0.00 USD"), "{text}");
    assert!(text.contains("balance Income:Northbank:Interest:Usd"), "{text}");
    assert!(!text.contains("Memo"), "memo book left out by default");
    let Some(bean_check) = bean_check() else { return };
    for file in ["demo.beancount", "memo.beancount", "late.beancount"] {
        let out = Command::new(&bean_check).arg(d.join(file)).output().expect("run bean-check");
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "bean-check {file}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(d.join(file)).unwrap_or_default()
        );
    }
}
