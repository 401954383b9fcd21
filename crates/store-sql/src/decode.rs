//! Row decoders, written once for both backends. A store selects the
//! columns named here (in its own dialect) and hands the row over; the
//! column types line up on both (`INTEGER`/`BIGINT`, `TEXT`, `BLOB`/`BYTEA`),
//! so only the SQL differs between the stores, never what a row means.

use offtake_ledger::plan::KeyUse;
use offtake_ledger::row::{hash32, AccountRow, EntryRow, LegRow};
use offtake_ledger::{Account, BalanceTotals, ChainHead, ChainedRecord, Hash32, LedgerError, RecordHead, StoredRecord};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::db;

/// Account columns, in the order [`account`] reads them (by name).
pub const ACCOUNT_COLUMNS: &str = "account_no, code, currency, normal_side, book, non_negative, created_at_us";

/// Leg columns over `legs l JOIN accounts a`, as [`leg_row`] reads them.
pub const LEG_COLUMNS: &str = "l.seq, l.leg_no, l.account_no, a.code, a.currency, l.side, l.layer, \
                               l.amount_minor, l.posted_debit_after, l.posted_credit_after, \
                               l.pending_debit_after, l.pending_credit_after";

/// Typed column reads that fail with a ledger error. Implemented for every
/// `sqlx::Row` whose backend decodes the column types the stores use, so
/// the decoders below are generic over the backend.
pub trait SqlRow {
    fn int(&self, column: &str) -> Result<i64, LedgerError>;
    fn int_opt(&self, column: &str) -> Result<Option<i64>, LedgerError>;
    fn int32(&self, column: &str) -> Result<i32, LedgerError>;
    fn text(&self, column: &str) -> Result<String, LedgerError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, LedgerError>;
    fn bytes_opt(&self, column: &str) -> Result<Option<Vec<u8>>, LedgerError>;
    fn flag(&self, column: &str) -> Result<bool, LedgerError>;
}

impl<R> SqlRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn int32(&self, column: &str) -> Result<i32, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn text(&self, column: &str) -> Result<String, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn bytes_opt(&self, column: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.try_get(column).map_err(db)
    }
    fn flag(&self, column: &str) -> Result<bool, LedgerError> {
        self.try_get(column).map_err(db)
    }
}

/// An account row ([`ACCOUNT_COLUMNS`]).
pub fn account(row: &impl SqlRow) -> Result<Account, LedgerError> {
    AccountRow {
        account_no: row.int("account_no")?,
        code: row.text("code")?,
        currency: row.text("currency")?,
        normal_side: row.text("normal_side")?,
        book: row.text("book")?,
        non_negative: row.flag("non_negative")?,
        created_at_us: row.int("created_at_us")?,
    }
    .into_account()
}

/// An entry row; `effective_date` must arrive as `YYYY-MM-DD` text.
pub fn entry_row(row: &impl SqlRow) -> Result<EntryRow, LedgerError> {
    Ok(EntryRow {
        seq: row.int("seq")?,
        entry_type: row.text("entry_type")?,
        ref_seq: row.int_opt("ref_seq")?,
        idempotency_key: row.text("idempotency_key")?,
        request_hash: row.bytes("request_hash")?,
        kind: row.text("kind")?,
        effective_date: row.text("effective_date")?,
        recorded_at_us: row.int("recorded_at_us")?,
        metadata: row.text("metadata")?,
        source_hash: row.bytes_opt("source_hash")?,
        prev_hash: row.bytes("prev_hash")?,
        hash: row.bytes("hash")?,
    })
}

/// The running totals a leg row carries.
pub fn totals(row: &impl SqlRow) -> Result<BalanceTotals, LedgerError> {
    Ok(BalanceTotals {
        posted_debit_minor: row.int("posted_debit_after")?,
        posted_credit_minor: row.int("posted_credit_after")?,
        pending_debit_minor: row.int("pending_debit_after")?,
        pending_credit_minor: row.int("pending_credit_after")?,
    })
}

/// A leg row joined with its account ([`LEG_COLUMNS`]).
pub fn leg_row(row: &impl SqlRow) -> Result<LegRow, LedgerError> {
    Ok(LegRow {
        seq: row.int("seq")?,
        leg_no: row.int32("leg_no")?,
        account_no: row.int("account_no")?,
        account_code: row.text("code")?,
        currency: row.text("currency")?,
        side: row.text("side")?,
        layer: row.text("layer")?,
        amount_minor: row.int("amount_minor")?,
        totals_after: totals(row)?,
    })
}

/// An used idempotency key: `idempotency_key, seq, request_hash, hash,
/// recorded_at_us` of its entry.
pub fn key_use(row: &impl SqlRow) -> Result<(String, KeyUse), LedgerError> {
    Ok((
        row.text("idempotency_key")?,
        KeyUse {
            seq: row.int("seq")?,
            request_hash: hash32(&row.bytes("request_hash")?, "request_hash")?,
            hash: hash32(&row.bytes("hash")?, "hash")?,
            recorded_at_us: row.int("recorded_at_us")?,
        },
    ))
}

/// The chain head of a `ledgers` row.
pub fn chain_head(row: &impl SqlRow) -> Result<ChainHead, LedgerError> {
    Ok(ChainHead {
        seq: row.int("head_seq")?,
        hash: hash32(&row.bytes("head_hash")?, "head_hash")?,
        recorded_at_us: row.int("head_recorded_at_us")?,
    })
}

/// A record version; `body` must arrive as JSON text.
pub fn stored_record(row: &impl SqlRow) -> Result<StoredRecord, LedgerError> {
    let body = row.text("body")?;
    Ok(StoredRecord {
        kind: row.text("kind")?,
        id: row.text("id")?,
        version: row.int("version")?,
        body: serde_json::from_str(&body).map_err(|e| LedgerError::Storage(format!("record body: {e}")))?,
        recorded_at_us: row.int("recorded_at_us")?,
    })
}

/// A record chain head row (`head_seq, head_hash`).
pub fn record_head(row: &impl SqlRow) -> Result<RecordHead, LedgerError> {
    Ok(RecordHead { seq: row.int("head_seq")?, hash: hash32(&row.bytes("head_hash")?, "head_hash")? })
}

/// A chained record version: [`stored_record`]'s columns plus `chain_seq,
/// prev_hash, hash`. A chained row without hashes is a broken chain, not
/// a storage fault.
pub fn chained_record(row: &impl SqlRow) -> Result<ChainedRecord, LedgerError> {
    let seq = row.int("chain_seq")?;
    let hash = |column: &str| -> Result<Hash32, LedgerError> {
        match row.bytes_opt(column)? {
            Some(bytes) => hash32(&bytes, column),
            None => Err(LedgerError::RecordChainBroken { seq, reason: format!("{column} is missing") }),
        }
    };
    Ok(ChainedRecord { record: stored_record(row)?, seq, prev_hash: hash("prev_hash")?, hash: hash("hash")? })
}
