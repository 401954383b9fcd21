//! Signatures on borrowing-base certificates: who attested or reviewed a
//! facility's certificate of a day, and when. The API's certificate view,
//! the CLI and the `certificate.signed` event show this one object; and
//! the certificate itself with amounts spelled out, as the API, the
//! dashboard's printable page and the CLI's HTML and PDF show it.

use offtake_finance::{
    AgingBuckets, Certificate, CertificateSignature as DomainSignature, CovenantResult, SignatureAct as DomainAct,
};
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::money::Money as Amount;

fn amount(minor: i64, c: Currency) -> Amount {
    Amount::new(minor, c)
}

wire_enum! {
    /// What a certificate signature does.
    SignatureAct from DomainAct {
        /// The maker attests the figures.
        Attestation = "attestation" <= Attestation,
        /// The lender has reviewed them (after the attestation).
        Review = "review" <= Review,
    }
}

/// One accepted signature on a facility's certificate of one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateSignature {
    pub facility: String,
    /// The certificate's day.
    pub as_of: Date,
    pub act: SignatureAct,
    /// Hex SHA-256 of the certificate's RFC 8785 canonical JSON.
    pub certificate_hash: String,
    /// The maker for an attestation, the lender for a review.
    pub signed_by: String,
    pub key_id: String,
    /// The signed document's `issued_at`.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(format = DateTime, example = "2026-04-12T09:00:00Z")]
    pub signed_at: OffsetDateTime,
    /// Body hash (hex) of the signed `certificate_signature` document.
    pub document: String,
}

impl From<DomainSignature> for CertificateSignature {
    fn from(s: DomainSignature) -> Self {
        CertificateSignature {
            facility: s.facility,
            as_of: s.as_of,
            act: s.act.into(),
            certificate_hash: s.certificate_hash,
            signed_by: s.signed_by,
            key_id: s.key_id,
            signed_at: s.signed_at,
            document: s.doc_hash,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BucketsDoc {
    pub current: Amount,
    pub days_1_30: Amount,
    pub days_31_60: Amount,
    pub days_61_90: Amount,
    pub days_over_90: Amount,
}

pub fn buckets(b: &AgingBuckets, c: Currency) -> BucketsDoc {
    BucketsDoc {
        current: amount(b.current_minor, c),
        days_1_30: amount(b.days_1_30_minor, c),
        days_31_60: amount(b.days_31_60_minor, c),
        days_61_90: amount(b.days_61_90_minor, c),
        days_over_90: amount(b.days_over_90_minor, c),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReasonAmount {
    /// `too_far_out`, `missed_delivery`, `aged_receivable`, `cross_aged`, …
    pub reason: String,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConcentrationDoc {
    pub brand: String,
    pub eligible: Amount,
    pub cap: Amount,
    pub excess: Amount,
    pub counted: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedAmount {
    pub name: String,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CovenantDoc {
    /// `max_brand_concentration`, `no_overadvance`, `max_days_past_due`,
    /// `max_missed_delivery_share`, `min_eligible_collateral`.
    pub name: String,
    /// Measured value (bps, days or minor units, as the name says).
    pub value: i64,
    pub limit: i64,
    /// `met`, `near_breach` or `breached`.
    pub state: String,
    /// First day of the current state (`YYYY-MM-DD`), when not met.
    #[schema(format = Date)]
    pub since: Option<String>,
}

pub fn covenant_docs(results: &[CovenantResult]) -> Vec<CovenantDoc> {
    results
        .iter()
        .map(|r| CovenantDoc {
            name: r.name.clone(),
            value: r.value,
            limit: r.limit,
            state: serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            since: r.since.map(|d| d.to_string()),
        })
        .collect()
}

/// A borrowing-base certificate (the document of `schemas/bbc.schema.json`,
/// with amounts spelled out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateDoc {
    pub facility: String,
    pub lender: String,
    pub maker: String,
    pub currency: String,
    #[schema(format = Date)]
    pub as_of: String,
    pub commitments_in_window: Amount,
    pub commitments_scheduled: Amount,
    pub receivables: BucketsDoc,
    pub ineligible: Vec<ReasonAmount>,
    pub concentration: Vec<ConcentrationDoc>,
    pub advance_rate_bps: u32,
    pub receivable_advance_rate_bps: u32,
    pub eligible: Amount,
    pub counted: Amount,
    pub base: Amount,
    pub reserves: Vec<NamedAmount>,
    pub reserves_total: Amount,
    pub net_base: Amount,
    pub limit: Amount,
    pub capacity: Amount,
    pub drawn: Amount,
    pub pending: Amount,
    /// Negative when drawn exceeds capacity.
    pub available: Amount,
    pub overadvance: Amount,
    pub overadvanced: bool,
    pub covenants: Vec<CovenantDoc>,
    pub overdue_invoices: Vec<String>,
    pub missed_tranches: Vec<String>,
    /// Hex SHA-256 of the certificate document's RFC 8785 canonical JSON
    /// (schemas/bbc.schema.json): what a `certificate_signature` names.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub certificate_hash: String,
    /// Who attested (maker) and reviewed (lender) this certificate, when.
    pub signatures: Vec<CertificateSignature>,
}

impl CertificateDoc {
    pub fn of(c: &Certificate, ccy: Currency, hash: String, signatures: Vec<DomainSignature>) -> Self {
        let m = |minor| amount(minor, ccy);
        CertificateDoc {
            certificate_hash: hash,
            signatures: signatures.into_iter().map(Into::into).collect(),
            facility: c.facility.clone(),
            lender: c.lender.clone(),
            maker: c.maker.clone(),
            currency: c.currency.clone(),
            as_of: c.as_of.to_string(),
            commitments_in_window: m(c.collateral.commitments_in_window_minor),
            commitments_scheduled: m(c.collateral.commitments_scheduled_minor),
            receivables: buckets(&c.collateral.receivables, ccy),
            ineligible: c.ineligible.iter().map(|(r, v)| ReasonAmount { reason: r.clone(), amount: m(*v) }).collect(),
            concentration: c
                .concentration
                .iter()
                .map(|b| ConcentrationDoc {
                    brand: b.brand.clone(),
                    eligible: m(b.eligible_minor),
                    cap: m(b.cap_minor),
                    excess: m(b.excess_minor),
                    counted: m(b.counted_minor),
                })
                .collect(),
            advance_rate_bps: c.advance_rate_bps,
            receivable_advance_rate_bps: c.receivable_advance_rate_bps,
            eligible: m(c.eligible_minor),
            counted: m(c.counted_minor),
            base: m(c.base_minor),
            reserves: c
                .reserves
                .iter()
                .map(|r| NamedAmount { name: r.name.clone(), amount: m(r.reserve_minor) })
                .collect(),
            reserves_total: m(c.reserves_minor),
            net_base: m(c.net_base_minor),
            limit: m(c.limit_minor),
            capacity: m(c.capacity_minor),
            drawn: m(c.drawn_minor),
            pending: m(c.pending_minor),
            available: m(c.available_minor),
            overadvance: m(c.overadvance_minor),
            overadvanced: c.overadvance_minor > 0,
            covenants: covenant_docs(&c.covenants),
            overdue_invoices: c.overdue_invoices.clone(),
            missed_tranches: c.missed_tranches.clone(),
        }
    }
}
