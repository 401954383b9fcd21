//! What the pages read from the API, as the API answers it (amounts in
//! minor units of the object's currency). Lenient on purpose: fields the
//! pages do not show are ignored, so the API may grow without breaking
//! them. Dates are accepted as `"YYYY-MM-DD"` or as `time`'s compact
//! `[year, ordinal]`.

use serde::{Deserialize, Deserializer};
use time::Date;

/// Deserializes a date in either form `time` may serialize it.
pub fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    date_of(&value).ok_or_else(|| serde::de::Error::custom(format!("not a date: {value}")))
}

fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    if value.is_null() {
        return Ok(None);
    }
    date_of(&value).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not a date: {value}")))
}

pub fn date_of(value: &serde_json::Value) -> Option<Date> {
    match value {
        serde_json::Value::String(s) => parse_day(s),
        serde_json::Value::Array(a) if a.len() == 2 => {
            let year = i32::try_from(a[0].as_i64()?).ok()?;
            let ordinal = u16::try_from(a[1].as_i64()?).ok()?;
            Date::from_ordinal_date(year, ordinal).ok()
        }
        _ => None,
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

/// `YYYY-MM-DD`.
pub fn day(d: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&format).unwrap_or_default()
}

/// RFC 3339 (UTC, seconds) of a microsecond timestamp.
pub fn rfc3339_us(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(us.div_euclid(1_000_000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// One page of a list endpoint.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub party_id: String,
    pub role: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Party {
    pub id: String,
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Terms {
    pub currency: String,
    pub limit_minor: i64,
    pub advance_rate_bps: u32,
    pub eligibility_days: u32,
    pub concentration_bps: u32,
    pub rate_bps: u32,
    pub day_count: String,
    pub fee_bps: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Facility {
    pub id: String,
    pub lender: String,
    pub maker: String,
    pub terms: Terms,
    #[serde(deserialize_with = "de_date")]
    pub opened_on: Date,
    pub status: String,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub accrued_through: Option<Date>,
    #[serde(default)]
    pub interest_booked_minor: i64,
    #[serde(default)]
    pub default_interest_booked_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TrancheLine {
    pub commitment: String,
    pub brand: String,
    pub tranche: String,
    #[serde(deserialize_with = "de_date")]
    pub delivery_start: Date,
    pub value_minor: i64,
    pub eligibility: String,
    pub eligible_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BrandLine {
    pub brand: String,
    pub eligible_minor: i64,
    pub cap_minor: i64,
    pub excess_minor: i64,
    pub counted_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Availability {
    #[serde(deserialize_with = "de_date")]
    pub as_of: Date,
    pub tranches: Vec<TrancheLine>,
    pub brands: Vec<BrandLine>,
    pub eligible_minor: i64,
    pub counted_minor: i64,
    pub advance_rate_bps: u32,
    pub base_minor: i64,
    pub limit_minor: i64,
    pub capacity_minor: i64,
    pub outstanding_minor: i64,
    pub pending_minor: i64,
    pub available_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Advance {
    pub id: String,
    pub facility: String,
    pub maker: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    #[serde(deserialize_with = "de_date")]
    pub requested_on: Date,
    #[serde(default)]
    pub expires_at: String,
    pub request_hash: String,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub funded_on: Option<Date>,
    #[serde(default)]
    pub fee_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Tranche {
    pub id: String,
    pub quantity: String,
    pub unit_price: String,
    pub value_minor: i64,
    #[serde(deserialize_with = "de_date")]
    pub delivery_start: Date,
    #[serde(deserialize_with = "de_date")]
    pub delivery_end: Date,
    pub status: String,
    #[serde(default)]
    pub invoice_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Commitment {
    pub doc_id: String,
    pub doc_version: i64,
    pub brand: String,
    pub maker: String,
    pub currency: String,
    pub tranches: Vec<Tranche>,
    pub payment_days: u32,
    pub status: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InvoicePayment {
    #[serde(deserialize_with = "de_date")]
    pub value_date: Date,
    pub amount_minor: i64,
    pub reference: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub kind: String,
    pub brand: String,
    pub maker: String,
    pub facility: String,
    pub commitment: String,
    #[serde(default)]
    pub tranche: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    #[serde(deserialize_with = "de_date")]
    pub issued_on: Date,
    #[serde(deserialize_with = "de_date")]
    pub due_on: Date,
    pub status: String,
    #[serde(default)]
    pub payments: Vec<InvoicePayment>,
}

impl Invoice {
    pub fn open_minor(&self) -> i64 {
        self.amount_minor - self.payments.iter().map(|p| p.amount_minor).sum::<i64>()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Notice {
    pub external_ref: String,
    pub brand: String,
    pub facility: String,
    pub currency: String,
    pub amount_minor: i64,
    #[serde(deserialize_with = "de_date")]
    pub value_date: Date,
    #[serde(default)]
    pub source: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PartPaid {
    pub part: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Breakdown {
    #[serde(default)]
    pub applied_minor: i64,
    #[serde(default)]
    pub debt: Vec<PartPaid>,
    #[serde(default)]
    pub debt_paid_minor: i64,
    #[serde(default)]
    pub remainder_minor: i64,
    #[serde(default)]
    pub overpayment_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct NoticeState {
    pub state: String,
    #[serde(default)]
    pub breakdown: Option<Breakdown>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A payment notice and its state in the settlement queue.
#[derive(Clone, Debug, Deserialize)]
pub struct Payment {
    pub notice: Notice,
    pub state: NoticeState,
}

impl Payment {
    /// What the waterfall paid on one part of the debt (`principal`, …).
    pub fn paid(&self, part: &str) -> i64 {
        self.state
            .breakdown
            .as_ref()
            .map_or(0, |b| b.debt.iter().filter(|p| p.part == part).map(|p| p.amount_minor).sum())
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct StatementLine {
    pub external_ref: String,
    #[serde(deserialize_with = "de_date")]
    pub value_date: Date,
    pub applied_minor: i64,
    pub debt_paid_minor: i64,
    pub remainder_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Remittance {
    pub reference: String,
    #[serde(deserialize_with = "de_date")]
    pub on: Date,
    pub amount_minor: i64,
}

/// A maker's remittance statement for one facility.
#[derive(Clone, Debug, Deserialize)]
pub struct Statement {
    pub currency: String,
    pub lines: Vec<StatementLine>,
    pub remittances: Vec<Remittance>,
    pub remainder_total_minor: i64,
    pub remitted_minor: i64,
    pub payable_minor: i64,
}

/// An invoice a maker's brand owes next (party statements).
#[derive(Clone, Debug, Deserialize)]
pub struct DueLine {
    pub invoice: String,
    pub brand: String,
    #[serde(deserialize_with = "de_date")]
    pub due_on: Date,
    pub open_minor: i64,
}

/// One facility of a maker's statement: what it owes, from the ledger.
#[derive(Clone, Debug, Deserialize)]
pub struct MakerFacilityLine {
    pub facility: String,
    pub currency: String,
    pub interest_due_minor: i64,
    pub fees_due_minor: i64,
    pub penalty_due_minor: i64,
    #[serde(default)]
    pub next_due: Vec<DueLine>,
}

/// `GET /v1/parties/{maker}/statement`.
#[derive(Clone, Debug, Deserialize)]
pub struct MakerStatement {
    pub facilities: Vec<MakerFacilityLine>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExposureLine {
    pub name: String,
    pub currency: String,
    pub exposure_minor: i64,
    #[serde(default)]
    pub detail: std::collections::BTreeMap<String, i64>,
}

/// `GET /v1/parties/{lender}/statement`.
#[derive(Clone, Debug, Deserialize)]
pub struct LenderStatement {
    pub per_maker: Vec<ExposureLine>,
    pub per_brand: Vec<ExposureLine>,
    /// `"interest:USD"` → minor units booked.
    #[serde(default)]
    pub income: std::collections::BTreeMap<String, i64>,
}

/// `GET /v1/parties/{brand}/statement`.
#[derive(Clone, Debug, Deserialize)]
pub struct BrandStatement {
    /// Currency → credit owed back to the brand, minor units.
    #[serde(default)]
    pub credit: std::collections::BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
    pub recorded_at_us: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChainReport {
    pub entries: i64,
    pub head: ChainHead,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_both_forms() {
        let d = parse_day("2026-03-01").unwrap();
        assert_eq!(date_of(&serde_json::json!("2026-03-01")), Some(d));
        assert_eq!(date_of(&serde_json::json!([2026, 60])), Some(d));
        assert_eq!(date_of(&serde_json::json!("01/03/2026")), None);
        assert_eq!(day(d), "2026-03-01");
    }
}
