//! Property: for any sequence of payments, cash in = waterfall parts +
//! remainders + brand credit + suspense, and no account that is owed goes
//! below zero.

#[path = "../../finance/tests/support/mod.rs"]
mod support;

use offtake_finance::PartyRole;
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

/// A notice of [`batched_settlement_books_as_one_at_a_time`]: which
/// facility and brand it pays, how much, when, what it names, from where.
#[derive(Clone, Debug)]
struct Mixed {
    payer: u8,
    amount_minor: i64,
    day: u8,
    target: u8,
    credit: bool,
}

const BRANDS: [&str; 3] = ["brand-a", "brand-b", "brand-c"];
const FACILITIES: [(&str, &str); 3] = [("f1", "maker-m"), ("f2", "maker-n"), ("f3", "maker-o")];

/// Three facilities (f1 of maker-m, f2 of maker-n, f3 of maker-o), each
/// with a funded advance and a delivered invoice of each of three brands.
async fn mixed_program(ts: &TestStore) -> Settlement {
    let fin = finance(ts.store.clone()).await;
    fin.register_party("brand-c", PartyRole::Brand, "Brand C").await.unwrap();
    fin.register_party("maker-o", PartyRole::Maker, "Maker O").await.unwrap();
    for (f, maker) in FACILITIES {
        open_accepted(&fin, f, "lender-l", maker, terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
        for brand in BRANDS {
            let c =
                commitment(&format!("po-{brand}-{f}"), brand, maker, &[("t1", "100", "400.00", date!(2026 - 02 - 01))]);
            fin.submit_commitment(&c).await.unwrap();
        }
        let req = request(&format!("adv-{f}"), f, maker, "20000.00", "2026-01-05T10:00:00Z");
        fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
        fin.decide_advance(&approval(&req, f, "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
        for brand in BRANDS {
            fin.deliver(&format!("po-{brand}-{f}"), "t1", date!(2026 - 02 - 05)).await.unwrap();
        }
    }
    Settlement::new(fin)
}

/// Payers 0, 1, 2 (and every run of three from a multiple of three) are
/// three different brands on three different facilities: consecutive
/// payers fill batches of up to three notices.
fn mixed_notice(i: usize, m: &Mixed) -> PaymentNotice {
    let p = usize::from(m.payer % 9);
    let brand = BRANDS[p % 3];
    let facility = FACILITIES[(p + p / 3) % 3].0;
    let invoice = format!("po-{brand}-{facility}--t1");
    let allocations = match m.target % 3 {
        0 => vec![],
        1 => vec![Allocation { invoice, amount_minor: Some(m.amount_minor / 3 + 1) }],
        _ => vec![Allocation { invoice: "missing".into(), amount_minor: None }],
    };
    PaymentNotice {
        external_ref: format!("n{i:03}"),
        brand: brand.into(),
        facility: facility.into(),
        currency: USD,
        amount_minor: m.amount_minor,
        value_date: date!(2026 - 02 - 10) + Duration::days(i64::from(m.day)),
        allocations,
        source: if m.credit { Source::BrandCredit } else { Source::Cash },
        source_hash: None,
    }
}

/// What settlement left: every account's posted balance, every invoice,
/// every notice's state without its entry's seq (entries are numbered in
/// a different order when notices commit together).
async fn books(s: &Settlement) -> (Vec<(String, i64)>, Vec<offtake_finance::Invoice>, Vec<(String, String)>) {
    let fin = s.finance();
    let mut balances = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = fin.store().list_accounts(fin.ledger(), cursor.as_deref(), 500).await.unwrap();
        for a in &page.items {
            let b = fin.store().balance(fin.ledger(), &a.code, AsOf::Now).await.unwrap();
            balances.push((a.code.to_string(), b.posted_minor));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    balances.sort();
    let invoices = fin.invoices().await.unwrap();
    let notices = s
        .notices()
        .await
        .unwrap()
        .into_iter()
        .map(|n| {
            let state = match n.state {
                NoticeState::Applied { breakdown, .. } => {
                    format!("applied {}", serde_json::to_string(&breakdown).unwrap())
                }
                NoticeState::Suspense { reason, .. } => format!("suspense {reason}"),
                NoticeState::Rejected { code, message } => format!("rejected {code} {message}"),
                other => panic!("notice {} not settled: {other:?}", n.notice.external_ref),
            };
            (n.notice.external_ref, state)
        })
        .collect();
    (balances, invoices, notices)
}

/// Batched settlement (`settle_once`: notices claimed and committed
/// together) books exactly what settling the same notices one at a time,
/// in reference order, books.
async fn batched_vs_one_at_a_time(notices: Vec<Mixed>) {
    let (one_ts, batch_ts) = (TestStore::sqlite().await, TestStore::sqlite().await);
    let (one, batch) = (mixed_program(&one_ts).await, mixed_program(&batch_ts).await);
    for (i, m) in notices.iter().enumerate() {
        let n = mixed_notice(i, m);
        one.enqueue(n.clone()).await.unwrap();
        one.settle_notice(&n.external_ref, "w").await.unwrap();
        batch.enqueue(n).await.unwrap();
    }
    let report = batch.settle_once("w").await.unwrap();
    assert_eq!(report.skipped, 0, "{report:?}");
    assert_eq!(report.applied + report.suspense + report.rejected, notices.len());
    let (one_books, batch_books) = (books(&one).await, books(&batch).await);
    assert!(!one_books.0.is_empty() && one_books.2.len() == notices.len());
    assert_eq!(one_books, batch_books);
    assert_books_balance(batch.finance()).await;
}

/// Three workers racing through batches of three over three facilities
/// and three brands (claims conflict, fall back to one by one): every notice is
/// settled exactly once, and the balances are those of one-at-a-time
/// settlement (same-day cash, so the order within a facility does not
/// change what the waterfall books in total).
#[test]
fn racing_batched_workers_settle_each_notice_once() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let (one_ts, race_ts) = (TestStore::sqlite().await, TestStore::sqlite().await);
        let (one, race) = (mixed_program(&one_ts).await, mixed_program(&race_ts).await);
        let total = 36;
        for i in 0..total {
            let m = Mixed { payer: i as u8, amount_minor: 250_000 + i as i64, day: 5, target: 0, credit: false };
            let n = mixed_notice(i, &m);
            one.enqueue(n.clone()).await.unwrap();
            one.settle_notice(&n.external_ref, "w").await.unwrap();
            race.enqueue(n).await.unwrap();
        }
        let mut workers = Vec::new();
        for w in 0..3 {
            let s = race.clone();
            workers.push(tokio::spawn(async move { s.settle_once(&format!("worker-{w}")).await.unwrap() }));
        }
        let mut settled = 0;
        for w in workers {
            let r = w.await.unwrap();
            settled += r.applied + r.suspense + r.rejected;
        }
        // Whatever a racing worker skipped, a later pass finishes.
        let r = race.settle_once("sweeper").await.unwrap();
        settled += r.applied + r.suspense + r.rejected;
        assert_eq!(settled, total);
        let (one_books, race_books) = (books(&one).await, books(&race).await);
        assert_eq!(race_books.2.len(), total);
        assert_eq!(one_books.0, race_books.0);
        for inv in race.finance().invoices().await.unwrap() {
            let mut refs: Vec<_> = inv.payments.iter().map(|p| p.reference.clone()).collect();
            refs.sort();
            refs.dedup();
            assert_eq!(refs.len(), inv.payments.len(), "{} paid twice by one notice", inv.id);
        }
        assert_books_balance(race.finance()).await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn batched_settlement_books_as_one_at_a_time(
        notices in prop::collection::vec(
            (any::<u8>(), 1i64..4_000_000, 0u8..60, any::<u8>(), prop::bool::weighted(0.2))
                .prop_map(|(payer, amount_minor, day, target, credit)| Mixed { payer, amount_minor, day, target, credit }),
            1..16,
        )
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(batched_vs_one_at_a_time(notices));
    }
}
