//! A store's write transactions, written once: begin, write through the
//! store's SQL primitives ([`BatchTx`] for entries, [`RecordTx`] for record
//! versions, both on the same transaction), then commit — or roll back at
//! once on any error, because a dropped transaction only rolls back when
//! its connection is next used and would hold its heads' locks until then.
//!
//! Each store implements [`Writer`] (how it begins: a pooled transaction on
//! PostgreSQL, `BEGIN IMMEDIATE` on SQLite's one writer connection) and
//! [`WriteTx`] (which primitives run on that transaction). The sequence of
//! steps lives here so the two stores cannot drift apart. The clock is
//! passed in and read once the transaction has begun, so timestamps follow
//! the order in which writers took the lock.
//!
//! No IO happens in this module: it only sequences the store's calls.

use async_trait::async_trait;

use crate::account::LedgerId;
use crate::commit::{self, Appended, AttachedBatch, Attachment, BatchTx};
use crate::date::Clock;
use crate::entry::{Command, Committed};
use crate::error::LedgerError;
use crate::record_chain::{self, ChainedRecord, RecordTx};

/// One begun write transaction of a store.
#[async_trait]
pub trait WriteTx: Send {
    /// The transaction's entry-chain primitives.
    fn entries(&mut self) -> Box<dyn BatchTx + '_>;

    /// The transaction's record-chain primitives.
    fn records(&mut self) -> Box<dyn RecordTx + '_>;

    async fn commit(self: Box<Self>) -> Result<(), LedgerError>;

    async fn rollback(self: Box<Self>) -> Result<(), LedgerError>;
}

/// Where a store's write transactions begin.
#[async_trait]
pub trait Writer: Send {
    /// Begins a write transaction (taking the store's write lock where the
    /// backend needs one up front).
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>, LedgerError>;
}

/// Commits `tx` when `written` is `Ok`, rolls it back otherwise.
async fn finish<T>(tx: Box<dyn WriteTx + '_>, written: Result<T, LedgerError>) -> Result<T, LedgerError> {
    match written {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// `LedgerStore::commit_batch`: one transaction, planned and written by
/// [`commit::commit_batch`].
pub async fn commit_batch<W: Writer + ?Sized>(
    writer: &mut W,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: Clock,
) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
    if commands.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = writer.begin().await?;
    let written = commit::commit_batch(&mut *tx.entries(), ledger, commands, now_us()).await;
    finish(tx, written).await
}

/// `LedgerStore::commit_batch_attached`: the batch's entries and the
/// records attached to them in one transaction. When an attached record
/// turns out stale, the round is rolled back and the batch retried without
/// that command ([`AttachedBatch`]); each round either commits or takes at
/// least one command out, so the loop ends.
pub async fn commit_batch_attached<W: Writer + ?Sized>(
    writer: &mut W,
    ledger: &LedgerId,
    commands: &[Command],
    attachments: &[Vec<Attachment>],
    now_us: Clock,
) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
    let mut batch = AttachedBatch::new(commands, attachments)?;
    while !batch.commands.is_empty() {
        let mut tx = writer.begin().await?;
        let now = now_us();
        let written = write_attached(&mut *tx, ledger, &batch, now).await;
        match written {
            Ok((appended, stale)) if stale.is_empty() => {
                tx.commit().await?;
                return Ok(batch.finish(appended));
            }
            Ok((_, stale)) => {
                tx.rollback().await?;
                batch.drop_stale(stale);
            }
            Err(e) => {
                // Roll back now, releasing both heads' locks at once.
                tx.rollback().await?;
                return Err(e);
            }
        }
    }
    Ok(batch.finish(Vec::new()))
}

/// One round of [`commit_batch_attached`]: the entries, then the records;
/// answers the outcomes and the stale commands (none: commit).
async fn write_attached(
    tx: &mut (dyn WriteTx + '_),
    ledger: &LedgerId,
    batch: &AttachedBatch,
    now_us: i64,
) -> Result<AttachedRound, LedgerError> {
    let appended = commit::commit_batch_appending(&mut *tx.entries(), ledger, &batch.commands, now_us).await?;
    let stale = record_chain::put_attached(&mut *tx.records(), ledger, &appended, &batch.attachments, now_us).await?;
    Ok((appended, stale))
}

type AttachedRound = (Vec<Result<Appended, LedgerError>>, Vec<(usize, LedgerError)>);

/// `RecordStore::put_record`: one transaction, written by
/// [`record_chain::put_record`].
pub async fn put_record<W: Writer + ?Sized>(
    writer: &mut W,
    ledger: &LedgerId,
    key: (&str, &str),
    expected_version: i64,
    body: &serde_json::Value,
    now_us: Clock,
) -> Result<ChainedRecord, LedgerError> {
    let mut tx = writer.begin().await?;
    let written = record_chain::put_record(&mut *tx.records(), ledger, key, expected_version, body, now_us()).await;
    finish(tx, written).await
}

/// `RecordStore::put_records`: one transaction, written by
/// [`record_chain::put_records`].
pub async fn put_records<W: Writer + ?Sized>(
    writer: &mut W,
    ledger: &LedgerId,
    writes: &[crate::record::RecordWrite],
    now_us: Clock,
) -> Result<Vec<ChainedRecord>, LedgerError> {
    let mut tx = writer.begin().await?;
    let written = record_chain::put_records(&mut *tx.records(), ledger, writes, now_us()).await;
    finish(tx, written).await
}

/// `RecordStore::put_record_sets`: one transaction for every set, written
/// by [`record_chain::put_record_sets`] (a refused set writes nothing and
/// does not stop the others).
pub async fn put_record_sets<W: Writer + ?Sized>(
    writer: &mut W,
    ledger: &LedgerId,
    sets: &[&[crate::record::RecordWrite]],
    now_us: Clock,
) -> Result<record_chain::SetOutcomes, LedgerError> {
    let mut tx = writer.begin().await?;
    let written = record_chain::put_record_sets(&mut *tx.records(), ledger, sets, now_us()).await;
    finish(tx, written).await
}

/// Chains a ledger's versions written before the record chain existed
/// ([`record_chain::chain_unlinked`]) in one transaction; returns how many.
pub async fn chain_unlinked<W: Writer + ?Sized>(writer: &mut W, ledger: &LedgerId) -> Result<u64, LedgerError> {
    let mut tx = writer.begin().await?;
    let written = record_chain::chain_unlinked(&mut *tx.records(), ledger).await;
    finish(tx, written).await
}
