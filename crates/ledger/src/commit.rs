//! The write path, written once: lock the head, load what the batch refers
//! to ([`plan::needs`]), plan, write, move the head. Each store implements
//! the handful of SQL primitives in [`BatchTx`] inside its own transaction;
//! the order of the steps, and what is skipped when nothing is accepted,
//! live here so the two stores cannot drift apart again.
//!
//! No IO happens in this module: it only sequences the store's calls.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use crate::account::{Account, AccountCode, LedgerId};
use crate::balance::BalanceTotals;
use crate::entry::{ChainHead, Command, Committed, EntryRecord};
use crate::error::LedgerError;
use crate::plan::{self, BatchContext, KeyUse, RefState};

/// The SQL primitives of one write transaction. The store has already begun
/// the transaction (and taken its write lock where the backend needs one up
/// front); the caller commits it when [`commit_batch`] returns `Ok`.
#[async_trait]
pub trait BatchTx: Send {
    /// The chain head, locked so no other writer appends until commit.
    async fn lock_head(&mut self, ledger: &LedgerId) -> Result<ChainHead, LedgerError>;

    /// The referenced entries and what has happened to them since.
    async fn refs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<HashMap<i64, RefState>, LedgerError>;

    /// The accounts among `codes` that exist.
    async fn accounts(&mut self, ledger: &LedgerId, codes: &[AccountCode]) -> Result<Vec<Account>, LedgerError>;

    /// Current totals of each account and the seq of its last entry
    /// (absent = never touched).
    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError>;

    /// The idempotency keys among `keys` that are already used.
    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError>;

    /// Inserts the planned entries and their legs.
    async fn insert_entries(&mut self, ledger: &LedgerId, entries: &[EntryRecord]) -> Result<(), LedgerError>;

    /// Moves the chain head to the last planned entry.
    async fn move_head(&mut self, ledger: &LedgerId, head: &ChainHead) -> Result<(), LedgerError>;
}

/// Plans and writes a batch inside the store's open transaction. When no
/// command is accepted (all refused or replayed) nothing is written and the
/// head stays where it was.
pub async fn commit_batch<T: BatchTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: i64,
) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
    Ok(write_batch(tx, ledger, commands, now_us).await?.outcomes)
}

/// [`commit_batch`], answering each appended command with the entry it
/// wrote, so that callers need not read it back.
pub async fn commit_batch_appending<T: BatchTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: i64,
) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
    let planned = write_batch(tx, ledger, commands, now_us).await?;
    let mut by_seq: HashMap<i64, EntryRecord> = planned.entries.into_iter().map(|e| (e.seq, e)).collect();
    Ok(planned
        .outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|committed| {
                let entry = if committed.replayed { None } else { by_seq.remove(&committed.seq) };
                Appended { committed, entry }
            })
        })
        .collect())
}

async fn write_batch<T: BatchTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: i64,
) -> Result<plan::Plan, LedgerError> {
    let ctx = load_context(tx, ledger, commands, now_us).await?;
    let planned = plan::plan(ctx, commands)?;
    if !planned.entries.is_empty() {
        tx.insert_entries(ledger, &planned.entries).await?;
        tx.move_head(ledger, &planned.head).await?;
    }
    Ok(planned)
}

/// The outcome of one accepted command of a batch, with the entry it wrote.
#[derive(Clone, Debug)]
pub struct Appended {
    pub committed: Committed,
    /// The entry as written; `None` for an idempotent replay (the entry is
    /// an older one: read it by `committed.seq` if needed).
    pub entry: Option<EntryRecord>,
}

/// One attachment slot per command, or the batch is refused as a whole.
pub fn check_attachments(commands: &[Command], attachments: &[Vec<Attachment>]) -> Result<(), LedgerError> {
    if commands.len() == attachments.len() {
        Ok(())
    } else {
        Err(LedgerError::InvalidInput {
            field: "attachments",
            reason: format!("{} attachment slots for {} commands", attachments.len(), commands.len()),
        })
    }
}

/// A batch with attachments as a store commits it: when an attached record
/// turns out to have moved past its expected version (found under the
/// record head's lock, after planning), the store rolls back, answers that
/// command `version_conflict` and commits the others without it — one
/// caller's stale record never fails another's entry.
pub struct AttachedBatch {
    /// Original slot of each command still in the batch.
    live: Vec<usize>,
    pub commands: Vec<Command>,
    pub attachments: Vec<Vec<Attachment>>,
    answers: Vec<Option<Result<Appended, LedgerError>>>,
}

impl AttachedBatch {
    pub fn new(commands: &[Command], attachments: &[Vec<Attachment>]) -> Result<Self, LedgerError> {
        check_attachments(commands, attachments)?;
        Ok(AttachedBatch {
            live: (0..commands.len()).collect(),
            commands: commands.to_vec(),
            attachments: attachments.to_vec(),
            answers: vec![None; commands.len()],
        })
    }

    /// Takes the commands at `stale` (indices into the current batch) out,
    /// answering each with its conflict.
    pub fn drop_stale(&mut self, stale: Vec<(usize, LedgerError)>) {
        let mut out: HashMap<usize, LedgerError> = stale.into_iter().collect();
        let mut keep = 0;
        for i in 0..self.live.len() {
            match out.remove(&i) {
                Some(e) => self.answers[self.live[i]] = Some(Err(e)),
                None => {
                    self.live.swap(keep, i);
                    self.commands.swap(keep, i);
                    self.attachments.swap(keep, i);
                    keep += 1;
                }
            }
        }
        self.live.truncate(keep);
        self.commands.truncate(keep);
        self.attachments.truncate(keep);
    }

    /// Every slot's answer: the committed batch's outcomes in their slots.
    pub fn finish(mut self, appended: Vec<Result<Appended, LedgerError>>) -> Vec<Result<Appended, LedgerError>> {
        for (slot, outcome) in self.live.iter().zip(appended) {
            self.answers[*slot] = Some(outcome);
        }
        self.answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(LedgerError::Storage("no outcome for a command".into()))))
            .collect()
    }
}

/// Builds a record's body from the entry its command appended (an error
/// fails the whole batch: nothing is written).
pub type AttachmentBody = Arc<dyn Fn(&EntryRecord) -> Result<serde_json::Value, LedgerError> + Send + Sync>;

/// A record version (`expected_version + 1` of `(kind, id)`) written in the
/// same transaction as the entry its command appends, and only if that
/// command appends one (not when it is refused or replayed). Why: a
/// caller's bookkeeping about a write (the HTTP API's idempotency record,
/// a payment notice's final state, the invoices it paid) must commit or
/// vanish with the write itself, without more durable transactions.
#[derive(Clone)]
pub struct Attachment {
    pub kind: String,
    pub id: String,
    /// The version the caller read (0: the record must not exist yet).
    pub expected_version: i64,
    pub body: AttachmentBody,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("expected_version", &self.expected_version)
            .finish_non_exhaustive()
    }
}

/// Locks the head and loads everything `plan::plan` will read.
async fn load_context<T: BatchTx + ?Sized>(
    tx: &mut T,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: i64,
) -> Result<BatchContext, LedgerError> {
    let head = tx.lock_head(ledger).await?;
    let needs = plan::needs(commands);
    let ref_seqs: Vec<i64> = needs.ref_seqs.iter().copied().collect();
    let refs = if ref_seqs.is_empty() { HashMap::new() } else { tx.refs(ledger, &ref_seqs).await? };
    // Posting, voiding or reversing touches the referenced entry's accounts.
    let mut codes: BTreeSet<AccountCode> = needs.account_codes;
    for r in refs.values() {
        codes.extend(r.record.legs.iter().map(|l| l.account.clone()));
    }
    let codes: Vec<AccountCode> = codes.into_iter().collect();
    let accounts = tx.accounts(ledger, &codes).await?;
    let account_nos: Vec<i64> = accounts.iter().map(|a| a.account_no).collect();
    let current = if account_nos.is_empty() { HashMap::new() } else { tx.current_totals(ledger, &account_nos).await? };
    let last_seq = current.iter().map(|(no, (_, seq))| (*no, *seq)).collect();
    let balances = current.into_iter().map(|(no, (totals, _))| (no, totals)).collect();
    let keys = tx.key_uses(ledger, &needs.idempotency_keys).await?;
    Ok(BatchContext {
        ledger: ledger.clone(),
        head,
        now_us,
        accounts: accounts.into_iter().map(|a| (a.code.clone(), a)).collect(),
        balances,
        last_seq,
        refs,
        keys,
    })
}
