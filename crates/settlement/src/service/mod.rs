//! The settlement service, one module per concern: `queue` (enqueue,
//! claims and leases, the worker), `batch` (the worker's batched pass),
//! `planning` (what a notice books), `credits` (a brand's credit applied
//! or refunded) and `remittance` (payouts to the maker and its
//! statement). Shared here: the service itself, its clock and the
//! accounts it has made sure exist.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use offtake_finance::{Finance, FinanceError};
use offtake_ledger::date::{self, Clock};
use offtake_ledger::{AccountCode, AmountMinor, LedgerError, NewAccount, NewLeg, Side};
use serde::Serialize;

mod batch;
mod credits;
mod planning;
mod queue;
mod remittance;

use crate::error::SettlementError;

/// A worker that claimed a notice and vanished loses it after this long.
pub const LEASE_US: i64 = 30_000_000;
/// Re-plans before giving up on one notice in one run (other payments on
/// the same facility keep changing what it owes).
const MAX_PLANS: u32 = 32;

#[derive(Clone)]
pub struct Settlement {
    fin: Finance,
    /// Accounts this process has already made sure exist. Accounts are
    /// never deleted, so a code seen once needs no more round trips: a
    /// payment would otherwise re-create ten accounts per notice.
    known_accounts: Arc<Mutex<HashSet<AccountCode>>>,
    /// When notices are received and claimed, and when leases run out: the
    /// wall clock unless a test steps it ([`Settlement::with_clock`]).
    clock: Clock,
}

/// What one worker pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub applied: usize,
    pub suspense: usize,
    pub rejected: usize,
    /// Claimed by another worker (or lost a race to one).
    pub skipped: usize,
}

fn conflict(e: &SettlementError) -> bool {
    matches!(e, SettlementError::Finance(FinanceError::Ledger(LedgerError::VersionConflict { .. })))
}

/// Signed amounts per account (debit positive), turned into legs.
#[derive(Default)]
struct Net {
    by_account: BTreeMap<AccountCode, (NewAccount, i64)>,
}

impl Net {
    fn debit(&mut self, account: &NewAccount, amount_minor: i64) {
        self.by_account.entry(account.code.clone()).or_insert_with(|| (account.clone(), 0)).1 += amount_minor;
    }

    fn credit(&mut self, account: &NewAccount, amount_minor: i64) {
        self.debit(account, -amount_minor);
    }

    fn legs(&self) -> Vec<NewLeg> {
        let total: i64 = self.by_account.values().map(|(_, v)| v).sum();
        assert_eq!(total, 0, "a payment's legs balance");
        self.by_account
            .values()
            .filter(|(_, v)| *v != 0)
            .map(|(a, v)| NewLeg {
                account: a.code.clone(),
                side: if *v > 0 { Side::Debit } else { Side::Credit },
                currency: a.currency,
                amount_minor: AmountMinor::new(v.abs()),
            })
            .collect()
    }

    fn accounts(&self) -> Vec<NewAccount> {
        self.by_account.values().map(|(a, _)| a.clone()).collect()
    }
}

impl Settlement {
    pub fn new(fin: Finance) -> Self {
        Settlement { fin, known_accounts: Arc::default(), clock: date::now_us }
    }

    /// The same service reading time from `clock` (microseconds since the
    /// Unix epoch), e.g. to test lease expiry without waiting.
    pub fn with_clock(self, clock: Clock) -> Self {
        Settlement { clock, ..self }
    }

    fn now_us(&self) -> i64 {
        (self.clock)()
    }

    pub fn finance(&self) -> &Finance {
        &self.fin
    }

    /// Makes sure the accounts a plan books to exist. Those this service
    /// has seen before are skipped without a read; the rest are read in
    /// one statement and only the missing ones created, in one
    /// transaction (finance's rule). Creating each account on its own, as
    /// before, cost a durable transaction per account on the first notice
    /// of every facility: in a program of ten thousand facilities, on
    /// nearly every notice.
    async fn fin_accounts(&self, specs: &[NewAccount]) -> Result<(), SettlementError> {
        let unknown: Vec<NewAccount> = match self.known_accounts.lock() {
            Ok(known) => specs.iter().filter(|s| !known.contains(&s.code)).cloned().collect(),
            Err(_) => specs.to_vec(),
        };
        if unknown.is_empty() {
            return Ok(());
        }
        self.fin.ensure_accounts(&unknown).await?;
        if let Ok(mut known) = self.known_accounts.lock() {
            known.extend(unknown.into_iter().map(|s| s.code));
        }
        Ok(())
    }
}

pub use remittance::{Remittance, RemittanceStatement, StatementLine};

fn check_ref(reference: &str) -> Result<(), SettlementError> {
    offtake_ledger::record::check_record_key("external_ref", reference)?;
    // 128 characters as signed, plus a brand's namespace (`~` and an id of
    // at most 64).
    if reference.len() > 193 {
        return Err(SettlementError::invalid("external_ref", "at most 193 characters"));
    }
    Ok(())
}
