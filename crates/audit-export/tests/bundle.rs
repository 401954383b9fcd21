//! Bundles verify offline, and any change to them is found and located.

mod support;

use std::path::{Path, PathBuf};

use offtake_audit_export::format::{Manifest, ENTRIES_FILE};
use offtake_audit_export::{export_bundle, verify_bundle, AuditError, BundleOptions, PeriodSpec};
use support::{dated_transfer, fixture, Fixture};

fn options(f: &Fixture, out: &str) -> BundleOptions {
    BundleOptions {
        ledger: f.ledger.clone(),
        period: PeriodSpec::default(),
        scope_prefix: None,
        out_dir: f.path(out),
        documents_dir: Some(f.docs_dir.clone()),
        document_keys: Some(f.doc_keys.clone()),
    }
}

async fn export(f: &Fixture, opts: &BundleOptions) -> (PathBuf, Manifest) {
    let manifest = export_bundle(&f.store, &f.key, opts).await.expect("export");
    (opts.out_dir.clone(), manifest)
}

fn verify(f: &Fixture, dir: &Path) -> Result<offtake_audit_export::VerifyReport, AuditError> {
    verify_bundle(dir, Some(&f.key.public_key()))
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).expect("read dir") {
            let p = item.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read").lines().map(str::to_owned).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
}

#[tokio::test]
async fn whole_ledger_bundle_verifies_with_documents() {
    let f = fixture(3).await;
    let (dir, manifest) = export(&f, &options(&f, "bundle")).await;
    let report = verify(&f, &dir).expect("bundle verifies");
    assert!(report.key_pinned);
    assert_eq!(report.entries, 18);
    assert_eq!(report.period_entries, 18);
    assert_eq!(report.accounts, 13);
    assert_eq!(report.documents, 2, "both referenced documents are included");
    assert_eq!(report.documents_missing, 0);
    assert_eq!(manifest.chain.before.seq, 0);
    assert_eq!(manifest.merkle.after.tree_size, 18);
    let usd = &manifest.control_totals["USD"]["posted"];
    assert_eq!(usd.debit_minor, usd.credit_minor, "posted USD legs balance");
    let unpinned = verify_bundle(&dir, None).expect("verifies unpinned");
    assert!(!unpinned.key_pinned);
}

#[tokio::test]
async fn export_refuses_a_non_empty_output_directory() {
    let f = fixture(0).await;
    let opts = options(&f, "bundle");
    export(&f, &opts).await;
    let err = export_bundle(&f.store, &f.key, &opts).await.unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

#[tokio::test]
async fn changing_any_byte_of_any_file_fails_verification() {
    const SAMPLES: usize = 100;
    let f = fixture(1).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let files = files_of(&dir);
    assert!(files.len() >= 6, "{files:?}");
    let mut checked = 0;
    for path in &files {
        let original = std::fs::read(path).expect("read");
        // Every byte of small files; evenly spread bytes (first and last
        // included) of larger ones, to keep the debug-mode test quick.
        let n = original.len();
        let positions: Vec<usize> =
            if n <= SAMPLES { (0..n).collect() } else { (0..SAMPLES).map(|k| k * (n - 1) / (SAMPLES - 1)).collect() };
        for i in positions {
            let mut bytes = original.clone();
            bytes[i] ^= 0x01;
            std::fs::write(path, &bytes).expect("write");
            let result = verify(&f, &dir);
            assert!(result.is_err(), "flipping byte {i} of {} went unnoticed", path.display());
            checked += 1;
        }
        std::fs::write(path, &original).expect("restore");
    }
    verify(&f, &dir).expect("restored bundle verifies again");
    assert!(checked > 600, "bytes of every file were tried ({checked})");
}

#[tokio::test]
async fn an_edited_amount_is_reported_with_file_line_and_hashes() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let path = dir.join(ENTRIES_FILE);
    let mut l = lines(&path);
    l[5] = l[5].replacen("\"amount_minor\":\"80000\"", "\"amount_minor\":\"80001\"", 1);
    assert!(l[5].contains("80001"), "fixture line 6 is the fee: {}", l[5]);
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "entry_hash_mismatch", "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("entries.jsonl line 6: entry 6 hash is "), "{msg}");
    assert!(msg.contains("recomputed"), "{msg}");
}

#[tokio::test]
async fn dropping_an_entry_is_reported_as_missing() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let path = dir.join(ENTRIES_FILE);
    let mut l = lines(&path);
    l.remove(3);
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "chain_broken");
    assert_eq!(
        err.to_string(),
        "entries.jsonl line 4: chain broken: expected entry 4, found entry 5: entry 4 is missing"
    );
}

#[tokio::test]
async fn dropping_the_last_entry_is_reported_against_the_manifest() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let path = dir.join(ENTRIES_FILE);
    let mut l = lines(&path);
    l.pop();
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "chain_broken");
    assert!(err.to_string().contains("the period ends at entry 14, the manifest's chain.after is entry 15"), "{err}");
}

#[tokio::test]
async fn reordering_entries_is_reported() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let path = dir.join(ENTRIES_FILE);
    let mut l = lines(&path);
    l.swap(6, 7);
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "chain_broken");
    assert!(
        err.to_string().starts_with("entries.jsonl line 7: chain broken: expected entry 7, found entry 8"),
        "{err}"
    );
}

#[tokio::test]
async fn editing_a_closing_balance_is_reported_for_that_account() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let path = dir.join("accounts.jsonl");
    let mut l = lines(&path);
    let idx = l.iter().position(|x| x.contains("\"account\":\"income:l1:fees\"")).expect("fees account");
    let mut v: serde_json::Value = serde_json::from_str(&l[idx]).expect("json");
    // A consistent-looking edit: totals and the derived balance agree.
    v["closing"]["posted_credit_minor"] = "99999".into();
    v["closing"]["posted"] = "987.65".into();
    l[idx] = String::from_utf8(serde_json_canonicalizer::to_vec(&v).expect("jcs")).expect("utf8");
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "balance_mismatch", "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "accounts.jsonl line {}: account income:l1:fees: closing posted_credit_minor is 99999, but opening + \
             movements = 81234",
            idx + 1
        )
    );

    // Editing only the derived text is caught on the line itself.
    let mut v: serde_json::Value = serde_json::from_str(&l[idx]).expect("json");
    v["closing"]["posted_credit_minor"] = "81234".into();
    l[idx] = String::from_utf8(serde_json_canonicalizer::to_vec(&v).expect("jcs")).expect("utf8");
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "balance_mismatch");
    assert!(err.to_string().contains("closing posted balance reads 987.65 but its totals give 800.00"), "{err}");
}

#[tokio::test]
async fn a_bundle_signed_by_another_key_is_untrusted() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let other = offtake_audit_export::LedgerKey::generate(&f.path("other.key")).expect("key");
    let err = verify_bundle(&dir, Some(&other.public_key())).unwrap_err();
    assert_eq!(err.code(), "untrusted_key");
}

#[tokio::test]
async fn extra_and_missing_files_are_reported() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    std::fs::write(dir.join("notes.txt"), "hello").expect("write");
    assert_eq!(verify(&f, &dir).unwrap_err().code(), "unexpected_file");
    std::fs::remove_file(dir.join("notes.txt")).expect("rm");
    let doc = files_of(&dir.join("documents")).into_iter().find(|p| !p.ends_with("keys.json")).expect("a document");
    std::fs::remove_file(&doc).expect("rm");
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "missing_file");
    assert!(err.to_string().starts_with("documents/"), "{err}");
}

#[tokio::test]
async fn a_period_in_the_middle_of_the_chain_verifies_and_extends_the_checkpoint() {
    let f = fixture(4).await;
    let (_, whole) = export(&f, &options(&f, "whole")).await;
    let mut opts = options(&f, "middle");
    opts.period = PeriodSpec { from_seq: Some(6), to_seq: Some(12), ..PeriodSpec::default() };
    let (dir, manifest) = export(&f, &opts).await;
    let report = verify(&f, &dir).expect("middle period verifies");
    assert_eq!((report.first_seq, report.last_seq, report.entries), (6, 12, 7));
    assert_eq!(manifest.chain.before.seq, 5);
    assert_eq!(manifest.merkle.before.tree_size, 5);
    assert_eq!(manifest.merkle.after.tree_size, 12);
    // The opening balances are not zero: they carry entries 1..=5.
    let accounts = lines(&dir.join("accounts.jsonl"));
    assert!(accounts.iter().any(|l| l.contains("\"account\":\"cash:lender:l1\"") && l.contains("\"as_of_seq\":5")));
    // A later period's start checkpoint is a prefix of the whole ledger's tree.
    let mut tail = options(&f, "tail");
    tail.period = PeriodSpec { from_seq: Some(whole.merkle.after.tree_size as i64 + 1), ..PeriodSpec::default() };
    let (tail_dir, tail_manifest) = export(&f, &tail).await;
    assert_eq!(tail_manifest.merkle.before, whole.merkle.after, "an empty later period starts at the checkpoint");
    assert_eq!(verify(&f, &tail_dir).expect("empty period verifies").entries, 0);
}

#[tokio::test]
async fn a_scoped_bundle_holds_only_the_facility_and_still_checks_the_chain() {
    let f = fixture(2).await;
    let mut opts = options(&f, "f1");
    opts.scope_prefix = Some("facility:f1:".into());
    let (dir, manifest) = export(&f, &opts).await;
    let report = verify(&f, &dir).expect("scoped bundle verifies");
    assert_eq!(report.accounts, 3);
    assert_eq!(report.period_entries, 17);
    assert!(report.entries < report.period_entries && report.entries >= 8, "{report:?}");
    assert_eq!(report.documents, 1, "only the advance request touches facility f1");
    assert!(manifest.verifiable.contains("Entries left out cannot be inspected"));
    for l in lines(&dir.join("accounts.jsonl")) {
        assert!(l.contains("\"account\":\"facility:f1:"), "{l}");
    }

    // Leaving one more entry out breaks opening + movements = closing.
    let path = dir.join(ENTRIES_FILE);
    let mut l = lines(&path);
    let idx = l.iter().position(|x| x.contains("\"kind\":\"interest_accrual\"")).expect("interest entry");
    l.remove(idx);
    write_lines(&path, &l);
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "balance_mismatch", "{err}");
    assert!(err.to_string().contains("account facility:f1:interest: closing posted_debit_minor is 240000"), "{err}");
}

#[tokio::test]
async fn a_tampered_document_is_reported() {
    let f = fixture(0).await;
    let (dir, _) = export(&f, &options(&f, "bundle")).await;
    let doc = files_of(&dir.join("documents")).into_iter().find(|p| !p.ends_with("keys.json")).expect("a document");
    let mut env: serde_json::Value = serde_json::from_slice(&std::fs::read(&doc).expect("read")).expect("json");
    env["signatures"][0]["keyid"] = "someone-else".into();
    std::fs::write(&doc, serde_json::to_vec(&env).expect("json")).expect("write");
    let err = verify(&f, &dir).unwrap_err();
    assert_eq!(err.code(), "document_invalid");
    assert!(err.to_string().contains("unknown key id \"someone-else\""), "{err}");
}

#[tokio::test]
async fn without_documents_the_references_are_counted_as_missing() {
    let f = fixture(0).await;
    let mut opts = options(&f, "nodocs");
    opts.documents_dir = None;
    opts.document_keys = None;
    let (dir, _) = export(&f, &opts).await;
    let report = verify(&f, &dir).expect("verifies");
    assert_eq!((report.documents, report.documents_missing), (0, 2));
}

#[tokio::test]
async fn recorded_date_periods_select_entries_by_recorded_day() {
    use offtake_ledger::LedgerStore;
    let f = fixture(0).await;
    let first = f.store.entries(&f.ledger, 0, 1).await.expect("entries").remove(0);
    let last = f.store.entries(&f.ledger, 14, 1).await.expect("entries").remove(0);
    let day = |us: i64| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).expect("time").date();
    let (d0, d1) = (day(first.recorded_at_us), day(last.recorded_at_us));
    let cases = [
        (PeriodSpec { recorded_from: Some(d0), recorded_to: Some(d1), ..PeriodSpec::default() }, 15),
        (PeriodSpec { recorded_from: d1.next_day(), ..PeriodSpec::default() }, 0),
        (PeriodSpec { recorded_to: d0.previous_day(), ..PeriodSpec::default() }, 0),
        (PeriodSpec { recorded_from: Some(d0), from_seq: Some(3), to_seq: Some(9), ..PeriodSpec::default() }, 7),
    ];
    for (i, (period, want)) in cases.into_iter().enumerate() {
        let mut opts = options(&f, &format!("p{i}"));
        opts.period = period;
        let (dir, manifest) = export(&f, &opts).await;
        assert_eq!(manifest.counts.entries, want, "case {i}: {period:?}");
        assert_eq!(manifest.period.basis, "recorded_at");
        verify(&f, &dir).expect("verifies");
    }
    let mut bad = options(&f, "bad");
    bad.period = PeriodSpec { recorded_from: d1.next_day(), recorded_to: Some(d0), ..PeriodSpec::default() };
    assert_eq!(export_bundle(&f.store, &f.key, &bad).await.unwrap_err().code(), "invalid_input");
}

#[tokio::test]
async fn effective_date_periods_span_the_chain_from_the_first_to_the_last_entry_effective_in_them() {
    use time::macros::date;
    // Entries 1..=15 are effective 2026-01-05; then one effective in
    // February, one back-dated to January, one in March.
    let f = fixture(0).await;
    assert_eq!(dated_transfer(&f, "feb", date!(2026 - 02 - 10)).await, 16);
    assert_eq!(dated_transfer(&f, "jan-late", date!(2026 - 01 - 20)).await, 17);
    assert_eq!(dated_transfer(&f, "mar", date!(2026 - 03 - 01)).await, 18);
    let period = |from, to| PeriodSpec { from, to, ..PeriodSpec::default() };
    let cases = [
        (period(Some(date!(2026 - 02 - 01)), Some(date!(2026 - 02 - 28))), (16, 16)),
        (period(Some(date!(2026 - 01 - 06)), Some(date!(2026 - 02 - 28))), (16, 17)),
        // Entry 16 (February) was recorded inside January's stretch of the
        // chain: a bundle is contiguous, so it is part of it.
        (period(None, Some(date!(2026 - 01 - 31))), (1, 17)),
        (period(Some(date!(2026 - 03 - 01)), None), (18, 18)),
        (period(Some(date!(2026 - 04 - 01)), None), (19, 18)),
    ];
    for (i, (period, (first, last))) in cases.into_iter().enumerate() {
        let mut opts = options(&f, &format!("e{i}"));
        opts.period = period;
        let (dir, manifest) = export(&f, &opts).await;
        assert_eq!((manifest.period.first_seq, manifest.period.last_seq), (first, last), "case {i}: {period:?}");
        assert_eq!(manifest.period.basis, "effective_date");
        assert_eq!(manifest.period.from, period.from.map(|d| d.to_string()));
        verify(&f, &dir).expect("verifies");
    }
    let mut both = options(&f, "both");
    both.period = PeriodSpec {
        from: Some(date!(2026 - 01 - 01)),
        recorded_from: Some(date!(2026 - 01 - 01)),
        ..PeriodSpec::default()
    };
    assert_eq!(export_bundle(&f.store, &f.key, &both).await.unwrap_err().code(), "invalid_input");
}
