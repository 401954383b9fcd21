//! The write path: one `BEGIN IMMEDIATE` transaction per batch.
//!
//! SQLite has one writer at a time; `BEGIN IMMEDIATE` takes the write lock
//! up front so two processes never deadlock on a read-to-write upgrade, and
//! the in-process mutex keeps this process's tasks from spinning on
//! `SQLITE_BUSY`. Within the transaction the planner sees a stable state.

use std::collections::{BTreeSet, HashMap};

use offtake_ledger::plan::{self, BatchContext};
use offtake_ledger::row::{format_date, metadata_text};
use offtake_ledger::{AccountCode, ChainHead, Command, Committed, EntryRecord, LedgerError, LedgerId};
use sqlx::SqliteConnection;

use crate::error::db;
use crate::{accounts, entries};

/// Rows per multi-row INSERT (13 parameters a row, under SQLite's limit).
const INSERT_CHUNK_ROWS: usize = 1_000;

pub(crate) async fn commit_batch(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    commands: &[Command],
    now_us: i64,
) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
    let head = entries::head(conn, ledger).await?;
    let needs = plan::needs(commands);
    let ref_seqs: Vec<i64> = needs.ref_seqs.iter().copied().collect();
    let refs = entries::refs(conn, ledger, &ref_seqs).await?;
    let mut codes: BTreeSet<AccountCode> = needs.account_codes;
    for r in refs.values() {
        codes.extend(r.record.legs.iter().map(|l| l.account.clone()));
    }
    let codes: Vec<AccountCode> = codes.into_iter().collect();
    let accounts = accounts::by_codes(conn, ledger, &codes).await?;
    let mut balances = HashMap::with_capacity(accounts.len());
    let mut last_seq = HashMap::with_capacity(accounts.len());
    for a in &accounts {
        let (totals, seq) = entries::totals_at(conn, ledger, a.account_no, i64::MAX).await?;
        balances.insert(a.account_no, totals);
        last_seq.insert(a.account_no, seq);
    }
    let keys = entries::key_uses(conn, ledger, &needs.idempotency_keys).await?;
    let ctx = BatchContext {
        ledger: ledger.clone(),
        head,
        now_us,
        accounts: accounts.into_iter().map(|a| (a.code.clone(), a)).collect(),
        balances,
        last_seq,
        refs,
        keys,
    };
    let planned = plan::plan(ctx, commands)?;
    insert_entries(conn, ledger, &planned.entries).await?;
    move_head(conn, ledger, &planned.head).await?;
    Ok(planned.outcomes)
}

async fn insert_entries(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    records: &[EntryRecord],
) -> Result<(), LedgerError> {
    for chunk in records.chunks(INSERT_CHUNK_ROWS) {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO entries (ledger_id, seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
             effective_date, recorded_at_us, metadata, source_hash, prev_hash, hash) ",
        );
        let mut metadata = Vec::with_capacity(chunk.len());
        for e in chunk {
            metadata.push(metadata_text(e)?);
        }
        qb.push_values(chunk.iter().zip(&metadata), |mut b, (e, meta)| {
            b.push_bind(ledger.as_str())
                .push_bind(e.seq)
                .push_bind(e.entry_type.as_str())
                .push_bind(e.ref_seq)
                .push_bind(e.idempotency_key.as_str())
                .push_bind(e.request_hash.as_slice())
                .push_bind(e.kind.as_str())
                .push_bind(format_date(e.effective_date))
                .push_bind(e.recorded_at_us)
                .push_bind(meta.as_str())
                .push_bind(e.source_hash.as_ref().map(|h| h.as_slice()))
                .push_bind(e.prev_hash.as_slice())
                .push_bind(e.hash.as_slice());
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    let legs: Vec<(i64, &offtake_ledger::LegRecord)> =
        records.iter().flat_map(|e| e.legs.iter().map(move |l| (e.seq, l))).collect();
    for chunk in legs.chunks(INSERT_CHUNK_ROWS) {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO legs (ledger_id, seq, leg_no, account_no, side, layer, amount_minor, posted_debit_after, \
             posted_credit_after, pending_debit_after, pending_credit_after) ",
        );
        qb.push_values(chunk, |mut b, (seq, l)| {
            b.push_bind(ledger.as_str())
                .push_bind(*seq)
                .push_bind(l.leg_no)
                .push_bind(l.account_no)
                .push_bind(l.side.as_str())
                .push_bind(l.layer.as_str())
                .push_bind(l.amount_minor)
                .push_bind(l.totals_after.posted_debit_minor)
                .push_bind(l.totals_after.posted_credit_minor)
                .push_bind(l.totals_after.pending_debit_minor)
                .push_bind(l.totals_after.pending_credit_minor);
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

async fn move_head(conn: &mut SqliteConnection, ledger: &LedgerId, head: &ChainHead) -> Result<(), LedgerError> {
    sqlx::query("UPDATE ledgers SET head_seq = ?, head_hash = ?, head_recorded_at_us = ? WHERE ledger_id = ?")
        .bind(head.seq)
        .bind(head.hash.as_slice())
        .bind(head.recorded_at_us)
        .bind(ledger.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}
