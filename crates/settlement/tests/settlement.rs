//! Settlement on both stores: the waterfall, partial and multi-invoice
//! payments, overpayment and credit, late charges, suspense, wrong
//! currency, replays, racing workers and crashes.

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use offtake_finance::{Finance, InvoiceStatus};
use offtake_ledger::{AmountMinor, Currency};
use offtake_settlement::{NoticeState, PaymentNotice, Settlement, Source};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;
use time::Date;

/// The program of docs/financing.md's worked example: a 200,000.00 commitment delivered on 15 March
/// (invoice due 14 April), 80,000.00 funded on 5 January at 12 % ACT/360
/// with a 1 % fee.
async fn program(ts: &TestStore) -> Settlement {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let c = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[("t1", "1000", "200.00", date!(2026 - 02 - 01)), ("t2", "500", "100.00", date!(2026 - 03 - 16))],
    );
    fin.submit_commitment(&c).await.unwrap();
    let req = request("adv", "f1", "maker-m", "80000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin.deliver("po", "t1", date!(2026 - 03 - 15)).await.unwrap();
    Settlement::new(fin)
}

fn notice(reference: &str, amount: &str, value_date: Date) -> PaymentNotice {
    PaymentNotice {
        external_ref: reference.to_owned(),
        brand: "brand-a".into(),
        facility: "f1".into(),
        currency: USD,
        amount_minor: AmountMinor::parse(amount, USD).unwrap().get(),
        value_date,
        allocations: vec![],
        source: Source::Cash,
        source_hash: None,
    }
}

async fn pay(s: &Settlement, n: PaymentNotice) -> NoticeState {
    let reference = n.external_ref.clone();
    s.enqueue(n).await.unwrap();
    s.settle_notice(&reference, "w").await.unwrap().state
}

fn fin(s: &Settlement) -> &Finance {
    s.finance()
}

async fn design_payment_applies_fees_interest_principal(ts: TestStore) {
    let s = program(&ts).await;
    let NoticeState::Applied { breakdown, .. } = pay(&s, notice("bank-1", "50000.00", date!(2026 - 04 - 05))).await
    else {
        panic!("not applied")
    };
    let parts: Vec<(&str, i64)> = breakdown.debt.iter().map(|p| (p.part.as_str(), p.amount_minor)).collect();
    assert_eq!(parts, vec![("fees", 80_000), ("interest", 240_000), ("principal", 4_680_000)]);
    assert_eq!((breakdown.remainder_minor, breakdown.overpayment_minor), (0, 0));
    assert_eq!(posted(fin(&s), "facility:f1:principal").await, 3_320_000);
    assert_eq!(posted(fin(&s), "facility:f1:interest").await, 0);
    assert_eq!(posted(fin(&s), "invoice:po--t1").await, 15_000_000);
    assert_eq!(posted(fin(&s), "cash:lender:lender-l:usd").await, 1_000_000_000 - 8_000_000 + 5_000_000);
    assert_books_balance(fin(&s)).await;
}

async fn partial_multi_invoice_overpayment_and_credit(ts: TestStore) {
    let s = program(&ts).await;
    fin(&s).deliver("po", "t2", date!(2026 - 03 - 01)).await.unwrap();
    // Invoices: po.t2 50,000 due 31 Mar; po.t1 200,000 due 14 Apr. Pay the
    // debt off first (82,000 + interest), then both invoices, and more.
    let NoticeState::Applied { breakdown, .. } = pay(&s, notice("p1", "260000.00", date!(2026 - 03 - 16))).await else {
        panic!()
    };
    let per_invoice: Vec<(&str, i64)> =
        breakdown.invoices.iter().map(|i| (i.invoice.as_str(), i.amount_minor)).collect();
    assert_eq!(per_invoice, vec![("po--t2", 5_000_000), ("po--t1", 20_000_000)]);
    assert_eq!(breakdown.overpayment_minor, 1_000_000);
    assert_eq!(posted(fin(&s), "facility:f1:principal").await, 0);
    assert_eq!(breakdown.debt_paid_minor + breakdown.remainder_minor, 25_000_000);
    assert_eq!(posted(fin(&s), "maker:maker-m:payable:usd").await, breakdown.remainder_minor);
    assert_eq!(posted(fin(&s), "brand:brand-a:credit:usd").await, 1_000_000);
    assert_eq!(fin(&s).invoice("po--t1").await.unwrap().status, InvoiceStatus::Paid);
    // A partial payment on a new invoice, then the credit covers part of the rest.
    let c2 = commitment("po2", "brand-a", "maker-m", &[("t1", "100", "300.00", date!(2026 - 03 - 01))]);
    fin(&s).submit_commitment(&c2).await.unwrap();
    fin(&s).deliver("po2", "t1", date!(2026 - 03 - 17)).await.unwrap();
    pay(&s, notice("p2", "10000.00", date!(2026 - 03 - 18))).await;
    assert_eq!(fin(&s).invoice("po2--t1").await.unwrap().open_minor(), 2_000_000);
    let used = s.apply_credit("c1", "brand-a", "f1", 1_000_000, date!(2026 - 03 - 19), Some("po2--t1")).await.unwrap();
    assert!(matches!(used.state, NoticeState::Applied { .. }), "{:?}", used.state);
    assert_eq!(posted(fin(&s), "brand:brand-a:credit:usd").await, 0);
    assert_eq!(fin(&s).invoice("po2--t1").await.unwrap().open_minor(), 1_000_000);
    // More credit than the brand has is refused, nothing booked.
    let head = fin(&s).store().head(fin(&s).ledger()).await.unwrap();
    let refused = s.apply_credit("c2", "brand-a", "f1", 100, date!(2026 - 03 - 19), Some("po2--t1")).await.unwrap();
    assert!(matches!(refused.state, NoticeState::Rejected { .. }), "{:?}", refused.state);
    assert_eq!(fin(&s).store().head(fin(&s).ledger()).await.unwrap(), head);
    // Remittance: the maker's remainders are paid out, once.
    let st = s.remittance_statement("f1").await.unwrap();
    assert_eq!(st.payable_minor, st.remainder_total_minor);
    let r = s.remit("r1", "f1", date!(2026 - 03 - 31)).await.unwrap();
    assert_eq!(r.amount_minor, st.payable_minor);
    assert_eq!(s.remit("r1", "f1", date!(2026 - 03 - 31)).await.unwrap(), r);
    assert_eq!(posted(fin(&s), "maker:maker-m:payable:usd").await, 0);
    assert_books_balance(fin(&s)).await;
}

async fn late_payment_pays_penalties_first(ts: TestStore) {
    let s = program(&ts).await;
    // Due 14 April, grace 5 days: overdue from 20 April. Paid 29 April.
    let NoticeState::Applied { breakdown, .. } = pay(&s, notice("late", "100000.00", date!(2026 - 04 - 29))).await
    else {
        panic!()
    };
    // Late fee: 1 % of 200,000 = 2,000; default interest: 80,000 × 4 % / 360
    // × 9 days (20–28 April) = 80.00.
    assert_eq!(breakdown.debt[0].part.as_str(), "penalty");
    assert_eq!(breakdown.debt[0].amount_minor, 200_000 + 8_000);
    assert_eq!(posted(fin(&s), "income:lender-l:penalty:usd").await, 208_000);
    assert_eq!(posted(fin(&s), "facility:f1:penalty").await, 0);
    assert_books_balance(fin(&s)).await;
}

async fn back_dated_invoice_books_its_late_fee_when_issued(ts: TestStore) {
    let s = program(&ts).await;
    fin(&s).accrue("f1", date!(2026 - 04 - 29)).await.unwrap();
    let before = posted(fin(&s), "facility:f1:penalty").await;
    assert!(before >= 200_000, "t1's late fee (1 % of 200,000.00) is booked: {before}");
    // t2 delivered back-dated on 16 March: due 15 April, overdue from the
    // 21st, inside days already accrued. Its late fee (1 % of 50,000.00) is
    // booked as it is issued, so a payment on the 30th meets it.
    fin(&s).deliver("po", "t2", date!(2026 - 03 - 16)).await.unwrap();
    assert_eq!(posted(fin(&s), "facility:f1:penalty").await, before + 50_000);
    assert!(fin(&s).invoice("po--t2").await.unwrap().late_fee_booked);
    // Accruing the same days again reads and books nothing.
    let again = fin(&s).accrue("f1", date!(2026 - 04 - 29)).await.unwrap();
    assert_eq!((again.days_booked, again.late_fees_minor), (0, 0));
    assert_eq!(posted(fin(&s), "facility:f1:penalty").await, before + 50_000);
    let NoticeState::Applied { breakdown, .. } = pay(&s, notice("p", "1000.00", date!(2026 - 04 - 30))).await else {
        panic!("not applied")
    };
    assert_eq!(breakdown.debt[0].part.as_str(), "penalty");
    assert!(breakdown.debt[0].amount_minor >= 100_000, "the payment goes to penalties first: {breakdown:?}");
    assert_books_balance(fin(&s)).await;
}

async fn suspense_wrong_currency_and_bad_input(ts: TestStore) {
    let s = program(&ts).await;
    let mut unknown = notice("u1", "123.45", date!(2026 - 03 - 16));
    unknown.allocations = vec![offtake_settlement::Allocation { invoice: "nope".into(), amount_minor: None }];
    assert!(matches!(pay(&s, unknown).await, NoticeState::Suspense { .. }));
    assert_eq!(posted(fin(&s), "cash:suspense:usd").await, 12_345);
    assert_eq!(s.suspense_report().await.unwrap().len(), 1);
    let head = fin(&s).store().head(fin(&s).ledger()).await.unwrap();
    let mut eur = notice("e1", "10.00", date!(2026 - 03 - 16));
    eur.currency = Currency::EUR;
    let NoticeState::Rejected { code, .. } = pay(&s, eur).await else { panic!() };
    assert_eq!(code, "currency_mismatch");
    assert_eq!(fin(&s).store().head(fin(&s).ledger()).await.unwrap(), head);
    let mut zero = notice("z1", "0.00", date!(2026 - 03 - 01));
    zero.amount_minor = 0;
    assert_eq!(s.enqueue(zero).await.unwrap_err().code(), "invalid_input");
    let bad_ref = notice("has space", "1.00", date!(2026 - 03 - 01));
    assert_eq!(s.enqueue(bad_ref).await.unwrap_err().code(), "invalid_input");
    // Same reference, other content.
    assert_eq!(s.enqueue(notice("u1", "1.00", date!(2026 - 03 - 01))).await.unwrap_err().code(), "duplicate_reference");
    assert_eq!(fin(&s).store().head(fin(&s).ledger()).await.unwrap(), head);
    assert_books_balance(fin(&s)).await;
}

async fn replayed_notification_applies_once(ts: TestStore) {
    let s = program(&ts).await;
    for _ in 0..100 {
        s.enqueue(notice("bank-42", "1000.00", date!(2026 - 03 - 16))).await.unwrap();
        s.settle_once("w").await.unwrap();
    }
    assert_eq!(fin(&s).invoice("po--t1").await.unwrap().open_minor(), 19_900_000);
    assert_eq!(fin(&s).invoice("po--t1").await.unwrap().payments.len(), 1);
    assert_books_balance(fin(&s)).await;
}

async fn racing_workers_apply_each_notice_once(ts: TestStore) {
    let s = program(&ts).await;
    for i in 0..30 {
        s.enqueue(notice(&format!("n{i:02}"), "100.00", date!(2026 - 03 - 16))).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..3 {
        let s = s.clone();
        workers.push(tokio::spawn(async move { s.settle_once(&format!("worker-{w}")).await.unwrap() }));
    }
    let mut applied = 0;
    for w in workers {
        applied += w.await.unwrap().applied;
    }
    // Whatever a racing worker skipped, a later pass finishes.
    applied += s.settle_once("sweeper").await.unwrap().applied;
    assert_eq!(applied, 30);
    let inv = fin(&s).invoice("po--t1").await.unwrap();
    assert_eq!((inv.payments.len(), inv.open_minor()), (30, 20_000_000 - 300_000));
    assert_books_balance(fin(&s)).await;
}

async fn a_crashed_worker_never_double_applies(ts: TestStore) {
    let s = program(&ts).await;
    let store = fin(&s).store().clone();
    let ledger = fin(&s).ledger().clone();
    // Worker A claims and plans, commits, and dies before recording it.
    s.enqueue(notice("crash-after", "1000.00", date!(2026 - 03 - 16))).await.unwrap();
    let plan = s.claim_and_plan("crash-after", "a").await.unwrap().unwrap();
    store.commit(&ledger, plan.command.clone()).await.unwrap();
    // Worker B claims and plans, and dies before committing.
    s.enqueue(notice("crash-before", "2000.00", date!(2026 - 03 - 16))).await.unwrap();
    s.claim_and_plan("crash-before", "b").await.unwrap().unwrap();
    // Their leases run out.
    for reference in ["crash-after", "crash-before"] {
        let rec = store.get_record(&ledger, offtake_settlement::notice::NOTICE_KIND, reference).await.unwrap().unwrap();
        let mut body = rec.body.clone();
        body["state"]["claimed_at_us"] = 0.into();
        store
            .put_record(&ledger, offtake_settlement::notice::NOTICE_KIND, reference, rec.version, &body)
            .await
            .unwrap();
    }
    let head_before = store.head(&ledger).await.unwrap().seq;
    let report = s.settle_once("c").await.unwrap();
    assert_eq!(report.applied, 2);
    // Only crash-before's entry is new; crash-after's commit was replayed.
    let new: Vec<_> = store.entries(&ledger, head_before, 100).await.unwrap();
    let payments: Vec<_> = new.iter().filter(|e| e.kind == "payment").collect();
    assert_eq!(payments.len(), 1, "{:?}", new.iter().map(|e| &e.idempotency_key).collect::<Vec<_>>());
    assert_eq!(payments[0].idempotency_key, "payment:crash-before");
    assert_eq!(fin(&s).invoice("po--t1").await.unwrap().open_minor(), 20_000_000 - 300_000);
    assert_books_balance(fin(&s)).await;
}

/// A claim holds a notice for `LEASE_US` by the service's clock: other
/// workers skip it until then, and take it over after.
async fn a_lease_runs_out_by_the_service_clock(ts: TestStore) {
    fn after_the_lease() -> i64 {
        offtake_ledger::date::now_us() + offtake_settlement::service::LEASE_US + 1
    }
    let s = program(&ts).await;
    s.enqueue(notice("leased", "1000.00", date!(2026 - 03 - 16))).await.unwrap();
    s.claim_and_plan("leased", "a").await.unwrap().unwrap();
    let held = s.settle_once("b").await.unwrap();
    assert_eq!((held.applied, held.skipped), (0, 1));
    let later = s.clone().with_clock(after_the_lease);
    let taken = later.settle_once("c").await.unwrap();
    assert_eq!((taken.applied, taken.skipped), (1, 0));
    assert!(matches!(s.notice("leased").await.unwrap().state, NoticeState::Applied { .. }));
    assert_books_balance(fin(&s)).await;
}

/// Issue 18, rule 7. Interest is accrued through 14 April (100 days on
/// 80,000: 2,666.67), then a 50,000.00 payment arrives valued 5 April:
/// fees 800.00, interest 2,666.67, principal 46,533.33 → 33,466.67 left.
/// Exact interest on the true path: 90 days on 80,000 = 2,400.00, plus 10
/// days (5–14 April) on 33,466.67 at 11.1555567 a day = 111.555567: total
/// 2,511.55557 → 2,511.56. The 155.11 booked too much was already paid, so
/// it comes off principal from 15 April: 33,311.56.
async fn back_valued_payment_reaccrues(ts: TestStore) {
    let s = program(&ts).await;
    let f = fin(&s);
    let head = f.store().head(f.ledger()).await.unwrap();
    let refused = f.accrue_until("f1", date!(2026 - 04 - 15), date!(2026 - 04 - 14)).await.unwrap_err();
    assert_eq!(refused.code(), "future_date");
    assert_eq!(f.store().head(f.ledger()).await.unwrap(), head);
    let r = f.accrue_until("f1", date!(2026 - 04 - 14), date!(2026 - 04 - 14)).await.unwrap();
    assert_eq!(r.interest_total_minor, 266_667);
    let NoticeState::Applied { breakdown, .. } = pay(&s, notice("bank-bv", "50000.00", date!(2026 - 04 - 05))).await
    else {
        panic!("not applied")
    };
    let parts: Vec<(&str, i64)> = breakdown.debt.iter().map(|p| (p.part.as_str(), p.amount_minor)).collect();
    assert_eq!(parts, vec![("fees", 80_000), ("interest", 266_667), ("principal", 4_653_333)]);
    assert_eq!(posted(f, "income:lender-l:interest:usd").await, 251_156);
    assert_eq!(posted(f, "facility:f1:interest").await, 0);
    assert_eq!(posted(f, "facility:f1:principal").await, 3_331_156);
    assert_eq!(f.facility("f1").await.unwrap().interest_booked_minor, 251_156);
    // Re-accruing again books nothing.
    let head = f.store().head(f.ledger()).await.unwrap();
    assert_eq!(f.reaccrue("f1").await.unwrap().interest_adjustment_minor, 0);
    assert_eq!(f.store().head(f.ledger()).await.unwrap(), head);
    // 15 April accrues on 33,311.56: 11.1038533 a day; cumulative exact
    // 2,522.65942 → 2,522.66.
    f.accrue_until("f1", date!(2026 - 04 - 15), date!(2026 - 04 - 15)).await.unwrap();
    assert_eq!(posted(f, "income:lender-l:interest:usd").await, 252_266);
    assert_books_balance(f).await;
}

/// After it is queued, a notice settled at once costs one durable
/// transaction: one commit holding the payment's entry, the invoices'
/// payments and the notice's final state (the same commit time on all
/// three records), which expects the notice as queued and so is its claim.
async fn a_notice_commits_with_its_entry_and_invoices(ts: TestStore) {
    let s = program(&ts).await;
    fin(&s).deliver("po", "t2", date!(2026 - 03 - 01)).await.unwrap();
    let NoticeState::Applied { seq, breakdown } = pay(&s, notice("p1", "260000.00", date!(2026 - 03 - 16))).await
    else {
        panic!("not applied")
    };
    let (store, ledger) = (fin(&s).store(), fin(&s).ledger());
    let versions = store.record_history(ledger, "payment_notice", "p1").await.unwrap();
    assert_eq!(versions.len(), 2, "queued, final: {versions:?}");
    let last = versions.last().unwrap();
    assert_eq!(store.entry(ledger, seq).await.unwrap().idempotency_key, "payment:p1");
    assert_eq!(breakdown.invoices.len(), 2);
    for inv in &breakdown.invoices {
        let record = store.get_record(ledger, "invoice", &inv.invoice).await.unwrap().unwrap();
        assert_eq!(record.recorded_at_us, last.recorded_at_us, "{} paid in the notice's commit", inv.invoice);
    }
    assert_books_balance(fin(&s)).await;
}

/// Every write moves one of the two chain heads (entries, record versions).
async fn heads(s: &Settlement) -> (i64, i64) {
    let (store, ledger) = (fin(s).store(), fin(s).ledger());
    (store.head(ledger).await.unwrap().seq, store.record_head(ledger).await.unwrap().seq)
}

async fn a_set_of_notices_queues_as_one_and_replays(ts: TestStore) {
    let s = program(&ts).await;
    let set: Vec<PaymentNotice> =
        (0..5).map(|i| notice(&format!("file-{i}"), "10.00", date!(2026 - 03 - 16))).collect();
    let before = heads(&s).await;
    let queued = s.enqueue_many(set.clone()).await.unwrap();
    assert_eq!(queued.iter().map(|r| r.notice.clone()).collect::<Vec<_>>(), set);
    assert_eq!(heads(&s).await, (before.0, before.1 + 5), "five record versions, no entry");
    // The same file again, and a file with one new notice among replays.
    let after = heads(&s).await;
    assert_eq!(s.enqueue_many(set.clone()).await.unwrap(), queued);
    assert_eq!(heads(&s).await, after, "a replayed set writes nothing");
    let mut grown = set.clone();
    grown.push(notice("file-5", "10.00", date!(2026 - 03 - 16)));
    let answered = s.enqueue_many(grown.clone()).await.unwrap();
    assert_eq!(answered[..5], queued[..]);
    assert_eq!(answered[5].notice, grown[5]);
    assert_eq!(heads(&s).await, (after.0, after.1 + 1), "only the new notice is written");
    s.settle_once("w").await.unwrap();
    for n in &grown {
        assert!(matches!(s.notice(&n.external_ref).await.unwrap().state, NoticeState::Applied { .. }));
    }
    assert_books_balance(fin(&s)).await;
}

async fn a_refused_set_of_notices_writes_nothing(ts: TestStore) {
    let s = program(&ts).await;
    s.enqueue(notice("held", "10.00", date!(2026 - 03 - 16))).await.unwrap();
    let before = heads(&s).await;
    let fresh = notice("fresh", "10.00", date!(2026 - 03 - 16));
    // A held reference with other content, after a new one.
    let reused = vec![fresh.clone(), notice("held", "11.00", date!(2026 - 03 - 16))];
    assert_eq!(s.enqueue_many(reused).await.unwrap_err().code(), "duplicate_reference");
    // One reference twice in the set; a bad notice among good ones.
    let twice = vec![fresh.clone(), fresh.clone()];
    assert_eq!(s.enqueue_many(twice).await.unwrap_err().code(), "invalid_input");
    let mut zero = notice("zero", "0.00", date!(2026 - 03 - 16));
    zero.amount_minor = 0;
    assert_eq!(s.enqueue_many(vec![fresh, zero]).await.unwrap_err().code(), "invalid_input");
    assert_eq!(heads(&s).await, before, "a refused set writes nothing");
    assert!(s.notice("fresh").await.is_err());
}

on_both_stores!(
    a_notice_commits_with_its_entry_and_invoices,
    back_valued_payment_reaccrues,
    design_payment_applies_fees_interest_principal,
    partial_multi_invoice_overpayment_and_credit,
    late_payment_pays_penalties_first,
    back_dated_invoice_books_its_late_fee_when_issued,
    suspense_wrong_currency_and_bad_input,
    replayed_notification_applies_once,
    racing_workers_apply_each_notice_once,
    a_crashed_worker_never_double_applies,
    a_lease_runs_out_by_the_service_clock,
    a_set_of_notices_queues_as_one_and_replays,
    a_refused_set_of_notices_writes_nothing,
);
