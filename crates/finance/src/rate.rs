//! Rates, day counts and rounding: the arithmetic every charge goes through.
//!
//! Rates are integers in basis points (`rate_bps`: 1,200 = 12 %), never
//! floats. Intermediate results are exact `Decimal`s; rounding to the
//! currency's minor unit happens once, with a named strategy, at the point
//! an amount is booked.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::FinanceError;

/// Basis points in one (100 %).
pub const BPS_PER_UNIT: u32 = 10_000;

/// How a year is counted when turning an annual rate into a daily one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Actual days / 360 (money-market convention; US lenders).
    Act360,
    /// Actual days / 365, also in leap years.
    Act365F,
}

impl DayCount {
    pub fn year_days(self) -> u32 {
        match self {
            DayCount::Act360 => 360,
            DayCount::Act365F => 365,
        }
    }
}

/// How an exact amount is rounded to the minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Ties to even (banker's rounding): unbiased over many accruals.
    HalfEven,
    /// Ties away from zero (what most people do by hand).
    HalfUp,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        }
    }

    /// Rounds an exact amount in minor units to a whole minor unit.
    pub fn round_minor(self, exact_minor: Decimal) -> Result<i64, FinanceError> {
        let rounded = exact_minor.round_dp_with_strategy(0, self.strategy());
        i64::try_from(rounded.mantissa() / 10i128.pow(rounded.scale())).map_err(|_| FinanceError::AmountOverflow)
    }
}

/// `amount_minor × bps / 10,000`, exact.
pub fn apply_bps(amount_minor: i64, bps: u32) -> Decimal {
    Decimal::from(amount_minor) * Decimal::from(bps) / Decimal::from(BPS_PER_UNIT)
}

/// `amount_minor × bps / 10,000`, rounded toward zero: for limits and
/// collateral values, where the lender never counts a fraction it does not
/// have.
pub fn apply_bps_floor(amount_minor: i64, bps: u32) -> i64 {
    let v = apply_bps(amount_minor, bps).trunc();
    i64::try_from(v.mantissa()).unwrap_or(i64::MAX)
}

/// One day's interest on `principal_minor` at `rate_bps` a year, exact.
pub fn daily_interest_exact(principal_minor: i64, rate_bps: u32, day_count: DayCount) -> Decimal {
    apply_bps(principal_minor, rate_bps) / Decimal::from(day_count.year_days())
}

/// Days from `from` to `to` (positive when `to` is later).
pub fn days_between(from: Date, to: Date) -> i64 {
    (to - from).whole_days()
}

/// Splits `total_minor` over `weights` in proportion, to the minor unit,
/// by the largest-remainder method: the parts always add up to the total,
/// and ties go to the earlier weight (deterministic).
pub fn allocate_largest_remainder(total_minor: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum <= 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total_minor;
        return out;
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let num = i128::from(total_minor) * i128::from(*w);
        let q = num.div_euclid(sum);
        parts.push(q);
        remainders.push((num.rem_euclid(sum), i));
        given += q;
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = i128::from(total_minor) - given;
    for (_, i) in remainders {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| p as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_strategies_differ_only_on_ties() {
        let tie = Decimal::new(25, 1); // 2.5 minor units
        assert_eq!(Rounding::HalfEven.round_minor(tie).unwrap(), 2);
        assert_eq!(Rounding::HalfUp.round_minor(tie).unwrap(), 3);
        let not_tie = Decimal::new(2_512, 3);
        assert_eq!(Rounding::HalfEven.round_minor(not_tie).unwrap(), 3);
        assert_eq!(Rounding::HalfUp.round_minor(-tie).unwrap(), -3);
    }

    #[test]
    fn worked_example_interest_for_ninety_days() {
        // 80,000.00 at 12 % for 90 days.
        let day = daily_interest_exact(8_000_000, 1_200, DayCount::Act360);
        assert_eq!(Rounding::HalfEven.round_minor(day * Decimal::from(90)).unwrap(), 240_000);
        let day = daily_interest_exact(8_000_000, 1_200, DayCount::Act365F);
        assert_eq!(Rounding::HalfEven.round_minor(day * Decimal::from(90)).unwrap(), 236_712);
    }

    #[test]
    fn largest_remainder_examples() {
        assert_eq!(allocate_largest_remainder(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate_largest_remainder(10, &[0, 0]), vec![10, 0]);
        assert_eq!(allocate_largest_remainder(7, &[2, 5]), vec![2, 5]);
    }

    proptest! {
        #[test]
        fn allocation_always_sums_to_the_total(total in 0i64..1_000_000_000, weights in prop::collection::vec(0i64..1_000_000, 1..12)) {
            let parts = allocate_largest_remainder(total, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            prop_assert!(parts.iter().all(|p| *p >= 0));
        }
    }
}
