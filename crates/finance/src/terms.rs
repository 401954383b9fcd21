//! Facility terms: what a lender signs up to when it opens a facility.

use offtake_ledger::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};

use crate::error::FinanceError;
use crate::rate::{DayCount, Rounding, BPS_PER_UNIT};

/// Largest annual rate accepted (100 %): anything above is a typo.
pub const MAX_RATE_BPS: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityTerms {
    pub currency: Currency,
    /// Most the maker may owe in principal, whatever the collateral.
    pub limit_minor: AmountMinor,
    /// Share of eligible collateral value that may be advanced.
    pub advance_rate_bps: u32,
    /// A tranche counts once its delivery window starts within this many
    /// days of the as-of date.
    pub eligibility_days: u32,
    /// Largest share of eligible value one brand may contribute.
    pub concentration_bps: u32,
    /// Annual interest rate on outstanding principal.
    pub rate_bps: u32,
    pub day_count: DayCount,
    /// Fee on each funded advance, booked at funding.
    pub fee_bps: u32,
    /// Extra annual rate while an invoice is overdue past the grace days
    /// (default interest), booked as penalty.
    pub default_margin_bps: u32,
    /// One-time late charge on an invoice overdue past the grace days, as a
    /// share of its open amount, booked as penalty.
    pub late_fee_bps: u32,
    pub grace_days: u32,
    pub rounding: Rounding,
}

impl FacilityTerms {
    /// The worked example of docs/financing.md: 12 % ACT/360, fee 1 %.
    pub fn example(currency: Currency, limit_minor: i64) -> Self {
        FacilityTerms {
            currency,
            limit_minor: AmountMinor::new(limit_minor),
            advance_rate_bps: 8_000,
            eligibility_days: 180,
            concentration_bps: 6_000,
            rate_bps: 1_200,
            day_count: DayCount::Act360,
            fee_bps: 100,
            default_margin_bps: 400,
            late_fee_bps: 100,
            grace_days: 5,
            rounding: Rounding::HalfEven,
        }
    }

    pub fn validate(&self) -> Result<(), FinanceError> {
        let bps = |field: &'static str, v: u32, max: u32| {
            if v > max {
                Err(FinanceError::invalid(field, format!("{v} bps is above {max}")))
            } else {
                Ok(())
            }
        };
        if !self.limit_minor.is_positive() {
            return Err(FinanceError::invalid("limit", "must be positive"));
        }
        bps("advance_rate_bps", self.advance_rate_bps, BPS_PER_UNIT)?;
        bps("concentration_bps", self.concentration_bps, BPS_PER_UNIT)?;
        if self.concentration_bps == 0 || self.advance_rate_bps == 0 {
            return Err(FinanceError::invalid("advance_rate_bps", "advance rate and concentration must be positive"));
        }
        bps("rate_bps", self.rate_bps, MAX_RATE_BPS)?;
        bps("default_margin_bps", self.default_margin_bps, MAX_RATE_BPS)?;
        bps("fee_bps", self.fee_bps, BPS_PER_UNIT)?;
        bps("late_fee_bps", self.late_fee_bps, BPS_PER_UNIT)?;
        if self.eligibility_days > 3_660 || self.grace_days > 366 {
            return Err(FinanceError::invalid(
                "eligibility_days",
                "eligibility at most 10 years, grace at most a year",
            ));
        }
        Ok(())
    }
}

/// Collateral rules that follow the calendar. A separate struct (stored on
/// the facility with defaults) so facilities opened before these rules load
/// with the defaults, and `FacilityTerms` literals elsewhere keep compiling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CollateralTerms {
    /// A tranche not fully delivered this many days after `delivery_end`
    /// is missed (its open value stops counting).
    pub delivery_grace_days: u32,
    /// Advance rate on eligible receivables; `None` = the facility's rate.
    pub receivable_advance_rate_bps: Option<u32>,
    /// A receivable more than this many days past due is ineligible.
    pub receivable_max_days_past_due: u32,
    /// When more than this share of a brand's open receivable value is
    /// aged, all of that brand's receivables are ineligible.
    pub cross_age_bps: u32,
    /// An invoice more than this many days past due is defaulted.
    pub default_days_past_due: u32,
}

impl Default for CollateralTerms {
    fn default() -> Self {
        CollateralTerms {
            delivery_grace_days: 15,
            receivable_advance_rate_bps: None,
            receivable_max_days_past_due: 60,
            cross_age_bps: 5_000,
            default_days_past_due: 90,
        }
    }
}

impl CollateralTerms {
    pub fn receivable_rate_bps(&self, terms: &FacilityTerms) -> u32 {
        self.receivable_advance_rate_bps.unwrap_or(terms.advance_rate_bps)
    }

    pub fn validate(&self) -> Result<(), FinanceError> {
        if self.receivable_advance_rate_bps.is_some_and(|r| r > BPS_PER_UNIT) {
            return Err(FinanceError::invalid("receivable_advance_rate_bps", "above 10000"));
        }
        if self.cross_age_bps > BPS_PER_UNIT {
            return Err(FinanceError::invalid("cross_age_bps", "above 10000"));
        }
        if self.delivery_grace_days > 366 || self.receivable_max_days_past_due > 3_660 {
            return Err(FinanceError::invalid("delivery_grace_days", "grace at most a year, aging at most 10 years"));
        }
        if self.default_days_past_due > 3_660 {
            return Err(FinanceError::invalid("default_days_past_due", "at most 10 years"));
        }
        Ok(())
    }
}
