//! [`GroupCommitStore`]: a [`Store`] whose one-entry `commit` goes through a
//! group committer and whose record writes go through a record group
//! committer, so that every writer above it (the HTTP API, the finance and
//! settlement services) shares transactions without knowing it.

use std::sync::Arc;

use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::record::StoredRecord;
use offtake_ledger::{Account, Command, Committed, LedgerError, LedgerId, LedgerStore, NewAccount, RecordWrite, Store};

use crate::sets::{Accounts, Records, SetCommitters};
use crate::Committers;

/// Wraps a store: `commit`, the record writes (`put_record`,
/// `put_records`, `insert_once`) and account creation are group-committed,
/// one queue each per ledger; `commit_batch` (already a batch) and every
/// read go to the inner store, writes in a task of their own (see
/// [`detached`]).
pub struct GroupCommitStore {
    inner: Arc<dyn Store>,
    committers: Committers,
    records: SetCommitters<Records>,
    accounts: SetCommitters<Accounts>,
}

impl GroupCommitStore {
    /// Starts no task yet: each ledger's committer starts on its first
    /// commit (inside the caller's tokio runtime).
    pub fn new<S: Store + 'static>(inner: Arc<S>, max_batch: usize, max_wait_us: u64) -> Self {
        Self::over(inner, max_batch, max_wait_us)
    }

    /// [`GroupCommitStore::new`] over a store known only by its trait.
    pub fn over(inner: Arc<dyn Store>, max_batch: usize, max_wait_us: u64) -> Self {
        let ledger_store: Arc<dyn LedgerStore> = inner.clone();
        let (records, accounts) = (SetCommitters::new(inner.clone()), SetCommitters::new(inner.clone()));
        GroupCommitStore { inner, committers: Committers::new(ledger_store, max_batch, max_wait_us), records, accounts }
    }

    /// The store every call but `commit` goes to, whatever the ledger
    /// (the `via` of [`offtake_ledger::forward_store!`]).
    fn inner_of(&self, _ledger: &LedgerId) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Counters of `ledger`'s committer.
    pub fn stats(&self, ledger: &LedgerId) -> crate::StatsSnapshot {
        self.committers.for_ledger(ledger).stats()
    }
}

/// Runs a write to its end in a task of its own, whatever happens to the
/// caller. A caller cancelled half-way (a request timeout, a client gone)
/// would otherwise drop a database transaction mid-flight, and sqlx 0.8
/// can then hand a connection still inside that transaction back to the
/// pool (launchbadge/sqlx#3932): its row locks (a chain head) stay held
/// while it idles, and every later writer of the ledger waits on them.
async fn detached<T, F>(write: F) -> Result<T, LedgerError>
where
    F: std::future::Future<Output = Result<T, LedgerError>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(write).await.map_err(|e| LedgerError::Storage(format!("write task failed: {e}")))?
}

offtake_ledger::forward_store! {
    GroupCommitStore, via inner_of,
    ledger {
        fn backend(&self) -> &'static str {
            self.inner.backend()
        }

        /// Group-committed with other callers' new accounts of the ledger.
        async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
            let mut created = self.accounts.submit(ledger, vec![spec.clone()]).await?;
            created.pop().ok_or_else(|| LedgerError::Storage("an account creation went unanswered".into()))
        }

        /// Group-committed; all or nothing on its own.
        async fn create_accounts(&self, ledger: &LedgerId, specs: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
            self.accounts.submit(ledger, specs.to_vec()).await
        }

        async fn create_account_sets(
            &self,
            ledger: &LedgerId,
            sets: &[Vec<NewAccount>],
        ) -> Result<Vec<Result<Vec<Account>, LedgerError>>, LedgerError> {
            let (inner, ledger, sets) = (self.inner.clone(), ledger.clone(), sets.to_vec());
            detached(async move { inner.create_account_sets(&ledger, &sets).await }).await
        }

        async fn commit_batch(
            &self,
            ledger: &LedgerId,
            commands: &[Command],
        ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
            let (inner, ledger, commands) = (self.inner.clone(), ledger.clone(), commands.to_vec());
            detached(async move { inner.commit_batch(&ledger, &commands).await }).await
        }

        async fn commit_batch_attached(
            &self,
            ledger: &LedgerId,
            commands: &[Command],
            attachments: &[Vec<Attachment>],
        ) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
            let (inner, ledger) = (self.inner.clone(), ledger.clone());
            let (commands, attachments) = (commands.to_vec(), attachments.to_vec());
            detached(async move { inner.commit_batch_attached(&ledger, &commands, &attachments).await }).await
        }

        /// Group-committed: shares a transaction with concurrent commits to the
        /// same ledger; answered after that transaction committed.
        async fn commit(&self, ledger: &LedgerId, command: Command) -> Result<Committed, LedgerError> {
            self.committers.submit(ledger, command).await
        }

        /// Group-committed, the attached record in the same transaction.
        async fn commit_attached(
            &self,
            ledger: &LedgerId,
            command: Command,
            attachments: Vec<Attachment>,
        ) -> Result<Appended, LedgerError> {
            self.committers.submit_attached(ledger, command, attachments).await
        }
    }
    records {
        /// Group-committed with other writers' records of the ledger.
        async fn put_record(
            &self,
            ledger: &LedgerId,
            kind: &str,
            id: &str,
            expected_version: i64,
            body: &serde_json::Value,
        ) -> Result<StoredRecord, LedgerError> {
            let write =
                RecordWrite { kind: kind.to_owned(), id: id.to_owned(), expected_version, body: body.clone() };
            let mut written = self.records.submit(ledger, vec![write]).await?;
            written.pop().ok_or_else(|| LedgerError::Storage("a record write went unanswered".into()))
        }

        /// Group-committed; all or nothing on its own.
        async fn put_records(
            &self,
            ledger: &LedgerId,
            writes: &[RecordWrite],
        ) -> Result<Vec<StoredRecord>, LedgerError> {
            self.records.submit(ledger, writes.to_vec()).await
        }

        async fn put_record_sets(
            &self,
            ledger: &LedgerId,
            sets: &[Vec<RecordWrite>],
        ) -> Result<Vec<Result<Vec<StoredRecord>, LedgerError>>, LedgerError> {
            let (inner, ledger, sets) = (self.inner.clone(), ledger.clone(), sets.to_vec());
            detached(async move { inner.put_record_sets(&ledger, &sets).await }).await
        }
    }
}
