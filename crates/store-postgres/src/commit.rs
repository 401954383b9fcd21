//! PostgreSQL's primitives of the write path (the steps themselves are
//! `offtake_ledger::commit`): one transaction per batch, serialised per
//! ledger by the row lock on its chain head (`SELECT … FOR NO KEY UPDATE`).
//!
//! Lock order: every write transaction takes the ledger's head row before
//! it reads anything it will decide on; a batch with attached records then
//! takes the record head (record writers never take the entry head, and
//! their foreign-key checks do not conflict with `NO KEY UPDATE`). One
//! order of locks cannot deadlock, and account rows need no locks of their own
//! because they are never updated. Ledgers (tenants) proceed in parallel;
//! within a ledger, throughput comes from batching many entries into one
//! transaction (group commit), not from concurrent transactions.

use async_trait::async_trait;
use offtake_ledger::commit::BatchTx;
use offtake_ledger::record_chain::RecordTx;
use offtake_ledger::row::{format_date, metadata_text};
use offtake_ledger::write::{WriteTx, Writer};
use offtake_ledger::{EntryRecord, LedgerError, LedgerId};
use offtake_store_sql::entries::SqlBatch;
use offtake_store_sql::records::SqlRecordTx;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::conn::Pg;
use crate::error::db;

/// Write transactions, each on a connection of the pool; the head rows'
/// locks serialise the writers of one ledger.
pub(crate) struct PgWriter<'p>(pub(crate) &'p PgPool);

#[async_trait]
impl Writer for PgWriter<'_> {
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>, LedgerError> {
        Ok(Box::new(PgWrite(self.0.begin().await.map_err(db)?)))
    }
}

/// One begun write transaction.
struct PgWrite(Transaction<'static, Postgres>);

#[async_trait]
impl WriteTx for PgWrite {
    fn entries(&mut self) -> Box<dyn BatchTx + '_> {
        Box::new(SqlBatch(Pg(&mut *self.0)))
    }

    fn records(&mut self) -> Box<dyn RecordTx + '_> {
        Box::new(SqlRecordTx(Pg(&mut *self.0)))
    }

    async fn commit(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.commit().await.map_err(db)
    }

    async fn rollback(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.rollback().await.map_err(db)
    }
}

/// The entries' rows: one array per column, one statement.
pub(crate) async fn insert_entry_rows(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    records: &[EntryRecord],
) -> Result<(), LedgerError> {
    let n = records.len();
    let mut seq = Vec::with_capacity(n);
    let mut entry_type = Vec::with_capacity(n);
    let mut ref_seq = Vec::with_capacity(n);
    let mut key = Vec::with_capacity(n);
    let mut request_hash = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut effective_date = Vec::with_capacity(n);
    let mut recorded_at_us = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    let mut source_hash = Vec::with_capacity(n);
    let mut prev_hash = Vec::with_capacity(n);
    let mut hash = Vec::with_capacity(n);
    for e in records {
        seq.push(e.seq);
        entry_type.push(e.entry_type.as_str());
        ref_seq.push(e.ref_seq);
        key.push(e.idempotency_key.as_str());
        request_hash.push(e.request_hash.to_vec());
        kind.push(e.kind.as_str());
        effective_date.push(format_date(e.effective_date));
        recorded_at_us.push(e.recorded_at_us);
        metadata.push(metadata_text(e)?);
        source_hash.push(e.source_hash.map(|h| h.to_vec()));
        prev_hash.push(e.prev_hash.to_vec());
        hash.push(e.hash.to_vec());
    }
    sqlx::query(
        "INSERT INTO entries (ledger_id, seq, entry_type, ref_seq, idempotency_key, request_hash, kind, effective_date, \
                              recorded_at_us, metadata, source_hash, prev_hash, hash) \
         SELECT $1, u.seq, u.entry_type, u.ref_seq, u.idempotency_key, u.request_hash, u.kind, u.effective_date::date, \
                u.recorded_at_us, u.metadata, u.source_hash, u.prev_hash, u.hash \
         FROM UNNEST($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::text[], $8::text[], \
                     $9::bigint[], $10::text[], $11::bytea[], $12::bytea[], $13::bytea[]) \
              AS u(seq, entry_type, ref_seq, idempotency_key, request_hash, kind, effective_date, recorded_at_us, \
                   metadata, source_hash, prev_hash, hash)",
    )
    .bind(ledger.as_str())
    .bind(&seq)
    .bind(&entry_type)
    .bind(&ref_seq)
    .bind(&key)
    .bind(&request_hash)
    .bind(&kind)
    .bind(&effective_date)
    .bind(&recorded_at_us)
    .bind(&metadata)
    .bind(&source_hash)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The legs' rows with their running totals: one array per column, one
/// statement.
pub(crate) async fn insert_leg_rows(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    records: &[EntryRecord],
) -> Result<(), LedgerError> {
    let legs = records.iter().map(|e| e.legs.len()).sum();
    let mut l_seq = Vec::with_capacity(legs);
    let mut leg_no = Vec::with_capacity(legs);
    let mut account_no = Vec::with_capacity(legs);
    let mut side = Vec::with_capacity(legs);
    let mut layer = Vec::with_capacity(legs);
    let mut amount = Vec::with_capacity(legs);
    let mut pd = Vec::with_capacity(legs);
    let mut pc = Vec::with_capacity(legs);
    let mut hd = Vec::with_capacity(legs);
    let mut hc = Vec::with_capacity(legs);
    for e in records {
        for l in &e.legs {
            l_seq.push(e.seq);
            leg_no.push(l.leg_no);
            account_no.push(l.account_no);
            side.push(l.side.as_str());
            layer.push(l.layer.as_str());
            amount.push(l.amount_minor);
            pd.push(l.totals_after.posted_debit_minor);
            pc.push(l.totals_after.posted_credit_minor);
            hd.push(l.totals_after.pending_debit_minor);
            hc.push(l.totals_after.pending_credit_minor);
        }
    }
    sqlx::query(
        "INSERT INTO legs (ledger_id, seq, leg_no, account_no, side, layer, amount_minor, posted_debit_after, \
                           posted_credit_after, pending_debit_after, pending_credit_after) \
         SELECT $1, u.* FROM UNNEST($2::bigint[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], \
                                    $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[]) AS u",
    )
    .bind(ledger.as_str())
    .bind(&l_seq)
    .bind(&leg_no)
    .bind(&account_no)
    .bind(&side)
    .bind(&layer)
    .bind(&amount)
    .bind(&pd)
    .bind(&pc)
    .bind(&hd)
    .bind(&hc)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}
