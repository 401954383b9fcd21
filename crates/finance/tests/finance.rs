//! The finance domain on both stores.

mod support;

use offtake_finance::{AdvanceStatus, Eligibility, FinanceError, PartyRole, TrancheStatus};
use offtake_ledger::AmountMinor;
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;

fn code_of<T: std::fmt::Debug>(r: Result<T, FinanceError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

/// The worked example of docs/financing.md, to the cent, in both day counts: 80,000.00
/// funded on 5 January at 12 % with a 1 % fee; 90 days of interest.
async fn worked_example_interest_and_fee(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    for (facility, maker, day_count, expected_interest) in [
        ("f360", "maker-m", offtake_finance::DayCount::Act360, 240_000),
        ("f365", "maker-n", offtake_finance::DayCount::Act365F, 236_712),
    ] {
        let mut t = terms(50_000_000);
        t.day_count = day_count;
        open_accepted(&fin, facility, "lender-l", maker, t, date!(2026 - 01 - 01)).await.unwrap();
        let c =
            commitment(&format!("po-{maker}"), "brand-a", maker, &[("t1", "1000", "200.00", date!(2026 - 02 - 01))]);
        fin.submit_commitment(&c).await.unwrap();
        let req = request(&format!("adv-{facility}"), facility, maker, "80000.00", "2026-01-05T10:00:00Z");
        let adv = fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
        assert_eq!(adv.status, AdvanceStatus::Pending);
        let ok =
            fin.decide_advance(&approval(&req, facility, "lender-l", "approve", "2026-01-05T12:00:00Z")).await.unwrap();
        assert_eq!((ok.status, ok.fee_minor), (AdvanceStatus::Funded, 80_000));
        let report = fin.accrue(facility, date!(2026 - 04 - 04)).await.unwrap();
        assert_eq!(report.interest_total_minor, expected_interest);
        assert_eq!(posted(&fin, &format!("facility:{facility}:interest")).await, expected_interest);
        assert_eq!(posted(&fin, &format!("facility:{facility}:fees")).await, 80_000);
        assert_eq!(posted(&fin, &format!("facility:{facility}:principal")).await, 8_000_000);
    }
    assert_eq!(posted(&fin, "income:lender-l:interest:usd").await, 240_000 + 236_712);
    assert_books_balance(&fin).await;
}

async fn borrowing_base_with_brands_and_concentration(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    let mut t = terms(100_000_000);
    t.concentration_bps = 5_000;
    t.eligibility_days = 90;
    open_accepted(&fin, "f1", "lender-l", "maker-m", t, date!(2026 - 01 - 01)).await.unwrap();
    let d = date!(2026 - 02 - 01);
    fin.submit_commitment(&commitment("po-a", "brand-a", "maker-m", &[("t1", "700", "100.00", d)])).await.unwrap();
    fin.submit_commitment(&commitment(
        "po-b",
        "brand-b",
        "maker-m",
        &[("t1", "200", "100.00", d), ("late", "100", "100.00", date!(2026 - 12 - 01))],
    ))
    .await
    .unwrap();
    let a = fin.availability("f1", date!(2026 - 01 - 15)).await.unwrap();
    // Eligible: A 70,000, B 20,000 (the December tranche is too far out).
    assert_eq!(a.eligible_minor, 9_000_000);
    let late = a.tranches.iter().find(|l| l.tranche == "late").unwrap();
    assert_eq!(late.eligibility, Eligibility::TooFarOut);
    // Cap 45,000 per brand: A loses 25,000.
    let brand_a = a.brands.iter().find(|b| b.brand == "brand-a").unwrap();
    assert_eq!((brand_a.cap_minor, brand_a.excess_minor), (4_500_000, 2_500_000));
    assert_eq!(a.counted_minor, 6_500_000);
    assert_eq!(a.base_minor, 5_200_000);
    assert_eq!(a.available_minor, 5_200_000);
    // Delivering a tranche takes it out of the base and into an invoice.
    let inv = fin.deliver("po-b", "t1", date!(2026 - 02 - 03)).await.unwrap();
    assert_eq!((inv.amount_minor, inv.due_on), (2_000_000, date!(2026 - 03 - 05)));
    assert_eq!(posted(&fin, "invoice:po-b--t1").await, 2_000_000);
    let c = fin.commitment("po-b").await.unwrap();
    assert_eq!(c.tranches[0].status, TrancheStatus::Invoiced);
    // On 15 January the delivery (dated 3 February) had not happened yet.
    let a = fin.availability("f1", date!(2026 - 01 - 15)).await.unwrap();
    assert_eq!(a.eligible_minor, 9_000_000);
    // From 3 February the tranche is delivered and its invoice, not yet
    // due, counts as a receivable instead: the same 20,000 from brand B.
    let a = fin.availability("f1", date!(2026 - 02 - 03)).await.unwrap();
    let line = a.tranches.iter().find(|l| l.commitment == "po-b" && l.tranche == "t1").unwrap();
    assert_eq!((line.eligibility, line.open_minor), (Eligibility::Delivered, 0));
    assert_eq!(a.receivables.len(), 1);
    assert_eq!((a.receivables[0].eligibility, a.receivables[0].eligible_minor), (Eligibility::Eligible, 2_000_000));
    assert_eq!((a.eligible_minor, a.counted_minor, a.base_minor), (9_000_000, 6_500_000, 5_200_000));
    // Delivering again returns the same invoice and books nothing.
    let head = fin.store().head(fin.ledger()).await.unwrap();
    assert_eq!(fin.deliver("po-b", "t1", date!(2026 - 02 - 03)).await.unwrap(), inv);
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    // Memo book: 10,000 still to deliver from brand B (the late tranche).
    assert_eq!(posted(&fin, "memo:brand:brand-b:obligation:usd").await, 1_000_000);
    assert_books_balance(&fin).await;
}

async fn draw_above_availability_is_refused_and_writes_nothing(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.submit_commitment(&commitment("po", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 02 - 01))]))
        .await
        .unwrap();
    // Base = 100,000 × 80 % = 80,000.
    let head = fin.store().head(fin.ledger()).await.unwrap();
    let req = request("too-much", "f1", "maker-m", "80000.01", "2026-01-05T10:00:00Z");
    assert_eq!(code_of(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await), "insufficient_availability");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    // Wrong scale, wrong maker, missing signature.
    let req = request("bad-scale", "f1", "maker-m", "10.001", "2026-01-05T10:00:00Z");
    assert_eq!(code_of(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await), "amount_scale");
    let mut req = request("unsigned", "f1", "maker-m", "10.00", "2026-01-05T10:00:00Z");
    req.signers.clear();
    assert_eq!(code_of(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await), "missing_signature");
    // Another maker's facility answers like a missing one (issue 20).
    let req = request("other-maker", "f1", "maker-n", "10.00", "2026-01-05T10:00:00Z");
    assert_eq!(code_of(fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await), "not_found");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    // Exactly the availability is fine.
    let req = request("all-of-it", "f1", "maker-m", "80000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    assert_eq!(fin.availability("f1", date!(2026 - 01 - 05)).await.unwrap().available_minor, 0);
}

async fn concurrent_draws_never_exceed_availability(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.submit_commitment(&commitment("po", "brand-a", "maker-m", &[("t1", "80", "1000.00", date!(2026 - 02 - 01))]))
        .await
        .unwrap();
    // Base = 64,000: at most six draws of 10,000.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let fin = fin.clone();
        tasks.push(tokio::spawn(async move {
            let req = request(&format!("d{i}"), "f1", "maker-m", "10000.00", "2026-01-05T10:00:00Z");
            fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) => assert_eq!(e.code(), "insufficient_availability", "{e}"),
        }
    }
    assert_eq!(accepted, 6);
    let a = fin.availability("f1", date!(2026 - 01 - 05)).await.unwrap();
    assert_eq!((a.pending_minor, a.available_minor), (6_000_000, 400_000));
    assert_books_balance(&fin).await;
}

async fn amendment_below_drawn_makes_availability_negative(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let v1 = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[("t1", "50", "1000.00", date!(2026 - 02 - 01)), ("t2", "50", "1000.00", date!(2026 - 03 - 01))],
    );
    fin.submit_commitment(&v1).await.unwrap();
    let req = request("d1", "f1", "maker-m", "70000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    // The brand cuts the order in half (a new version signed by both).
    let mut body = commitment_body("po", "brand-a", "maker-m", &[("t1", "50", "1000.00", date!(2026 - 02 - 01))]);
    body["version"] = 2.into();
    body["prev_hash"] = v1.body_hash_hex().into();
    let v2 = signed("commitment", body, vec![signer("brand-a", PartyRole::Brand), signer("maker-m", PartyRole::Maker)]);
    let c = fin.submit_commitment(&v2).await.unwrap();
    assert_eq!(c.doc_version, 2);
    assert_eq!(c.tranches.iter().find(|t| t.id == "t2").unwrap().status, TrancheStatus::Cancelled);
    assert_eq!(fin.commitment_versions("po").await.unwrap().len(), 2);
    // 50,000 × 80 % = 40,000 capacity against 70,000 drawn.
    let a = fin.availability("f1", date!(2026 - 01 - 10)).await.unwrap();
    assert_eq!(a.available_minor, -3_000_000);
    // Drawn above capacity is an overadvance (30,000 short): draws are
    // refused for that reason until collateral or repayments cover it.
    assert_eq!((a.overadvanced, a.overadvance_minor), (true, 3_000_000));
    let req = request("d2", "f1", "maker-m", "0.01", "2026-01-10T10:00:00Z");
    assert_eq!(code_of(fin.request_advance(&req, now("2026-01-10T10:00:00Z")).await), "overadvanced");
    // The shortfall: 10 % of the 50,000 dropped, invoiced to the brand.
    let inv = fin.invoice("po--shortfall-v2").await.unwrap();
    assert_eq!(inv.amount_minor, 500_000);
    // The memo book follows the undelivered value.
    assert_eq!(posted(&fin, "memo:maker:maker-m:backlog:usd").await, 5_000_000);
    // An amendment that does not follow the current version is refused.
    let mut body = commitment_body("po", "brand-a", "maker-m", &[("t1", "10", "1000.00", date!(2026 - 02 - 01))]);
    body["version"] = 2.into();
    body["prev_hash"] = v1.body_hash_hex().into();
    let stale =
        signed("commitment", body, vec![signer("brand-a", PartyRole::Brand), signer("maker-m", PartyRole::Maker)]);
    assert_eq!(code_of(fin.submit_commitment(&stale).await), "invalid_state");
    assert_books_balance(&fin).await;
}

async fn accrual_is_idempotent_and_catches_up_across_a_leap_year(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "daily", "lender-l", "maker-m", terms(100_000_000), date!(2027 - 12 - 01)).await.unwrap();
    open_accepted(&fin, "catchup", "lender-l", "maker-n", terms(100_000_000), date!(2027 - 12 - 01)).await.unwrap();
    for (maker, facility) in [("maker-m", "daily"), ("maker-n", "catchup")] {
        let po = format!("po-{maker}");
        fin.submit_commitment(&commitment(&po, "brand-a", maker, &[("t1", "100", "1234.57", date!(2028 - 01 - 01))]))
            .await
            .unwrap();
        let req = request(&format!("adv-{maker}"), facility, maker, "33333.33", "2027-12-20T10:00:00Z");
        fin.request_advance(&req, now("2027-12-20T10:00:00Z")).await.unwrap();
        fin.decide_advance(&approval(&req, facility, "lender-l", "approve", "2027-12-20T11:00:00Z")).await.unwrap();
    }
    let mut day = date!(2027 - 12 - 01);
    while day <= date!(2028 - 03 - 31) {
        fin.accrue("daily", day).await.unwrap();
        day = day.next_day().unwrap();
    }
    let once = fin.accrue("catchup", date!(2028 - 03 - 31)).await.unwrap();
    assert_eq!(posted(&fin, "facility:daily:interest").await, posted(&fin, "facility:catchup:interest").await);
    // 33,333.33 × 12 % / 360 × 103 days (20 Dec – 31 Mar, leap February).
    assert_eq!(once.interest_total_minor, 114_444);
    let head = fin.store().head(fin.ledger()).await.unwrap();
    let again = fin.accrue("catchup", date!(2028 - 03 - 31)).await.unwrap();
    assert_eq!((again.days_booked, again.interest_minor), (0, 0));
    let earlier = fin.accrue("catchup", date!(2028 - 02 - 29)).await.unwrap();
    assert_eq!(earlier.days_booked, 0);
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    assert_books_balance(&fin).await;
}

async fn rejection_and_expiry_release_the_hold(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.submit_commitment(&commitment("po", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 02 - 01))]))
        .await
        .unwrap();
    let r1 = request("r1", "f1", "maker-m", "30000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&r1, now("2026-01-05T10:00:00Z")).await.unwrap();
    let mut r2 = request("r2", "f1", "maker-m", "30000.00", "2026-01-05T10:00:00Z");
    r2.body["expires_at"] = "2026-01-06T00:00:00Z".into();
    r2.body_hash = offtake_ledger::hash::sha256(&serde_json::to_vec(&r2.body).unwrap());
    fin.request_advance(&r2, now("2026-01-05T10:00:00Z")).await.unwrap();
    assert_eq!(fin.availability("f1", date!(2026 - 01 - 05)).await.unwrap().available_minor, 2_000_000);
    // Only the facility's lender may decide.
    fin.register_party("lender-x", PartyRole::Lender, "Other lender").await.unwrap();
    let forged = approval(&r1, "f1", "lender-x", "approve", "2026-01-05T12:00:00Z");
    assert_eq!(code_of(fin.decide_advance(&forged).await), "missing_signature");
    let rejected =
        fin.decide_advance(&approval(&r1, "f1", "lender-l", "reject", "2026-01-05T12:00:00Z")).await.unwrap();
    assert_eq!(rejected.status, AdvanceStatus::Rejected);
    let expired = fin.expire_advances(now("2026-01-07T00:00:00Z")).await.unwrap();
    assert_eq!(expired.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["r2"]);
    assert_eq!(fin.availability("f1", date!(2026 - 01 - 07)).await.unwrap().available_minor, 8_000_000);
    // A decided advance cannot be approved afterwards.
    let late = approval(&r1, "f1", "lender-l", "approve", "2026-01-08T12:00:00Z");
    assert_eq!(code_of(fin.decide_advance(&late).await), "invalid_state");
    assert_books_balance(&fin).await;
}

async fn nonces_and_resubmission(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let c = commitment("po", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 02 - 01))]);
    let first = fin.submit_commitment(&c).await.unwrap();
    let head = fin.store().head(fin.ledger()).await.unwrap();
    // The same document again: same result, nothing new.
    assert_eq!(fin.submit_commitment(&c).await.unwrap(), first);
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    // Another document reusing the brand's nonce is a replay.
    let mut other = commitment("po2", "brand-a", "maker-m", &[("t1", "1", "1.00", date!(2026 - 02 - 01))]);
    other.body["nonce"] = c.body["nonce"].clone();
    other.body_hash = offtake_ledger::hash::sha256(&serde_json::to_vec(&other.body).unwrap());
    assert_eq!(code_of(fin.submit_commitment(&other).await), "replayed_nonce");
    // Only the brand signed: not active.
    let mut half = commitment("po3", "brand-a", "maker-m", &[("t1", "1", "1.00", date!(2026 - 02 - 01))]);
    half.signers.retain(|s| s.role == PartyRole::Brand);
    assert_eq!(code_of(fin.submit_commitment(&half).await), "missing_signature");
    assert!(fin.commitment("po3").await.is_err());
    // A bad amount in a tranche.
    let bad = commitment("po4", "brand-a", "maker-m", &[("t1", "-1", "1.00", date!(2026 - 02 - 01))]);
    assert_eq!(code_of(fin.submit_commitment(&bad).await), "invalid_input");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    let _ = AmountMinor::ZERO;
}

async fn statements_for_maker_lender_and_brand(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let c = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[("t1", "1000", "200.00", date!(2026 - 02 - 01)), ("t2", "100", "100.00", date!(2026 - 03 - 01))],
    );
    fin.submit_commitment(&c).await.unwrap();
    let req = request("adv", "f1", "maker-m", "80000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin.accrue("f1", date!(2026 - 04 - 04)).await.unwrap();
    fin.deliver("po", "t1", date!(2026 - 03 - 15)).await.unwrap();

    let m = fin.maker_statement("maker-m", date!(2026 - 04 - 04)).await.unwrap();
    let line = &m.facilities[0];
    assert_eq!((line.limit_minor, line.drawn_minor, line.pending_minor), (50_000_000, 8_000_000, 0));
    // Base: t2 (10,000, in its window) and the invoice of t1 (200,000, not
    // yet due, a receivable): 210,000 at 80 % = 168,000.
    assert_eq!((line.base_minor, line.available_minor), (16_800_000, 16_800_000 - 8_000_000));
    assert_eq!((line.interest_due_minor, line.fees_due_minor, line.penalty_due_minor), (240_000, 80_000, 0));
    assert_eq!(line.next_due[0].due_on, date!(2026 - 04 - 14));
    assert_eq!(line.next_due[0].open_minor, 20_000_000);

    let l = fin.lender_statement("lender-l", date!(2026 - 04 - 04)).await.unwrap();
    assert_eq!(l.per_maker[0].exposure_minor, 8_000_000 + 240_000 + 80_000);
    assert_eq!(l.income.get("interest:USD"), Some(&240_000));
    assert_eq!(l.income.get("fees:USD"), Some(&80_000));
    let brand = l.per_brand.iter().find(|b| b.name == "brand-a").unwrap();
    assert_eq!(brand.detail.get("open_invoices"), Some(&20_000_000));
    assert_eq!(brand.detail.get("undelivered_commitments"), Some(&1_000_000));

    let b = fin.brand_statement("brand-a").await.unwrap();
    assert_eq!(b.commitments[0].committed_minor, 21_000_000);
    assert_eq!(b.commitments[0].delivered_minor, 20_000_000);
    assert_eq!((b.invoiced_minor, b.paid_minor, b.outstanding_minor), (20_000_000, 0, 20_000_000));
    // Other roles' statements are refused for the wrong party kind.
    assert_eq!(code_of(fin.maker_statement("brand-a", date!(2026 - 04 - 04)).await), "wrong_role");
}

on_both_stores!(
    statements_for_maker_lender_and_brand,
    worked_example_interest_and_fee,
    borrowing_base_with_brands_and_concentration,
    draw_above_availability_is_refused_and_writes_nothing,
    concurrent_draws_never_exceed_availability,
    amendment_below_drawn_makes_availability_negative,
    accrual_is_idempotent_and_catches_up_across_a_leap_year,
    rejection_and_expiry_release_the_hold,
    nonces_and_resubmission,
);
