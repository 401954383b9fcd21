//! The finance service: every operation a brand, maker or lender performs,
//! as ledger entries plus versioned records.
//!
//! Crash safety without distributed transactions: every operation is a
//! sequence of idempotent steps (ledger commands with deterministic
//! idempotency keys; records written with optimistic versions), so running
//! it again after a crash finishes what was started and books nothing
//! twice. Records that narrow what may be drawn (amendments, deliveries) are
//! written before their ledger entries; the entries then touch the accounts
//! that draws guard on, so a draw decided on older state is refused with
//! `precondition_failed` and retried.

mod acceptance;
mod accrual;
mod advances;
mod bbc_signing;
mod collateral;
mod commitments;
mod deliveries;
mod documents;
mod eod;
mod facilities;
mod invoices;
mod parties;
mod reaccrual;
mod signed;
mod statements;

use std::collections::HashMap;
use std::sync::Arc;

use offtake_ledger::{
    Action, AmountMinor, Command, Committed, LedgerId, NewAccount, NewLeg, Side, Store, StoredRecord,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::Date;

use crate::error::FinanceError;

pub use accrual::AccrualReport;
pub use bbc_signing::{CertificateSignature, SignatureAct};
pub use deliveries::delivery_invoice_id;
pub use documents::{DocSigner, SignedDocument};
pub use eod::{eod_kind, EodDay, EodFacilityReport, EodReport};
pub use invoices::{invoice_id, invoice_payment_attachment_of};
pub use reaccrual::{not_after_today, Reaccrual};
pub use statements::{BrandStatement, LenderStatement, MakerStatement};

/// How many times an operation re-reads and retries when the state it
/// decided on changed underneath it.
pub const MAX_ATTEMPTS: u32 = 32;

/// The finance domain over one ledger.
#[derive(Clone)]
pub struct Finance {
    store: Arc<dyn Store>,
    ledger: LedgerId,
    /// Records per store read when a job walks an index (see [`IndexWalk`]).
    walk_page_limit: u32,
}

/// A walk over what a secondary index files under a key, one store page at
/// a time: a job over every open facility holds one page in memory, not
/// the whole kind, and what the index leaves out is never read.
pub(crate) struct IndexWalk {
    kind: &'static str,
    index: &'static str,
    key: String,
    /// The last id read; `None` before the first page.
    cursor: Option<String>,
    done: bool,
}

impl IndexWalk {
    pub(crate) fn new(kind: &'static str, index: &'static str, parts: &[&str]) -> Self {
        IndexWalk { kind, index, key: offtake_ledger::record::index_key(parts), cursor: None, done: false }
    }

    /// Every open (accepted) facility, by id.
    pub(crate) fn open_facilities() -> Self {
        IndexWalk::new(crate::model::kind::FACILITY, crate::model::index::OPEN, &[])
    }
}

/// A record and the version it was read at (for optimistic writes).
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
}

impl Finance {
    /// The finance domain on a ledger (created if needed).
    pub async fn open(store: Arc<dyn Store>, ledger: LedgerId) -> Result<Self, FinanceError> {
        store.ensure_ledger(&ledger).await?;
        Ok(Finance { store, ledger, walk_page_limit: offtake_ledger::store::MAX_PAGE_LIMIT })
    }

    /// This service reading `limit` records per page when it walks an index
    /// (at least 1, at most the store's page limit): lets a test cross
    /// pages with a few records. Results do not depend on it.
    pub fn with_walk_page_limit(mut self, limit: u32) -> Self {
        self.walk_page_limit = limit.clamp(1, offtake_ledger::store::MAX_PAGE_LIMIT);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn ledger(&self) -> &LedgerId {
        &self.ledger
    }

    async fn load<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<Versioned<T>>, FinanceError> {
        let Some(rec) = self.store.get_record(&self.ledger, kind, id).await? else { return Ok(None) };
        Ok(Some(Versioned { value: rec.decode()?, version: rec.version }))
    }

    /// Records of `kind` by id, read in one statement: each one found,
    /// decoded with its version, under its id (ids not found are absent).
    /// For a caller that needs many at once, e.g. a settlement batch's
    /// facilities.
    pub async fn many<T: DeserializeOwned>(
        &self,
        kind: &'static str,
        ids: &[String],
    ) -> Result<HashMap<String, Versioned<T>>, FinanceError> {
        let recs = self.store.get_records(&self.ledger, kind, ids).await?;
        recs.into_iter()
            .map(|rec| Ok((rec.id.clone(), Versioned { value: rec.decode()?, version: rec.version })))
            .collect()
    }

    async fn require<T: DeserializeOwned>(&self, kind: &'static str, id: &str) -> Result<Versioned<T>, FinanceError> {
        self.load(kind, id).await?.ok_or_else(|| FinanceError::not_found(kind, id))
    }

    async fn save<T: Serialize>(&self, kind: &str, id: &str, expected: i64, value: &T) -> Result<i64, FinanceError> {
        let body = serde_json::to_value(value).map_err(|e| FinanceError::invalid("record", e.to_string()))?;
        Ok(self.store.put_record(&self.ledger, kind, id, expected, &body).await?.version)
    }

    /// Every record of a kind: only for the whole-kind reads kept for
    /// tests and offline checks (see [`Finance::invoices`]).
    async fn all<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>, FinanceError> {
        let recs: Vec<StoredRecord> = self.store.all_records(&self.ledger, kind).await?;
        recs.iter().map(|r| r.decode().map_err(FinanceError::from)).collect()
    }

    /// The records a secondary index files under `parts` (see
    /// [`crate::model::index`]): what the key selects, not the whole kind.
    async fn indexed<T: DeserializeOwned>(
        &self,
        kind: &str,
        index: &str,
        parts: &[&str],
    ) -> Result<Vec<T>, FinanceError> {
        let key = offtake_ledger::record::index_key(parts);
        let recs: Vec<StoredRecord> = self.store.all_by_index(&self.ledger, kind, index, &key).await?;
        recs.iter().map(|r| r.decode().map_err(FinanceError::from)).collect()
    }

    /// The next page of `walk`, in id order; `None` once it has ended.
    async fn next_page<T: DeserializeOwned>(&self, walk: &mut IndexWalk) -> Result<Option<Vec<T>>, FinanceError> {
        if walk.done {
            return Ok(None);
        }
        let page = self
            .store
            .list_by_index(&self.ledger, walk.kind, walk.index, &walk.key, walk.cursor.as_deref(), self.walk_page_limit)
            .await?;
        walk.done = page.next_cursor.is_none();
        walk.cursor = page.next_cursor;
        let items: Result<Vec<T>, FinanceError> =
            page.items.iter().map(|r| r.decode().map_err(FinanceError::from)).collect();
        Ok(Some(items?))
    }

    /// Creates what `specs` name and does not exist yet, in one
    /// transaction. Reads first: accounts once created never change, so
    /// when all exist (a facility's second draw) nothing is written and
    /// the ledger row's lock, which entry commits share, is not taken.
    pub async fn ensure_accounts(&self, specs: &[NewAccount]) -> Result<(), FinanceError> {
        let codes: Vec<_> = specs.iter().map(|s| s.code.clone()).collect();
        let held = self.store.accounts_by_code(&self.ledger, &codes).await?;
        let missing: Vec<NewAccount> =
            specs.iter().filter(|spec| !held.iter().any(|a| a.matches(spec))).cloned().collect();
        if !missing.is_empty() {
            self.store.create_accounts(&self.ledger, &missing).await?;
        }
        Ok(())
    }

    async fn commit(&self, command: Command) -> Result<Committed, FinanceError> {
        Ok(self.store.commit(&self.ledger, command).await?)
    }

    /// Commits commands in one transaction; any refused command fails the
    /// operation (the others are idempotent and replay on retry).
    async fn commit_all(&self, commands: Vec<Command>) -> Result<Vec<Committed>, FinanceError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = self.store.commit_batch(&self.ledger, &commands).await?;
        outcomes.into_iter().map(|o| o.map_err(FinanceError::from)).collect()
    }
}

/// Builds a command.
pub(crate) fn command(
    key: String,
    kind: &str,
    effective_date: Date,
    metadata: serde_json::Value,
    source_hash: Option<[u8; 32]>,
    action: Action,
) -> Command {
    Command { idempotency_key: key, kind: kind.to_owned(), effective_date, metadata, source_hash, action }
}

/// A leg on an account spec.
pub(crate) fn leg(account: &NewAccount, side: Side, amount_minor: i64) -> NewLeg {
    debug_assert!(amount_minor > 0, "legs carry positive amounts");
    NewLeg {
        account: account.code.clone(),
        side,
        currency: account.currency,
        amount_minor: AmountMinor::new(amount_minor),
    }
}

/// A two-leg transfer: debit `to`, credit `from`.
pub(crate) fn pair(debit: &NewAccount, credit: &NewAccount, amount_minor: i64) -> Vec<NewLeg> {
    vec![leg(debit, Side::Debit, amount_minor), leg(credit, Side::Credit, amount_minor)]
}

/// Ids of parties, facilities, documents and tranches end up in account
/// codes: lowercase letters, digits, '-', '_' and '.', 1–64 characters.
pub fn check_id(field: &'static str, id: &str) -> Result<(), FinanceError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
        && id.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(FinanceError::invalid(field, format!("{id:?} is not an id (a-z, 0-9, '-', '_', '.'; 1-64)")))
    }
}
