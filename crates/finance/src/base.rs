//! Borrowing base and availability: how much a maker may draw today, and
//! why. Pure: the service gathers commitments and balances, this decides.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::model::{Commitment, CommitmentStatus, TrancheStatus};
use crate::rate::{apply_bps_floor, BPS_PER_UNIT};
use crate::terms::FacilityTerms;

/// Why a tranche does or does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    Eligible,
    /// Delivery starts later than `as_of + eligibility_days`.
    TooFarOut,
    Delivered,
    Cancelled,
    CommitmentCancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrancheLine {
    pub commitment: String,
    pub brand: String,
    pub tranche: String,
    pub delivery_start: Date,
    pub value_minor: i64,
    pub eligibility: Eligibility,
    /// Value counted before the concentration cap (0 unless eligible).
    pub eligible_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrandLine {
    pub brand: String,
    pub eligible_minor: i64,
    /// Most this brand may contribute: total eligible × concentration.
    pub cap_minor: i64,
    /// Value above the cap, excluded.
    pub excess_minor: i64,
    pub counted_minor: i64,
}

/// The borrowing base and availability, with every step shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub as_of: Date,
    pub tranches: Vec<TrancheLine>,
    pub brands: Vec<BrandLine>,
    pub eligible_minor: i64,
    pub counted_minor: i64,
    pub advance_rate_bps: u32,
    /// counted × advance rate (rounded down).
    pub base_minor: i64,
    pub limit_minor: i64,
    /// min(limit, base).
    pub capacity_minor: i64,
    pub outstanding_minor: i64,
    pub pending_minor: i64,
    /// capacity − outstanding − pending; negative when collateral has fallen
    /// below what is drawn (no further draw is allowed until it recovers).
    pub available_minor: i64,
}

/// Computes the borrowing base of a facility on `as_of`, from the maker's
/// commitments in the facility's currency.
pub fn availability(
    terms: &FacilityTerms,
    commitments: &[Commitment],
    as_of: Date,
    outstanding_minor: i64,
    pending_minor: i64,
) -> Availability {
    // Saturating: a window reaching past the last representable day simply
    // has no end (`?as_of=9999-12-31` once panicked here).
    let horizon = offtake_ledger::date::add_days_saturating(as_of, i64::from(terms.eligibility_days));
    let mut tranches = Vec::new();
    let mut by_brand: BTreeMap<&str, i64> = BTreeMap::new();
    for c in commitments.iter().filter(|c| c.currency == terms.currency) {
        for t in &c.tranches {
            let eligibility = if c.status == CommitmentStatus::Cancelled {
                Eligibility::CommitmentCancelled
            } else {
                match t.status {
                    TrancheStatus::Cancelled => Eligibility::Cancelled,
                    TrancheStatus::Delivered | TrancheStatus::Invoiced => Eligibility::Delivered,
                    TrancheStatus::Scheduled if t.delivery_start > horizon => Eligibility::TooFarOut,
                    TrancheStatus::Scheduled => Eligibility::Eligible,
                }
            };
            let eligible_minor = if eligibility == Eligibility::Eligible { t.value_minor } else { 0 };
            // Saturating: many commitments could exceed i64 in total; the
            // limit caps what may be drawn anyway.
            let slot = by_brand.entry(c.brand.as_str()).or_default();
            *slot = slot.saturating_add(eligible_minor);
            tranches.push(TrancheLine {
                commitment: c.doc_id.clone(),
                brand: c.brand.clone(),
                tranche: t.id.clone(),
                delivery_start: t.delivery_start,
                value_minor: t.value_minor,
                eligibility,
                eligible_minor,
            });
        }
    }
    let eligible_minor: i64 = by_brand.values().fold(0i64, |a, v| a.saturating_add(*v));
    let cap_minor = if terms.concentration_bps >= BPS_PER_UNIT {
        eligible_minor
    } else {
        apply_bps_floor(eligible_minor, terms.concentration_bps)
    };
    let brands: Vec<BrandLine> = by_brand
        .into_iter()
        .map(|(brand, eligible)| {
            let counted = eligible.min(cap_minor);
            BrandLine {
                brand: brand.to_owned(),
                eligible_minor: eligible,
                cap_minor,
                excess_minor: eligible - counted,
                counted_minor: counted,
            }
        })
        .collect();
    let counted_minor: i64 = brands.iter().fold(0i64, |a, b| a.saturating_add(b.counted_minor));
    let base_minor = apply_bps_floor(counted_minor, terms.advance_rate_bps);
    let limit_minor = terms.limit_minor.get();
    let capacity_minor = base_minor.min(limit_minor);
    let available_minor = capacity_minor.saturating_sub(outstanding_minor).saturating_sub(pending_minor);
    Availability {
        as_of,
        tranches,
        brands,
        eligible_minor,
        counted_minor,
        advance_rate_bps: terms.advance_rate_bps,
        base_minor,
        limit_minor,
        capacity_minor,
        outstanding_minor,
        pending_minor,
        available_minor,
    }
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
