//! The finance domain's records, as stored (versioned) in the
//! `RecordStore`. Amounts are minor units of the facility's or
//! commitment's currency.

use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::Date;

/// Record kinds in the `RecordStore`.
pub mod kind {
    pub const PARTY: &str = "party";
    pub const FACILITY: &str = "facility";
    pub const COMMITMENT: &str = "commitment";
    pub const ADVANCE: &str = "advance";
    pub const INVOICE: &str = "invoice";
    /// Signed source documents by body hash (hex), for audit export.
    pub const DOCUMENT: &str = "document";
    /// Which accepted facility finances a maker in a currency, id
    /// `{maker}~{currency}`: written once, by the acceptance, so two
    /// acceptances racing for one slot cannot both win.
    pub const FACILITY_SLOT: &str = "facility_slot";
    /// A signature on a facility's borrowing-base certificate of one day,
    /// id `{facility}:{YYYY-MM-DD}:{attestation|review}`: written once.
    pub const CERTIFICATE_SIGNATURE: &str = "certificate_signature";
}

/// Secondary indexes of the records (the stores' catalogue,
/// `offtake_store_sql::index`), by name: read with `list_by_index`.
pub mod index {
    /// Invoices, facilities (by lender and maker), commitments and advances
    /// of one party or facility, keyed by its id.
    pub const FACILITY: &str = "facility";
    pub const BRAND: &str = "brand";
    pub const MAKER: &str = "maker";
    pub const PARTY: &str = "party";
    /// Open invoices, keyed by (brand, facility).
    pub const OPEN_BY_BRAND_FACILITY: &str = "open_by_brand_facility";
    /// Advances by their request's hash.
    pub const REQUEST_HASH: &str = "request_hash";
    /// Pending advances (a hold not yet decided), under the empty key.
    pub const PENDING: &str = "pending";
    /// Open (accepted) facilities, under the empty key: what end of day
    /// and accrual walk, so closed and offered facilities cost nothing.
    pub const OPEN: &str = "open";
    /// Invoices by their id and by their commitment's id, both lower-cased
    /// (a bank remittance names either, in whatever case the payer typed).
    pub const REFERENCE: &str = "reference";
    /// Open invoices, keyed by brand (a mapped payer pays the brand's).
    pub const OPEN_BY_BRAND: &str = "open_by_brand";
    /// Funded advances, under the empty key (what the bank pays out).
    pub const FUNDED: &str = "funded";
}

/// A party's role is its signing keys' role: one type, defined where
/// keys are (`offtake-signing`, the lowest crate that needs it).
pub use offtake_signing::Role as PartyRole;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub role: PartyRole,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityStatus {
    /// Opened by the lender, not yet accepted by the maker: it cannot be
    /// drawn, finances no delivery and does not stand in the way of another
    /// lender's offer (docs/financing.md, "Consent").
    Offered,
    /// Accepted by the maker (or opened before acceptance existed).
    Open,
    Closed,
}

/// The maker's signed acceptance of a facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The acceptance document's issue date.
    pub accepted_on: Date,
    /// Body hash (hex) of the maker-signed `facility_acceptance`.
    pub doc_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    pub id: String,
    pub lender: String,
    pub maker: String,
    pub terms: crate::terms::FacilityTerms,
    pub opened_on: Date,
    pub status: FacilityStatus,
    /// Last day whose interest has been booked (None = nothing yet).
    pub accrued_through: Option<Date>,
    /// Interest booked so far (rounded cumulative).
    pub interest_booked_minor: i64,
    /// Default interest booked so far (rounded cumulative), as penalty.
    pub default_interest_booked_minor: i64,
    /// Collateral rules over time (tranche grace, receivables, aging).
    #[serde(default)]
    pub collateral: crate::terms::CollateralTerms,
    /// Every reserve setting, oldest first (the history is the record).
    #[serde(default)]
    pub reserves: Vec<crate::reserves::Reserve>,
    #[serde(default)]
    pub covenants: crate::covenants::CovenantTerms,
    /// The maker's acceptance; `None` while offered, and for facilities
    /// opened before acceptance existed (those are `open` as they were).
    #[serde(default)]
    pub acceptance: Option<Acceptance>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentStatus {
    Active,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrancheStatus {
    Scheduled,
    Delivered,
    Invoiced,
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tranche {
    pub id: String,
    pub quantity: String,
    pub unit_price: String,
    /// quantity × unit_price, rounded half-even to the currency's scale.
    pub value_minor: i64,
    pub delivery_start: Date,
    pub delivery_end: Date,
    pub status: TrancheStatus,
    pub invoice_id: Option<String>,
    /// Every delivery against this tranche, oldest first (a tranche may be
    /// delivered in parts; records written before parts existed have none
    /// and count as delivered whole when their status says so).
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

/// One delivery against a tranche, invoiced on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// 1, 2, … within the tranche.
    pub number: u32,
    pub delivered_on: Date,
    pub quantity: String,
    /// quantity × unit price (the last delivery takes the rest, so the
    /// parts always sum to the tranche's value).
    pub value_minor: i64,
    pub invoice: String,
}

impl Tranche {
    /// Value delivered so far, whatever the date.
    pub fn delivered_minor(&self) -> i64 {
        if self.deliveries.is_empty() && matches!(self.status, TrancheStatus::Delivered | TrancheStatus::Invoiced) {
            return self.value_minor;
        }
        self.deliveries.iter().map(|d| d.value_minor).sum()
    }

    /// Value still to be delivered (counts in the memo book and, when
    /// eligible, in the borrowing base).
    pub fn undelivered_minor(&self) -> i64 {
        match self.status {
            TrancheStatus::Scheduled => self.value_minor - self.delivered_minor(),
            _ => 0,
        }
    }

    /// Delivered in part or whole: an amendment must keep it as it is.
    pub fn has_deliveries(&self) -> bool {
        !self.deliveries.is_empty() || matches!(self.status, TrancheStatus::Delivered | TrancheStatus::Invoiced)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub doc_id: String,
    /// Version of the signed document (1, 2, … for amendments).
    pub doc_version: i64,
    pub brand: String,
    pub maker: String,
    pub currency: Currency,
    pub tranches: Vec<Tranche>,
    /// Invoices are due this many days after delivery.
    pub payment_days: u32,
    /// Charge on undelivered value the brand cancels.
    pub shortfall_bps: u32,
    pub status: CommitmentStatus,
    /// SHA-256 (hex) of the canonical body of the current signed version.
    pub body_hash: String,
    /// Body hashes of every accepted version, oldest first.
    pub history: Vec<String>,
    /// Undelivered value booked in the memo book.
    pub memo_booked_minor: i64,
    /// Memo movement booked when the current version was accepted.
    pub memo_delta_minor: i64,
    /// `issued_at` date of the current version: the effective date of its
    /// memo movement.
    pub issued_on: Date,
}

impl Commitment {
    pub fn undelivered_minor(&self) -> i64 {
        if self.status == CommitmentStatus::Cancelled {
            return 0;
        }
        self.tranches.iter().map(Tranche::undelivered_minor).sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvanceStatus {
    Pending,
    Funded,
    Rejected,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// The request's `doc_id`.
    pub id: String,
    pub facility: String,
    pub maker: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: AdvanceStatus,
    pub requested_on: Date,
    pub expires_at: String,
    /// The ledger's pending entry holding availability.
    pub hold_seq: i64,
    pub request_hash: String,
    pub approval_hash: Option<String>,
    pub funded_on: Option<Date>,
    pub fee_minor: i64,
    /// Day the hold was released (rejected or expired); records written
    /// before this field count as released on the request day.
    #[serde(default)]
    pub released_on: Option<Date>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// For a delivered tranche.
    Delivery,
    /// Shortfall charge for value the brand cancelled.
    Shortfall,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Paid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePayment {
    pub value_date: Date,
    pub amount_minor: i64,
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub kind: InvoiceKind,
    pub brand: String,
    pub maker: String,
    pub facility: String,
    pub commitment: String,
    pub tranche: Option<String>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub issued_on: Date,
    pub due_on: Date,
    pub status: InvoiceStatus,
    pub payments: Vec<InvoicePayment>,
    /// Whether the one-time late fee has been booked.
    pub late_fee_booked: bool,
}

impl Invoice {
    pub fn paid_minor(&self) -> i64 {
        self.payments.iter().map(|p| p.amount_minor).sum()
    }

    pub fn open_minor(&self) -> i64 {
        self.amount_minor - self.paid_minor()
    }

    /// Open amount at the end of `day`.
    pub fn open_on(&self, day: Date) -> i64 {
        self.amount_minor - self.payments.iter().filter(|p| p.value_date <= day).map(|p| p.amount_minor).sum::<i64>()
    }

    /// Overdue past the grace days at the end of `day`.
    pub fn overdue_on(&self, day: Date, grace_days: u32) -> bool {
        let limit = offtake_ledger::date::add_days_saturating(self.due_on, i64::from(grace_days));
        day > limit && self.open_on(day) > 0
    }
}
