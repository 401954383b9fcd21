//! Borrowing base and availability: how much a maker may draw on a date,
//! and why. Pure: the service gathers what was true on the date
//! (commitment versions in force, deliveries, invoices and payments dated
//! on or before it, reserves, balances), this decides.
//!
//! Order of the steps, each shown in the result: tranche lifecycle and
//! receivable aging decide what is eligible (with a reason code when not);
//! brand concentration caps each brand's commitments and receivables
//! together; advance rates turn counted value into the base; reserves come
//! off the base; the limit caps it; drawn principal and pending holds come
//! off what is left. Drawn principal above that capacity is an overadvance.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::aging::{days_past_due, invoice_state, InvoiceState};
use crate::lifecycle::{tranche_view, TrancheState};
use crate::model::{Commitment, CommitmentStatus, Invoice, InvoiceKind, TrancheStatus};
use crate::rate::{apply_bps_floor, BPS_PER_UNIT};
use crate::reserves::{reserves_on, Reserve, ReserveLine};
use crate::terms::{CollateralTerms, FacilityTerms};

/// Why a tranche or receivable does or does not count (reason codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    Eligible,
    /// Delivery starts later than `as_of + eligibility_days`.
    TooFarOut,
    /// Nothing left to deliver (the value now counts as a receivable).
    Delivered,
    Cancelled,
    CommitmentCancelled,
    /// Not delivered by `delivery_end + delivery_grace_days`.
    MissedDelivery,
    /// More than `receivable_max_days_past_due` past due.
    AgedReceivable,
    /// The brand's aged share of open receivables is above `cross_age_bps`.
    CrossAged,
}

impl Eligibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Eligibility::Eligible => "eligible",
            Eligibility::TooFarOut => "too_far_out",
            Eligibility::Delivered => "delivered",
            Eligibility::Cancelled => "cancelled",
            Eligibility::CommitmentCancelled => "commitment_cancelled",
            Eligibility::MissedDelivery => "missed_delivery",
            Eligibility::AgedReceivable => "aged_receivable",
            Eligibility::CrossAged => "cross_aged",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrancheLine {
    pub commitment: String,
    pub brand: String,
    pub tranche: String,
    pub delivery_start: Date,
    pub delivery_end: Date,
    pub value_minor: i64,
    pub state: TrancheState,
    /// Delivered on or before the date (now a receivable).
    pub delivered_minor: i64,
    /// Still to deliver on the date.
    pub open_minor: i64,
    pub eligibility: Eligibility,
    /// Open value counted before the concentration cap (0 unless eligible).
    pub eligible_minor: i64,
}

/// An invoice for a delivery, open on the date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceivableLine {
    pub invoice: String,
    pub brand: String,
    pub commitment: String,
    pub issued_on: Date,
    pub due_on: Date,
    pub open_minor: i64,
    pub days_past_due: i64,
    pub state: InvoiceState,
    pub eligibility: Eligibility,
    pub eligible_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrandLine {
    pub brand: String,
    /// Eligible commitments + eligible receivables.
    pub eligible_minor: i64,
    pub commitments_minor: i64,
    pub receivables_minor: i64,
    /// Most this brand may contribute: total eligible × concentration.
    pub cap_minor: i64,
    /// Value above the cap, excluded (taken off commitments first:
    /// receivables are the better collateral).
    pub excess_minor: i64,
    pub counted_minor: i64,
    pub counted_commitments_minor: i64,
    pub counted_receivables_minor: i64,
}

/// The borrowing base and availability, with every step shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub as_of: Date,
    pub tranches: Vec<TrancheLine>,
    pub receivables: Vec<ReceivableLine>,
    pub brands: Vec<BrandLine>,
    /// Ineligible value by reason code.
    pub ineligible: BTreeMap<String, i64>,
    pub eligible_minor: i64,
    pub counted_minor: i64,
    pub counted_commitments_minor: i64,
    pub counted_receivables_minor: i64,
    pub advance_rate_bps: u32,
    pub receivable_advance_rate_bps: u32,
    /// counted commitments × advance rate + counted receivables ×
    /// receivable rate (one rounding, down).
    pub base_minor: i64,
    pub reserves: Vec<ReserveLine>,
    pub reserves_minor: i64,
    /// base − reserves (not below zero).
    pub net_base_minor: i64,
    pub limit_minor: i64,
    /// min(limit, net base): most that may be drawn.
    pub capacity_minor: i64,
    pub outstanding_minor: i64,
    pub pending_minor: i64,
    /// capacity − outstanding − pending; negative when collateral has fallen
    /// below what is drawn (no further draw is allowed until it recovers).
    pub available_minor: i64,
    /// Drawn principal above capacity (0 when none).
    pub overadvance_minor: i64,
    pub overadvanced: bool,
}

/// Everything the base of one facility on one date depends on.
pub struct BaseInput<'a> {
    pub terms: &'a FacilityTerms,
    pub collateral: &'a CollateralTerms,
    /// The maker's commitments as in force on `as_of`.
    pub commitments: &'a [Commitment],
    /// The facility's invoices (any date; those issued later are skipped).
    pub invoices: &'a [Invoice],
    pub reserves: &'a [Reserve],
    pub as_of: Date,
    pub outstanding_minor: i64,
    pub pending_minor: i64,
}

/// Computes the borrowing base of a facility on `as_of` from commitments
/// only, with the default collateral rules and no reserves.
pub fn availability(
    terms: &FacilityTerms,
    commitments: &[Commitment],
    as_of: Date,
    outstanding_minor: i64,
    pending_minor: i64,
) -> Availability {
    borrowing_base(&BaseInput {
        terms,
        collateral: &CollateralTerms::default(),
        commitments,
        invoices: &[],
        reserves: &[],
        as_of,
        outstanding_minor,
        pending_minor,
    })
}

/// Computes the borrowing base and availability (see the module's steps).
pub fn borrowing_base(input: &BaseInput<'_>) -> Availability {
    let terms = input.terms;
    let tranches = tranche_lines(input);
    let receivables = receivable_lines(input);
    let mut ineligible: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_brand: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for t in &tranches {
        let slot = by_brand.entry(t.brand.as_str()).or_default();
        slot.0 = slot.0.saturating_add(t.eligible_minor);
        if !matches!(t.eligibility, Eligibility::Eligible | Eligibility::Delivered) && t.open_minor > 0 {
            *ineligible.entry(t.eligibility.as_str().to_owned()).or_default() += t.open_minor;
        }
    }
    for r in &receivables {
        let slot = by_brand.entry(r.brand.as_str()).or_default();
        slot.1 = slot.1.saturating_add(r.eligible_minor);
        if r.eligibility != Eligibility::Eligible {
            *ineligible.entry(r.eligibility.as_str().to_owned()).or_default() += r.open_minor;
        }
    }
    let brands = brand_lines(terms, &by_brand);
    let sum = |f: fn(&BrandLine) -> i64| brands.iter().fold(0i64, |a, b| a.saturating_add(f(b)));
    let eligible_minor = sum(|b| b.eligible_minor);
    let counted_minor = sum(|b| b.counted_minor);
    let counted_commitments_minor = sum(|b| b.counted_commitments_minor);
    let counted_receivables_minor = sum(|b| b.counted_receivables_minor);
    let receivable_rate = input.collateral.receivable_rate_bps(terms);
    let base_minor = weighted_floor(&[
        (counted_commitments_minor, terms.advance_rate_bps),
        (counted_receivables_minor, receivable_rate),
    ]);
    let reserves = reserves_on(input.reserves, input.as_of, base_minor);
    let reserves_minor = reserves.iter().fold(0i64, |a, r| a.saturating_add(r.reserve_minor));
    let net_base_minor = base_minor.saturating_sub(reserves_minor).max(0);
    let limit_minor = terms.limit_minor.get();
    let capacity_minor = net_base_minor.min(limit_minor);
    let available_minor = capacity_minor.saturating_sub(input.outstanding_minor).saturating_sub(input.pending_minor);
    let overadvance_minor = input.outstanding_minor.saturating_sub(capacity_minor).max(0);
    Availability {
        as_of: input.as_of,
        tranches,
        receivables,
        brands,
        ineligible,
        eligible_minor,
        counted_minor,
        counted_commitments_minor,
        counted_receivables_minor,
        advance_rate_bps: terms.advance_rate_bps,
        receivable_advance_rate_bps: receivable_rate,
        base_minor,
        reserves,
        reserves_minor,
        net_base_minor,
        limit_minor,
        capacity_minor,
        outstanding_minor: input.outstanding_minor,
        pending_minor: input.pending_minor,
        available_minor,
        overadvance_minor,
        overadvanced: overadvance_minor > 0,
    }
}

/// Σ amount × bps / 10,000, rounded down once (so with equal rates it is
/// exactly the single-rate base).
fn weighted_floor(parts: &[(i64, u32)]) -> i64 {
    let total: i128 = parts.iter().map(|(a, bps)| i128::from(*a) * i128::from(*bps)).sum();
    i64::try_from(total / i128::from(BPS_PER_UNIT)).unwrap_or(i64::MAX)
}

fn tranche_lines(input: &BaseInput<'_>) -> Vec<TrancheLine> {
    // Saturating: a window reaching past the last representable day simply
    // has no end (`?as_of=9999-12-31` once panicked here).
    let horizon = offtake_ledger::date::add_days_saturating(input.as_of, i64::from(input.terms.eligibility_days));
    let grace = input.collateral.delivery_grace_days;
    let mut lines = Vec::new();
    for c in input.commitments.iter().filter(|c| c.currency == input.terms.currency) {
        let commitment_cancelled = c.status == CommitmentStatus::Cancelled;
        for t in &c.tranches {
            let cancelled = commitment_cancelled || t.status == TrancheStatus::Cancelled;
            let view = tranche_view(t, input.as_of, grace, cancelled);
            let eligibility = match view.state {
                TrancheState::Cancelled if commitment_cancelled => Eligibility::CommitmentCancelled,
                TrancheState::Cancelled => Eligibility::Cancelled,
                TrancheState::Delivered => Eligibility::Delivered,
                TrancheState::Missed => Eligibility::MissedDelivery,
                TrancheState::Scheduled if t.delivery_start > horizon => Eligibility::TooFarOut,
                TrancheState::Scheduled | TrancheState::InWindow => Eligibility::Eligible,
            };
            let eligible_minor = if eligibility == Eligibility::Eligible { view.open_minor } else { 0 };
            lines.push(TrancheLine {
                commitment: c.doc_id.clone(),
                brand: c.brand.clone(),
                tranche: t.id.clone(),
                delivery_start: t.delivery_start,
                delivery_end: t.delivery_end,
                value_minor: t.value_minor,
                state: view.state,
                delivered_minor: view.delivered_minor,
                open_minor: view.open_minor,
                eligibility,
                eligible_minor,
            });
        }
    }
    lines
}

/// Delivery invoices open on the date, aged, then cross-aged per brand.
fn receivable_lines(input: &BaseInput<'_>) -> Vec<ReceivableLine> {
    let ct = input.collateral;
    let mut lines: Vec<ReceivableLine> = input
        .invoices
        .iter()
        .filter(|i| i.kind == InvoiceKind::Delivery && i.currency == input.terms.currency)
        .filter(|i| i.issued_on <= input.as_of && i.open_on(input.as_of) > 0)
        .map(|i| {
            let dpd = days_past_due(i, input.as_of);
            let open_minor = i.open_on(input.as_of);
            let aged = dpd > i64::from(ct.receivable_max_days_past_due);
            ReceivableLine {
                invoice: i.id.clone(),
                brand: i.brand.clone(),
                commitment: i.commitment.clone(),
                issued_on: i.issued_on,
                due_on: i.due_on,
                open_minor,
                days_past_due: dpd,
                state: invoice_state(i, input.as_of, input.terms.grace_days, ct.default_days_past_due),
                eligibility: if aged { Eligibility::AgedReceivable } else { Eligibility::Eligible },
                eligible_minor: if aged { 0 } else { open_minor },
            }
        })
        .collect();
    let mut per_brand: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for l in &lines {
        let slot = per_brand.entry(l.brand.clone()).or_default();
        slot.1 += i128::from(l.open_minor);
        if l.eligibility == Eligibility::AgedReceivable {
            slot.0 += i128::from(l.open_minor);
        }
    }
    for l in lines.iter_mut().filter(|l| l.eligibility == Eligibility::Eligible) {
        let (aged, open) = per_brand[&l.brand];
        if aged * i128::from(BPS_PER_UNIT) > open * i128::from(ct.cross_age_bps) {
            l.eligibility = Eligibility::CrossAged;
            l.eligible_minor = 0;
        }
    }
    lines.sort_by(|a, b| (a.due_on, &a.invoice).cmp(&(b.due_on, &b.invoice)));
    lines
}

/// Concentration over each brand's eligible commitments and receivables.
fn brand_lines(terms: &FacilityTerms, by_brand: &BTreeMap<&str, (i64, i64)>) -> Vec<BrandLine> {
    let eligible_minor: i64 = by_brand.values().fold(0i64, |a, (c, r)| a.saturating_add(*c).saturating_add(*r));
    let cap_minor = if terms.concentration_bps >= BPS_PER_UNIT {
        eligible_minor
    } else {
        apply_bps_floor(eligible_minor, terms.concentration_bps)
    };
    by_brand
        .iter()
        .map(|(brand, (commitments, receivables))| {
            let eligible = commitments.saturating_add(*receivables);
            let counted = eligible.min(cap_minor);
            let counted_receivables = (*receivables).min(counted);
            BrandLine {
                brand: (*brand).to_owned(),
                eligible_minor: eligible,
                commitments_minor: *commitments,
                receivables_minor: *receivables,
                cap_minor,
                excess_minor: eligible - counted,
                counted_minor: counted,
                counted_commitments_minor: counted - counted_receivables,
                counted_receivables_minor: counted_receivables,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tranche;
    use offtake_ledger::Currency;
    use time::macros::date;
    use time::Duration;

    fn tranche(id: &str, value_minor: i64, start: Date) -> Tranche {
        Tranche {
            id: id.into(),
            quantity: "1".into(),
            unit_price: "0".into(),
            value_minor,
            delivery_start: start,
            delivery_end: start + Duration::days(30),
            status: TrancheStatus::Scheduled,
            invoice_id: None,
            deliveries: vec![],
        }
    }

    fn commitment(id: &str, brand: &str, tranches: Vec<Tranche>) -> Commitment {
        Commitment {
            doc_id: id.into(),
            doc_version: 1,
            brand: brand.into(),
            maker: "m".into(),
            currency: Currency::USD,
            tranches,
            payment_days: 30,
            shortfall_bps: 0,
            status: CommitmentStatus::Active,
            body_hash: String::new(),
            history: vec![],
            memo_booked_minor: 0,
            memo_delta_minor: 0,
            issued_on: Date::MIN,
        }
    }

    fn terms() -> FacilityTerms {
        let mut t = FacilityTerms::example(Currency::USD, 100_000_000);
        t.advance_rate_bps = 8_000;
        t.concentration_bps = 5_000;
        t.eligibility_days = 90;
        t
    }

    #[test]
    fn concentration_caps_the_largest_brand() {
        let d = date!(2026 - 01 - 01);
        let cs = vec![
            commitment("c1", "big", vec![tranche("t1", 7_000_000, d)]),
            commitment("c2", "small", vec![tranche("t1", 2_000_000, d), tranche("t2", 1_000_000, d)]),
        ];
        let a = availability(&terms(), &cs, d, 0, 0);
        assert_eq!(a.eligible_minor, 10_000_000);
        // Cap = 50 % of 100,000 = 50,000: big loses 20,000.
        assert_eq!(a.brands[0].brand, "big");
        assert_eq!(
            (a.brands[0].cap_minor, a.brands[0].excess_minor, a.brands[0].counted_minor),
            (5_000_000, 2_000_000, 5_000_000)
        );
        assert_eq!(a.brands[1].counted_minor, 3_000_000);
        assert_eq!(a.counted_minor, 8_000_000);
        assert_eq!(a.base_minor, 6_400_000);
        assert_eq!(a.available_minor, 6_400_000);
    }

    #[test]
    fn eligibility_window_edges() {
        let as_of = date!(2026 - 01 - 01);
        let edge = as_of + Duration::days(90);
        let cs = vec![commitment(
            "c1",
            "b",
            vec![tranche("on-edge", 1_000_000, edge), tranche("past-edge", 1_000_000, edge + Duration::days(1))],
        )];
        let mut t = terms();
        t.concentration_bps = 10_000;
        let a = availability(&t, &cs, as_of, 0, 0);
        assert_eq!(a.tranches[0].eligibility, Eligibility::Eligible);
        assert_eq!(a.tranches[1].eligibility, Eligibility::TooFarOut);
        assert_eq!(a.eligible_minor, 1_000_000);
        // A day later the second one counts too.
        let a = availability(&t, &cs, as_of + Duration::days(1), 0, 0);
        assert_eq!(a.eligible_minor, 2_000_000);
    }

    #[test]
    fn a_window_past_the_last_representable_day_has_no_end() {
        // `?as_of=9999-12-31` once panicked adding the window to the date.
        let cs = vec![commitment("c1", "b", vec![tranche("t", 1_000_000, date!(2026 - 01 - 01))])];
        let a = availability(&terms(), &cs, date!(9999 - 12 - 31), 0, 0);
        assert_eq!(a.tranches.len(), 1);
    }

    #[test]
    fn limit_outstanding_and_pending_reduce_availability_and_may_go_negative() {
        let d = date!(2026 - 01 - 01);
        let cs = vec![commitment("c1", "b", vec![tranche("t", 10_000_000, d)])];
        let mut t = terms();
        t.concentration_bps = 10_000;
        t.limit_minor = offtake_ledger::AmountMinor::new(5_000_000);
        let a = availability(&t, &cs, d, 1_000_000, 500_000);
        assert_eq!((a.base_minor, a.capacity_minor, a.available_minor), (8_000_000, 5_000_000, 3_500_000));
        let a = availability(&t, &cs, d, 6_000_000, 0);
        assert_eq!(a.available_minor, -1_000_000);
    }
}
