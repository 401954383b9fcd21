//! The conformance cases. Each is named for the rule it proves.

use std::sync::Arc;

use offtake_ledger::record_chain;
use offtake_ledger::{
    verify_chain, verify_history, Action, AmountMinor, AsOf, Book, Currency, LedgerError, LedgerId, LedgerStore, Side,
    StoredRecord,
};

use super::fixture::{code_of, command, hold, leg, record, transfer, Fixture};

const USD: Currency = Currency::USD;

/// `cash:a` (debit-normal, may not go below zero) funded with `funds_minor`
/// from `equity` (credit-normal, unconstrained), plus an empty `cash:b`.
async fn funded(fx: &Fixture, funds_minor: i64) {
    fx.account("equity", USD, Side::Credit, false).await;
    fx.account("cash:a", USD, Side::Debit, true).await;
    fx.account("cash:b", USD, Side::Debit, true).await;
    if funds_minor > 0 {
        fx.store.commit(&fx.ledger, transfer("fund", "equity", "cash:a", USD, funds_minor)).await.expect("fund");
    }
}

fn code(err: Result<impl std::fmt::Debug, LedgerError>) -> &'static str {
    match err {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

pub async fn balanced_entry_moves_balances(fx: Fixture) {
    funded(&fx, 10_000).await;
    let c = fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 2_500)).await.unwrap();
    assert_eq!(c.seq, 2);
    assert!(!c.replayed);
    assert_eq!(fx.balance("cash:a").await, (7_500, 7_500));
    assert_eq!(fx.balance("cash:b").await, (2_500, 2_500));
    assert_eq!(fx.balance("equity").await, (10_000, 10_000));
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn unbalanced_entry_is_refused_and_writes_nothing(fx: Fixture) {
    funded(&fx, 10_000).await;
    let before = fx.footprint().await;
    let cmd = record("u1", vec![leg("cash:b", Side::Debit, USD, 100), leg("cash:a", Side::Credit, USD, 99)], false);
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "unbalanced_entry");
    assert_eq!(fx.footprint().await, before);
}

pub async fn mixed_currency_imbalance_is_refused(fx: Fixture) {
    funded(&fx, 10_000).await;
    fx.account("cash:eur", Currency::EUR, Side::Debit, false).await;
    fx.account("equity:eur", Currency::EUR, Side::Credit, false).await;
    let before = fx.footprint().await;
    // 100 USD against 100 EUR: equal numbers, different money.
    let cmd = record(
        "m1",
        vec![leg("cash:b", Side::Debit, USD, 100), leg("equity:eur", Side::Credit, Currency::EUR, 100)],
        false,
    );
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "unbalanced_entry");
    assert_eq!(fx.footprint().await, before);
    // Balanced per currency is fine, even across currencies in one entry.
    let cmd = record(
        "m2",
        vec![
            leg("cash:b", Side::Debit, USD, 100),
            leg("cash:a", Side::Credit, USD, 100),
            leg("cash:eur", Side::Debit, Currency::EUR, 90),
            leg("equity:eur", Side::Credit, Currency::EUR, 90),
        ],
        false,
    );
    fx.store.commit(&fx.ledger, cmd).await.unwrap();
}

pub async fn zero_and_negative_legs_are_refused(fx: Fixture) {
    funded(&fx, 10_000).await;
    let before = fx.footprint().await;
    for (key, amount) in [("z0", 0), ("z1", -100)] {
        let cmd =
            record(key, vec![leg("cash:b", Side::Debit, USD, amount), leg("cash:a", Side::Credit, USD, amount)], false);
        assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "non_positive_amount");
    }
    assert_eq!(fx.footprint().await, before);
}

pub async fn unknown_account_is_refused(fx: Fixture) {
    funded(&fx, 10_000).await;
    let before = fx.footprint().await;
    let cmd = transfer("x1", "cash:a", "cash:nobody", USD, 100);
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "unknown_account");
    assert_eq!(fx.footprint().await, before);
    let unknown = fx.store.balance(&fx.ledger, &code_of("cash:nobody"), AsOf::Now).await;
    assert_eq!(code(unknown), "unknown_account");
}

pub async fn leg_currency_must_match_account(fx: Fixture) {
    funded(&fx, 10_000).await;
    let before = fx.footprint().await;
    let cmd = transfer("c1", "cash:a", "cash:b", Currency::EUR, 100);
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "currency_mismatch");
    assert_eq!(fx.footprint().await, before);
}

pub async fn legs_may_not_mix_books(fx: Fixture) {
    funded(&fx, 10_000).await;
    fx.account_in(&fx.ledger.clone(), "memo:backlog", USD, Side::Credit, Book::Memo, false).await;
    let cmd = transfer("b1", "memo:backlog", "cash:b", USD, 100);
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "mixed_books");
}

pub async fn single_leg_entry_is_refused(fx: Fixture) {
    funded(&fx, 10_000).await;
    let cmd = record("s1", vec![leg("cash:b", Side::Debit, USD, 100)], false);
    assert_eq!(code(fx.store.commit(&fx.ledger, cmd).await), "leg_count");
}

pub async fn constrained_account_cannot_be_overdrawn(fx: Fixture) {
    funded(&fx, 1_000).await;
    let before = fx.footprint().await;
    let err = fx.store.commit(&fx.ledger, transfer("o1", "cash:a", "cash:b", USD, 1_001)).await.unwrap_err();
    assert_eq!(err.code(), "insufficient_funds");
    assert_eq!(fx.footprint().await, before);
    // Exactly the balance is fine.
    fx.store.commit(&fx.ledger, transfer("o2", "cash:a", "cash:b", USD, 1_000)).await.unwrap();
    assert_eq!(fx.balance("cash:a").await, (0, 0));
}

pub async fn pending_entry_reserves_funds(fx: Fixture) {
    funded(&fx, 1_000).await;
    let h = fx.store.commit(&fx.ledger, hold("h1", "cash:a", "cash:b", USD, 600)).await.unwrap();
    // Posted balances do not move; availability does, on the paying side only.
    assert_eq!(fx.balance("cash:a").await, (1_000, 400));
    assert_eq!(fx.balance("cash:b").await, (0, 0));
    let b = fx.store.balance(&fx.ledger, &code_of("cash:b"), AsOf::Now).await.unwrap();
    assert_eq!(b.pending_in_minor, 600);
    // The hold counts against further spending.
    let err = fx.store.commit(&fx.ledger, transfer("t2", "cash:a", "cash:b", USD, 401)).await.unwrap_err();
    assert_eq!(err.code(), "insufficient_funds");
    let err = fx.store.commit(&fx.ledger, hold("h2", "cash:a", "cash:b", USD, 401)).await.unwrap_err();
    assert_eq!(err.code(), "insufficient_funds");
    fx.store
        .commit(&fx.ledger, command("p1", Action::PostPending { pending_seq: h.seq, amount_minor: None }))
        .await
        .unwrap();
    assert_eq!(fx.balance("cash:a").await, (400, 400));
    assert_eq!(fx.balance("cash:b").await, (600, 600));
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn posting_a_hold_for_less_releases_the_rest(fx: Fixture) {
    funded(&fx, 1_000).await;
    let h = fx.store.commit(&fx.ledger, hold("h1", "cash:a", "cash:b", USD, 600)).await.unwrap();
    let post = Action::PostPending { pending_seq: h.seq, amount_minor: Some(AmountMinor::new(250)) };
    fx.store.commit(&fx.ledger, command("p1", post)).await.unwrap();
    assert_eq!(fx.balance("cash:a").await, (750, 750));
    assert_eq!(fx.balance("cash:b").await, (250, 250));
    let b = fx.store.balance(&fx.ledger, &code_of("cash:a"), AsOf::Now).await.unwrap();
    assert_eq!(b.pending_out_minor, 0);
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn posting_more_than_held_is_refused(fx: Fixture) {
    funded(&fx, 1_000).await;
    let h = fx.store.commit(&fx.ledger, hold("h1", "cash:a", "cash:b", USD, 600)).await.unwrap();
    let before = fx.footprint().await;
    let post = Action::PostPending { pending_seq: h.seq, amount_minor: Some(AmountMinor::new(601)) };
    assert_eq!(code(fx.store.commit(&fx.ledger, command("p1", post)).await), "post_exceeds_pending");
    assert_eq!(fx.footprint().await, before);
}

pub async fn double_post_double_void_and_post_after_void_are_refused(fx: Fixture) {
    funded(&fx, 1_000).await;
    let h1 = fx.store.commit(&fx.ledger, hold("h1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    let h2 = fx.store.commit(&fx.ledger, hold("h2", "cash:a", "cash:b", USD, 100)).await.unwrap();
    let post = |key: &str, seq| command(key, Action::PostPending { pending_seq: seq, amount_minor: None });
    let void = |key: &str, seq| command(key, Action::VoidPending { pending_seq: seq });
    fx.store.commit(&fx.ledger, post("p1", h1.seq)).await.unwrap();
    assert_eq!(code(fx.store.commit(&fx.ledger, post("p1-again", h1.seq)).await), "pending_already_posted");
    assert_eq!(code(fx.store.commit(&fx.ledger, void("v-after-post", h1.seq)).await), "pending_already_posted");
    fx.store.commit(&fx.ledger, void("v2", h2.seq)).await.unwrap();
    assert_eq!(code(fx.store.commit(&fx.ledger, void("v2-again", h2.seq)).await), "pending_already_voided");
    assert_eq!(code(fx.store.commit(&fx.ledger, post("p-after-void", h2.seq)).await), "pending_already_voided");
    // Voiding released the hold.
    assert_eq!(fx.balance("cash:a").await, (900, 900));
    // A posted entry is not pending.
    assert_eq!(code(fx.store.commit(&fx.ledger, void("v-posted", 1)).await), "not_pending");
    assert_eq!(code(fx.store.commit(&fx.ledger, void("v-missing", 999)).await), "unknown_entry");
}

pub async fn idempotent_replay_returns_the_first_result(fx: Fixture) {
    funded(&fx, 1_000).await;
    let first = fx.store.commit(&fx.ledger, transfer("k1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    let before = fx.footprint().await;
    for _ in 0..5 {
        let again = fx.store.commit(&fx.ledger, transfer("k1", "cash:a", "cash:b", USD, 100)).await.unwrap();
        assert!(again.replayed);
        assert_eq!((again.seq, again.hash, again.recorded_at_us), (first.seq, first.hash, first.recorded_at_us));
    }
    assert_eq!(fx.footprint().await, before);
    assert_eq!(fx.balance("cash:b").await, (100, 100));
}

pub async fn reused_key_with_other_payload_is_a_conflict(fx: Fixture) {
    funded(&fx, 1_000).await;
    fx.store.commit(&fx.ledger, transfer("k1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    let before = fx.footprint().await;
    let other = transfer("k1", "cash:a", "cash:b", USD, 101);
    assert_eq!(code(fx.store.commit(&fx.ledger, other).await), "idempotency_conflict");
    assert_eq!(fx.footprint().await, before);
}

pub async fn batch_is_all_or_nothing_per_entry(fx: Fixture) {
    funded(&fx, 1_000).await;
    let before = fx.footprint().await;
    let batch = vec![
        transfer("b1", "cash:a", "cash:b", USD, 400),
        transfer("b2", "cash:a", "cash:b", USD, 700), // only 600 left: refused
        transfer("b3", "cash:a", "cash:b", USD, 600), // sees b1 but not b2
        transfer("b1", "cash:a", "cash:b", USD, 400), // in-batch replay
    ];
    let outcomes = fx.store.commit_batch(&fx.ledger, &batch).await.unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[0].is_ok());
    assert_eq!(outcomes[1].as_ref().unwrap_err().code(), "insufficient_funds");
    assert!(outcomes[2].is_ok());
    let replay = outcomes[3].as_ref().unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.seq, outcomes[0].as_ref().unwrap().seq);
    let after = fx.footprint().await;
    assert_eq!(after.0, before.0 + 2, "two entries written");
    assert_eq!(fx.balance("cash:a").await, (0, 0));
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn reversal_restores_balances_once(fx: Fixture) {
    funded(&fx, 1_000).await;
    let t = fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 300)).await.unwrap();
    let r = fx.store.commit(&fx.ledger, command("r1", Action::Reverse { entry_seq: t.seq })).await.unwrap();
    assert_eq!(fx.balance("cash:a").await, (1_000, 1_000));
    assert_eq!(fx.balance("cash:b").await, (0, 0));
    let again = fx.store.commit(&fx.ledger, command("r2", Action::Reverse { entry_seq: t.seq })).await;
    assert_eq!(code(again), "already_reversed");
    assert_eq!(fx.store.entry(&fx.ledger, r.seq).await.unwrap().ref_seq, Some(t.seq));
    // A hold has nothing posted to reverse.
    let h = fx.store.commit(&fx.ledger, hold("h1", "cash:a", "cash:b", USD, 10)).await.unwrap();
    let r = fx.store.commit(&fx.ledger, command("r3", Action::Reverse { entry_seq: h.seq })).await;
    assert_eq!(code(r), "nothing_to_reverse");
}

/// Many tasks race to spend one constrained balance: exactly as many
/// succeed as the funds allow, never one more.
pub async fn concurrent_transfers_never_overdraw(fx: Fixture) {
    const TASKS: usize = 40;
    const AMOUNT: i64 = 100;
    funded(&fx, 25 * AMOUNT).await;
    let store: Arc<dyn LedgerStore> = fx.store.clone();
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let store = store.clone();
        let ledger = fx.ledger.clone();
        handles.push(tokio::spawn(async move {
            store.commit(&ledger, transfer(&format!("race-{i}"), "cash:a", "cash:b", USD, AMOUNT)).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "insufficient_funds"),
        }
    }
    assert_eq!(ok, 25);
    assert_eq!(fx.balance("cash:a").await, (0, 0));
    assert_eq!(fx.balance("cash:b").await, (25 * AMOUNT, 25 * AMOUNT));
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn concurrent_holds_never_exceed_availability(fx: Fixture) {
    const TASKS: usize = 30;
    funded(&fx, 1_000).await;
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let store = fx.store.clone();
        let ledger = fx.ledger.clone();
        handles.push(tokio::spawn(async move {
            store.commit(&ledger, hold(&format!("hold-{i}"), "cash:a", "cash:b", USD, 70)).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        if h.await.expect("task").is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 14, "1000 / 70 = 14 holds fit");
    let (_, available) = fx.balance("cash:a").await;
    assert_eq!(available, 1_000 - 14 * 70);
}

pub async fn concurrent_batches_in_opposite_orders_do_not_deadlock(fx: Fixture) {
    const ACCOUNTS: usize = 6;
    fx.account("equity", USD, Side::Credit, false).await;
    for i in 0..ACCOUNTS {
        fx.account(&format!("cash:{i}"), USD, Side::Debit, false).await;
    }
    let mut handles = Vec::new();
    for task in 0..8 {
        let store = fx.store.clone();
        let ledger = fx.ledger.clone();
        handles.push(tokio::spawn(async move {
            let mut batch = Vec::new();
            for j in 0..ACCOUNTS {
                // Even tasks walk the accounts up, odd ones down.
                let i = if task % 2 == 0 { j } else { ACCOUNTS - 1 - j };
                let next = (i + 1) % ACCOUNTS;
                batch.push(transfer(&format!("dl-{task}-{j}"), &format!("cash:{i}"), &format!("cash:{next}"), USD, 5));
            }
            store.commit_batch(&ledger, &batch).await
        }));
    }
    let all = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        for h in handles {
            let outcomes = h.await.expect("task").expect("batch");
            assert!(outcomes.iter().all(|o| o.is_ok()));
        }
    })
    .await;
    assert!(all.is_ok(), "batches deadlocked");
    assert_eq!(fx.store.head(&fx.ledger).await.unwrap().seq, 8 * ACCOUNTS as i64);
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn entries_and_legs_are_append_only_in_the_database(fx: Fixture) {
    funded(&fx, 1_000).await;
    let before = fx.footprint().await;
    let err = fx.insider.try_update_leg_amount(&fx.ledger, 1, 1).await.unwrap_err();
    assert!(err.contains("append_only"), "{err}");
    let err = fx.insider.try_delete_entry(&fx.ledger, 1).await.unwrap_err();
    assert!(err.contains("append_only"), "{err}");
    assert_eq!(fx.footprint().await, before);
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn verify_chain_detects_a_tampered_leg(fx: Fixture) {
    funded(&fx, 1_000).await;
    fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    fx.store.commit(&fx.ledger, transfer("t2", "cash:a", "cash:b", USD, 100)).await.unwrap();
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
    fx.insider.force_leg_amount(&fx.ledger, 2, 0, 1).await;
    match verify_chain(fx.store.as_ref(), &fx.ledger).await {
        Err(LedgerError::ChainBroken { seq, .. }) => assert_eq!(seq, 2),
        other => panic!("tampering went unnoticed: {other:?}"),
    }
}

pub async fn verify_chain_detects_a_tampered_entry_field(fx: Fixture) {
    funded(&fx, 1_000).await;
    fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    fx.insider.force_entry_kind(&fx.ledger, 1, "gift").await;
    match verify_chain(fx.store.as_ref(), &fx.ledger).await {
        Err(LedgerError::ChainBroken { seq, .. }) => assert_eq!(seq, 1),
        other => panic!("tampering went unnoticed: {other:?}"),
    }
}

pub async fn balance_as_of_sequence_and_time(fx: Fixture) {
    funded(&fx, 1_000).await;
    let t1 = fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let t2 = fx.store.commit(&fx.ledger, transfer("t2", "cash:a", "cash:b", USD, 200)).await.unwrap();
    let at = |as_of| {
        let store = fx.store.clone();
        let ledger = fx.ledger.clone();
        async move { store.balance(&ledger, &code_of("cash:b"), as_of).await.unwrap() }
    };
    assert_eq!(at(AsOf::Seq(1)).await.posted_minor, 0);
    assert_eq!(at(AsOf::Seq(t1.seq)).await.posted_minor, 100);
    assert_eq!(at(AsOf::Seq(t2.seq)).await.posted_minor, 300);
    assert_eq!(at(AsOf::Now).await.posted_minor, 300);
    let by_time = at(AsOf::RecordedAtUs(t1.recorded_at_us)).await;
    assert_eq!((by_time.posted_minor, by_time.as_of_seq), (100, t1.seq));
    assert_eq!(at(AsOf::RecordedAtUs(t2.recorded_at_us - 1)).await.posted_minor, 100);
    assert_eq!(at(AsOf::RecordedAtUs(0)).await.posted_minor, 0);
}

pub async fn balances_are_one_snapshot_in_the_order_asked(fx: Fixture) {
    funded(&fx, 1_000).await;
    let t1 = fx.store.commit(&fx.ledger, transfer("t1", "cash:a", "cash:b", USD, 100)).await.unwrap();
    fx.store.commit(&fx.ledger, transfer("t2", "cash:a", "cash:b", USD, 200)).await.unwrap();
    let codes = [code_of("cash:b"), code_of("cash:a"), code_of("cash:b")];
    for as_of in [AsOf::Now, AsOf::Seq(t1.seq), AsOf::RecordedAtUs(t1.recorded_at_us), AsOf::Seq(0)] {
        let many = fx.store.balances(&fx.ledger, &codes, as_of).await.unwrap();
        let mut one_by_one = Vec::new();
        for code in &codes {
            one_by_one.push(fx.store.balance(&fx.ledger, code, as_of).await.unwrap());
        }
        assert_eq!(many, one_by_one, "as of {as_of:?}");
    }
    let at_t1 = fx.store.balances(&fx.ledger, &codes[..2], AsOf::Seq(t1.seq)).await.unwrap();
    assert_eq!(
        at_t1.iter().map(|b| (b.posted_minor, b.as_of_seq)).collect::<Vec<_>>(),
        vec![(100, t1.seq), (900, t1.seq)]
    );
    let unknown = fx.store.balances(&fx.ledger, &[code_of("cash:a"), code_of("cash:nobody")], AsOf::Now).await;
    assert_eq!(code(unknown), "unknown_account");
    assert!(fx.store.balances(&fx.ledger, &[], AsOf::Now).await.unwrap().is_empty());
}

pub async fn account_entries_paginate_by_cursor(fx: Fixture) {
    funded(&fx, 10_000).await;
    for i in 0..7 {
        fx.store.commit(&fx.ledger, transfer(&format!("p{i}"), "cash:a", "cash:b", USD, 10)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = fx.store.account_entries(&fx.ledger, &code_of("cash:b"), cursor.as_deref(), 3).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (2..=8).collect::<Vec<_>>());
    let bad = fx.store.account_entries(&fx.ledger, &code_of("cash:b"), Some("not-a-cursor"), 3).await;
    assert_eq!(code(bad), "invalid_input");
}

pub async fn accounts_are_created_idempotently(fx: Fixture) {
    let a = fx.account("cash:x", USD, Side::Debit, true).await;
    let again = fx.account("cash:x", USD, Side::Debit, true).await;
    assert_eq!(a, again);
    let other = fx
        .store
        .create_account(
            &fx.ledger,
            &offtake_ledger::NewAccount {
                code: code_of("cash:x"),
                currency: Currency::EUR,
                normal_side: Side::Debit,
                book: Book::Main,
                non_negative: true,
            },
        )
        .await;
    assert_eq!(code(other), "account_exists");
    let page = fx.store.list_accounts(&fx.ledger, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

/// A plain debit account in `currency` (the set-creation cases).
fn debit_spec(code: &str, currency: Currency) -> offtake_ledger::NewAccount {
    offtake_ledger::NewAccount {
        code: code_of(code),
        currency,
        normal_side: Side::Debit,
        book: Book::Main,
        non_negative: false,
    }
}

/// `create_accounts` creates a set in one go, returns existing accounts
/// as they are, and refuses the whole set (creating none) when one code
/// exists with other attributes.
pub async fn accounts_are_created_as_a_set_all_or_nothing(fx: Fixture) {
    let held = fx.account("cash:x", USD, Side::Debit, false).await;
    let set = [debit_spec("cash:a", USD), debit_spec("cash:x", USD), debit_spec("cash:b", USD)];
    let made = fx.store.create_accounts(&fx.ledger, &set).await.unwrap();
    assert_eq!(made.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["cash:a", "cash:x", "cash:b"]);
    assert_eq!(made[1], held, "an existing account is returned as it is");
    assert_eq!(fx.store.create_accounts(&fx.ledger, &set).await.unwrap(), made, "idempotent");
    let clash = [debit_spec("cash:c", USD), debit_spec("cash:x", Currency::EUR)];
    assert_eq!(code(fx.store.create_accounts(&fx.ledger, &clash).await), "account_exists");
    let page = fx.store.list_accounts(&fx.ledger, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 3, "a refused set creates none of its accounts");
    assert!(fx.store.create_accounts(&fx.ledger, &[]).await.unwrap().is_empty());
}

/// `create_account_sets` (what the account group committer sends) answers
/// each set on its own, as if created one after another: a set naming an
/// account that exists, or that an earlier set of the call creates, with
/// other attributes — or one code twice differently — is refused and
/// creates nothing; the others are created.
pub async fn account_sets_answer_each_set_on_its_own(fx: Fixture) {
    let held = fx.account("cash:x", USD, Side::Debit, false).await;
    let sets = vec![
        vec![debit_spec("cash:a", USD), debit_spec("cash:x", USD)],
        vec![debit_spec("cash:b", USD), debit_spec("cash:x", Currency::EUR)],
        vec![debit_spec("cash:a", Currency::EUR)],
        vec![debit_spec("cash:c", USD), debit_spec("cash:c", Currency::EUR)],
        Vec::new(),
        vec![debit_spec("cash:a", USD), debit_spec("cash:d", USD)],
    ];
    let answers = fx.store.create_account_sets(&fx.ledger, &sets).await.unwrap();
    let summary: Vec<Result<Vec<String>, &'static str>> = answers
        .iter()
        .map(|a| match a {
            Ok(made) => Ok(made.iter().map(|x| x.code.as_str().to_owned()).collect()),
            Err(e) => Err(e.code()),
        })
        .collect();
    let ok =
        |codes: &[&str]| -> Result<Vec<String>, &'static str> { Ok(codes.iter().map(|c| c.to_string()).collect()) };
    assert_eq!(
        summary,
        vec![
            ok(&["cash:a", "cash:x"]),
            Err("account_exists"),
            Err("account_exists"),
            Err("account_exists"),
            ok(&[]),
            ok(&["cash:a", "cash:d"]),
        ]
    );
    let first = answers[0].as_ref().unwrap();
    assert_eq!(first[1], held);
    assert_eq!(answers[5].as_ref().unwrap()[0], first[0], "a later set gets the account an earlier one created");
    let page = fx.store.list_accounts(&fx.ledger, None, 10).await.unwrap();
    let codes: Vec<&str> = page.items.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["cash:x", "cash:a", "cash:d"], "refused sets created nothing");
}

pub async fn ledgers_are_isolated(fx: Fixture) {
    funded(&fx, 1_000).await;
    let other = LedgerId::new("other-program").unwrap();
    fx.account_in(&other, "cash:a", USD, Side::Debit, Book::Main, false).await;
    let b = fx.store.balance(&other, &code_of("cash:a"), AsOf::Now).await.unwrap();
    assert_eq!(b.posted_minor, 0);
    assert_eq!(fx.store.head(&other).await.unwrap().seq, 0);
    // Same idempotency key in another ledger is another request.
    fx.account_in(&other, "equity", USD, Side::Credit, Book::Main, false).await;
    let c = fx.store.commit(&other, transfer("fund", "equity", "cash:a", USD, 5)).await.unwrap();
    assert_eq!((c.seq, c.replayed), (1, false));
    verify_chain(fx.store.as_ref(), &other).await.unwrap();
    verify_chain(fx.store.as_ref(), &fx.ledger).await.unwrap();
}

pub async fn record_if_unchanged_refuses_after_a_concurrent_change(fx: Fixture) {
    funded(&fx, 10_000).await;
    let snapshot = fx.store.head(&fx.ledger).await.unwrap().seq;
    let guarded = |key: &str, since_seq| {
        command(
            key,
            Action::RecordIfUnchanged {
                legs: vec![leg("cash:b", Side::Debit, USD, 100), leg("cash:a", Side::Credit, USD, 100)],
                pending: true,
                unchanged: vec![code_of("cash:a")],
                since_seq,
            },
        )
    };
    // Nothing touched cash:a since the snapshot: the guarded hold goes in.
    let first = fx.store.commit(&fx.ledger, guarded("g1", snapshot)).await.unwrap();
    assert_eq!(fx.balance("cash:a").await, (10_000, 9_900));
    // The hold itself touched cash:a: a decision made on the old snapshot is stale.
    let before = fx.footprint().await;
    let stale = fx.store.commit(&fx.ledger, guarded("g2", snapshot)).await;
    assert_eq!(code(stale), "precondition_failed");
    assert_eq!(fx.footprint().await, before);
    // Re-read and retry: accepted.
    fx.store.commit(&fx.ledger, guarded("g3", first.seq)).await.unwrap();
    assert_eq!(fx.balance("cash:a").await, (10_000, 9_800));
    // Replaying g1 with its now-stale guard returns the first result: the
    // guard is a precondition, not part of the idempotent payload.
    let replay = fx.store.commit(&fx.ledger, guarded("g1", snapshot)).await.unwrap();
    assert_eq!((replay.seq, replay.replayed), (first.seq, true));
    assert_eq!(fx.balance("cash:a").await, (10_000, 9_800));
    // Unknown guard accounts are refused like unknown leg accounts.
    let mut bad = guarded("g4", first.seq + 1);
    if let Action::RecordIfUnchanged { unchanged, .. } = &mut bad.action {
        unchanged.push(code_of("nope"));
    }
    assert_eq!(code(fx.store.commit(&fx.ledger, bad).await), "unknown_account");
}

pub async fn records_are_versioned_with_optimistic_concurrency(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let s = &fx.store;
    assert!(s.get_record(&fx.ledger, "facility", "f1").await.unwrap().is_none());
    let v1 = s.put_record(&fx.ledger, "facility", "f1", 0, &serde_json::json!({"limit": "1"})).await.unwrap();
    assert_eq!(v1.version, 1);
    // Creating again, or writing from a stale version, is a conflict.
    let again = s.put_record(&fx.ledger, "facility", "f1", 0, &serde_json::json!({"limit": "2"})).await;
    assert_eq!(code(again), "version_conflict");
    let v2 = s.put_record(&fx.ledger, "facility", "f1", 1, &serde_json::json!({"limit": "2"})).await.unwrap();
    assert_eq!(v2.version, 2);
    let stale = s.put_record(&fx.ledger, "facility", "f1", 1, &serde_json::json!({"limit": "3"})).await;
    assert_eq!(code(stale), "version_conflict");
    let skip = s.put_record(&fx.ledger, "facility", "f1", 5, &serde_json::json!({"limit": "3"})).await;
    assert_eq!(code(skip), "version_conflict");
    let latest = s.get_record(&fx.ledger, "facility", "f1").await.unwrap().unwrap();
    assert_eq!((latest.version, latest.body["limit"].as_str()), (2, Some("2")));
    let history = s.record_history(&fx.ledger, "facility", "f1").await.unwrap();
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(history[0].body["limit"], "1");
    // Accept-once semantics for nonces.
    assert!(s.insert_once(&fx.ledger, "nonce", "k1:n1", &serde_json::json!({})).await.unwrap());
    assert!(!s.insert_once(&fx.ledger, "nonce", "k1:n1", &serde_json::json!({})).await.unwrap());
    // Bad keys and unknown ledgers write nothing.
    assert_eq!(code(s.put_record(&fx.ledger, "facility", "", 0, &serde_json::json!({})).await), "invalid_input");
    assert_eq!(code(s.put_record(&fx.ledger, "fa cility", "x", 0, &serde_json::json!({})).await), "invalid_input");
    let other = LedgerId::new("never-created").unwrap();
    assert_eq!(code(s.put_record(&other, "facility", "f1", 0, &serde_json::json!({})).await), "unknown_ledger");
}

pub async fn records_list_latest_versions_by_cursor(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let s = &fx.store;
    for i in 0..5 {
        let id = format!("inv-{i}");
        s.put_record(&fx.ledger, "invoice", &id, 0, &serde_json::json!({"n": i, "v": 1})).await.unwrap();
        if i % 2 == 0 {
            s.put_record(&fx.ledger, "invoice", &id, 1, &serde_json::json!({"n": i, "v": 2})).await.unwrap();
        }
    }
    s.put_record(&fx.ledger, "other", "inv-9", 0, &serde_json::json!({})).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_records(&fx.ledger, "invoice", cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|r| (r.id, r.version, r.body["v"].as_i64().unwrap())));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<(String, i64, i64)> =
        (0..5).map(|i| (format!("inv-{i}"), if i % 2 == 0 { 2 } else { 1 }, if i % 2 == 0 { 2 } else { 1 })).collect();
    assert_eq!(seen, expected);
    assert_eq!(s.all_records(&fx.ledger, "invoice").await.unwrap().len(), 5);
}

pub async fn records_are_read_by_id_and_by_version(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let s = &fx.store;
    for i in 0..4 {
        let id = format!("f-{i}");
        s.put_record(&fx.ledger, "facility", &id, 0, &serde_json::json!({"n": i, "v": 1})).await.unwrap();
        if i % 2 == 0 {
            s.put_record(&fx.ledger, "facility", &id, 1, &serde_json::json!({"n": i, "v": 2})).await.unwrap();
        }
    }
    s.put_record(&fx.ledger, "invoice", "f-1", 0, &serde_json::json!({"other": true})).await.unwrap();
    let ids: Vec<String> = ["f-2", "f-0", "missing", "f-2", "f-1", "", "bad\0id"].map(str::to_owned).to_vec();
    let mut got: Vec<(String, i64, i64)> = s
        .get_records(&fx.ledger, "facility", &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!(r.kind, "facility");
            (r.id, r.version, r.body["v"].as_i64().unwrap())
        })
        .collect();
    got.sort();
    // Latest versions of those that exist, each once; the invoice of the
    // same id, the missing, the empty and the NUL-bearing ids are not there.
    assert_eq!(got, vec![("f-0".into(), 2, 2), ("f-1".into(), 1, 1), ("f-2".into(), 2, 2)]);
    assert!(s.get_records(&fx.ledger, "facility", &[]).await.unwrap().is_empty());
    let first = s.record_version(&fx.ledger, "facility", "f-0", 1).await.unwrap().unwrap();
    assert_eq!((first.version, first.body["v"].as_i64()), (1, Some(1)));
    let history = s.record_history(&fx.ledger, "facility", "f-0").await.unwrap();
    assert_eq!(Some(&first), history.first(), "a version read alone equals the history's");
    assert!(s.record_version(&fx.ledger, "facility", "f-0", 3).await.unwrap().is_none());
    assert!(s.record_version(&fx.ledger, "facility", "f-1", 0).await.unwrap().is_none());
    assert!(s.record_version(&fx.ledger, "facility", "nope", 1).await.unwrap().is_none());
    let other = LedgerId::new("never-created").unwrap();
    assert!(s.get_records(&other, "facility", &ids).await.unwrap().is_empty());
}

pub async fn concurrent_record_writers_one_wins_per_version(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    fx.store.put_record(&fx.ledger, "counter", "c", 0, &serde_json::json!({"n": 0})).await.unwrap();
    // 16 tasks each add 1 to the counter 5 times with read-modify-write
    // retried on conflict: no increment is lost.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = fx.store.clone();
        let ledger = fx.ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..5 {
                loop {
                    let cur = store.get_record(&ledger, "counter", "c").await.unwrap().unwrap();
                    let n = cur.body["n"].as_i64().unwrap();
                    match store.put_record(&ledger, "counter", "c", cur.version, &serde_json::json!({"n": n + 1})).await
                    {
                        Ok(_) => break,
                        Err(LedgerError::VersionConflict { .. }) => conflicts += 1,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            }
            conflicts
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let last = fx.store.get_record(&fx.ledger, "counter", "c").await.unwrap().unwrap();
    assert_eq!(last.body["n"], 80);
    assert_eq!(last.version, 81);
}

pub async fn records_are_append_only_in_the_database(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    fx.store.put_record(&fx.ledger, "key", "k1", 0, &serde_json::json!({"pk": "aa"})).await.unwrap();
    let err = fx.insider.try_update_record(&fx.ledger, "key", "k1").await.expect_err("update must fail");
    assert!(err.contains("append_only"), "{err}");
    let rec = fx.store.get_record(&fx.ledger, "key", "k1").await.unwrap().unwrap();
    assert_eq!(rec.body["pk"], "aa");
}

/// A ledger with entries and three record versions (a commitment in two
/// versions, an API key), whose history verifies.
async fn with_records(fx: &Fixture) {
    funded(fx, 1_000).await;
    let s = &fx.store;
    s.put_record(&fx.ledger, "commitment", "c1", 0, &serde_json::json!({"qty": "10"})).await.unwrap();
    s.put_record(&fx.ledger, "commitment", "c1", 1, &serde_json::json!({"qty": "12"})).await.unwrap();
    s.put_record(&fx.ledger, "api_key", "k1", 0, &serde_json::json!({"role": "viewer"})).await.unwrap();
    let report = verify_history(fx.store.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!((report.entries.entries, report.records.versions), (1, 3));
}

fn broken_at(result: Result<impl std::fmt::Debug, LedgerError>) -> String {
    match result {
        Err(LedgerError::RecordChainBroken { seq, reason }) => format!("{seq}: {reason}"),
        other => panic!("expected a broken record chain, got {other:?}"),
    }
}

pub async fn verify_history_detects_a_forged_record_version(fx: Fixture) {
    with_records(&fx).await;
    // The insider's ×1000 commitment and admin key, written with raw SQL.
    let latest = fx.store.get_record(&fx.ledger, "commitment", "c1").await.unwrap().unwrap();
    let forged = StoredRecord { version: 3, body: serde_json::json!({"qty": "12000"}), ..latest };
    fx.insider.force_insert_record(&fx.ledger, &forged, None).await;
    let key = StoredRecord {
        kind: "api_key".into(),
        id: "k-admin".into(),
        version: 1,
        body: serde_json::json!({"role": "admin"}),
        recorded_at_us: forged.recorded_at_us,
    };
    fx.insider.force_insert_record(&fx.ledger, &key, None).await;
    // The store serves the forgery; verification refuses the history.
    assert_eq!(fx.store.get_record(&fx.ledger, "commitment", "c1").await.unwrap().unwrap().version, 3);
    let reason = broken_at(verify_history(fx.store.as_ref(), &fx.ledger).await);
    assert!(reason.contains("outside the chain"), "{reason}");
}

pub async fn verify_history_detects_a_forged_version_linked_past_the_stored_head(fx: Fixture) {
    with_records(&fx).await;
    // A careful insider computes a valid link but cannot move the head
    // without rewriting it (which needs an outside checkpoint to catch).
    let head = fx.store.record_head(&fx.ledger).await.unwrap();
    let key = StoredRecord {
        kind: "api_key".into(),
        id: "k-admin".into(),
        version: 1,
        body: serde_json::json!({"role": "admin"}),
        recorded_at_us: 1,
    };
    let link = record_chain::link(&fx.ledger, head, key.clone()).unwrap();
    fx.insider.force_insert_record(&fx.ledger, &key, Some(&link)).await;
    let reason = broken_at(verify_history(fx.store.as_ref(), &fx.ledger).await);
    assert!(reason.contains("stored head (seq 3) does not match the last version (seq 4)"), "{reason}");
}

pub async fn verify_history_detects_an_altered_record_body(fx: Fixture) {
    with_records(&fx).await;
    fx.insider.force_record_body(&fx.ledger, "commitment", "c1", 2, &serde_json::json!({"qty": "12000"})).await;
    let reason = broken_at(verify_history(fx.store.as_ref(), &fx.ledger).await);
    assert!(reason.starts_with("2: commitment/c1 v2: stored hash"), "{reason}");
}

pub async fn verify_history_detects_a_deleted_record_version(fx: Fixture) {
    with_records(&fx).await;
    // The newest version deleted: the chain is shorter than its stored head.
    fx.insider.force_delete_record(&fx.ledger, "api_key", "k1", 1).await;
    let reason = broken_at(verify_history(fx.store.as_ref(), &fx.ledger).await);
    assert!(reason.contains("stored head (seq 3) does not match the last version (seq 2)"), "{reason}");
    // A version in the middle deleted: the chain has a gap.
    fx.insider.force_delete_record(&fx.ledger, "commitment", "c1", 1).await;
    let reason = broken_at(verify_history(fx.store.as_ref(), &fx.ledger).await);
    assert!(reason.contains("expected seq 1"), "{reason}");
}

pub async fn records_written_before_the_chain_are_chained_once_on_open(fx: Fixture) {
    with_records(&fx).await;
    fx.insider.unchain_records(&fx.ledger).await;
    assert_eq!(code(verify_history(fx.store.as_ref(), &fx.ledger).await), "chain_broken");
    let reopened = fx.insider.reopen().await;
    let report = verify_history(reopened.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!(report.records.versions, 3);
    // Chained once: a new version extends the chain, and opening again
    // changes nothing.
    reopened.put_record(&fx.ledger, "api_key", "k1", 1, &serde_json::json!({"role": "none"})).await.unwrap();
    let again = fx.insider.reopen().await;
    let report = verify_history(again.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!(report.records.versions, 4);
    assert_eq!(report.records.head, reopened.record_head(&fx.ledger).await.unwrap());
}

pub async fn reopening_does_not_chain_a_forged_version(fx: Fixture) {
    with_records(&fx).await;
    let key = StoredRecord {
        kind: "api_key".into(),
        id: "k-admin".into(),
        version: 1,
        body: serde_json::json!({"role": "admin"}),
        recorded_at_us: 1,
    };
    fx.insider.force_insert_record(&fx.ledger, &key, None).await;
    // The start-up pass chains only ledgers that have no record head yet.
    let reopened = fx.insider.reopen().await;
    let reason = broken_at(verify_history(reopened.as_ref(), &fx.ledger).await);
    assert!(reason.contains("1 version rows outside the chain"), "{reason}");
}

pub async fn record_versions_are_chained_in_write_order(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let genesis = fx.store.record_head(&fx.ledger).await.unwrap();
    assert_eq!(genesis.seq, 0);
    let writers = (0..8).map(|i| {
        let store = fx.store.clone();
        let ledger = fx.ledger.clone();
        tokio::spawn(async move {
            store.put_record(&ledger, "nonce", &format!("n{i}"), 0, &serde_json::json!({"i": i})).await.unwrap()
        })
    });
    for w in writers {
        w.await.unwrap();
    }
    let chained = fx.store.chained_records(&fx.ledger, 0, 100).await.unwrap();
    assert_eq!(chained.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    assert_eq!(chained[0].prev_hash, genesis.hash);
    let report = verify_history(fx.store.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!(report.records.head.hash, chained[7].hash);
}

/// A record that writes down `seq` of the entry it is attached to.
fn attachment(id: &str) -> offtake_ledger::commit::Attachment {
    offtake_ledger::commit::Attachment {
        kind: "attached".to_owned(),
        id: id.to_owned(),
        expected_version: 0,
        body: Arc::new(|entry: &offtake_ledger::EntryRecord| Ok(serde_json::json!({ "seq": entry.seq }))),
    }
}

/// Records attached to commands are written, in the entries' transaction,
/// for exactly the commands that append an entry (not refused, not
/// replayed), and each appended command answers the entry it wrote.
pub async fn attached_records_commit_with_their_entries(fx: Fixture) {
    funded(&fx, 1_000).await;
    let batch = vec![
        transfer("a1", "cash:a", "cash:b", USD, 400),
        transfer("a2", "cash:a", "cash:b", USD, 700), // refused: 600 left
        transfer("fund", "equity", "cash:a", USD, 1_000), // replay of the funding
        transfer("a3", "cash:a", "cash:b", USD, 100),
    ];
    let attachments = vec![vec![attachment("r1")], vec![attachment("r2")], vec![attachment("r3")], vec![]];
    let outcomes = fx.store.commit_batch_attached(&fx.ledger, &batch, &attachments).await.unwrap();
    let first = outcomes[0].as_ref().unwrap();
    let entry = first.entry.as_ref().expect("the entry written");
    assert_eq!((entry.seq, entry.hash), (first.committed.seq, first.committed.hash));
    assert_eq!(fx.store.entry(&fx.ledger, entry.seq).await.unwrap(), *entry, "answered as stored");
    assert_eq!(outcomes[1].as_ref().unwrap_err().code(), "insufficient_funds");
    let replay = outcomes[2].as_ref().unwrap();
    assert!(replay.committed.replayed && replay.entry.is_none());
    assert!(outcomes[3].as_ref().unwrap().entry.is_some());

    let r1 = fx.store.get_record(&fx.ledger, "attached", "r1").await.unwrap().expect("r1 written");
    assert_eq!((r1.version, r1.body.clone()), (1, serde_json::json!({ "seq": entry.seq })));
    for absent in ["r2", "r3"] {
        assert!(fx.store.get_record(&fx.ledger, "attached", absent).await.unwrap().is_none(), "{absent}");
    }
    let report = verify_history(fx.store.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!((report.entries.entries, report.records.versions), (3, 1), "both chains verify");
}

/// A command whose attached record moved past its expected version is
/// answered `version_conflict` and writes nothing, entry included; the
/// other commands of its batch commit.
pub async fn an_attached_record_conflict_writes_nothing(fx: Fixture) {
    funded(&fx, 1_000).await;
    fx.store.put_record(&fx.ledger, "attached", "taken", 0, &serde_json::json!({})).await.unwrap();
    let before = (fx.footprint().await, fx.store.record_head(&fx.ledger).await.unwrap());
    let batch = vec![transfer("c1", "cash:a", "cash:b", USD, 10), transfer("c2", "cash:a", "cash:b", USD, 20)];
    let attachments = vec![vec![attachment("taken")], vec![attachment("fresh"), attachment("fresh-2")]];
    let outcomes = fx.store.commit_batch_attached(&fx.ledger, &batch, &attachments).await.unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap_err().code(), "version_conflict");
    let second = outcomes[1].as_ref().unwrap().entry.as_ref().expect("the other command commits").clone();
    assert_eq!(second.seq, before.0 .0 + 1, "the refused command took no seq");
    assert_eq!(fx.footprint().await.0, before.0 .0 + 1, "one entry");
    let fresh = fx.store.get_record(&fx.ledger, "attached", "fresh").await.unwrap().expect("its records");
    assert_eq!(fresh.body, serde_json::json!({ "seq": second.seq }));
    assert!(fx.store.get_record(&fx.ledger, "attached", "fresh-2").await.unwrap().is_some());
    assert_eq!(fx.store.get_record(&fx.ledger, "attached", "taken").await.unwrap().unwrap().version, 1);
    assert_eq!(fx.store.record_head(&fx.ledger).await.unwrap().seq, before.1.seq + 2);
    let report = verify_history(fx.store.as_ref(), &fx.ledger).await.unwrap();
    assert_eq!(report.records.versions, 3);
    // The refused command retried with the version it should have read.
    let mut retry = attachment("taken");
    retry.expected_version = 1;
    let again = fx.store.commit_attached(&fx.ledger, batch[0].clone(), vec![retry]).await.unwrap();
    assert_eq!(fx.store.get_record(&fx.ledger, "attached", "taken").await.unwrap().unwrap().version, 2);
    assert_eq!(again.entry.unwrap().seq, second.seq + 1);
    // Two commands of one batch writing the same record: the later is stale.
    let pair = vec![transfer("d1", "cash:a", "cash:b", USD, 1), transfer("d2", "cash:a", "cash:b", USD, 2)];
    let outcomes =
        fx.store.commit_batch_attached(&fx.ledger, &pair, &[vec![attachment("dup")], vec![attachment("dup")]]).await;
    let outcomes = outcomes.unwrap();
    assert!(outcomes[0].is_ok());
    assert_eq!(outcomes[1].as_ref().unwrap_err().code(), "version_conflict");
    let short = fx.store.commit_batch_attached(&fx.ledger, &batch, &[vec![]]).await.unwrap_err();
    assert_eq!(short.code(), "invalid_input");
}

fn invoice_body(facility: &str, brand: &str, status: &str) -> serde_json::Value {
    serde_json::json!({ "facility": facility, "brand": brand, "status": status })
}

/// Ids of the records an index files under `parts`.
async fn indexed_ids(
    store: &dyn offtake_ledger::Store,
    ledger: &LedgerId,
    kind: &str,
    name: &str,
    parts: &[&str],
) -> Vec<String> {
    let key = offtake_ledger::record::index_key(parts);
    let recs = store.all_by_index(ledger, kind, name, &key).await.unwrap();
    recs.into_iter().map(|r| r.id).collect()
}

/// A secondary index shows each record's latest version under the keys
/// that version has, and only those: a record whose key changes moves, and
/// an invoice paid leaves the open index.
pub async fn the_record_index_follows_the_latest_version(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    s.put_record(l, "invoice", "i1", 0, &invoice_body("f1", "b1", "open")).await.unwrap();
    s.put_record(l, "invoice", "i2", 0, &invoice_body("f1", "b2", "open")).await.unwrap();
    assert_eq!(indexed_ids(s, l, "invoice", "facility", &["f1"]).await, ["i1", "i2"]);
    assert_eq!(indexed_ids(s, l, "invoice", "open_by_brand_facility", &["b1", "f1"]).await, ["i1"]);
    // Paid and moved: out of the open index, under its new facility only.
    let moved = s.put_record(l, "invoice", "i1", 1, &invoice_body("f2", "b1", "paid")).await.unwrap();
    assert_eq!(indexed_ids(s, l, "invoice", "facility", &["f1"]).await, ["i2"]);
    let in_f2 = s.all_by_index(l, "invoice", "facility", &offtake_ledger::record::index_key(&["f2"])).await.unwrap();
    assert_eq!(in_f2, vec![moved], "the latest version, whole");
    assert!(indexed_ids(s, l, "invoice", "open_by_brand_facility", &["b1", "f1"]).await.is_empty());
    // Notices are open while queued or processing; a facility is found by
    // either party; another kind or index name finds nothing.
    s.put_record(l, "payment_notice", "n1", 0, &serde_json::json!({"state": {"state": "queued"}})).await.unwrap();
    s.put_record(l, "payment_notice", "n2", 0, &serde_json::json!({"state": {"state": "applied"}})).await.unwrap();
    assert_eq!(indexed_ids(s, l, "payment_notice", "open", &[]).await, ["n1"]);
    s.put_record(l, "payment_notice", "n1", 1, &serde_json::json!({"state": {"state": "rejected"}})).await.unwrap();
    assert!(indexed_ids(s, l, "payment_notice", "open", &[]).await.is_empty());
    s.put_record(l, "facility", "fa", 0, &serde_json::json!({"lender": "len", "maker": "mk"})).await.unwrap();
    assert_eq!(indexed_ids(s, l, "facility", "party", &["len"]).await, ["fa"]);
    assert_eq!(indexed_ids(s, l, "facility", "party", &["mk"]).await, ["fa"]);
    assert!(indexed_ids(s, l, "facility", "party", &["nobody"]).await.is_empty());
    assert!(indexed_ids(s, l, "api_key", "facility", &["f1"]).await.is_empty());
    // Attached records are indexed in their batch's transaction.
    funded(&fx, 100).await;
    let attached = offtake_ledger::commit::Attachment {
        kind: "invoice".to_owned(),
        id: "i3".to_owned(),
        expected_version: 0,
        body: Arc::new(|_: &offtake_ledger::EntryRecord| Ok(invoice_body("f1", "b1", "open"))),
    };
    fx.store.commit_attached(l, transfer("t-i3", "cash:a", "cash:b", USD, 1), vec![attached]).await.unwrap();
    assert_eq!(indexed_ids(s, l, "invoice", "open_by_brand_facility", &["b1", "f1"]).await, ["i3"]);
    // Ledgers are apart.
    let other = LedgerId::new("other-ledger").unwrap();
    fx.store.ensure_ledger(&other).await.unwrap();
    assert!(indexed_ids(s, &other, "invoice", "facility", &["f1"]).await.is_empty());
}

/// An index lists by id after the cursor, a page at a time.
pub async fn the_record_index_pages_by_id(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    for i in 0..5 {
        s.put_record(l, "invoice", &format!("i{i}"), 0, &invoice_body("f1", "b1", "open")).await.unwrap();
    }
    s.put_record(l, "invoice", "x", 0, &invoice_body("f9", "b1", "open")).await.unwrap();
    let key = offtake_ledger::record::index_key(&["f1"]);
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = s.list_by_index(l, "invoice", "facility", &key, cursor.as_deref(), 2).await.unwrap();
        pages.push(page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec!["i0", "i1"], vec!["i2", "i3"], vec!["i4"]]);
    let bad = s.list_by_index(l, "invoice", "facility", &key, Some("no cursor"), 2).await.unwrap_err();
    assert_eq!(bad.code(), "invalid_input");
}

/// A refused write (stale version, bad body, stale attachment) changes no
/// index row.
pub async fn a_refused_record_write_leaves_the_index_unchanged(fx: Fixture) {
    funded(&fx, 100).await;
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    s.put_record(l, "invoice", "i1", 0, &invoice_body("f1", "b1", "open")).await.unwrap();
    let before = (fx.insider.index_rows(l).await, fx.footprint().await, s.record_head(l).await.unwrap());
    assert_eq!(before.0.len(), 4, "facility, brand, open by brand and facility, open by brand");
    let stale = s.put_record(l, "invoice", "i1", 0, &invoice_body("f2", "b1", "paid")).await.unwrap_err();
    assert_eq!(stale.code(), "version_conflict");
    let nul = s.put_record(l, "invoice", "i1", 1, &invoice_body("f\0", "b1", "open")).await.unwrap_err();
    assert_eq!(nul.code(), "invalid_input");
    let attached = offtake_ledger::commit::Attachment {
        kind: "invoice".to_owned(),
        id: "i1".to_owned(),
        expected_version: 0,
        body: Arc::new(|_: &offtake_ledger::EntryRecord| Ok(invoice_body("f3", "b1", "open"))),
    };
    let refused = fx.store.commit_attached(l, transfer("t-stale", "cash:a", "cash:b", USD, 1), vec![attached]).await;
    assert_eq!(refused.unwrap_err().code(), "version_conflict");
    let after = (fx.insider.index_rows(l).await, fx.footprint().await, s.record_head(l).await.unwrap());
    assert_eq!(after, before);
}

/// Records written before the index existed (or under another catalogue)
/// are indexed when the store opens, once.
pub async fn the_record_index_is_rebuilt_on_open_for_records_written_before_it(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    for i in 0..3 {
        s.put_record(l, "invoice", &format!("i{i}"), 0, &invoice_body("f1", "b1", "open")).await.unwrap();
    }
    s.put_record(l, "invoice", "i1", 1, &invoice_body("f1", "b1", "paid")).await.unwrap();
    s.put_record(l, "facility", "fa", 0, &serde_json::json!({"lender": "len", "maker": "mk"})).await.unwrap();
    let built = fx.insider.index_rows(l).await;
    fx.insider.forget_index().await;
    assert!(indexed_ids(s, l, "invoice", "facility", &["f1"]).await.is_empty(), "forgotten");
    let reopened = fx.insider.reopen().await;
    assert_eq!(fx.insider.index_rows(l).await, built);
    assert_eq!(
        indexed_ids(reopened.as_ref(), l, "invoice", "open_by_brand_facility", &["b1", "f1"]).await,
        ["i0", "i2"]
    );
    // Opening again leaves the rows as they are.
    let _again = fx.insider.reopen().await;
    assert_eq!(fx.insider.index_rows(l).await, built);
}

fn write(kind: &str, id: &str, expected_version: i64, body: serde_json::Value) -> offtake_ledger::RecordWrite {
    offtake_ledger::RecordWrite { kind: kind.to_owned(), id: id.to_owned(), expected_version, body }
}

/// `put_records` writes every record or none: one stale version, a bad
/// body or a record named twice refuses the whole set, leaving records,
/// chain head and index as they were.
pub async fn put_records_is_all_or_nothing(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    s.put_record(l, "nonce", "k:n1", 0, &serde_json::json!({"by": "other"})).await.unwrap();
    let before = (fx.insider.index_rows(l).await, s.record_head(l).await.unwrap(), s.record_rows(l).await.unwrap());
    let stale = vec![
        write("invoice", "i1", 0, invoice_body("f1", "b1", "open")),
        write("nonce", "k:n1", 0, serde_json::json!({"by": "me"})),
    ];
    let e = s.put_records(l, &stale).await.unwrap_err();
    assert!(matches!(&e, LedgerError::VersionConflict { id, current: 1, .. } if id == "k:n1"), "{e:?}");
    let twice = vec![write("a", "x", 0, serde_json::json!({})), write("a", "x", 1, serde_json::json!({}))];
    assert_eq!(s.put_records(l, &twice).await.unwrap_err().code(), "invalid_input");
    let nul = vec![write("a", "y", 0, serde_json::json!({})), write("a", "z", 0, serde_json::json!({"t": "\0"}))];
    assert_eq!(s.put_records(l, &nul).await.unwrap_err().code(), "invalid_input");
    let after = (fx.insider.index_rows(l).await, s.record_head(l).await.unwrap(), s.record_rows(l).await.unwrap());
    assert_eq!(after, before, "a refused set writes nothing");
    assert!(s.get_record(l, "invoice", "i1").await.unwrap().is_none());
    // A valid set: every version, chained in order, indexed.
    let ok = vec![
        write("invoice", "i1", 0, invoice_body("f1", "b1", "open")),
        write("nonce", "k:n1", 1, serde_json::json!({"by": "me"})),
    ];
    let written = s.put_records(l, &ok).await.unwrap();
    assert_eq!(written.iter().map(|r| (r.id.as_str(), r.version)).collect::<Vec<_>>(), [("i1", 1), ("k:n1", 2)]);
    assert_eq!(s.record_head(l).await.unwrap().seq, before.1.seq + 2);
    assert_eq!(indexed_ids(s, l, "invoice", "facility", &["f1"]).await, ["i1"]);
    assert!(s.put_records(l, &[]).await.unwrap().is_empty());
    let report = verify_history(s, l).await.unwrap();
    assert_eq!(report.records.versions, 3, "the nonce's two versions and the invoice");
}

/// `put_record_sets` (what a record group committer sends) answers each
/// set on its own, as if the sets had been written one after another: a
/// stale set (also one made stale by an earlier set of the same call), a
/// bad body or a record named twice refuses that set only; the others are
/// written, chained in order, and indexed as their last version.
pub async fn put_record_sets_answer_each_set_on_its_own(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let (s, l) = (fx.store.as_ref(), &fx.ledger);
    s.put_record(l, "nonce", "k:n1", 0, &serde_json::json!({"by": "other"})).await.unwrap();
    let head = s.record_head(l).await.unwrap();
    let sets = vec![
        vec![write("invoice", "i1", 0, invoice_body("f1", "b1", "open")), write("doc", "d1", 0, serde_json::json!({}))],
        // Stale against the store.
        vec![write("doc", "d2", 0, serde_json::json!({})), write("nonce", "k:n1", 0, serde_json::json!({"by": "me"}))],
        // Stale against the first set: it read i1 before the first set wrote it.
        vec![write("invoice", "i1", 0, invoice_body("f2", "b1", "open"))],
        vec![write("a", "x", 0, serde_json::json!({})), write("a", "x", 1, serde_json::json!({}))],
        vec![write("a", "y", 0, serde_json::json!({"t": "\0"}))],
        Vec::new(),
        // Builds on the first set: i1 moves to f2 and leaves f1's index.
        vec![
            write("invoice", "i1", 1, invoice_body("f2", "b1", "paid")),
            write("nonce", "k:n1", 1, serde_json::json!({})),
        ],
    ];
    let answers = s.put_record_sets(l, &sets).await.unwrap();
    let summary: Vec<Result<Vec<(String, i64)>, &'static str>> = answers
        .iter()
        .map(|a| match a {
            Ok(written) => Ok(written.iter().map(|r| (r.id.clone(), r.version)).collect()),
            Err(e) => Err(e.code()),
        })
        .collect();
    let v = |pairs: &[(&str, i64)]| -> Result<Vec<(String, i64)>, &'static str> {
        Ok(pairs.iter().map(|(id, n)| (id.to_string(), *n)).collect())
    };
    assert_eq!(
        summary,
        vec![
            v(&[("i1", 1), ("d1", 1)]),
            Err("version_conflict"),
            Err("version_conflict"),
            Err("invalid_input"),
            Err("invalid_input"),
            v(&[]),
            v(&[("i1", 2), ("k:n1", 2)]),
        ]
    );
    assert_eq!(s.record_head(l).await.unwrap().seq, head.seq + 4, "four versions written");
    assert!(s.get_record(l, "doc", "d2").await.unwrap().is_none(), "a refused set writes nothing");
    assert!(s.get_record(l, "a", "x").await.unwrap().is_none());
    assert_eq!(s.get_record(l, "invoice", "i1").await.unwrap().unwrap().version, 2);
    assert!(indexed_ids(s, l, "invoice", "facility", &["f1"]).await.is_empty());
    assert_eq!(indexed_ids(s, l, "invoice", "facility", &["f2"]).await, ["i1"]);
    // i1's rows are its last version's, each once (the batch indexes each
    // record once, as of its last version in the batch).
    let i1_rows: Vec<_> = fx.insider.index_rows(l).await.into_iter().filter(|r| r.3 == "i1").collect();
    let key = |part: &str| offtake_ledger::record::index_key(&[part]);
    let got: Vec<_> = i1_rows.into_iter().map(|(kind, name, key, _, version)| (kind, name, key, version)).collect();
    let want = |name: &str, k: String| ("invoice".to_owned(), name.to_owned(), k, 2);
    assert_eq!(got, vec![want("brand", key("b1")), want("facility", key("f2"))]);
    let report = verify_history(s, l).await.unwrap();
    assert_eq!(report.records.versions, 5);
    // Nothing to write: nothing moves.
    let answers = s.put_record_sets(l, &[Vec::new(), vec![write("a", "x", 0, serde_json::json!({"t": "\0"}))]]).await;
    assert_eq!(answers.unwrap().iter().map(Result::is_ok).collect::<Vec<_>>(), [true, false]);
    assert_eq!(s.record_head(l).await.unwrap().seq, head.seq + 4);
}

/// Two sets racing for one record (a nonce): exactly one commits, and the
/// loser's other records are not written.
pub async fn concurrent_put_records_sharing_a_record_one_wins(fx: Fixture) {
    fx.store.ensure_ledger(&fx.ledger).await.unwrap();
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let store = fx.store.clone();
            let ledger = fx.ledger.clone();
            tokio::spawn(async move {
                let set = vec![
                    write("doc", &format!("d{i}"), 0, serde_json::json!({ "i": i })),
                    write("nonce", "k:shared", 0, serde_json::json!({ "doc": i })),
                ];
                store.put_records(&ledger, &set).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.expect("task"));
    }
    let winners: Vec<usize> = outcomes.iter().enumerate().filter(|(_, o)| o.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for o in outcomes.iter().filter(|o| o.is_err()) {
        assert_eq!(o.as_ref().unwrap_err().code(), "version_conflict");
    }
    let docs = fx.store.all_records(&fx.ledger, "doc").await.unwrap();
    assert_eq!(docs.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), [format!("d{}", winners[0])]);
    assert_eq!(fx.store.record_rows(&fx.ledger).await.unwrap(), 2);
}
