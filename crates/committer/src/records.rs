//! Group commit for record writes.
//!
//! A ledger's record versions form one hash chain, so every record write
//! locks the chain's head: one transaction (and one fsync) per write caps a
//! ledger's record writes however many callers there are — deliveries,
//! notices queued, settlement claims, documents and their nonces. A
//! [`RecordCommitter`] puts the sets of writes that callers send while a
//! transaction is in flight into the next one
//! ([`RecordStore::put_record_sets`]): each set stays all or nothing on its
//! own and is answered on its own, **after** the transaction committed, so
//! one caller's stale version or bad body refuses only that caller.
//!
//! Batching is natural, as for entries (see the crate's documentation): the
//! worker takes what is queued, commits, and repeats; a lone caller waits
//! for nothing.
//!
//! [`RecordStore::put_record_sets`]: offtake_ledger::RecordStore::put_record_sets

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use offtake_ledger::{LedgerError, LedgerId, RecordWrite, Store, StoredRecord};
use tokio::sync::{mpsc, oneshot};

/// Sets queued per ledger before `submit` waits (back-pressure).
const QUEUE_SETS: usize = 1_024;
/// Most record versions one transaction takes from the queue (a single
/// larger set still goes alone).
pub const MAX_BATCH_WRITES: usize = 2_048;

type Reply = oneshot::Sender<Result<Vec<StoredRecord>, LedgerError>>;

struct Job {
    writes: Vec<RecordWrite>,
    reply: Reply,
}

/// The record group-commit front of one ledger. Cheap to clone; the worker
/// stops when the last clone is dropped, after answering what was queued.
#[derive(Clone)]
pub struct RecordCommitter {
    queue: mpsc::Sender<Job>,
}

impl RecordCommitter {
    /// Starts the worker for `ledger` on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(store: Arc<dyn Store>, ledger: LedgerId) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE_SETS);
        tokio::spawn(Worker { store, ledger, rx }.run());
        RecordCommitter { queue }
    }

    /// Writes `writes` all or nothing (as `RecordStore::put_records`) in
    /// the next transaction and answers once it committed. Dropping the
    /// future after the set was queued does not withdraw it: read the
    /// records to learn the outcome.
    pub async fn submit(&self, writes: Vec<RecordWrite>) -> Result<Vec<StoredRecord>, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { writes, reply })
            .await
            .map_err(|_| LedgerError::Storage("record committer has stopped; nothing was queued".into()))?;
        answer.await.map_err(|_| {
            LedgerError::Storage("record committer stopped before answering; the outcome is unknown".into())
        })?
    }
}

struct Worker {
    store: Arc<dyn Store>,
    ledger: LedgerId,
    rx: mpsc::Receiver<Job>,
}

impl Worker {
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
            let (sets, replies): (Vec<Vec<RecordWrite>>, Vec<Reply>) =
                jobs.into_iter().map(|j| (j.writes, j.reply)).unzip();
            match self.store.put_record_sets(&self.ledger, &sets).await {
                Ok(outcomes) if outcomes.len() == replies.len() => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        // A caller that went away no longer wants the answer.
                        let _ = reply.send(outcome);
                    }
                }
                Ok(outcomes) => {
                    let e = LedgerError::Storage(format!(
                        "put_record_sets answered {} sets of {}; the outcome is unknown",
                        outcomes.len(),
                        replies.len()
                    ));
                    answer_all(replies, &e);
                }
                Err(e) => {
                    tracing::warn!(ledger = %self.ledger, sets = replies.len(), error = %e, "record group commit failed");
                    answer_all(replies, &e);
                }
            }
        }
    }
}

fn answer_all(replies: Vec<Reply>, e: &LedgerError) {
    for reply in replies {
        let _ = reply.send(Err(e.clone()));
    }
}

/// One [`RecordCommitter`] per ledger, started on first use.
pub struct RecordCommitters {
    store: Arc<dyn Store>,
    by_ledger: Mutex<HashMap<LedgerId, RecordCommitter>>,
}

impl RecordCommitters {
    pub fn new(store: Arc<dyn Store>) -> Self {
        RecordCommitters { store, by_ledger: Mutex::new(HashMap::new()) }
    }

    /// [`RecordCommitter::submit`] on `ledger`'s committer.
    pub async fn submit(&self, ledger: &LedgerId, writes: Vec<RecordWrite>) -> Result<Vec<StoredRecord>, LedgerError> {
        let committer = {
            let mut map = self.by_ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(ledger.clone()).or_insert_with(|| RecordCommitter::new(self.store.clone(), ledger.clone())).clone()
        };
        committer.submit(writes).await
    }
}
