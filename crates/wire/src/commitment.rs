//! Signed purchase commitments and their tranches.

use offtake_finance::{
    Commitment as DomainCommitment, CommitmentStatus as DomainCommitmentStatus, Tranche as DomainTranche,
    TrancheStatus as DomainTrancheStatus,
};
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

wire_enum! {
    CommitmentStatus from DomainCommitmentStatus {
        Active = "active" <= Active,
        Cancelled = "cancelled" <= Cancelled,
    }
}

wire_enum! {
    TrancheStatus from DomainTrancheStatus {
        Scheduled = "scheduled" <= Scheduled,
        Delivered = "delivered" <= Delivered,
        Invoiced = "invoiced" <= Invoiced,
        Cancelled = "cancelled" <= Cancelled,
    }
}

/// One delivery of a commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tranche {
    #[schema(example = "t1")]
    pub id: String,
    /// Decimal string, as signed.
    #[schema(example = "10000")]
    pub quantity: String,
    /// Decimal string in the commitment's currency, as signed.
    #[schema(example = "12.50")]
    pub unit_price: String,
    /// quantity × unit price, rounded half-even to the currency's scale.
    pub value: Money,
    pub delivery_start: Date,
    pub delivery_end: Date,
    pub status: TrancheStatus,
    /// The invoice raised on delivery.
    #[serde(default)]
    pub invoice_id: Option<String>,
}

impl Tranche {
    /// A tranche of a commitment in currency `c`.
    pub fn of(t: DomainTranche, c: Currency) -> Self {
        Tranche {
            id: t.id,
            quantity: t.quantity,
            unit_price: t.unit_price,
            value: Money::new(t.value_minor, c),
            delivery_start: t.delivery_start,
            delivery_end: t.delivery_end,
            status: t.status.into(),
            invoice_id: t.invoice_id,
        }
    }
}

/// A brand's signed commitment to buy a maker's output (one version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Commitment {
    #[schema(example = "c-acme-2026")]
    pub doc_id: String,
    /// 1, 2, … (amendments).
    pub doc_version: i64,
    #[schema(example = "brand-acme")]
    pub brand: String,
    #[schema(example = "maker-loom")]
    pub maker: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub tranches: Vec<Tranche>,
    /// Invoices are due this many days after delivery.
    pub payment_days: u32,
    /// Charge on undelivered value the brand cancels.
    pub shortfall_bps: u32,
    pub status: CommitmentStatus,
    /// SHA-256 (hex) of the canonical body of this signed version.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub body_hash: String,
    /// Body hashes of every accepted version, oldest first.
    pub history: Vec<String>,
    /// Undelivered value (scheduled tranches of an active commitment).
    pub undelivered: Money,
    /// Undelivered value booked in the memo book.
    pub memo_booked: Money,
    /// `issued_at` day of this version.
    pub issued_on: Date,
}

impl From<DomainCommitment> for Commitment {
    fn from(c: DomainCommitment) -> Self {
        let cur = c.currency;
        Commitment {
            undelivered: Money::new(c.undelivered_minor(), cur),
            memo_booked: Money::new(c.memo_booked_minor, cur),
            doc_id: c.doc_id,
            doc_version: c.doc_version,
            brand: c.brand,
            maker: c.maker,
            currency: cur.code().to_owned(),
            tranches: c.tranches.into_iter().map(|t| Tranche::of(t, cur)).collect(),
            payment_days: c.payment_days,
            shortfall_bps: c.shortfall_bps,
            status: c.status.into(),
            body_hash: c.body_hash,
            history: c.history,
            issued_on: c.issued_on,
        }
    }
}
