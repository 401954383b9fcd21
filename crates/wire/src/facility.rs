//! Facilities, their terms, availability (the borrowing base step by step)
//! and accrual runs.

use offtake_finance::base::{
    BrandLine as DomainBrandLine, ReceivableLine as DomainReceivableLine, TrancheLine as DomainTrancheLine,
};
use offtake_finance::{
    AccrualReport as DomainAccrual, Availability as DomainAvailability, DayCount as DomainDayCount,
    Eligibility as DomainEligibility, Facility as DomainFacility, FacilityStatus as DomainFacilityStatus,
    FacilityTerms as DomainTerms, Rounding as DomainRounding,
};
use offtake_finance::{
    InvoiceState as DomainInvoiceState, ReserveLine as DomainReserveLine, TrancheState as DomainTrancheState,
};
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

wire_enum! {
    /// How a year is counted when an annual rate becomes a daily one.
    DayCount from DomainDayCount {
        /// Actual days / 360.
        Act360 = "act360" <= Act360,
        /// Actual days / 365, also in leap years.
        Act365F = "act365_f" <= Act365F,
    }
}

wire_enum! {
    /// How exact amounts are rounded to the minor unit.
    Rounding from DomainRounding {
        HalfEven = "half_even" <= HalfEven,
        HalfUp = "half_up" <= HalfUp,
    }
}

wire_enum! {
    /// `offered` until the maker signs a `facility_acceptance` (it cannot
    /// be drawn before), then `open`.
    FacilityStatus from DomainFacilityStatus {
        Offered = "offered" <= Offered,
        Open = "open" <= Open,
        Closed = "closed" <= Closed,
    }
}

wire_enum! {
    /// Why a tranche does or does not count in the borrowing base.
    Eligibility from DomainEligibility {
        Eligible = "eligible" <= Eligible,
        /// Delivery starts later than `as_of + eligibility_days`.
        TooFarOut = "too_far_out" <= TooFarOut,
        Delivered = "delivered" <= Delivered,
        Cancelled = "cancelled" <= Cancelled,
        CommitmentCancelled = "commitment_cancelled" <= CommitmentCancelled,
        /// The delivery window and its grace days passed with value open.
        MissedDelivery = "missed_delivery" <= MissedDelivery,
        /// A receivable more than the allowed days past due.
        AgedReceivable = "aged_receivable" <= AgedReceivable,
        /// Too much of the brand's receivable value is aged.
        CrossAged = "cross_aged" <= CrossAged,
    }
}

wire_enum! {
    /// Where a tranche stands on the as-of date.
    TrancheState from DomainTrancheState {
        Scheduled = "scheduled" <= Scheduled,
        InWindow = "in_window" <= InWindow,
        Delivered = "delivered" <= Delivered,
        Missed = "missed" <= Missed,
        Cancelled = "cancelled" <= Cancelled,
    }
}

wire_enum! {
    /// Where an invoice stands on the as-of date.
    InvoiceState from DomainInvoiceState {
        Open = "open" <= Open,
        Overdue = "overdue" <= Overdue,
        Defaulted = "defaulted" <= Defaulted,
        Paid = "paid" <= Paid,
    }
}

/// What the lender signed up to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacilityTerms {
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Most the maker may owe in principal, whatever the collateral.
    pub limit: Money,
    /// Share of eligible collateral that may be advanced.
    #[schema(example = 8000)]
    pub advance_rate_bps: u32,
    /// A tranche counts once its delivery window starts within this many days.
    #[schema(example = 180)]
    pub eligibility_days: u32,
    /// Largest share of eligible value one brand may contribute.
    #[schema(example = 6000)]
    pub concentration_bps: u32,
    /// Annual interest rate on outstanding principal.
    #[schema(example = 1200)]
    pub rate_bps: u32,
    pub day_count: DayCount,
    /// Fee on each funded advance.
    #[schema(example = 100)]
    pub fee_bps: u32,
    /// Extra annual rate while an invoice is overdue past the grace days.
    pub default_margin_bps: u32,
    /// One-time late charge on an overdue invoice's open amount.
    pub late_fee_bps: u32,
    pub grace_days: u32,
    pub rounding: Rounding,
}

impl From<DomainTerms> for FacilityTerms {
    fn from(t: DomainTerms) -> Self {
        FacilityTerms {
            currency: t.currency.code().to_owned(),
            limit: Money::new(t.limit_minor.get(), t.currency),
            advance_rate_bps: t.advance_rate_bps,
            eligibility_days: t.eligibility_days,
            concentration_bps: t.concentration_bps,
            rate_bps: t.rate_bps,
            day_count: t.day_count.into(),
            fee_bps: t.fee_bps,
            default_margin_bps: t.default_margin_bps,
            late_fee_bps: t.late_fee_bps,
            grace_days: t.grace_days,
            rounding: t.rounding.into(),
        }
    }
}

/// A lender's facility for a maker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Facility {
    #[schema(example = "f1")]
    pub id: String,
    #[schema(example = "lender-north")]
    pub lender: String,
    #[schema(example = "maker-loom")]
    pub maker: String,
    pub terms: FacilityTerms,
    pub opened_on: Date,
    pub status: FacilityStatus,
    /// Last day whose interest is booked; absent before the first accrual.
    #[serde(default)]
    pub accrued_through: Option<Date>,
    /// Interest booked so far.
    pub interest_booked: Money,
    /// Default interest booked so far (a penalty).
    pub default_interest_booked: Money,
    /// The day the maker accepted the facility (its signed
    /// `facility_acceptance`); absent while offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_on: Option<Date>,
}

impl From<DomainFacility> for Facility {
    fn from(f: DomainFacility) -> Self {
        let c = f.terms.currency;
        Facility {
            id: f.id,
            lender: f.lender,
            maker: f.maker,
            opened_on: f.opened_on,
            status: f.status.into(),
            accrued_through: f.accrued_through,
            interest_booked: Money::new(f.interest_booked_minor, c),
            default_interest_booked: Money::new(f.default_interest_booked_minor, c),
            accepted_on: f.acceptance.map(|a| a.accepted_on),
            terms: f.terms.into(),
        }
    }
}

/// One tranche's part in the borrowing base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrancheLine {
    pub commitment: String,
    pub brand: String,
    pub tranche: String,
    pub delivery_start: Date,
    pub delivery_end: Date,
    pub value: Money,
    pub state: TrancheState,
    /// Value delivered on or before the as-of date.
    pub delivered: Money,
    /// Value still to deliver.
    pub open: Money,
    pub eligibility: Eligibility,
    /// Value counted before the concentration cap (zero unless eligible).
    pub eligible: Money,
}

impl TrancheLine {
    fn of(l: DomainTrancheLine, c: Currency) -> Self {
        TrancheLine {
            commitment: l.commitment,
            brand: l.brand,
            tranche: l.tranche,
            delivery_start: l.delivery_start,
            delivery_end: l.delivery_end,
            value: Money::new(l.value_minor, c),
            state: l.state.into(),
            delivered: Money::new(l.delivered_minor, c),
            open: Money::new(l.open_minor, c),
            eligibility: l.eligibility.into(),
            eligible: Money::new(l.eligible_minor, c),
        }
    }
}

/// One open invoice's part in the borrowing base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceivableLine {
    pub invoice: String,
    pub brand: String,
    pub commitment: String,
    pub issued_on: Date,
    pub due_on: Date,
    pub open: Money,
    pub days_past_due: i64,
    pub state: InvoiceState,
    pub eligibility: Eligibility,
    pub eligible: Money,
}

impl ReceivableLine {
    fn of(l: DomainReceivableLine, c: Currency) -> Self {
        ReceivableLine {
            invoice: l.invoice,
            brand: l.brand,
            commitment: l.commitment,
            issued_on: l.issued_on,
            due_on: l.due_on,
            open: Money::new(l.open_minor, c),
            days_past_due: l.days_past_due,
            state: l.state.into(),
            eligibility: l.eligibility.into(),
            eligible: Money::new(l.eligible_minor, c),
        }
    }
}

/// A named reserve deducted after the base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReserveLine {
    pub name: String,
    pub effective_on: Date,
    /// `fixed` amount or `percent` of the base, as set.
    pub kind: String,
    pub reserve: Money,
}

impl ReserveLine {
    fn of(l: DomainReserveLine, c: Currency) -> Self {
        let kind = match serde_json::to_value(l.amount).ok().and_then(|v| v.get("kind").cloned()) {
            Some(serde_json::Value::String(k)) => k,
            _ => "fixed".to_owned(),
        };
        ReserveLine { name: l.name, effective_on: l.effective_on, kind, reserve: Money::new(l.reserve_minor, c) }
    }
}

/// Value left out of the base, by reason code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IneligibleLine {
    /// `missed_delivery`, `aged_receivable`, `cross_aged`, `too_far_out`, …
    pub reason: String,
    pub value: Money,
}

/// One brand's part in the borrowing base, after the concentration cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrandLine {
    pub brand: String,
    pub eligible: Money,
    /// Most this brand may contribute: total eligible × concentration.
    pub cap: Money,
    /// Value above the cap, excluded.
    pub excess: Money,
    pub counted: Money,
}

impl BrandLine {
    fn of(l: DomainBrandLine, c: Currency) -> Self {
        BrandLine {
            brand: l.brand,
            eligible: Money::new(l.eligible_minor, c),
            cap: Money::new(l.cap_minor, c),
            excess: Money::new(l.excess_minor, c),
            counted: Money::new(l.counted_minor, c),
        }
    }
}

/// The borrowing base and what may be drawn, every step shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub as_of: Date,
    pub tranches: Vec<TrancheLine>,
    /// Open invoices (receivables) and how much of each counts.
    pub receivables: Vec<ReceivableLine>,
    pub brands: Vec<BrandLine>,
    /// Value left out, by reason.
    pub ineligible: Vec<IneligibleLine>,
    pub eligible: Money,
    pub counted: Money,
    pub advance_rate_bps: u32,
    /// Advance rate on receivables.
    pub receivable_advance_rate_bps: u32,
    /// Counted commitments × advance rate + counted receivables × receivable rate, rounded down.
    pub base: Money,
    pub reserves: Vec<ReserveLine>,
    /// Sum of the reserves.
    pub reserves_total: Money,
    /// base − reserves.
    pub net_base: Money,
    pub limit: Money,
    /// min(limit, net base).
    pub capacity: Money,
    /// Principal drawn and not repaid.
    pub drawn: Money,
    /// Requested advances still on hold.
    pub pending: Money,
    /// capacity − drawn − pending; negative when collateral fell below
    /// what is drawn (no draw until it recovers).
    pub available: Money,
    /// Drawn principal above capacity.
    pub overadvance: Money,
    /// Whether drawn principal exceeds capacity (new draws are refused).
    pub overadvanced: bool,
}

impl Availability {
    /// The facility's currency is not in the domain object: pass it.
    pub fn of(a: DomainAvailability, currency: Currency) -> Self {
        let m = |minor| Money::new(minor, currency);
        Availability {
            as_of: a.as_of,
            eligible: m(a.eligible_minor),
            counted: m(a.counted_minor),
            advance_rate_bps: a.advance_rate_bps,
            base: m(a.base_minor),
            receivable_advance_rate_bps: a.receivable_advance_rate_bps,
            reserves_total: m(a.reserves_minor),
            net_base: m(a.net_base_minor),
            overadvance: m(a.overadvance_minor),
            overadvanced: a.overadvanced,
            ineligible: a.ineligible.into_iter().map(|(reason, v)| IneligibleLine { reason, value: m(v) }).collect(),
            reserves: a.reserves.into_iter().map(|l| ReserveLine::of(l, currency)).collect(),
            receivables: a.receivables.into_iter().map(|l| ReceivableLine::of(l, currency)).collect(),
            limit: m(a.limit_minor),
            capacity: m(a.capacity_minor),
            drawn: m(a.outstanding_minor),
            pending: m(a.pending_minor),
            available: m(a.available_minor),
            tranches: a.tranches.into_iter().map(|l| TrancheLine::of(l, currency)).collect(),
            brands: a.brands.into_iter().map(|l| BrandLine::of(l, currency)).collect(),
        }
    }
}

/// What an accrual run booked for one facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccrualReport {
    pub facility: String,
    /// Accrued through this day, inclusive.
    pub through: Date,
    pub days_booked: u64,
    /// Interest booked by this run.
    pub interest: Money,
    /// Default interest (penalty) booked by this run.
    pub default_interest: Money,
    /// Late fees booked by this run.
    pub late_fees: Money,
    /// Interest booked on the facility so far.
    pub interest_total: Money,
}

impl AccrualReport {
    pub fn of(r: DomainAccrual, currency: Currency) -> Self {
        let m = |minor| Money::new(minor, currency);
        AccrualReport {
            days_booked: u64::try_from(r.days_booked).unwrap_or(u64::MAX),
            interest: m(r.interest_minor),
            default_interest: m(r.default_interest_minor),
            late_fees: m(r.late_fees_minor),
            interest_total: m(r.interest_total_minor),
            facility: r.facility,
            through: r.through,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_amounts_are_money_and_dates_are_iso() {
        let usd = Currency::from_code("USD").unwrap();
        let f = DomainFacility {
            id: "f1".into(),
            lender: "l1".into(),
            maker: "m1".into(),
            terms: DomainTerms::example(usd, 50_000_000),
            opened_on: time::macros::date!(2026 - 01 - 01),
            status: DomainFacilityStatus::Open,
            accrued_through: None,
            interest_booked_minor: 240_000,
            default_interest_booked_minor: 0,
            collateral: Default::default(),
            reserves: Vec::new(),
            covenants: Default::default(),
            acceptance: Some(offtake_finance::Acceptance {
                accepted_on: time::macros::date!(2026 - 01 - 02),
                doc_hash: "ab".repeat(32),
            }),
        };
        let json = serde_json::to_value(Facility::from(f)).unwrap();
        assert_eq!(json["opened_on"], "2026-01-01");
        assert_eq!(json["accepted_on"], "2026-01-02");
        assert_eq!(
            json["terms"]["limit"],
            serde_json::json!({"amount": "500000.00", "amount_minor": 50_000_000, "currency": "USD"})
        );
        assert_eq!(json["terms"]["day_count"], "act360");
        assert_eq!(json["interest_booked"]["amount"], "2400.00");
        let back: Facility = serde_json::from_value(json).unwrap();
        assert_eq!(back.terms.rounding, Rounding::HalfEven);
    }
}
