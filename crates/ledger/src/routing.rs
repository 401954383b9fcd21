//! [`RoutingStore`]: one [`Store`] over several, each ledger on its own
//! database. Every key of the schema starts with `ledger_id` and no
//! transaction spans two ledgers, so a ledger is a unit of placement: the
//! router picks the store of the call's `ledger` and the call runs there,
//! whole (ARCHITECTURE.md, "Scale-out").

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::commit::{Appended, Attachment};
use crate::record::{RecordWrite, StoredRecord};
use crate::{
    Account, AccountCode, AsOf, Balance, ChainHead, ChainedRecord, Command, Committed, EntryRecord, LedgerError,
    LedgerId, LedgerStore, NewAccount, Page, RecordChain, RecordHead, RecordStore, Store,
};

/// Dispatches every call to the store of its ledger: `routes` by ledger
/// id, any other ledger to `default`.
pub struct RoutingStore {
    routes: HashMap<LedgerId, Arc<dyn Store>>,
    default: Arc<dyn Store>,
}

impl RoutingStore {
    pub fn new(routes: HashMap<LedgerId, Arc<dyn Store>>, default: Arc<dyn Store>) -> Self {
        RoutingStore { routes, default }
    }

    /// The store holding `ledger`.
    pub fn store_of(&self, ledger: &LedgerId) -> &Arc<dyn Store> {
        self.routes.get(ledger).unwrap_or(&self.default)
    }
}

#[async_trait]
impl LedgerStore for RoutingStore {
    /// The default store's backend (a map names one kind of database).
    fn backend(&self) -> &'static str {
        self.default.backend()
    }

    async fn ensure_ledger(&self, ledger: &LedgerId) -> Result<(), LedgerError> {
        self.store_of(ledger).ensure_ledger(ledger).await
    }

    async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
        self.store_of(ledger).create_account(ledger, spec).await
    }

    async fn accounts_by_code(&self, ledger: &LedgerId, codes: &[AccountCode]) -> Result<Vec<Account>, LedgerError> {
        self.store_of(ledger).accounts_by_code(ledger, codes).await
    }

    async fn list_accounts(
        &self,
        ledger: &LedgerId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Account>, LedgerError> {
        self.store_of(ledger).list_accounts(ledger, cursor, limit).await
    }

    async fn commit_batch(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
    ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
        self.store_of(ledger).commit_batch(ledger, commands).await
    }

    async fn balance(&self, ledger: &LedgerId, account: &AccountCode, as_of: AsOf) -> Result<Balance, LedgerError> {
        self.store_of(ledger).balance(ledger, account, as_of).await
    }

    async fn account_entries(
        &self,
        ledger: &LedgerId,
        account: &AccountCode,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<EntryRecord>, LedgerError> {
        self.store_of(ledger).account_entries(ledger, account, cursor, limit).await
    }

    async fn entries(&self, ledger: &LedgerId, after_seq: i64, limit: u32) -> Result<Vec<EntryRecord>, LedgerError> {
        self.store_of(ledger).entries(ledger, after_seq, limit).await
    }

    async fn head(&self, ledger: &LedgerId) -> Result<ChainHead, LedgerError> {
        self.store_of(ledger).head(ledger).await
    }

    async fn commit_batch_attached(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
        attachments: &[Vec<Attachment>],
    ) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
        self.store_of(ledger).commit_batch_attached(ledger, commands, attachments).await
    }

    async fn commit(&self, ledger: &LedgerId, command: Command) -> Result<Committed, LedgerError> {
        self.store_of(ledger).commit(ledger, command).await
    }

    async fn commit_attached(
        &self,
        ledger: &LedgerId,
        command: Command,
        attachments: Vec<Attachment>,
    ) -> Result<Appended, LedgerError> {
        self.store_of(ledger).commit_attached(ledger, command, attachments).await
    }
}

#[async_trait]
impl RecordStore for RoutingStore {
    async fn get_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError> {
        self.store_of(ledger).get_record(ledger, kind, id).await
    }

    async fn put_record(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        expected_version: i64,
        body: &serde_json::Value,
    ) -> Result<StoredRecord, LedgerError> {
        self.store_of(ledger).put_record(ledger, kind, id, expected_version, body).await
    }

    async fn list_records(
        &self,
        ledger: &LedgerId,
        kind: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError> {
        self.store_of(ledger).list_records(ledger, kind, cursor, limit).await
    }

    async fn put_records(&self, ledger: &LedgerId, writes: &[RecordWrite]) -> Result<Vec<StoredRecord>, LedgerError> {
        self.store_of(ledger).put_records(ledger, writes).await
    }

    async fn list_by_index(
        &self,
        ledger: &LedgerId,
        kind: &str,
        index_name: &str,
        key: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError> {
        self.store_of(ledger).list_by_index(ledger, kind, index_name, key, cursor, limit).await
    }

    async fn all_by_index(
        &self,
        ledger: &LedgerId,
        kind: &str,
        index_name: &str,
        key: &str,
    ) -> Result<Vec<StoredRecord>, LedgerError> {
        self.store_of(ledger).all_by_index(ledger, kind, index_name, key).await
    }

    async fn record_history(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        self.store_of(ledger).record_history(ledger, kind, id).await
    }

    async fn all_records(&self, ledger: &LedgerId, kind: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        self.store_of(ledger).all_records(ledger, kind).await
    }

    async fn insert_once(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<bool, LedgerError> {
        self.store_of(ledger).insert_once(ledger, kind, id, body).await
    }
}

#[async_trait]
impl RecordChain for RoutingStore {
    async fn record_head(&self, ledger: &LedgerId) -> Result<RecordHead, LedgerError> {
        self.store_of(ledger).record_head(ledger).await
    }

    async fn chained_records(
        &self,
        ledger: &LedgerId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChainedRecord>, LedgerError> {
        self.store_of(ledger).chained_records(ledger, after_seq, limit).await
    }

    async fn record_rows(&self, ledger: &LedgerId) -> Result<i64, LedgerError> {
        self.store_of(ledger).record_rows(ledger).await
    }
}
