//! Statement import on both stores: matching into the settlement queue,
//! idempotency, conflicts, dry runs, the reconciliation queue.

mod support;

use offtake_bank::matching::Rule;
use offtake_bank::{Decision, HandMatch, ImportStatus, LineState};
use offtake_finance::InvoiceStatus;
use offtake_testkit::{on_both_stores, TestStore};
use support::*;

async fn import_matches_settles_and_queues(ts: TestStore) {
    let bank = program(&ts).await;
    let report = bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    assert_eq!((report.matched, report.queued, report.already_imported), (3, 1, 0));
    let rules: Vec<Option<Rule>> = report.statements[0]
        .lines
        .iter()
        .map(|l| match &l.decision {
            Decision::Payment(p) => Some(p.explanation.rule),
            _ => None,
        })
        .collect();
    assert_eq!(rules, [Some(Rule::InvoiceReference), None, Some(Rule::InvoiceReference), Some(Rule::InvoiceReference)]);
    let run = bank.settlement().settle_once("w").await.unwrap();
    assert_eq!((run.applied, run.suspense, run.rejected), (3, 0, 0));
    let fin = bank.finance();
    assert_eq!(fin.invoice("po-acme-2026--t1").await.unwrap().open_minor(), 15_000_000);
    // Two payments for one invoice: Globex's is paid in full.
    assert_eq!(fin.invoice("po-globex-2026--t1").await.unwrap().status, InvoiceStatus::Paid);
    // Money in the collection account: 125,000.00 arrived, the part that
    // paid the lender moved to its cash; the queued credit is not booked.
    let queue = bank.queue().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].line.amount_minor, 123_456);
    assert_books_balance(fin).await;
}

async fn the_same_file_twice_changes_nothing(ts: TestStore) {
    let bank = program(&ts).await;
    bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    bank.settlement().settle_once("w").await.unwrap();
    let before = fingerprint(&bank).await;
    let again = bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    assert_eq!((again.matched, again.queued, again.already_imported), (0, 0, 4));
    assert_eq!(again.statements[0].status, ImportStatus::AlreadyImported);
    assert_eq!(bank.settlement().settle_once("w").await.unwrap().applied, 0);
    assert_eq!(fingerprint(&bank).await, before);
}

async fn dry_run_writes_nothing_and_says_what_would_happen(ts: TestStore) {
    let bank = program(&ts).await;
    let before = fingerprint(&bank).await;
    let dry = bank.import(&fixture("camt053_north_bank.xml"), true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(fingerprint(&bank).await, before, "a dry run writes nothing");
    let real = bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    assert_eq!((dry.matched, dry.queued), (real.matched, real.queued));
    assert_eq!(dry.statements[0].lines, real.statements[0].lines);
}

async fn conflicts_and_unknown_accounts_are_refused_whole(ts: TestStore) {
    let bank = program(&ts).await;
    bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    let before = fingerprint(&bank).await;
    let xml = String::from_utf8(fixture("camt053_north_bank.xml")).unwrap();
    // Same statement id, different content.
    let changed = xml.replace("WIRE PAYMENT MARCH SAMPLES", "WIRE PAYMENT APRIL");
    let e = bank.import(changed.as_bytes(), false).await.unwrap_err();
    assert_eq!(e.code(), "statement_conflict", "{e}");
    // A later statement repeating a line with other content.
    let overlap = xml
        .replace("NB-700123456-20260405", "NB-700123456-20260406")
        .replace(">1234.56<", ">1234.50<")
        .replace(">126234.56<", ">126234.50<");
    let e = bank.import(overlap.as_bytes(), false).await.unwrap_err();
    assert_eq!(e.code(), "entry_conflict", "{e}");
    // An account nobody registered.
    let stranger = xml.replace("<Id>700123456</Id>", "<Id>999999999</Id>");
    let e = bank.import(stranger.as_bytes(), false).await.unwrap_err();
    assert_eq!(e.code(), "unknown_bank_account", "{e}");
    // A malformed file.
    let e = bank.import(&xml.as_bytes()[..xml.len() / 2], false).await.unwrap_err();
    assert_eq!(e.code(), "malformed_file", "{e}");
    // A currency nobody knows, an entity bomb, an oversize file.
    let unknown = xml.replace("Ccy=\"USD\"", "Ccy=\"XYZ\"").replace("<Ccy>USD</Ccy>", "<Ccy>XYZ</Ccy>");
    let e = bank.import(unknown.as_bytes(), false).await.unwrap_err();
    assert_eq!(e.code(), "unknown_currency", "{e}");
    let bomb = xml.replacen(
        "<Document",
        "<!DOCTYPE Document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><Document",
        1,
    );
    let e = bank.import(bomb.as_bytes(), false).await.unwrap_err();
    assert_eq!(e.code(), "xml_entity_refused", "{e}");
    let mut huge = xml.clone().into_bytes();
    huge.resize(offtake_bank::MAX_FILE_BYTES + 1, b' ');
    let e = bank.import(&huge, false).await.unwrap_err();
    assert_eq!(e.code(), "file_too_large", "{e}");
    assert_eq!(fingerprint(&bank).await, before, "refused imports write nothing");
}

async fn overlapping_statements_import_only_new_lines(ts: TestStore) {
    let bank = program(&ts).await;
    bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    // The next day's statement repeats yesterday's first credit (same
    // reference, same content) and brings a new one.
    let xml = String::from_utf8(fixture("camt053_north_bank.xml")).unwrap();
    let next = xml.replace("NB-700123456-20260405", "NB-700123456-20260406").replace("NB2604050002", "NB2604060001");
    let r = bank.import(next.as_bytes(), false).await.unwrap();
    assert_eq!((r.already_imported, r.queued), (3, 1));
    assert_eq!(bank.queue().await.unwrap().len(), 2);
}

async fn other_formats_match_by_commitment_and_payer(ts: TestStore) {
    let bank = program(&ts).await;
    for (account, file) in [("0634569870", "mt940_hausbank.sta"), ("NL91ABNA0417164300", "mt940_ing_style.sta")] {
        bank.register_account(offtake_bank::BankAccount {
            account: account.into(),
            currency: USD,
            holder: "OFFTAKE F1".into(),
            bic: None,
            purpose: offtake_bank::Purpose::Collection { facility: "f1".into() },
        })
        .await
        .unwrap();
        let r = bank.import(&fixture(file), false).await.unwrap();
        assert_eq!(r.matched, 1, "{file}: {r:?}");
    }
    let r = bank.import(&fixture("camt054_euro_bank.xml"), false).await.unwrap();
    let Decision::Payment(p) = &r.statements[0].lines[0].decision else { panic!("{r:?}") };
    assert_eq!(p.explanation.rule, Rule::CommitmentReference);
    // The return names no payout offtake sent: it waits in the queue.
    assert!(matches!(r.statements[0].lines[1].decision, Decision::Return { .. }));
    let r = bank.import(&fixture("bai2_first_us.bai"), false).await.unwrap();
    assert_eq!(r.matched, 1, "{r:?}");
    let run = bank.settlement().settle_once("w").await.unwrap();
    assert_eq!((run.applied, run.suspense, run.rejected), (4, 0, 0));
    assert_books_balance(bank.finance()).await;
}

async fn queued_credit_is_matched_by_hand_once(ts: TestStore) {
    let bank = program(&ts).await;
    bank.import(&fixture("camt053_north_bank.xml"), false).await.unwrap();
    let key = bank.queue().await.unwrap()[0].key.clone();
    let hand = |brand: &str, invoices: &[&str]| HandMatch {
        brand: brand.into(),
        facility: "f1".into(),
        invoices: invoices.iter().map(|s| s.to_string()).collect(),
        by: "ops@northbank".into(),
    };
    // Another brand's invoice answers like a missing one.
    let e = bank.match_by_hand(&key, hand("acme", &["po-globex-2026--t1"])).await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    let e = bank.match_by_hand(&key, hand("acme", &["no-such-invoice"])).await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    let done = bank.match_by_hand(&key, hand("acme", &["po-acme-2026--t1"])).await.unwrap();
    assert!(matches!(done.state, LineState::MatchedByHand { .. }));
    assert!(bank.queue().await.unwrap().is_empty());
    let e = bank.match_by_hand(&key, hand("acme", &["po-acme-2026--t1"])).await.unwrap_err();
    assert_eq!(e.code(), "invalid_state");
    assert_eq!(bank.settlement().settle_once("w").await.unwrap().applied, 4);
    assert_eq!(
        bank.finance().invoice("po-acme-2026--t1").await.unwrap().open_minor(),
        20_000_000 - 5_000_000 - 123_456
    );
}

/// The store reads the invoices a line names through the lower-cased
/// reference index: a payer's capitals still find the invoice, and a
/// commitment named in capitals finds its invoices.
async fn references_in_any_case_are_found_through_the_index(ts: TestStore) {
    let bank = program(&ts).await;
    let xml = String::from_utf8(fixture("camt053_north_bank.xml")).unwrap();
    let shouted = xml
        .replace("<Nb>po-acme-2026--t1</Nb>", "<Nb>PO-ACME-2026--T1</Nb>")
        .replace("Invoice po-globex-2026--t1 part", "Invoice (Po-Globex-2026--T1) part")
        .replace("WIRE PAYMENT MARCH SAMPLES", "WIRE PAYMENT PO-ACME-2026.");
    let r = bank.import(shouted.as_bytes(), true).await.unwrap();
    let plain = bank.import(&fixture("camt053_north_bank.xml"), true).await.unwrap();
    let rules: Vec<Option<(Rule, Vec<String>)>> = r.statements[0]
        .lines
        .iter()
        .map(|l| match &l.decision {
            Decision::Payment(p) => {
                Some((p.explanation.rule, p.allocations.iter().map(|a| a.invoice.clone()).collect()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(rules[0], Some((Rule::InvoiceReference, vec!["po-acme-2026--t1".to_owned()])));
    assert_eq!(rules[1].as_ref().map(|(rule, _)| *rule), Some(Rule::CommitmentReference));
    assert_eq!(rules[2], Some((Rule::InvoiceReference, vec!["po-globex-2026--t1".to_owned()])));
    // Lines the case change did not touch decide as before.
    assert_eq!(r.statements[0].lines[3].decision, plain.statements[0].lines[3].decision);
}

on_both_stores!(
    references_in_any_case_are_found_through_the_index,
    import_matches_settles_and_queues,
    the_same_file_twice_changes_nothing,
    dry_run_writes_nothing_and_says_what_would_happen,
    conflicts_and_unknown_accounts_are_refused_whole,
    overlapping_statements_import_only_new_lines,
    other_formats_match_by_commitment_and_payer,
    queued_credit_is_matched_by_hand_once,
);
