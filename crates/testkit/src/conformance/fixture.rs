//! Fixtures: a store, an insider who can reach around it, and builders
//! for commands, so cases read as stories.

use std::sync::Arc;

use async_trait::async_trait;
use offtake_ledger::{
    Account, AccountCode, Action, AmountMinor, Book, ChainedRecord, Command, Currency, LedgerId, NewAccount, NewLeg,
    Side, Store, StoredRecord,
};

/// Someone with direct database access. Used to prove that the database
/// itself refuses edits, and that verification catches what it cannot.
#[async_trait]
pub trait Insider: Send + Sync {
    /// `UPDATE legs SET amount_minor = …` through ordinary SQL.
    async fn try_update_leg_amount(&self, ledger: &LedgerId, seq: i64, amount_minor: i64) -> Result<(), String>;
    /// `DELETE FROM entries …` through ordinary SQL.
    async fn try_delete_entry(&self, ledger: &LedgerId, seq: i64) -> Result<(), String>;
    /// Changes a leg's amount with the append-only triggers bypassed, as a
    /// database superuser could.
    async fn force_leg_amount(&self, ledger: &LedgerId, seq: i64, leg_no: i32, amount_minor: i64);
    /// Changes an entry's kind with the triggers bypassed.
    async fn force_entry_kind(&self, ledger: &LedgerId, seq: i64, kind: &str);
    /// Rows in entries and legs for the ledger.
    async fn row_counts(&self, ledger: &LedgerId) -> (i64, i64);
    /// `UPDATE records SET body = …` through ordinary SQL.
    async fn try_update_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<(), String>;
    /// Inserts a record version with raw SQL, its chain columns set to
    /// `link` (`None` leaves them empty), as an insider would.
    async fn force_insert_record(&self, ledger: &LedgerId, record: &StoredRecord, link: Option<&ChainedRecord>);
    /// Rewrites a record version's body with the triggers bypassed.
    async fn force_record_body(&self, ledger: &LedgerId, kind: &str, id: &str, version: i64, body: &serde_json::Value);
    /// Deletes a record version with the triggers bypassed.
    async fn force_delete_record(&self, ledger: &LedgerId, kind: &str, id: &str, version: i64);
    /// Makes the database look as it did before the record chain existed:
    /// every version unlinked and no record head.
    async fn unchain_records(&self, ledger: &LedgerId);
    /// Every secondary index row of the ledger, `(kind, index_name,
    /// index_key, id, version)` in that order: the index's fingerprint.
    async fn index_rows(&self, ledger: &LedgerId) -> Vec<(String, String, String, String, i64)>;
    /// Makes the database look as it did before the record index existed:
    /// no index row and no catalogue version.
    async fn forget_index(&self);
    /// Opens the same database again (migrations and start-up passes run).
    async fn reopen(&self) -> Arc<dyn Store>;
}

pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub insider: Arc<dyn Insider>,
    pub ledger: LedgerId,
}

impl Fixture {
    pub fn new(store: Arc<dyn Store>, insider: Arc<dyn Insider>) -> Self {
        Fixture { store, insider, ledger: LedgerId::new("conformance").expect("valid ledger id") }
    }

    pub async fn account(&self, code: &str, currency: Currency, normal: Side, non_negative: bool) -> Account {
        self.account_in(&self.ledger, code, currency, normal, Book::Main, non_negative).await
    }

    pub async fn account_in(
        &self,
        ledger: &LedgerId,
        code: &str,
        currency: Currency,
        normal: Side,
        book: Book,
        non_negative: bool,
    ) -> Account {
        self.store.ensure_ledger(ledger).await.expect("ledger");
        self.store
            .create_account(
                ledger,
                &NewAccount { code: code_of(code), currency, normal_side: normal, book, non_negative },
            )
            .await
            .expect("create account")
    }

    /// Balance of `code` now: (posted, available).
    pub async fn balance(&self, code: &str) -> (i64, i64) {
        let b = self.store.balance(&self.ledger, &code_of(code), offtake_ledger::AsOf::Now).await.expect("balance");
        (b.posted_minor, b.available_minor)
    }

    /// (head seq, entry rows, leg rows): equal before and after means
    /// nothing was written.
    pub async fn footprint(&self) -> (i64, i64, i64) {
        let head = self.store.head(&self.ledger).await.expect("head").seq;
        let (e, l) = self.insider.row_counts(&self.ledger).await;
        (head, e, l)
    }
}

pub fn code_of(code: &str) -> AccountCode {
    AccountCode::new(code).expect("valid account code")
}

pub fn leg(account: &str, side: Side, currency: Currency, amount_minor: i64) -> NewLeg {
    NewLeg { account: code_of(account), side, currency, amount_minor: AmountMinor::new(amount_minor) }
}

pub fn command(key: &str, action: Action) -> Command {
    Command {
        idempotency_key: key.to_owned(),
        kind: "transfer".to_owned(),
        effective_date: time::macros::date!(2026 - 01 - 15),
        metadata: serde_json::json!({}),
        source_hash: None,
        action,
    }
}

/// Debit `to`, credit `from` (money moves from `from` to `to` for
/// debit-normal accounts).
pub fn transfer(key: &str, from: &str, to: &str, currency: Currency, amount_minor: i64) -> Command {
    record(
        key,
        vec![leg(to, Side::Debit, currency, amount_minor), leg(from, Side::Credit, currency, amount_minor)],
        false,
    )
}

pub fn hold(key: &str, from: &str, to: &str, currency: Currency, amount_minor: i64) -> Command {
    record(
        key,
        vec![leg(to, Side::Debit, currency, amount_minor), leg(from, Side::Credit, currency, amount_minor)],
        true,
    )
}

pub fn record(key: &str, legs: Vec<NewLeg>, pending: bool) -> Command {
    command(key, Action::Record { legs, pending })
}
