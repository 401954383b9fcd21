//! Group commit for the offtake ledger.
//!
//! Each ledger has one chain head, locked by every write transaction, so
//! commits to one ledger serialise: one transaction per entry caps a ledger at
//! one fsync per entry. A [`GroupCommitter`] puts many callers' entries into
//! one [`LedgerStore::commit_batch`] transaction instead. Callers enqueue a
//! command and await its own outcome; one task per ledger drains the queue,
//! commits what it took and answers every caller **only after the
//! transaction committed** (durability is the store's: fsync on commit).
//!
//! Batching is natural, not timed: the worker takes whatever is queued (up to
//! `max_batch`), commits, and repeats. While one transaction is in flight the
//! next batch accumulates, so batches grow with load and a lone caller pays no
//! extra latency. `max_wait_us` (0 by default) optionally lingers for more
//! commands when a batch is not full.
//!
//! Semantics are exactly those of `commit_batch` (see
//! `offtake_ledger::plan`): per-entry all-or-nothing, each command checked
//! against the balances left by the commands before it, an idempotency key
//! repeated within one batch behaves as if the commands had been committed
//! one after another. If the transaction itself fails, every caller of that
//! batch gets the error and nothing of the batch was written.
//!
//! This crate must never decide a ledger rule or know SQL: it only queues.

#![forbid(unsafe_code)]

mod sets;
mod store;

pub use sets::{Accounts, Records, SetCommitter, SetCommitters, SetWrite, MAX_BATCH_WRITES};
pub use store::GroupCommitStore;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::plan::MAX_BATCH_COMMANDS;
use offtake_ledger::{Command, Committed, LedgerError, LedgerId, LedgerStore};
use tokio::sync::{mpsc, oneshot};

/// Queued commands per ledger, in units of `max_batch`: beyond this many
/// batches waiting, `submit` waits (back-pressure instead of unbounded
/// memory).
pub const QUEUE_BATCHES: usize = 4;
/// Longest optional linger for a batch to fill.
pub const MAX_WAIT_US_LIMIT: u64 = 100_000;
/// Default batch size: large enough that fsync is amortised over many
/// entries, small enough that one transaction stays in the milliseconds.
pub const DEFAULT_MAX_BATCH: usize = 1_024;

type Reply = oneshot::Sender<Result<Appended, LedgerError>>;

struct Job {
    command: Command,
    attachments: Vec<Attachment>,
    reply: Reply,
}

/// Counters of one committer, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    batches: AtomicU64,
    commands: AtomicU64,
    failed_batches: AtomicU64,
}

/// A snapshot of [`CommitStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Transactions attempted.
    pub batches: u64,
    /// Commands carried by those transactions.
    pub commands: u64,
    /// Transactions that failed as a whole (every caller got the error).
    pub failed_batches: u64,
}

impl StatsSnapshot {
    /// Mean commands per transaction.
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.commands as f64 / self.batches as f64
        }
    }
}

impl CommitStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            batches: self.batches.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
        }
    }
}

/// The group-commit front of one ledger. Cheap to clone; every clone feeds
/// the same worker. The worker stops when the last clone is dropped, after
/// answering what was queued.
#[derive(Clone)]
pub struct GroupCommitter {
    ledger: LedgerId,
    queue: mpsc::Sender<Job>,
    stats: Arc<CommitStats>,
}

impl GroupCommitter {
    /// Starts the worker task for `ledger` on the current tokio runtime.
    ///
    /// `max_batch` is clamped to `1..=MAX_BATCH_COMMANDS`; `max_wait_us`
    /// (how long a non-full batch may wait for more commands; 0 = never
    /// wait) is clamped to [`MAX_WAIT_US_LIMIT`].
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(store: Arc<dyn LedgerStore>, ledger: LedgerId, max_batch: usize, max_wait_us: u64) -> Self {
        let max_batch = max_batch.clamp(1, MAX_BATCH_COMMANDS);
        let max_wait = Duration::from_micros(max_wait_us.min(MAX_WAIT_US_LIMIT));
        let (queue, rx) = mpsc::channel(max_batch.saturating_mul(QUEUE_BATCHES));
        let stats = Arc::new(CommitStats::default());
        let worker = Worker { store, ledger: ledger.clone(), rx, max_batch, max_wait, stats: stats.clone() };
        tokio::spawn(worker.run());
        GroupCommitter { ledger, queue, stats }
    }

    /// The ledger this committer appends to.
    pub fn ledger(&self) -> &LedgerId {
        &self.ledger
    }

    /// Commits `command` in the next batch and returns its own outcome once
    /// the batch's transaction has committed.
    ///
    /// If the future is dropped after the command was queued, the command is
    /// still committed; retry with the same idempotency key to learn the
    /// outcome. A `storage` error saying the outcome is unknown means the
    /// same: retry with the same key.
    pub async fn submit(&self, command: Command) -> Result<Committed, LedgerError> {
        self.submit_attached(command, Vec::new()).await.map(|appended| appended.committed)
    }

    /// [`GroupCommitter::submit`] with a record written in the same
    /// transaction if the command appends an entry (see
    /// `offtake_ledger::commit::Attachment`); answers the entry written.
    pub async fn submit_attached(
        &self,
        command: Command,
        attachments: Vec<Attachment>,
    ) -> Result<Appended, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { command, attachments, reply })
            .await
            .map_err(|_| LedgerError::Storage("group committer has stopped; nothing was queued".into()))?;
        answer.await.map_err(|_| {
            LedgerError::Storage(
                "group committer stopped before answering; the outcome is unknown, retry with the same idempotency key"
                    .into(),
            )
        })?
    }

    /// Counters since start.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}

/// What one transaction carries, slot by slot.
struct Batch {
    commands: Vec<Command>,
    attachments: Vec<Vec<Attachment>>,
    replies: Vec<Reply>,
}

struct Worker {
    store: Arc<dyn LedgerStore>,
    ledger: LedgerId,
    rx: mpsc::Receiver<Job>,
    max_batch: usize,
    max_wait: Duration,
    stats: Arc<CommitStats>,
}

impl Worker {
    async fn run(mut self) {
        let mut batch = Batch {
            commands: Vec::with_capacity(self.max_batch),
            attachments: Vec::with_capacity(self.max_batch),
            replies: Vec::with_capacity(self.max_batch),
        };
        while self.fill(&mut batch).await {
            let Batch { commands, attachments, replies } = &mut batch;
            debug_assert_eq!(commands.len(), replies.len());
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            self.stats.commands.fetch_add(commands.len() as u64, Ordering::Relaxed);
            match self.store.commit_batch_attached(&self.ledger, commands, attachments).await {
                Ok(outcomes) => {
                    assert_eq!(outcomes.len(), replies.len(), "commit_batch returns one outcome per command");
                    for (reply, outcome) in replies.drain(..).zip(outcomes) {
                        // A caller that went away no longer wants the answer.
                        let _ = reply.send(outcome);
                    }
                }
                Err(e) => {
                    self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(ledger = %self.ledger, batch = replies.len(), error = %e, "group commit failed");
                    for reply in replies.drain(..) {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            commands.clear();
            attachments.clear();
        }
    }

    /// Waits for at least one job, then takes what is queued up to
    /// `max_batch` (lingering up to `max_wait` if asked). False when every
    /// sender is gone and the queue is empty.
    async fn fill(&mut self, batch: &mut Batch) -> bool {
        debug_assert!(batch.commands.is_empty() && batch.replies.is_empty());
        let Some(first) = self.rx.recv().await else { return false };
        let mut take = |job: Job| {
            batch.commands.push(job.command);
            batch.attachments.push(job.attachments);
            batch.replies.push(job.reply);
        };
        take(first);
        let mut taken = 1;
        while taken < self.max_batch {
            match self.rx.try_recv() {
                Ok(job) => take(job),
                Err(_) => break,
            }
            taken += 1;
        }
        if !self.max_wait.is_zero() && taken < self.max_batch {
            let deadline = tokio::time::Instant::now() + self.max_wait;
            while taken < self.max_batch {
                match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(job)) => take(job),
                    Ok(None) | Err(_) => break,
                }
                taken += 1;
            }
        }
        true
    }
}

/// One [`GroupCommitter`] per ledger, created on first use: what a server
/// holds so that every request for a ledger goes through the same queue.
pub struct Committers {
    store: Arc<dyn LedgerStore>,
    max_batch: usize,
    max_wait_us: u64,
    by_ledger: Mutex<HashMap<LedgerId, GroupCommitter>>,
}

impl Committers {
    pub fn new(store: Arc<dyn LedgerStore>, max_batch: usize, max_wait_us: u64) -> Self {
        Committers { store, max_batch, max_wait_us, by_ledger: Mutex::new(HashMap::new()) }
    }

    /// The committer of `ledger` (started on first use).
    pub fn for_ledger(&self, ledger: &LedgerId) -> GroupCommitter {
        let mut map = self.by_ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(ledger.clone())
            .or_insert_with(|| {
                GroupCommitter::new(self.store.clone(), ledger.clone(), self.max_batch, self.max_wait_us)
            })
            .clone()
    }

    /// Commits `command` on `ledger` through its committer.
    pub async fn submit(&self, ledger: &LedgerId, command: Command) -> Result<Committed, LedgerError> {
        self.for_ledger(ledger).submit(command).await
    }

    /// [`GroupCommitter::submit_attached`] on `ledger`'s committer.
    pub async fn submit_attached(
        &self,
        ledger: &LedgerId,
        command: Command,
        attachments: Vec<Attachment>,
    ) -> Result<Appended, LedgerError> {
        self.for_ledger(ledger).submit_attached(command, attachments).await
    }
}
