//! Response bodies of the ledger endpoints. Amounts travel as decimal
//! strings in the account's currency ("1200.50"), never as JSON numbers;
//! times as RFC 3339 UTC strings, with the exact microseconds beside them.

use offtake_ledger::{Account, AmountMinor, Balance, ChainHead, Currency, EntryRecord, LegRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 3339 text of a microsecond timestamp.
pub fn rfc3339_us(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn amount(minor: i64, currency: Currency) -> String {
    AmountMinor::new(minor).format(currency)
}

/// Declares a page type: one page of a cursor-paginated list.
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[doc = concat!("One page of ", stringify!($item), "s. Pass `next_cursor` as `cursor` for the next page; it is absent on the last page.")]
        #[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            pub next_cursor: Option<String>,
        }

        impl $name {
            pub fn from_page<T>(page: offtake_ledger::Page<T>, f: impl Fn(T) -> $item) -> Self {
                $name { items: page.items.into_iter().map(f).collect(), next_cursor: page.next_cursor }
            }
        }
    };
}
pub(crate) use page_type;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// Dense per-ledger account number.
    pub account_no: i64,
    #[schema(example = "cash:lender:l1")]
    pub code: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// `debit` or `credit`.
    pub normal_side: String,
    /// `main` or `memo`.
    pub book: String,
    /// Entries that would take the available balance below zero are refused.
    pub non_negative: bool,
    pub created_at: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            account_no: a.account_no,
            code: a.code.as_str().to_owned(),
            currency: a.currency.code().to_owned(),
            normal_side: a.normal_side.as_str().to_owned(),
            book: a.book.as_str().to_owned(),
            non_negative: a.non_negative,
            created_at: rfc3339_us(a.created_at_us),
        }
    }
}

page_type!(AccountPage, AccountView);

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LegView {
    pub leg_no: i32,
    pub account: String,
    /// `debit` or `credit`.
    pub side: String,
    /// `posted`, `pending` (a hold) or `release` (a hold taken back).
    pub layer: String,
    pub currency: String,
    /// Decimal string in the currency's scale.
    #[schema(example = "1200.50")]
    pub amount: String,
}

impl From<LegRecord> for LegView {
    fn from(l: LegRecord) -> Self {
        LegView {
            leg_no: l.leg_no,
            account: l.account.as_str().to_owned(),
            side: l.side.as_str().to_owned(),
            layer: l.layer.as_str().to_owned(),
            currency: l.currency.code().to_owned(),
            amount: amount(l.amount_minor, l.currency),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    /// Position in the ledger's hash chain (1, 2, …).
    pub seq: i64,
    /// `posted`, `pending`, `post`, `void` or `reversal`.
    pub entry_type: String,
    /// For post/void/reversal: the entry acted upon.
    pub ref_seq: Option<i64>,
    pub idempotency_key: String,
    pub kind: String,
    /// Business date, `YYYY-MM-DD` (UTC).
    pub effective_date: String,
    pub recorded_at: String,
    pub recorded_at_us: i64,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// SHA-256 (hex) of the signed source document, if any.
    pub source_hash: Option<String>,
    pub legs: Vec<LegView>,
    /// Hex SHA-256 of the previous entry (the chain link).
    pub prev_hash: String,
    /// Hex SHA-256 of this entry.
    pub hash: String,
}

impl From<EntryRecord> for EntryView {
    fn from(e: EntryRecord) -> Self {
        EntryView {
            seq: e.seq,
            entry_type: e.entry_type.as_str().to_owned(),
            ref_seq: e.ref_seq,
            idempotency_key: e.idempotency_key,
            kind: e.kind,
            effective_date: offtake_ledger::row::format_date(e.effective_date),
            recorded_at: rfc3339_us(e.recorded_at_us),
            recorded_at_us: e.recorded_at_us,
            metadata: e.metadata,
            source_hash: e.source_hash.map(hex::encode),
            legs: e.legs.into_iter().map(LegView::from).collect(),
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

page_type!(EntryPage, EntryView);

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    pub account: String,
    pub currency: String,
    pub normal_side: String,
    /// The entry this balance is as of (0 = before any entry).
    pub as_of_seq: i64,
    /// Posted balance on the normal side.
    #[schema(example = "1200.00")]
    pub posted: String,
    /// Holds that will increase the account once posted.
    pub pending_in: String,
    /// Holds that reduce the account.
    pub pending_out: String,
    /// Posted minus outgoing holds.
    pub available: String,
}

impl From<Balance> for BalanceView {
    fn from(b: Balance) -> Self {
        let c = b.currency;
        BalanceView {
            account: b.account,
            currency: c.code().to_owned(),
            normal_side: b.normal_side.as_str().to_owned(),
            as_of_seq: b.as_of_seq,
            posted: amount(b.posted_minor, c),
            pending_in: amount(b.pending_in_minor, c),
            pending_out: amount(b.pending_out_minor, c),
            available: amount(b.available_minor, c),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainHeadView {
    /// Sequence number of the last entry (0 = empty ledger).
    pub seq: i64,
    /// Hex SHA-256 of the last entry (the genesis hash when empty).
    pub hash: String,
    pub recorded_at_us: i64,
}

impl From<ChainHead> for ChainHeadView {
    fn from(h: ChainHead) -> Self {
        ChainHeadView { seq: h.seq, hash: hex::encode(h.hash), recorded_at_us: h.recorded_at_us }
    }
}

/// Pages an in-memory list that is sorted by `key_of` (ascending): the
/// items after the cursor, at most `limit`, and the cursor of the next page.
pub fn page_of<T>(
    items: Vec<T>,
    q: &super::PageQuery,
    key_of: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), crate::error::ApiError> {
    let limit = q.limit()? as usize;
    let mut rest: Vec<T> = match q.cursor()? {
        Some(c) => items.into_iter().filter(|i| key_of(i).as_str() > c).collect(),
        _ => items,
    };
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(&key_of) } else { None };
    Ok((rest, next))
}

/// Adds, beside every `<name>_minor` integer of a domain object, `<name>`
/// as a decimal string in the currency in scope (the object's own
/// `currency`, else its parent's, else `hint`): amounts travel as strings
/// (DESIGN §3) while the exact minor units stay for programs.
pub fn with_amounts(value: &mut serde_json::Value, hint: Option<Currency>) {
    match value {
        serde_json::Value::Object(map) => {
            let own = map.get("currency").and_then(|c| c.as_str()).and_then(|c| Currency::from_code(c).ok());
            let currency = own.or(hint);
            if let Some(currency) = currency {
                let extra: Vec<(String, String)> = map
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.strip_suffix("_minor")?;
                        let minor = v.as_i64()?;
                        (!name.is_empty() && !map.contains_key(name))
                            .then(|| (name.to_owned(), amount(minor, currency)))
                    })
                    .collect();
                for (k, v) in extra {
                    map.insert(k, serde_json::Value::String(v));
                }
            }
            for v in map.values_mut() {
                with_amounts(v, currency);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| with_amounts(v, hint)),
        _ => {}
    }
}

/// Declares a response type that carries a finance domain object as its
/// JSON (documented in the finance crate): every `<name>_minor` amount has
/// a `<name>` decimal string beside it ([`with_amounts`]).
macro_rules! domain_object {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = Object)]
        pub struct $name(pub serde_json::Value);

        impl $name {
            pub fn of<T: serde::Serialize>(value: &T) -> Result<Self, crate::error::ApiError> {
                Self::in_currency(value, None)
            }

            /// Like `of`, for objects that do not name their currency.
            pub fn in_currency<T: serde::Serialize>(
                value: &T,
                currency: Option<offtake_ledger::Currency>,
            ) -> Result<Self, crate::error::ApiError> {
                let mut json =
                    serde_json::to_value(value).map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
                $crate::routes::views::with_amounts(&mut json, currency);
                Ok($name(json))
            }
        }
    };
}

domain_object!(CommitmentDoc, "A signed purchase commitment (one version), with its tranches and status.");
domain_object!(FacilityDoc, "A facility: lender, maker, terms, status and accrual state.");
domain_object!(
    AvailabilityDoc,
    "Borrowing base and availability of a facility, with the per-tranche and per-brand breakdown."
);
domain_object!(AdvanceDoc, "An advance: requested, funded, rejected or expired.");
domain_object!(InvoiceDoc, "An invoice to a brand, with its payments.");
domain_object!(AccrualDoc, "What an accrual run booked for one facility.");
domain_object!(SigningKeyDoc, "A public signing key in the registry, with its revocation if any.");

page_type!(CommitmentPage, CommitmentDoc);
page_type!(FacilityPage, FacilityDoc);
page_type!(AdvancePage, AdvanceDoc);
page_type!(InvoicePage, InvoiceDoc);
page_type!(SigningKeyPage, SigningKeyDoc);

domain_object!(PaymentDoc, "A payment notice and its state in the settlement queue (queued, applied with its waterfall breakdown, suspense or rejected).");
domain_object!(RunReportDoc, "What one settlement run did.");
domain_object!(RemittanceDoc, "A payout to a maker of what the waterfall left it.");
domain_object!(StatementDoc, "A maker's remittance statement for a facility.");
page_type!(PaymentPage, PaymentDoc);
domain_object!(PartyStatementDoc, "A party's statement: a maker's facilities and dues, a lender's exposure, or a brand's commitments, invoices and credit.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_amounts_get_decimal_strings_in_their_currency() {
        let mut v = serde_json::json!({
            "currency": "USD", "amount_minor": 8_000_000, "fee_minor": 5,
            "terms": { "limit_minor": 100 }, "lines": [{ "currency": "JPY", "value_minor": 15 }],
            "seq_minor": "not a number", "amount": "kept",
        });
        with_amounts(&mut v, None);
        assert_eq!(v["amount"], "kept", "an existing field is never overwritten");
        assert_eq!(v["fee"], "0.05");
        assert_eq!(v["terms"]["limit"], "1.00", "the parent's currency applies");
        assert_eq!(v["lines"][0]["value"], "15", "JPY has no decimals");
        assert!(v.get("seq").is_none());
        let mut no_currency = serde_json::json!({ "amount_minor": 1 });
        with_amounts(&mut no_currency, None);
        assert!(no_currency.get("amount").is_none(), "no currency, no guess");
    }
}
