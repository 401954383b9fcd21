//! Group commit for sets of writes that are not ledger entries: record
//! versions and new accounts.
//!
//! A ledger's record versions form one hash chain, so every record write
//! locks the chain's head; every new account takes the ledger row's lock
//! (account numbering), which entry commits share. One transaction (and
//! one fsync) per write caps a ledger at one such write per commit however
//! many callers there are — deliveries, notices queued, settlement claims,
//! documents and their nonces, a facility's or an invoice's accounts. A
//! [`SetCommitter`] puts the sets callers send while a transaction is in
//! flight into the next one (`RecordStore::put_record_sets`,
//! `LedgerStore::create_account_sets`): each set stays all or nothing on
//! its own and is answered on its own, **after** the transaction
//! committed, so one caller's stale version, bad body or clashing account
//! refuses only that caller.
//!
//! Batching is natural, as for entries (see the crate's documentation): the
//! worker takes what is queued, commits, and repeats; a lone caller waits
//! for nothing.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use offtake_ledger::{Account, LedgerError, LedgerId, NewAccount, RecordWrite, Store, StoredRecord};
use tokio::sync::{mpsc, oneshot};

/// Sets queued per ledger before `submit` waits (back-pressure).
const QUEUE_SETS: usize = 1_024;
/// Most writes one transaction takes from the queue (a single larger set
/// still goes alone).
pub const MAX_BATCH_WRITES: usize = 2_048;

/// A kind of set write the stores can take many of in one transaction.
#[async_trait]
pub trait SetWrite: Send + Sync + 'static {
    /// One write of a set.
    type Item: Send + 'static;
    /// What one write answers.
    type Out: Send + 'static;
    /// What the writes are, for logs.
    const WHAT: &'static str;
    /// Writes `sets` in one transaction, answering each on its own.
    async fn write_sets(
        store: &dyn Store,
        ledger: &LedgerId,
        sets: &[Vec<Self::Item>],
    ) -> Result<Vec<Result<Vec<Self::Out>, LedgerError>>, LedgerError>;
}

/// Record versions ([`offtake_ledger::RecordStore::put_record_sets`]).
pub struct Records;

#[async_trait]
impl SetWrite for Records {
    type Item = RecordWrite;
    type Out = StoredRecord;
    const WHAT: &'static str = "record";

    async fn write_sets(
        store: &dyn Store,
        ledger: &LedgerId,
        sets: &[Vec<RecordWrite>],
    ) -> Result<Vec<Result<Vec<StoredRecord>, LedgerError>>, LedgerError> {
        store.put_record_sets(ledger, sets).await
    }
}

/// New accounts ([`offtake_ledger::LedgerStore::create_account_sets`]).
pub struct Accounts;

#[async_trait]
impl SetWrite for Accounts {
    type Item = NewAccount;
    type Out = Account;
    const WHAT: &'static str = "account";

    async fn write_sets(
        store: &dyn Store,
        ledger: &LedgerId,
        sets: &[Vec<NewAccount>],
    ) -> Result<Vec<Result<Vec<Account>, LedgerError>>, LedgerError> {
        store.create_account_sets(ledger, sets).await
    }
}

type Reply<W> = oneshot::Sender<Result<Vec<<W as SetWrite>::Out>, LedgerError>>;

struct Job<W: SetWrite> {
    writes: Vec<W::Item>,
    reply: Reply<W>,
}

/// The group-commit front of one ledger for one kind of set. Cheap to
/// clone; the worker stops when the last clone is dropped, after answering
/// what was queued.
pub struct SetCommitter<W: SetWrite> {
    queue: mpsc::Sender<Job<W>>,
}

impl<W: SetWrite> Clone for SetCommitter<W> {
    fn clone(&self) -> Self {
        SetCommitter { queue: self.queue.clone() }
    }
}

impl<W: SetWrite> SetCommitter<W> {
    /// Starts the worker for `ledger` on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(store: Arc<dyn Store>, ledger: LedgerId) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE_SETS);
        tokio::spawn(Worker::<W> { store, ledger, rx }.run());
        SetCommitter { queue }
    }

    /// Writes `writes` all or nothing in the next transaction and answers
    /// once it committed. Dropping the future after the set was queued
    /// does not withdraw it: read back to learn the outcome.
    pub async fn submit(&self, writes: Vec<W::Item>) -> Result<Vec<W::Out>, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { writes, reply })
            .await
            .map_err(|_| LedgerError::Storage(format!("{} committer has stopped; nothing was queued", W::WHAT)))?;
        answer.await.map_err(|_| {
            LedgerError::Storage(format!("{} committer stopped before answering; the outcome is unknown", W::WHAT))
        })?
    }
}

struct Worker<W: SetWrite> {
    store: Arc<dyn Store>,
    ledger: LedgerId,
    rx: mpsc::Receiver<Job<W>>,
}

impl<W: SetWrite> Worker<W> {
    async fn run(mut self) {
        while let Some(first) = self.rx.recv().await {
            let mut writes = first.writes.len();
            let mut jobs = vec![first];
            while writes < MAX_BATCH_WRITES {
                match self.rx.try_recv() {
                    Ok(job) => {
                        writes += job.writes.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let (sets, replies): (Vec<Vec<W::Item>>, Vec<Reply<W>>) =
                jobs.into_iter().map(|j| (j.writes, j.reply)).unzip();
            match W::write_sets(self.store.as_ref(), &self.ledger, &sets).await {
                Ok(outcomes) if outcomes.len() == replies.len() => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        // A caller that went away no longer wants the answer.
                        let _ = reply.send(outcome);
                    }
                }
                Ok(outcomes) => {
                    let e = LedgerError::Storage(format!(
                        "{} sets answered {} of {}; the outcome is unknown",
                        W::WHAT,
                        outcomes.len(),
                        replies.len()
                    ));
                    answer_all::<W>(replies, &e);
                }
                Err(e) => {
                    tracing::warn!(ledger = %self.ledger, sets = replies.len(), error = %e, what = W::WHAT, "group commit of sets failed");
                    answer_all::<W>(replies, &e);
                }
            }
        }
    }
}

fn answer_all<W: SetWrite>(replies: Vec<Reply<W>>, e: &LedgerError) {
    for reply in replies {
        let _ = reply.send(Err(e.clone()));
    }
}

/// One [`SetCommitter`] per ledger, started on first use.
pub struct SetCommitters<W: SetWrite> {
    store: Arc<dyn Store>,
    by_ledger: Mutex<HashMap<LedgerId, SetCommitter<W>>>,
    kind: PhantomData<W>,
}

impl<W: SetWrite> SetCommitters<W> {
    pub fn new(store: Arc<dyn Store>) -> Self {
        SetCommitters { store, by_ledger: Mutex::new(HashMap::new()), kind: PhantomData }
    }

    /// [`SetCommitter::submit`] on `ledger`'s committer.
    pub async fn submit(&self, ledger: &LedgerId, writes: Vec<W::Item>) -> Result<Vec<W::Out>, LedgerError> {
        let committer = {
            let mut map = self.by_ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(ledger.clone()).or_insert_with(|| SetCommitter::new(self.store.clone(), ledger.clone())).clone()
        };
        committer.submit(writes).await
    }
}
