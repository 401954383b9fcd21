//! Group commit of record writes and new accounts on both stores: many
//! writers' record versions (and accounts) share transactions behind the
//! `Store` trait, and each writer still gets its own answer — a version
//! conflict refuses only the writer that read a stale version, so
//! optimistic counters lose no increment, one-time inserts happen once, a
//! clashing account refuses only its caller, and the record chain
//! verifies.

#[macro_use]
mod support;

use std::sync::Arc;

use offtake_committer::GroupCommitStore;
use offtake_ledger::{verify_history, LedgerError, LedgerId, Store};

use support::{postgres, sqlite, Db};

const WRITERS: usize = 24;
const INCREMENTS: i64 = 8;

/// Adds one to the shared counter: read, write the next version, retry on
/// a conflict (another writer's version landed first).
async fn increment(store: &dyn Store, l: &LedgerId) -> u32 {
    let mut conflicts = 0;
    loop {
        let held = store.get_record(l, "counter", "c").await.expect("read").expect("exists");
        let n = held.body["n"].as_i64().expect("n") + 1;
        match store.put_record(l, "counter", "c", held.version, &serde_json::json!({ "n": n })).await {
            Ok(_) => return conflicts,
            Err(LedgerError::VersionConflict { .. }) => conflicts += 1,
            Err(e) => panic!("increment: {e}"),
        }
    }
}

async fn writers_share_transactions_and_keep_their_own_answers(db: Db) {
    let store: Arc<dyn Store> = Arc::new(GroupCommitStore::over(db.store.clone(), 64, 0));
    let l = LedgerId::new("records").expect("ledger id");
    store.ensure_ledger(&l).await.expect("ledger");
    store.put_record(&l, "counter", "c", 0, &serde_json::json!({ "n": 0 })).await.expect("counter");
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (store, l) = (store.clone(), l.clone());
        tasks.spawn(async move {
            // Every writer tries the same one-time insert; one wins.
            let once = store.insert_once(&l, "nonce", "shared", &serde_json::json!({ "by": w })).await.expect("once");
            store.put_record(&l, "doc", &format!("d{w}"), 0, &serde_json::json!({ "w": w })).await.expect("doc");
            for _ in 0..INCREMENTS {
                increment(store.as_ref(), &l).await;
            }
            once
        });
    }
    let mut winners = 0;
    while let Some(joined) = tasks.join_next().await {
        winners += usize::from(joined.expect("task"));
    }
    assert_eq!(winners, 1, "one insert_once wins");
    let counter = store.get_record(&l, "counter", "c").await.expect("read").expect("exists");
    let increments = WRITERS as i64 * INCREMENTS;
    assert_eq!(counter.body["n"], increments, "no increment lost");
    assert_eq!(counter.version, 1 + increments, "none applied twice");
    let versions = 1 + 1 + WRITERS as i64 + increments;
    assert_eq!(store.record_head(&l).await.expect("head").seq, versions);
    let report = verify_history(store.as_ref(), &l).await.expect("the record chain verifies");
    assert_eq!(report.records.versions, versions);
    // The versions of one transaction share its clock reading: fewer
    // readings than versions means writers shared transactions.
    let mut at: Vec<i64> = Vec::new();
    for w in 0..WRITERS {
        at.push(store.get_record(&l, "doc", &format!("d{w}")).await.expect("read").expect("doc").recorded_at_us);
    }
    at.sort_unstable();
    at.dedup();
    assert!(at.len() < WRITERS, "{WRITERS} concurrent first writes took {} transactions", at.len());
}

/// A set refused inside a shared transaction (a bad body) refuses only its
/// writer; the rest of the batch is written.
async fn a_refused_set_refuses_only_its_writer(db: Db) {
    let store: Arc<dyn Store> = Arc::new(GroupCommitStore::over(db.store.clone(), 64, 0));
    let l = LedgerId::new("records").expect("ledger id");
    store.ensure_ledger(&l).await.expect("ledger");
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (store, l) = (store.clone(), l.clone());
        tasks.spawn(async move {
            let text = if w % 4 == 0 { "\0" } else { "fine" };
            (w, store.put_record(&l, "doc", &format!("d{w}"), 0, &serde_json::json!({ "t": text })).await)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (w, answer) = joined.expect("task");
        let held = store.get_record(&l, "doc", &format!("d{w}")).await.expect("read");
        if w % 4 == 0 {
            assert_eq!(answer.expect_err("NUL refused").code(), "invalid_input");
            assert!(held.is_none(), "d{w} refused and not written");
        } else {
            assert_eq!(answer.expect("written").version, 1);
            assert!(held.is_some(), "d{w} written");
        }
    }
    assert_eq!(store.record_head(&l).await.expect("head").seq, 12);
}

/// Many callers creating accounts at once: the same account asked by all
/// is created once and answered to each; each caller's own accounts are
/// created; a caller asking for an existing code with other attributes is
/// the only one refused.
async fn concurrent_account_creation_shares_transactions(db: Db) {
    use offtake_ledger::{AccountCode, Book, Currency, NewAccount, Side};
    let store: Arc<dyn Store> = Arc::new(GroupCommitStore::over(db.store.clone(), 64, 0));
    let l = LedgerId::new("accounts").expect("ledger id");
    store.ensure_ledger(&l).await.expect("ledger");
    let spec = |code: &str, currency: Currency| NewAccount {
        code: AccountCode::new(code).expect("code"),
        currency,
        normal_side: Side::Debit,
        book: Book::Main,
        non_negative: false,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (store, l) = (store.clone(), l.clone());
        let shared = spec("cash:shared", Currency::USD);
        let own = vec![spec(&format!("cash:w{w}"), Currency::USD), spec(&format!("fees:w{w}"), Currency::USD)];
        let clash = spec("cash:shared", if w == 3 { Currency::EUR } else { Currency::USD });
        tasks.spawn(async move {
            let shared = store.create_account(&l, &shared).await.expect("shared");
            let own = store.create_accounts(&l, &own).await.expect("own");
            (w, shared, own, store.create_account(&l, &clash).await)
        });
    }
    let mut shared_nos = std::collections::BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (w, shared, own, clash) = joined.expect("task");
        shared_nos.insert(shared.account_no);
        assert_eq!(own.len(), 2);
        match clash {
            Err(e) => assert!(w == 3 && e.code() == "account_exists", "w{w}: {e}"),
            Ok(a) => assert!(w != 3 && a.account_no == shared.account_no),
        }
    }
    assert_eq!(shared_nos.len(), 1, "the shared account was created once");
    let page = store.list_accounts(&l, None, 1_000).await.expect("accounts");
    assert_eq!(page.items.len(), 1 + 2 * WRITERS);
    let mut nos: Vec<i64> = page.items.iter().map(|a| a.account_no).collect();
    nos.dedup();
    assert_eq!(nos, (1..=(1 + 2 * WRITERS) as i64).collect::<Vec<_>>(), "numbered without gaps");
}

on_both_stores!(
    writers_share_transactions_and_keep_their_own_answers,
    a_refused_set_refuses_only_its_writer,
    concurrent_account_creation_shares_transactions,
);
