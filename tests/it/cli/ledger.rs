//! The `offtake` binary, driven as a user would: exit codes, stable error
//! codes on stderr, and nothing written by refused commands.

use std::path::Path;
use std::process::Output;

fn offtake(db: &Path, args: &[&str]) -> Output {
    crate::support::offtake().sqlite(db).run(args)
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = offtake(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails_with(db: &Path, args: &[&str], code: &str) {
    let out = offtake(db, args);
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{code}]")), "{args:?}: expected {code}, got {stderr}");
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cli.db");
    ok(&db, &["init"]);
    ok(&db, &["account", "create", "equity", "--currency", "USD", "--side", "credit"]);
    ok(&db, &["account", "create", "cash:a", "--currency", "USD", "--non-negative"]);
    ok(&db, &["account", "create", "cash:b", "--currency", "USD", "--non-negative"]);
    ok(&db, &["transfer", "--from", "equity", "--to", "cash:a", "--amount", "100.00", "--key", "fund"]);
    (dir, db)
}

fn head(db: &Path) -> String {
    ok(db, &["verify-chain"])
}

#[test]
fn transfer_balance_and_verify_round_trip() {
    let (_dir, db) = setup();
    let out = ok(&db, &["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "25.50", "--key", "t1"]);
    assert!(out.contains("entry 2 committed"), "{out}");
    let bal = ok(&db, &["balance", "cash:b"]);
    assert!(bal.contains("posted                     25.50"), "{bal}");
    let before = ok(&db, &["balance", "cash:b", "--as-of", "1"]);
    assert!(before.contains("posted                      0.00"), "{before}");
    let replay = ok(&db, &["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "25.50", "--key", "t1"]);
    assert!(replay.contains("replay, nothing written"), "{replay}");
    assert!(head(&db).contains("chain ok: 2 entries"));
    let list = ok(&db, &["account", "list"]);
    assert_eq!(list.lines().count(), 3);
}

#[test]
fn two_phase_from_the_cli() {
    let (_dir, db) = setup();
    ok(&db, &["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "60", "--pending", "--key", "h1"]);
    let bal = ok(&db, &["balance", "cash:a"]);
    assert!(bal.contains("available                  40.00"), "{bal}");
    ok(&db, &["post", "2", "--amount", "10.00", "--key", "p1"]);
    let bal = ok(&db, &["balance", "cash:a"]);
    assert!(bal.contains("available                  90.00"), "{bal}");
    fails_with(&db, &["void", "2", "--key", "v1"], "pending_already_posted");
}

#[test]
fn bad_input_gets_a_stable_code_and_writes_nothing() {
    let (_dir, db) = setup();
    let before = head(&db);
    let cases: &[(&[&str], &str)] = &[
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "10.001", "--key", "x"], "amount_scale"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "-5", "--key", "x"], "non_positive_amount"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "0", "--key", "x"], "non_positive_amount"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "1e3", "--key", "x"], "invalid_amount"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "NaN", "--key", "x"], "invalid_amount"),
        (
            &["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "99999999999999999999", "--key", "x"],
            "amount_out_of_range",
        ),
        (&["transfer", "--from", "cash:a", "--to", "cash:zz", "--amount", "1", "--key", "x"], "unknown_account"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "100.01", "--key", "x"], "insufficient_funds"),
        (&["transfer", "--from", "cash:a", "--to", "cash:b", "--amount", "1", "--key", "fund"], "idempotency_conflict"),
        (&["transfer", "--from", "cash:a", "--to", "'; DROP TABLE legs; --", "--amount", "1"], "invalid_input"),
        (&["account", "create", "cash:c", "--currency", "XYZ"], "unknown_currency"),
        (&["balance", "cash:nope"], "unknown_account"),
    ];
    for (args, code) in cases {
        fails_with(&db, args, code);
    }
    assert_eq!(head(&db), before, "refused commands wrote nothing");
}

#[test]
fn demo_tells_the_story_and_verifies() {
    let out = crate::support::offtake().run(&["demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The worked example of docs/financing.md, to the cent.
    for line in [
        "fees             800.00",
        "interest       2,400.00",
        "principal     46,800.00",
        "facility:f1:principal                   33,200.00",
        "signed by Acme only            → refused [missing_signature]",
        "refused [insufficient_availability]",
        "settlement worker: 1 applied",
        "chain ok",
        "bundle ok",
        "advance.funded         adv-0001 80000.00            → loomworks, northbank",
        "each party sees only its own: acme 12, globex 1, loomworks 17, northbank 13",
        // The bank scenes: payments imported from North Bank's files, one
        // matched automatically, one by hand; the payout file; clean cash.
        "matched automatically: rule invoice_reference, fields remittance.structured[0]",
        "imports 2 and 3: 4 lines already imported, 0 new",
        "(camt.054.001.08 credit notification): 0 matched, 1 for the reconciliation queue",
        "rule manual: matched by hand by ops@northbank",
        "pain.001.001.09 batch PB-20260411 written to PB-20260411.xml",
        "end-to-end id remit:f1:remit-0001: 116,744.67 to loomworks",
        "2026-04-10  700200300  statement  116,744.67  ledger cash:collection:f1  116,744.67  clean",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    let reconciled: Vec<&str> = stdout.lines().filter(|l| l.contains("ledger cash:collection:f1")).collect();
    assert_eq!(reconciled.len(), 3, "{stdout}");
    assert!(reconciled.iter().all(|l| l.ends_with("clean")), "{reconciled:?}");
    let sha = stdout.lines().find_map(|l| l.trim().strip_prefix("sha256 ")).expect("the payout file's hash");
    assert_eq!(sha.split_whitespace().next().map(str::len), Some(64), "{sha}");
}
