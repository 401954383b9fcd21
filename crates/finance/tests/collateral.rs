//! Collateral over time (issue 18) on both stores: the tranche lifecycle,
//! part and late deliveries, receivables with aging and cross-aging,
//! concentration over commitments and receivables together, reserves and
//! overadvance. Every expected figure is worked out in the comments.

mod support;

use offtake_finance::{
    CollateralTerms, Eligibility, FinanceError, InvoicePayment, InvoiceState, Reserve, ReserveAmount, TrancheState,
    TrancheStatus,
};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;
use time::Date;

fn code_of<T: std::fmt::Debug>(r: Result<T, FinanceError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

fn receivable_rate_70() -> CollateralTerms {
    CollateralTerms { receivable_advance_rate_bps: Some(7_000), ..CollateralTerms::default() }
}

/// t1: 100 × 100.00 = 10,000.00, window 1 Feb – 3 Mar, on time through
/// 18 March (15 grace days). t2: 50 × 100.00 = 5,000.00 from 1 April.
async fn tranche_lifecycle_part_and_late_deliveries(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let po = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[("t1", "100", "100.00", date!(2026 - 02 - 01)), ("t2", "50", "100.00", date!(2026 - 04 - 01))],
    );
    fin.submit_commitment(&po).await.unwrap();
    let state = |a: &offtake_finance::Availability, t: &str| {
        let l = a.tranches.iter().find(|l| l.tranche == t).unwrap();
        (l.state, l.open_minor, l.eligibility)
    };
    // 15 January: both scheduled, 15,000 eligible, base 12,000.
    let a = fin.availability("f1", date!(2026 - 01 - 15)).await.unwrap();
    assert_eq!(state(&a, "t1"), (TrancheState::Scheduled, 1_000_000, Eligibility::Eligible));
    assert_eq!((a.eligible_minor, a.base_minor), (1_500_000, 1_200_000));

    // 40 of 100 delivered on 10 February: 4,000.00 invoiced, due 12 March.
    let first = fin.deliver_part("po", "t1", date!(2026 - 02 - 10), Some("40")).await.unwrap();
    assert_eq!((first.id.as_str(), first.amount_minor, first.due_on), ("po--t1", 400_000, date!(2026 - 03 - 12)));
    // The open 6,000 stays in the window; the 4,000 is a receivable.
    let a = fin.availability("f1", date!(2026 - 02 - 10)).await.unwrap();
    assert_eq!(state(&a, "t1"), (TrancheState::InWindow, 600_000, Eligibility::Eligible));
    assert_eq!(a.receivables[0].eligible_minor, 400_000);
    assert_eq!((a.eligible_minor, a.base_minor), (1_500_000, 1_200_000));
    // 18 March is the last day on time; 19 March the rest is missed.
    let a = fin.availability("f1", date!(2026 - 03 - 18)).await.unwrap();
    assert_eq!(state(&a, "t1").0, TrancheState::InWindow);
    let missed = fin.availability("f1", date!(2026 - 03 - 19)).await.unwrap();
    assert_eq!(state(&missed, "t1"), (TrancheState::Missed, 600_000, Eligibility::MissedDelivery));
    assert_eq!(missed.ineligible.get("missed_delivery"), Some(&600_000));
    // The invoice is 7 days past due (overdue after 5 grace days) but not
    // aged (60): 4,000 + t2's 5,000 = 9,000 eligible, base 7,200.
    assert_eq!(missed.receivables[0].state, InvoiceState::Overdue);
    assert_eq!((missed.eligible_minor, missed.base_minor), (900_000, 720_000));

    // The rest, delivered late on 25 March, is accepted and invoiced.
    let second = fin.deliver("po", "t1", date!(2026 - 03 - 25)).await.unwrap();
    assert_eq!((second.id.as_str(), second.amount_minor), ("po--t1--2", 600_000));
    let c = fin.commitment("po").await.unwrap();
    assert_eq!((c.tranches[0].status, c.tranches[0].deliveries.len()), (TrancheStatus::Invoiced, 2));
    // 19 March recomputed afterwards is what it was on the day.
    assert_eq!(fin.availability("f1", date!(2026 - 03 - 19)).await.unwrap(), missed);
    // 25 March: 4,000 + 6,000 receivables + 5,000 of t2 = 15,000 again.
    let a = fin.availability("f1", date!(2026 - 03 - 25)).await.unwrap();
    assert_eq!(state(&a, "t1"), (TrancheState::Delivered, 0, Eligibility::Delivered));
    assert_eq!((a.eligible_minor, a.base_minor), (1_500_000, 1_200_000));
    // The memo book keeps only t2 undelivered.
    assert_eq!(posted(&fin, "memo:brand:brand-a:obligation:usd").await, 500_000);
    // Delivering the delivered tranche again answers its last invoice and
    // writes nothing; too large a part is refused and writes nothing.
    let head = fin.store().head(fin.ledger()).await.unwrap();
    assert_eq!(fin.deliver("po", "t1", date!(2026 - 03 - 26)).await.unwrap(), second);
    assert_eq!(code_of(fin.deliver_part("po", "t2", date!(2026 - 04 - 02), Some("51")).await), "invalid_input");
    assert_eq!(code_of(fin.deliver_part("po", "t2", date!(2026 - 04 - 02), Some("0")).await), "invalid_input");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    assert_books_balance(&fin).await;
}

/// A maker without a facility in the currency: the delivery is refused
/// before anything is written (no entry, no commitment version).
async fn refused_delivery_writes_nothing(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    fin.submit_commitment(&commitment("po-n", "brand-a", "maker-n", &[("t1", "10", "100.00", date!(2026 - 02 - 01))]))
        .await
        .unwrap();
    let head = fin.store().head(fin.ledger()).await.unwrap();
    let versions = fin.store().record_history(fin.ledger(), "commitment", "po-n").await.unwrap().len();
    assert_eq!(code_of(fin.deliver("po-n", "t1", date!(2026 - 02 - 05)).await), "invalid_state");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    assert_eq!(fin.store().record_history(fin.ledger(), "commitment", "po-n").await.unwrap().len(), versions);
    assert!(fin.commitment("po-n").await.unwrap().tranches[0].deliveries.is_empty());
    assert!(fin.invoices().await.unwrap().is_empty());
}

/// Receivables at 70 %. Invoices (due 30 days after delivery):
/// a-t1 10,000 due 3 Mar; a-t2 30,000 due 19 Apr; b-t1 20,000 due 3 Mar;
/// b-t2 10,000 due 1 May.
async fn receivables_age_and_cross_age(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted_with(
        &fin,
        "f1",
        "lender-l",
        "maker-m",
        terms(100_000_000),
        receivable_rate_70(),
        date!(2026 - 01 - 01),
    )
    .await
    .unwrap();
    let a = commitment(
        "po-a",
        "brand-a",
        "maker-m",
        &[("t1", "10", "1000.00", date!(2026 - 02 - 01)), ("t2", "30", "1000.00", date!(2026 - 03 - 01))],
    );
    let b = commitment(
        "po-b",
        "brand-b",
        "maker-m",
        &[("t1", "20", "1000.00", date!(2026 - 02 - 01)), ("t2", "10", "1000.00", date!(2026 - 03 - 15))],
    );
    fin.submit_commitment(&a).await.unwrap();
    fin.submit_commitment(&b).await.unwrap();
    fin.deliver("po-a", "t1", date!(2026 - 02 - 01)).await.unwrap();
    fin.deliver("po-a", "t2", date!(2026 - 03 - 20)).await.unwrap();
    fin.deliver("po-b", "t1", date!(2026 - 02 - 01)).await.unwrap();
    fin.deliver("po-b", "t2", date!(2026 - 04 - 01)).await.unwrap();
    // 2 May: the March invoices are 60 days past due, not more: all count.
    // 70,000 × 70 % = 49,000.
    let may2 = fin.availability("f1", date!(2026 - 05 - 02)).await.unwrap();
    assert!(may2.receivables.iter().all(|r| r.eligibility == Eligibility::Eligible));
    assert_eq!((may2.counted_receivables_minor, may2.base_minor), (7_000_000, 4_900_000));
    // 3 May: both March invoices are 61 days past due (aged). Brand A:
    // 10,000 of 40,000 aged (25 %), its other invoice counts. Brand B:
    // 20,000 of 30,000 aged (66.7 % > 50 %): its other invoice is
    // cross-aged. 30,000 × 70 % = 21,000.
    let may3 = fin.availability("f1", date!(2026 - 05 - 03)).await.unwrap();
    let why = |inv: &str| may3.receivables.iter().find(|r| r.invoice == inv).unwrap().eligibility;
    assert_eq!(why("po-a--t1"), Eligibility::AgedReceivable);
    assert_eq!(why("po-a--t2"), Eligibility::Eligible);
    assert_eq!(why("po-b--t1"), Eligibility::AgedReceivable);
    assert_eq!(why("po-b--t2"), Eligibility::CrossAged);
    assert_eq!(may3.ineligible.get("aged_receivable"), Some(&3_000_000));
    assert_eq!(may3.ineligible.get("cross_aged"), Some(&1_000_000));
    assert_eq!(may3.base_minor, 2_100_000);

    // Aging on 3 May: a-t2 14 days, b-t2 2 days (1–30: 40,000); b-t1 61
    // days (61–90: 20,000); a-t1 61 days (61–90: 10,000).
    let ag = fin.aging("f1", date!(2026 - 05 - 03)).await.unwrap();
    assert_eq!(
        (ag.total.current_minor, ag.total.days_1_30_minor, ag.total.days_61_90_minor),
        (0, 4_000_000, 3_000_000)
    );
    assert_eq!((ag.brands["brand-b"].days_1_30_minor, ag.brands["brand-b"].days_61_90_minor), (1_000_000, 2_000_000));
    // Brand A pays a-t1 in full with value date 1 May.
    let pay = InvoicePayment { value_date: date!(2026 - 05 - 01), amount_minor: 1_000_000, reference: "wire-1".into() };
    fin.record_invoice_payment("po-a--t1", pay).await.unwrap();
    // 2 June: b-t1 is 91 days past due (90+, defaulted); a-t2 44 and b-t2
    // 32 days (31–60); a-t1 is paid.
    let ag = fin.aging("f1", date!(2026 - 06 - 02)).await.unwrap();
    assert_eq!((ag.total.days_31_60_minor, ag.total.days_over_90_minor, ag.paid), (4_000_000, 2_000_000, 1));
    let b1 = ag.invoices.iter().find(|l| l.invoice == "po-b--t1").unwrap();
    assert_eq!((b1.days_past_due, b1.state), (91, InvoiceState::Defaulted));
    // The payment counts from its value date: on 2 May a-t1 was paid, so
    // 60,000 × 70 % = 42,000.
    assert_eq!(fin.availability("f1", date!(2026 - 05 - 02)).await.unwrap().base_minor, 4_200_000);
}

/// Concentration 50 % over commitments and receivables together. On 15
/// February: brand A has 60,000 in commitments and a 20,000 receivable,
/// brand B 20,000 in commitments; 100,000 in all, cap 50,000. Brand A's
/// 30,000 excess comes off its commitments: counted commitments 30,000 +
/// 20,000 (B) at 80 % = 40,000, receivables 20,000 at 70 % = 14,000.
async fn concentration_over_commitments_and_receivables(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    let mut t = terms(100_000_000);
    t.concentration_bps = 5_000;
    open_accepted_with(&fin, "f2", "lender-l", "maker-n", t, receivable_rate_70(), date!(2026 - 01 - 01))
        .await
        .unwrap();
    let a = commitment(
        "n1",
        "brand-a",
        "maker-n",
        &[("t1", "20", "1000.00", date!(2026 - 02 - 01)), ("t2", "60", "1000.00", date!(2026 - 03 - 01))],
    );
    fin.submit_commitment(&a).await.unwrap();
    fin.submit_commitment(&commitment("n2", "brand-b", "maker-n", &[("t1", "20", "1000.00", date!(2026 - 03 - 01))]))
        .await
        .unwrap();
    fin.deliver("n1", "t1", date!(2026 - 02 - 01)).await.unwrap();
    let av = fin.availability("f2", date!(2026 - 02 - 15)).await.unwrap();
    let brand_a = av.brands.iter().find(|b| b.brand == "brand-a").unwrap();
    assert_eq!((brand_a.eligible_minor, brand_a.cap_minor, brand_a.excess_minor), (8_000_000, 5_000_000, 3_000_000));
    assert_eq!((brand_a.counted_commitments_minor, brand_a.counted_receivables_minor), (3_000_000, 2_000_000));
    assert_eq!((av.counted_commitments_minor, av.counted_receivables_minor), (5_000_000, 2_000_000));
    assert_eq!(av.base_minor, 5_400_000);
}

/// 100,000 committed (window 1 Feb – 3 Mar, on time through 18 Mar), base
/// 80,000; 70,000 drawn on 5 January.
async fn reserves_and_overadvance(ts: TestStore) {
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    fin.submit_commitment(&commitment("po", "brand-a", "maker-m", &[("t1", "100", "1000.00", date!(2026 - 02 - 01))]))
        .await
        .unwrap();
    let req = request("d1", "f1", "maker-m", "70000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    let reserve = |name: &str, on: Date, amount| Reserve { name: name.into(), effective_on: on, amount };
    fin.set_reserve("f1", reserve("dilution", date!(2026 - 01 - 10), ReserveAmount::Percent { bps: 500 }))
        .await
        .unwrap();
    fin.set_reserve("f1", reserve("rent", date!(2026 - 01 - 20), ReserveAmount::Fixed { amount_minor: 200_000 }))
        .await
        .unwrap();
    let avail = |d: Date| {
        let fin = fin.clone();
        async move { fin.availability("f1", d).await.unwrap() }
    };
    // 9 January: no reserve yet: 80,000 − 70,000.
    assert_eq!(avail(date!(2026 - 01 - 09)).await.available_minor, 1_000_000);
    // 10 January: 5 % of 80,000 = 4,000 held back: 76,000 − 70,000.
    let a = avail(date!(2026 - 01 - 10)).await;
    assert_eq!((a.reserves_minor, a.net_base_minor, a.available_minor), (400_000, 7_600_000, 600_000));
    // 20 January: and 2,000 rent: 74,000 − 70,000.
    let a = avail(date!(2026 - 01 - 20)).await;
    assert_eq!(
        a.reserves.iter().map(|r| (r.name.as_str(), r.reserve_minor)).collect::<Vec<_>>(),
        vec![("dilution", 400_000), ("rent", 200_000)]
    );
    assert_eq!(a.available_minor, 400_000);
    // 19 March: the tranche is missed, the base is 0 (reserves cannot take
    // it below 0): 70,000 drawn above a capacity of 0.
    let a = avail(date!(2026 - 03 - 19)).await;
    assert_eq!((a.base_minor, a.net_base_minor, a.capacity_minor), (0, 0, 0));
    assert_eq!((a.overadvanced, a.overadvance_minor), (true, 7_000_000));
    let head = fin.store().head(fin.ledger()).await.unwrap();
    let more = request("d2", "f1", "maker-m", "1.00", "2026-03-19T10:00:00Z");
    assert_eq!(code_of(fin.request_advance(&more, now("2026-03-19T10:00:00Z")).await), "overadvanced");
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
    // Delivered late on 20 March: a 100,000 receivable at 80 % = 80,000,
    // less 4,000 and 2,000 reserves = 74,000: 4,000 available again.
    fin.deliver("po", "t1", date!(2026 - 03 - 20)).await.unwrap();
    let a = avail(date!(2026 - 03 - 20)).await;
    assert_eq!((a.overadvanced, a.available_minor), (false, 400_000));
    let more = request("d3", "f1", "maker-m", "4000.00", "2026-03-20T10:00:00Z");
    fin.request_advance(&more, now("2026-03-20T10:00:00Z")).await.unwrap();
    // Lifting the rent reserve from 21 March frees 2,000.
    fin.set_reserve("f1", reserve("rent", date!(2026 - 03 - 21), ReserveAmount::Removed)).await.unwrap();
    assert_eq!(avail(date!(2026 - 03 - 21)).await.available_minor, 200_000);
    assert_books_balance(&fin).await;
}

on_both_stores!(
    tranche_lifecycle_part_and_late_deliveries,
    refused_delivery_writes_nothing,
    receivables_age_and_cross_age,
    concentration_over_commitments_and_receivables,
    reserves_and_overadvance,
);
