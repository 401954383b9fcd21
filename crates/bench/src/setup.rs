//! Building the ledgers the scenarios run on: accounts, funding, and bulk
//! history for balance-at-scale. Bulk work goes through `commit_batch` with
//! the largest batches the core allows, i.e. the same write path as
//! production.

use std::sync::Arc;

use offtake_ledger::plan::MAX_BATCH_COMMANDS;
use offtake_ledger::{
    AccountCode, Action, AmountMinor, Book, Command, Currency, LedgerId, LedgerStore, NewAccount, NewLeg, Side,
};

use crate::backend::Backend;
use crate::error::BenchError;
use crate::rng::SplitMix64;

pub const USD: Currency = Currency::USD;
/// Funding of every benchmark account: far more than a run can move out.
pub const FUNDS_MINOR: i64 = 1_000_000_000_000;
/// Concurrent `create_account` calls while setting up.
const SETUP_CONCURRENCY: usize = 8;
/// Bulk batch size (the core's limit).
pub const BULK_BATCH: usize = MAX_BATCH_COMMANDS;

/// The source of all benchmark money (credit-normal, unconstrained).
pub fn equity_code() -> AccountCode {
    AccountCode::new("bench:equity").expect("static code is valid")
}

/// Code of benchmark account `i` (debit-normal, may not go below zero).
pub fn account_code(i: usize) -> AccountCode {
    AccountCode::new(&format!("bench:acct:{i:07}")).expect("generated code is valid")
}

/// A ledger with `accounts` funded, constrained accounts and one equity
/// account.
pub struct BenchLedger {
    pub store: Arc<dyn LedgerStore>,
    pub ledger: LedgerId,
    pub codes: Arc<Vec<AccountCode>>,
}

pub async fn funded_ledger(backend: &Backend, ledger: &str, accounts: usize) -> Result<BenchLedger, BenchError> {
    let store = backend.store.clone();
    if accounts < 2 {
        return Err(BenchError::InvalidConfig("need at least 2 accounts".into()));
    }
    let ledger = LedgerId::new(ledger)?;
    store.ensure_ledger(&ledger).await?;
    store
        .create_account(
            &ledger,
            &NewAccount {
                code: equity_code(),
                currency: USD,
                normal_side: Side::Credit,
                book: Book::Main,
                non_negative: false,
            },
        )
        .await?;
    let codes: Arc<Vec<AccountCode>> = Arc::new((0..accounts).map(account_code).collect());
    let mut set = tokio::task::JoinSet::new();
    for w in 0..SETUP_CONCURRENCY {
        let (store, ledger, codes) = (store.clone(), ledger.clone(), codes.clone());
        set.spawn(async move {
            for code in codes.iter().skip(w).step_by(SETUP_CONCURRENCY) {
                let spec = NewAccount {
                    code: code.clone(),
                    currency: USD,
                    normal_side: Side::Debit,
                    book: Book::Main,
                    non_negative: true,
                };
                store.create_account(&ledger, &spec).await?;
            }
            Ok::<(), BenchError>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| BenchError::Invariant(format!("setup task: {e}")))??;
    }
    // Statistics before the funding batches, as autovacuum would have them.
    backend.analyze().await?;
    let funding: Vec<Command> =
        codes.iter().map(|c| transfer(format!("fund:{}", c.as_str()), &equity_code(), c, FUNDS_MINOR)).collect();
    for chunk in funding.chunks(BULK_BATCH) {
        for outcome in store.commit_batch(&ledger, chunk).await? {
            outcome?;
        }
    }
    Ok(BenchLedger { store, ledger, codes })
}

/// A posted transfer: debit `to`, credit `from`.
pub fn transfer(key: String, from: &AccountCode, to: &AccountCode, amount_minor: i64) -> Command {
    legs_command(key, from, to, amount_minor, false)
}

/// A pending transfer (a hold on `from`).
pub fn hold(key: String, from: &AccountCode, to: &AccountCode, amount_minor: i64) -> Command {
    legs_command(key, from, to, amount_minor, true)
}

fn legs_command(key: String, from: &AccountCode, to: &AccountCode, amount_minor: i64, pending: bool) -> Command {
    let legs = vec![
        NewLeg { account: to.clone(), side: Side::Debit, currency: USD, amount_minor: AmountMinor::new(amount_minor) },
        NewLeg {
            account: from.clone(),
            side: Side::Credit,
            currency: USD,
            amount_minor: AmountMinor::new(amount_minor),
        },
    ];
    command(key, Action::Record { legs, pending })
}

pub fn command(key: String, action: Action) -> Command {
    Command {
        idempotency_key: key,
        kind: "transfer".to_owned(),
        effective_date: time::macros::date!(2026 - 01 - 15),
        metadata: serde_json::Value::Object(serde_json::Map::new()),
        source_hash: None,
        action,
    }
}

/// Picks two distinct accounts: uniformly, or (hot) with probability
/// `hot_percent` one side is account 0.
pub fn pick_pair(rng: &mut SplitMix64, n: usize, hot_percent: u64) -> (usize, usize) {
    debug_assert!(n >= 2);
    let n64 = n as u64;
    let a = rng.below(n64) as usize;
    let mut b = (a + 1 + rng.below(n64 - 1) as usize) % n;
    if hot_percent > 0 && rng.chance(hot_percent) {
        // One side is the hot account; the other is any other account.
        let other = 1 + rng.below(n64 - 1) as usize;
        return if rng.chance(50) { (0, other) } else { (other, 0) };
    }
    if a == b {
        b = (b + 1) % n;
    }
    (a, b)
}
