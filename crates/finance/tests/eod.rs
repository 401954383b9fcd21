//! End of day (issue 18, rules 8–10) on both stores: catch-up equals daily
//! runs entry for entry, a second run books nothing, future days are
//! refused, and a covenant moves met → near_breach → breached with the day
//! each state began, kept as history; the day's certificate and the diff.

mod support;

use offtake_finance::{CovenantState, CovenantTerms, Finance};
use offtake_testkit::{on_both_stores, TestStore};
use support::*;
use time::macros::date;
use time::Date;

/// t1 (100,000) delivered 2 January, invoiced due 1 February; t2 (100,000)
/// in March; 50,000 drawn on 5 January. Concentration is not a covenant
/// here (one brand).
async fn program(ts: &TestStore, ledger: &str) -> Finance {
    let fin = finance_on(ts.store.clone(), ledger).await;
    open_accepted(&fin, "f1", "lender-l", "maker-m", terms(100_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let covenants = CovenantTerms { max_brand_concentration_bps: 10_000, ..CovenantTerms::default() };
    fin.set_covenants("f1", covenants).await.unwrap();
    let po = commitment(
        &format!("po-{ledger}"),
        "brand-a",
        "maker-m",
        &[("t1", "100", "1000.00", date!(2026 - 01 - 01)), ("t2", "100", "1000.00", date!(2026 - 03 - 01))],
    );
    fin.submit_commitment(&po).await.unwrap();
    fin.deliver(&format!("po-{ledger}"), "t1", date!(2026 - 01 - 02)).await.unwrap();
    let req = request(&format!("adv-{ledger}"), "f1", "maker-m", "50000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "lender-l", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin
}

/// Entries without what depends on the ledger's name or the clock.
async fn entries(fin: &Finance) -> Vec<serde_json::Value> {
    let all = fin.store().entries(fin.ledger(), 0, 10_000).await.unwrap();
    all.into_iter()
        .map(|e| {
            let key = e.idempotency_key.replace(fin.ledger().as_str(), "L");
            let legs: Vec<_> = e.legs.iter().map(|l| (l.account.to_string().replace(fin.ledger().as_str(), "L"), format!("{:?}", l.side), l.amount_minor, format!("{:?}", l.layer))).collect();
            serde_json::json!({ "seq": e.seq, "key": key, "kind": e.kind, "effective": e.effective_date.to_string(), "legs": legs })
        })
        .collect()
}

async fn catch_up_equals_daily_runs(ts: TestStore) {
    let daily = program(&ts, "daily").await;
    let catchup = program(&ts, "catchup").await;
    let today = date!(2026 - 02 - 05);
    let mut day = date!(2026 - 01 - 01);
    while day <= today {
        daily.eod(day, today, &mut |_, _| {}).await.unwrap();
        day = day.next_day().unwrap();
    }
    let mut seen = Vec::new();
    let report = catchup.eod(today, today, &mut |f, d| seen.push((f.to_owned(), d))).await.unwrap();
    assert_eq!(report.facilities[0].days_closed, 36);
    assert_eq!(seen.len(), 36);
    let (a, b) = (entries(&daily).await, entries(&catchup).await);
    // The commitment ids differ by name only: compare with it normalised.
    let norm = |v: Vec<serde_json::Value>, name: &str| -> Vec<String> {
        v.into_iter()
            .map(|e| e.to_string().replace(&format!("po-{name}"), "po").replace(&format!("adv-{name}"), "adv"))
            .collect()
    };
    assert_eq!(norm(a, "daily"), norm(b, "catchup"));
    // 32 days (5 January – 5 February) on 50,000 at 12 % / 360: 533.33.
    let closed = catchup.closed_day("f1", today).await.unwrap().unwrap();
    assert_eq!(closed.interest_total_minor, 53_333);
    assert_eq!(closed.certificate, daily.closed_day("f1", today).await.unwrap().unwrap().certificate);
    // A second run, and one for a closed day, book nothing; a future day
    // is refused.
    let head = catchup.store().head(catchup.ledger()).await.unwrap();
    assert_eq!(catchup.eod(today, today, &mut |_, _| {}).await.unwrap().facilities[0].days_closed, 0);
    assert_eq!(catchup.store().head(catchup.ledger()).await.unwrap(), head);
    let refused = catchup.eod(date!(2026 - 02 - 06), today, &mut |_, _| {}).await.unwrap_err();
    assert_eq!(refused.code(), "future_date");
    assert_books_balance(&catchup).await;
}

/// The invoice due 1 February: 55 days past due on 28 March (above 54, the
/// 60-day limit less the 10 % margin: near breach), 61 on 3 April
/// (breached); from then it is also aged out of the base.
async fn covenant_history_and_certificate(ts: TestStore) {
    let fin = program(&ts, "program").await;
    let today = date!(2026 - 04 - 05);
    fin.eod(today, today, &mut |_, _| {}).await.unwrap();
    let dpd = |d: Date| {
        let fin = fin.clone();
        async move {
            let c = fin.bbc("f1", d).await.unwrap();
            let r = c.covenants.into_iter().find(|r| r.name == "max_days_past_due").unwrap();
            (r.value, r.state, r.since)
        }
    };
    assert_eq!(dpd(date!(2026 - 03 - 27)).await, (54, CovenantState::Met, None));
    let near = Some(date!(2026 - 03 - 28));
    assert_eq!(dpd(date!(2026 - 03 - 28)).await, (55, CovenantState::NearBreach, near));
    assert_eq!(dpd(date!(2026 - 04 - 02)).await, (60, CovenantState::NearBreach, near));
    let breached = Some(date!(2026 - 04 - 03));
    assert_eq!(dpd(date!(2026 - 04 - 03)).await, (61, CovenantState::Breached, breached));
    assert_eq!(dpd(date!(2026 - 04 - 05)).await, (63, CovenantState::Breached, breached));
    let history = fin.covenant_history("f1", date!(2026 - 03 - 27), date!(2026 - 04 - 05)).await.unwrap();
    assert_eq!(history.len(), 10);
    // The certificate of 3 April: t2 (100,000, in its window) counts; the
    // invoice (100,000, 61 days) is aged: base 80,000, drawn 50,000.
    let c = fin.bbc("f1", date!(2026 - 04 - 03)).await.unwrap();
    assert_eq!(c.collateral.commitments_in_window_minor, 10_000_000);
    assert_eq!(c.collateral.receivables.days_61_90_minor, 10_000_000);
    assert_eq!(c.ineligible.get("aged_receivable"), Some(&10_000_000));
    assert_eq!((c.base_minor, c.drawn_minor, c.available_minor), (8_000_000, 5_000_000, 3_000_000));
    assert_eq!(c.overdue_invoices, vec!["po-program--t1".to_owned()]);
    // The certificate is a document of schemas/bbc.schema.json.
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../../schemas/bbc.schema.json")).unwrap();
    let validator = jsonschema::draft202012::options().build(&schema).unwrap();
    let body = serde_json::to_value(&c).unwrap();
    let errors: Vec<String> = validator.iter_errors(&body).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Why availability moved from 2 to 3 April: the receivable aged out.
    let lines = fin.bbc_diff("f1", date!(2026 - 04 - 02), date!(2026 - 04 - 03)).await.unwrap();
    let moved: Vec<_> =
        lines.iter().filter(|l| l.change_minor != 0).map(|l| (l.step.as_str(), l.change_minor)).collect();
    assert_eq!(
        moved,
        vec![("collateral", -10_000_000), ("base", -8_000_000), ("limit", -8_000_000), ("available", -8_000_000)]
    );
    assert!(lines[0].why.contains("aged_receivable"), "{}", lines[0].why);
}

/// Five facilities, one page at a time (issue 21): `fb` is closed after
/// opening and `fd` only offered, so end of day and accrual walk `fa`,
/// `fc` and `fe` across pages, in id order, and never touch the other two.
async fn jobs_walk_only_open_facilities_a_page_at_a_time(ts: TestStore) {
    let fin = finance_on(ts.store.clone(), "walk").await.with_walk_page_limit(2);
    let opened = date!(2026 - 01 - 01);
    for (id, maker) in [("fa", "mk-a"), ("fb", "mk-b"), ("fc", "mk-c"), ("fd", "mk-d"), ("fe", "mk-e")] {
        fin.register_party(maker, offtake_finance::PartyRole::Maker, maker).await.unwrap();
        if id == "fd" {
            fin.open_facility(id, "lender-l", maker, terms(100_000_000), opened).await.unwrap();
        } else {
            open_accepted(&fin, id, "lender-l", maker, terms(100_000_000), opened).await.unwrap();
        }
    }
    let (store, ledger) = (fin.store().clone(), fin.ledger().clone());
    let held = store.get_record(&ledger, "facility", "fb").await.unwrap().unwrap();
    let mut closed = held.body.clone();
    closed["status"] = serde_json::json!("closed");
    let closed = store.put_record(&ledger, "facility", "fb", held.version, &closed).await.unwrap();
    let open_ids = vec!["fa", "fc", "fe"];
    let today = date!(2026 - 01 - 10);

    let accrued = fin.accrue_all(date!(2026 - 01 - 05)).await.unwrap();
    assert_eq!(accrued.iter().map(|r| r.facility.as_str()).collect::<Vec<_>>(), open_ids);
    assert!(accrued.iter().all(|r| r.days_booked == 5), "{accrued:?}");
    let until = fin.accrue_all_until(date!(2026 - 01 - 07), today).await.unwrap();
    assert_eq!(until.iter().map(|r| r.facility.as_str()).collect::<Vec<_>>(), open_ids);
    assert!(until.iter().all(|r| r.days_booked == 2), "{until:?}");
    assert_eq!(fin.accrue_all_until(date!(2026 - 01 - 11), today).await.unwrap_err().code(), "future_date");
    // Whatever the page size, the same facilities in the same order (a
    // second run books nothing).
    for limit in [1, 3, 1000] {
        let again = fin.clone().with_walk_page_limit(limit).accrue_all(date!(2026 - 01 - 07)).await.unwrap();
        assert_eq!(again.iter().map(|r| r.facility.as_str()).collect::<Vec<_>>(), open_ids, "limit {limit}");
        assert!(again.iter().all(|r| r.days_booked == 0), "{again:?}");
    }

    let mut seen = std::collections::BTreeSet::new();
    let report = fin
        .eod(today, today, &mut |f, _| {
            seen.insert(f.to_owned());
        })
        .await
        .unwrap();
    let ids: Vec<&str> = report.facilities.iter().map(|r| r.facility.as_str()).collect();
    assert_eq!(ids, open_ids);
    assert!(report.facilities.iter().all(|r| r.closed_through == Some(today) && r.days_closed == 10));
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), open_ids);

    // Neither the closed nor the offered facility was read for a write.
    assert_eq!(store.get_record(&ledger, "facility", "fb").await.unwrap().unwrap(), closed);
    assert_eq!(fin.facility("fd").await.unwrap().accrued_through, None);
    for skipped in ["fb", "fd"] {
        assert!(store.get_record(&ledger, "eod_state", skipped).await.unwrap().is_none(), "{skipped}");
    }
    assert_books_balance(&fin).await;
}

on_both_stores!(
    catch_up_equals_daily_runs,
    covenant_history_and_certificate,
    jobs_walk_only_open_facilities_a_page_at_a_time
);
