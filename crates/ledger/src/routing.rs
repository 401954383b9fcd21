//! [`RoutingStore`]: one [`Store`] over several, each ledger on its own
//! database. Every key of the schema starts with `ledger_id` and no
//! transaction spans two ledgers, so a ledger is a unit of placement: the
//! router picks the store of the call's `ledger` and the call runs there,
//! whole (ARCHITECTURE.md, "Scale-out").

use std::collections::HashMap;
use std::sync::Arc;

use crate::commit::{Appended, Attachment};
use crate::record::{RecordWrite, StoredRecord};
use crate::{Account, Command, Committed, LedgerError, LedgerId, NewAccount, Store};

/// Dispatches every call to the store of its ledger: `routes` by ledger
/// id, any other ledger to `default`. Reads are forwarded by
/// [`crate::forward_store!`]; the writes below are forwarded alike.
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

crate::forward_store! {
    RoutingStore, via store_of,
    ledger {
        /// The default store's backend (a map names one kind of database).
        fn backend(&self) -> &'static str {
            self.default.backend()
        }

        async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
            self.store_of(ledger).create_account(ledger, spec).await
        }

        async fn create_accounts(&self, ledger: &LedgerId, specs: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
            self.store_of(ledger).create_accounts(ledger, specs).await
        }

        async fn create_account_sets(
            &self,
            ledger: &LedgerId,
            sets: &[Vec<NewAccount>],
        ) -> Result<Vec<Result<Vec<Account>, LedgerError>>, LedgerError> {
            self.store_of(ledger).create_account_sets(ledger, sets).await
        }

        async fn commit_batch(
            &self,
            ledger: &LedgerId,
            commands: &[Command],
        ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
            self.store_of(ledger).commit_batch(ledger, commands).await
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
    records {
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

        async fn put_records(
            &self,
            ledger: &LedgerId,
            writes: &[RecordWrite],
        ) -> Result<Vec<StoredRecord>, LedgerError> {
            self.store_of(ledger).put_records(ledger, writes).await
        }

        async fn put_record_sets(
            &self,
            ledger: &LedgerId,
            sets: &[Vec<RecordWrite>],
        ) -> Result<Vec<Result<Vec<StoredRecord>, LedgerError>>, LedgerError> {
            self.store_of(ledger).put_record_sets(ledger, sets).await
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
}
