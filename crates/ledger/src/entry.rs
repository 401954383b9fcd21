//! Entries and legs: what callers submit (`Command`) and what the ledger
//! stores (`EntryRecord`). Records are immutable; corrections are new
//! entries that refer to the old one.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::account::{AccountCode, Side};
use crate::balance::BalanceTotals;
use crate::currency::Currency;
use crate::money::AmountMinor;

/// Most legs one entry may carry (a waterfall has about a dozen).
pub const MAX_LEGS: usize = 64;
/// Longest idempotency key.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;
/// Longest entry kind label.
pub const KIND_MAX_CHARS: usize = 64;
/// Largest canonical metadata object, in bytes.
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

pub type Hash32 = [u8; 32];

/// The layer a leg belongs to. Posted legs move balances; pending legs place
/// holds; release legs take holds back when a pending entry is posted or
/// voided. Each layer balances on its own, per currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Posted,
    Pending,
    Release,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Posted => "posted",
            Layer::Pending => "pending",
            Layer::Release => "release",
        }
    }

    pub fn parse(text: &str) -> Option<Layer> {
        match text {
            "posted" => Some(Layer::Posted),
            "pending" => Some(Layer::Pending),
            "release" => Some(Layer::Release),
            _ => None,
        }
    }
}

/// What an entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// A posted entry: legs move balances now.
    Posted,
    /// A two-phase reservation: legs are holds, resolved later exactly once.
    Pending,
    /// Posts a pending entry (`ref_seq`), possibly for a smaller amount.
    Post,
    /// Voids a pending entry (`ref_seq`).
    Void,
    /// Reverses the posted legs of entry `ref_seq` (a correction).
    Reversal,
}

impl EntryType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Posted => "posted",
            EntryType::Pending => "pending",
            EntryType::Post => "post",
            EntryType::Void => "void",
            EntryType::Reversal => "reversal",
        }
    }

    pub fn parse(text: &str) -> Option<EntryType> {
        match text {
            "posted" => Some(EntryType::Posted),
            "pending" => Some(EntryType::Pending),
            "post" => Some(EntryType::Post),
            "void" => Some(EntryType::Void),
            "reversal" => Some(EntryType::Reversal),
            _ => None,
        }
    }
}

/// One leg as submitted: the claimed currency must equal the account's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLeg {
    pub account: AccountCode,
    pub side: Side,
    pub currency: Currency,
    pub amount_minor: AmountMinor,
}

/// What a command does to the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Record legs, posted now or (when `pending`) as holds.
    Record { legs: Vec<NewLeg>, pending: bool },
    /// Record legs only if none of `unchanged` has been touched by an entry
    /// after `since_seq`: optimistic concurrency for a decision made on a
    /// snapshot (e.g. a draw checked against availability). Refused with
    /// `precondition_failed` otherwise; the caller re-reads and retries.
    RecordIfUnchanged { legs: Vec<NewLeg>, pending: bool, unchanged: Vec<AccountCode>, since_seq: i64 },
    /// Post a pending entry; `amount_minor` smaller than the hold posts part
    /// of it and releases the rest (two-leg holds only).
    PostPending { pending_seq: i64, amount_minor: Option<AmountMinor> },
    /// Release a pending entry's holds without posting anything.
    VoidPending { pending_seq: i64 },
    /// Book the opposite of an entry's posted legs, linked to it.
    Reverse { entry_seq: i64 },
}

/// A request to append one entry. The idempotency key makes it safe to
/// retry: the same key with the same command returns the first result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub idempotency_key: String,
    /// Free label for reports (`transfer`, `advance_fee`, …).
    pub kind: String,
    /// The business date the entry belongs to (UTC date).
    pub effective_date: Date,
    /// A JSON object; see `plan::validate_metadata` for what it may hold.
    pub metadata: serde_json::Value,
    /// SHA-256 of the signed source document, when there is one.
    #[serde(with = "opt_hex32")]
    pub source_hash: Option<Hash32>,
    #[serde(flatten)]
    pub action: Action,
}

/// A stored leg.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRecord {
    pub leg_no: i32,
    pub account_no: i64,
    pub account: AccountCode,
    pub currency: Currency,
    pub side: Side,
    pub layer: Layer,
    pub amount_minor: i64,
    /// Totals of the account right after this leg.
    pub totals_after: BalanceTotals,
}

/// A stored entry: the unit of the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub seq: i64,
    pub entry_type: EntryType,
    /// For post/void/reversal: the entry acted upon.
    pub ref_seq: Option<i64>,
    pub idempotency_key: String,
    #[serde(with = "hex32")]
    pub request_hash: Hash32,
    pub kind: String,
    pub effective_date: Date,
    pub recorded_at_us: i64,
    /// Canonical (RFC 8785) JSON object.
    pub metadata: serde_json::Value,
    #[serde(with = "opt_hex32")]
    pub source_hash: Option<Hash32>,
    pub legs: Vec<LegRecord>,
    #[serde(with = "hex32")]
    pub prev_hash: Hash32,
    #[serde(with = "hex32")]
    pub hash: Hash32,
}

/// The outcome of an accepted command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub seq: i64,
    #[serde(with = "hex32")]
    pub hash: Hash32,
    pub recorded_at_us: i64,
    /// True when this was an idempotent replay of an earlier command.
    pub replayed: bool,
}

/// The tip of a ledger's hash chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    #[serde(with = "hex32")]
    pub hash: Hash32,
    pub recorded_at_us: i64,
}

pub mod hex32 {
    //! Serde for 32-byte hashes as lower-case hex.
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub fn parse(text: &str) -> Result<[u8; 32], String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| "expected 64 hex digits".to_owned())?;
        Ok(out)
    }
}

pub mod opt_hex32 {
    //! Serde for optional 32-byte hashes.
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(h) => s.serialize_some(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| super::hex32::parse(&t).map_err(serde::de::Error::custom)).transpose()
    }
}
