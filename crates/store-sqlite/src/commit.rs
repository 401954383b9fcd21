//! SQLite's primitives of the write path (the steps themselves are
//! `offtake_ledger::commit`): one `BEGIN IMMEDIATE` transaction per batch.
//!
//! SQLite has one writer at a time; `BEGIN IMMEDIATE` takes the write lock
//! up front so two processes never deadlock on a read-to-write upgrade, and
//! the in-process mutex keeps this process's tasks from spinning on
//! `SQLITE_BUSY`. Within the transaction the planner sees a stable state.

use std::collections::HashMap;
use std::ops::DerefMut;

use async_trait::async_trait;
use offtake_ledger::commit::BatchTx;
use offtake_ledger::record_chain::RecordTx;
use offtake_ledger::row::{format_date, metadata_text};
use offtake_ledger::write::{WriteTx, Writer};
use offtake_ledger::{BalanceTotals, EntryRecord, LedgerError, LedgerId};
use offtake_store_sql::decode;
use offtake_store_sql::entries::SqlBatch;
use offtake_store_sql::records::SqlRecordTx;
use sqlx::{Connection, Row, Sqlite, SqliteConnection, Transaction};

use crate::conn::Lite;
use crate::error::db;

/// Write transactions on the process's one writer connection (its mutex
/// held: a guard, or the connection itself before the store exists), each
/// begun with `BEGIN IMMEDIATE`.
pub(crate) struct SqliteWriter<C>(pub(crate) C);

#[async_trait]
impl<C: DerefMut<Target = SqliteConnection> + Send> Writer for SqliteWriter<C> {
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>, LedgerError> {
        Ok(Box::new(SqliteWrite(self.0.begin_with("BEGIN IMMEDIATE").await.map_err(db)?)))
    }
}

/// One begun write transaction.
struct SqliteWrite<'c>(Transaction<'c, Sqlite>);

#[async_trait]
impl WriteTx for SqliteWrite<'_> {
    fn entries(&mut self) -> Box<dyn BatchTx + '_> {
        Box::new(SqlBatch(Lite(&mut *self.0)))
    }

    fn records(&mut self) -> Box<dyn RecordTx + '_> {
        Box::new(SqlRecordTx(Lite(&mut *self.0)))
    }

    async fn commit(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.commit().await.map_err(db)
    }

    async fn rollback(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.rollback().await.map_err(db)
    }
}

/// Rows per multi-row INSERT (13 parameters a row, under SQLite's limit).
const INSERT_CHUNK_ROWS: usize = 1_000;

/// Current totals of each account in one statement (absent = never
/// touched): the account list travels as one JSON array, so the SQL text is
/// the same for every batch and stays prepared. `CROSS JOIN` fixes the join
/// order (one index seek per account); each seek reads the account's latest
/// leg through `legs_by_account` (`ORDER BY … LIMIT 1`, not `max()`: SQLite
/// does not apply its min/max shortcut to the correlated subquery and would
/// scan every leg of the account).
pub(crate) async fn current_totals(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    account_nos: &[i64],
) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
    let mut out = HashMap::with_capacity(account_nos.len());
    if account_nos.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(account_nos).map_err(|e| LedgerError::Storage(e.to_string()))?;
    let rows = sqlx::query(
        "SELECT l.account_no, l.seq, l.leg_no, l.posted_debit_after, l.posted_credit_after, l.pending_debit_after, \
                l.pending_credit_after \
         FROM json_each(?2) AS w \
         CROSS JOIN legs AS l INDEXED BY legs_by_account \
             ON l.ledger_id = ?1 AND l.account_no = w.value \
            AND l.seq = (SELECT m.seq FROM legs AS m INDEXED BY legs_by_account \
                         WHERE m.ledger_id = ?1 AND m.account_no = w.value ORDER BY m.seq DESC LIMIT 1) \
         ORDER BY l.account_no, l.leg_no",
    )
    .bind(ledger.as_str())
    .bind(list)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    // An entry may touch an account twice; the highest leg_no is the latest
    // (rows come in leg order, so the last insert wins).
    for row in &rows {
        let seq: i64 = row.try_get("seq").map_err(db)?;
        out.insert(row.try_get::<i64, _>("account_no").map_err(db)?, (decode::totals(row)?, seq));
    }
    Ok(out)
}

/// Inserts the entries and their legs, as multi-row `INSERT`s of
/// [`INSERT_CHUNK_ROWS`] rows.
pub(crate) async fn insert_entries(
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
