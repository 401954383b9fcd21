//! The raw ledger: accounts, entries and their legs, balances, the chain.

use offtake_ledger::{
    Account as DomainAccount, Balance as DomainBalance, ChainHead as DomainChainHead, ChainReport as DomainChainReport,
    EntryRecord, LegRecord,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::money::{instant_of_us, Money};

/// A ledger account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// Dense per-ledger account number.
    pub account_no: i64,
    #[schema(example = "cash:lender:l1")]
    pub code: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// `debit` or `credit`.
    #[schema(example = "debit")]
    pub normal_side: String,
    /// `main` or `memo`.
    #[schema(example = "main")]
    pub book: String,
    /// Entries that would take the available balance below zero are refused.
    pub non_negative: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<DomainAccount> for Account {
    fn from(a: DomainAccount) -> Self {
        Account {
            account_no: a.account_no,
            code: a.code.as_str().to_owned(),
            currency: a.currency.code().to_owned(),
            normal_side: a.normal_side.as_str().to_owned(),
            book: a.book.as_str().to_owned(),
            non_negative: a.non_negative,
            created_at: instant_of_us(a.created_at_us),
        }
    }
}

/// The schema of entry metadata: a JSON object of the caller's choosing
/// whose numbers are integers within ±2^53 (floats do not survive every
/// JSON reader, and auditors recompute hashes from it).
pub fn metadata_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(true),
        ))
        .description(Some("Free-form JSON object; numbers must be integers within ±2^53 (use strings otherwise)."))
        .build()
}

/// One leg of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Leg {
    pub leg_no: i32,
    #[schema(example = "cash:lender:l1")]
    pub account: String,
    /// `debit` or `credit`.
    pub side: String,
    /// `posted`, `pending` (a hold) or `release` (a hold taken back).
    pub layer: String,
    pub amount: Money,
}

impl From<LegRecord> for Leg {
    fn from(l: LegRecord) -> Self {
        Leg {
            leg_no: l.leg_no,
            account: l.account.as_str().to_owned(),
            side: l.side.as_str().to_owned(),
            layer: l.layer.as_str().to_owned(),
            amount: Money::new(l.amount_minor, l.currency),
        }
    }
}

/// A ledger entry: balanced legs, linked into the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// Position in the ledger's hash chain (1, 2, …).
    pub seq: i64,
    /// `posted`, `pending`, `post`, `void` or `reversal`.
    pub entry_type: String,
    /// For post/void/reversal: the entry acted upon.
    #[serde(default)]
    pub ref_seq: Option<i64>,
    pub idempotency_key: String,
    #[schema(example = "transfer")]
    pub kind: String,
    /// Business date.
    pub effective_date: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// `recorded_at` in exact microseconds since the epoch.
    pub recorded_at_us: i64,
    /// What the caller attached (hashed with the entry).
    #[schema(schema_with = metadata_schema)]
    pub metadata: serde_json::Value,
    /// SHA-256 (hex) of the signed source document, if any.
    #[serde(default)]
    pub source_hash: Option<String>,
    pub legs: Vec<Leg>,
    /// Hex SHA-256 of the previous entry (the chain link).
    pub prev_hash: String,
    /// Hex SHA-256 of this entry.
    pub hash: String,
}

impl From<EntryRecord> for Entry {
    fn from(e: EntryRecord) -> Self {
        Entry {
            seq: e.seq,
            entry_type: e.entry_type.as_str().to_owned(),
            ref_seq: e.ref_seq,
            idempotency_key: e.idempotency_key,
            kind: e.kind,
            effective_date: e.effective_date,
            recorded_at: instant_of_us(e.recorded_at_us),
            recorded_at_us: e.recorded_at_us,
            metadata: e.metadata,
            source_hash: e.source_hash.map(hex::encode),
            legs: e.legs.into_iter().map(Leg::from).collect(),
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

/// An account's balance as of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub account: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub normal_side: String,
    /// The entry this balance is as of (0 = before any entry).
    pub as_of_seq: i64,
    /// Posted balance on the normal side.
    pub posted: Money,
    /// Holds that will increase the account once posted.
    pub pending_in: Money,
    /// Holds that reduce the account.
    pub pending_out: Money,
    /// Posted minus outgoing holds.
    pub available: Money,
}

impl From<DomainBalance> for Balance {
    fn from(b: DomainBalance) -> Self {
        let c = b.currency;
        Balance {
            account: b.account,
            currency: c.code().to_owned(),
            normal_side: b.normal_side.as_str().to_owned(),
            as_of_seq: b.as_of_seq,
            posted: Money::new(b.posted_minor, c),
            pending_in: Money::new(b.pending_in_minor, c),
            pending_out: Money::new(b.pending_out_minor, c),
            available: Money::new(b.available_minor, c),
        }
    }
}

/// The head of a ledger's hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainHead {
    /// Sequence number of the last entry (0 = empty ledger).
    pub seq: i64,
    /// Hex SHA-256 of the last entry (the genesis hash when empty).
    pub hash: String,
    pub recorded_at_us: i64,
}

impl From<DomainChainHead> for ChainHead {
    fn from(h: DomainChainHead) -> Self {
        ChainHead { seq: h.seq, hash: hex::encode(h.hash), recorded_at_us: h.recorded_at_us }
    }
}

/// A full verification of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: i64,
    pub head: ChainHead,
    /// Domain record versions checked in the record chain (absent when
    /// only the entries were verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_versions: Option<i64>,
}

impl From<DomainChainReport> for ChainReport {
    fn from(r: DomainChainReport) -> Self {
        ChainReport { entries: r.entries, head: r.head.into(), record_versions: None }
    }
}

impl From<offtake_ledger::HistoryReport> for ChainReport {
    fn from(r: offtake_ledger::HistoryReport) -> Self {
        ChainReport { record_versions: Some(r.records.versions), ..r.entries.into() }
    }
}
