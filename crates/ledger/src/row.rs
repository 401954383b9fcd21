//! Plain row shapes shared by the store crates, and their assembly into
//! records. Stores differ in SQL dialect and column types, not in what an
//! entry is, so decoding lives here once.

use time::Date;

use crate::account::{Account, AccountCode, Book, Side};
use crate::balance::BalanceTotals;
use crate::currency::Currency;
use crate::entry::{EntryRecord, EntryType, Hash32, Layer, LegRecord};
use crate::error::LedgerError;

pub use crate::date::{format_date, parse_date, DATE_FORMAT};

/// Decodes a date a store wrote. Not [`parse_date`]: rows written before
/// input dates were bounded may hold years outside the bounds, and they
/// must still load (and verify) as they were written.
fn decode_stored_date(text: &str) -> Result<Date, LedgerError> {
    Date::parse(text, DATE_FORMAT).map_err(|_| corrupt("effective date"))
}

fn corrupt(what: &str) -> LedgerError {
    LedgerError::Storage(format!("corrupt row: {what}"))
}

pub fn hash32(bytes: &[u8], what: &str) -> Result<Hash32, LedgerError> {
    bytes.try_into().map_err(|_| corrupt(what))
}

#[derive(Clone, Debug)]
pub struct AccountRow {
    pub account_no: i64,
    pub code: String,
    pub currency: String,
    pub normal_side: String,
    pub book: String,
    pub non_negative: bool,
    pub created_at_us: i64,
}

impl AccountRow {
    pub fn into_account(self) -> Result<Account, LedgerError> {
        Ok(Account {
            account_no: self.account_no,
            code: AccountCode::new(&self.code).map_err(|_| corrupt("account code"))?,
            currency: Currency::from_code(&self.currency).map_err(|_| corrupt("account currency"))?,
            normal_side: Side::parse(&self.normal_side).map_err(|_| corrupt("normal side"))?,
            book: Book::parse(&self.book).map_err(|_| corrupt("book"))?,
            non_negative: self.non_negative,
            created_at_us: self.created_at_us,
        })
    }
}

#[derive(Clone, Debug)]
pub struct EntryRow {
    pub seq: i64,
    pub entry_type: String,
    pub ref_seq: Option<i64>,
    pub idempotency_key: String,
    pub request_hash: Vec<u8>,
    pub kind: String,
    pub effective_date: String,
    pub recorded_at_us: i64,
    pub metadata: String,
    pub source_hash: Option<Vec<u8>>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct LegRow {
    pub seq: i64,
    pub leg_no: i32,
    pub account_no: i64,
    pub account_code: String,
    pub currency: String,
    pub side: String,
    pub layer: String,
    pub amount_minor: i64,
    pub totals_after: BalanceTotals,
}

impl LegRow {
    fn into_leg(self) -> Result<LegRecord, LedgerError> {
        Ok(LegRecord {
            leg_no: self.leg_no,
            account_no: self.account_no,
            account: AccountCode::new(&self.account_code).map_err(|_| corrupt("leg account"))?,
            currency: Currency::from_code(&self.currency).map_err(|_| corrupt("leg currency"))?,
            side: Side::parse(&self.side).map_err(|_| corrupt("leg side"))?,
            layer: Layer::parse(&self.layer).ok_or_else(|| corrupt("leg layer"))?,
            amount_minor: self.amount_minor,
            totals_after: self.totals_after,
        })
    }
}

/// Joins entry rows with their leg rows. Both must be ordered by seq (and
/// legs by leg_no within an entry).
pub fn assemble(entries: Vec<EntryRow>, legs: Vec<LegRow>) -> Result<Vec<EntryRecord>, LedgerError> {
    let mut legs = legs.into_iter().peekable();
    entries
        .into_iter()
        .map(|e| {
            let mut own = Vec::new();
            while let Some(l) = legs.next_if(|l| l.seq == e.seq) {
                own.push(l.into_leg()?);
            }
            Ok(EntryRecord {
                seq: e.seq,
                entry_type: EntryType::parse(&e.entry_type).ok_or_else(|| corrupt("entry type"))?,
                ref_seq: e.ref_seq,
                idempotency_key: e.idempotency_key,
                request_hash: hash32(&e.request_hash, "request_hash")?,
                kind: e.kind,
                effective_date: decode_stored_date(&e.effective_date)?,
                recorded_at_us: e.recorded_at_us,
                metadata: serde_json::from_str(&e.metadata).map_err(|_| corrupt("metadata"))?,
                source_hash: e.source_hash.as_deref().map(|h| hash32(h, "source_hash")).transpose()?,
                legs: own,
                prev_hash: hash32(&e.prev_hash, "prev_hash")?,
                hash: hash32(&e.hash, "hash")?,
            })
        })
        .collect()
}

/// Canonical (RFC 8785) text of an entry's metadata, as stored.
pub fn metadata_text(record: &EntryRecord) -> Result<String, LedgerError> {
    serde_json_canonicalizer::to_string(&record.metadata).map_err(|e| LedgerError::Storage(format!("metadata: {e}")))
}
