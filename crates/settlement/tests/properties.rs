//! Property: for any sequence of payments, cash in = waterfall parts +
//! remainders + brand credit + suspense, and no account that is owed goes
//! below zero.

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use offtake_ledger::{AccountCode, AsOf};
use offtake_settlement::{Allocation, NoticeState, PaymentNotice, Settlement, Source};
use offtake_testkit::TestStore;
use proptest::prelude::*;
use support::*;
use time::macros::date;
use time::Duration;

#[derive(Clone, Debug)]
struct Pay {
    amount_minor: i64,
    target: u8,
    days: u8,
}

async fn run(pays: Vec<Pay>) {
    let ts = TestStore::sqlite().await;
    let fin = finance(ts.store.clone()).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let c = commitment(
        "po",
        "brand-a",
        "maker-m",
        &[("t1", "100", "500.00", date!(2026 - 02 - 01)), ("t2", "100", "300.00", date!(2026 - 02 - 01))],
    );
    fin.submit_commitment(&c).await.unwrap();
    let req = request("adv", "f1", "maker-m", "40000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin.deliver("po", "t1", date!(2026 - 02 - 01)).await.unwrap();
    fin.deliver("po", "t2", date!(2026 - 02 - 10)).await.unwrap();
    let s = Settlement::new(fin.clone());
    let mut day = date!(2026 - 02 - 11);
    let mut cash_in = 0;
    for (i, p) in pays.iter().enumerate() {
        day += Duration::days(i64::from(p.days));
        let allocations = match p.target % 4 {
            0 => vec![],
            1 => vec![Allocation { invoice: "po--t2".into(), amount_minor: None }],
            2 => vec![Allocation { invoice: "po--t1".into(), amount_minor: Some(p.amount_minor / 2 + 1) }],
            _ => vec![Allocation { invoice: "missing".into(), amount_minor: None }],
        };
        let n = PaymentNotice {
            external_ref: format!("p{i}"),
            brand: "brand-a".into(),
            facility: "f1".into(),
            currency: USD,
            amount_minor: p.amount_minor,
            value_date: day,
            allocations,
            source: Source::Cash,
            source_hash: None,
        };
        s.enqueue(n).await.unwrap();
        cash_in += p.amount_minor;
    }
    s.settle_once("w").await.unwrap();
    let (mut parts, mut remainder, mut overpaid, mut suspense) = (0, 0, 0, 0);
    for n in s.notices().await.unwrap() {
        match n.state {
            NoticeState::Applied { breakdown, .. } => {
                parts += breakdown.debt.iter().map(|p| p.amount_minor).sum::<i64>();
                remainder += breakdown.remainder_minor;
                overpaid += breakdown.overpayment_minor;
            }
            NoticeState::Suspense { .. } => suspense += n.notice.amount_minor,
            other => panic!("notice not settled: {other:?}"),
        }
    }
    assert_eq!(cash_in, parts + remainder + overpaid + suspense);
    assert_eq!(posted_or_zero(&fin, "brand:brand-a:credit:usd").await, overpaid);
    assert_eq!(posted_or_zero(&fin, "maker:maker-m:payable:usd").await, remainder);
    assert_eq!(posted_or_zero(&fin, "cash:suspense:usd").await, suspense);
    for code in [
        "facility:f1:principal",
        "facility:f1:interest",
        "facility:f1:fees",
        "facility:f1:penalty",
        "invoice:po--t1",
        "invoice:po--t2",
    ] {
        let b = fin.store().balance(fin.ledger(), &AccountCode::new(code).unwrap(), AsOf::Now).await.unwrap();
        assert!(b.posted_minor >= 0, "{code} went below zero: {}", b.posted_minor);
    }
    assert_books_balance(&fin).await;
}

/// Accounts are opened when first used: one no payment reached holds 0.
async fn posted_or_zero(fin: &offtake_finance::Finance, code: &str) -> i64 {
    match fin.store().balance(fin.ledger(), &AccountCode::new(code).unwrap(), AsOf::Now).await {
        Ok(b) => b.posted_minor,
        Err(offtake_ledger::LedgerError::UnknownAccount(_)) => 0,
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]
    #[test]
    fn payments_are_fully_accounted_for(
        pays in prop::collection::vec((1i64..6_000_000, any::<u8>(), 0u8..40).prop_map(|(a, t, d)| Pay { amount_minor: a, target: t, days: d }), 1..8)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(pays));
    }
}
