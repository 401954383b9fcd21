//! Covenants: limits a facility's collateral must keep, evaluated on a
//! day's figures. Pure: the state of each covenant from the availability
//! breakdown and the aging of that day.

use serde::{Deserialize, Serialize};

use crate::aging::AgingReport;
use crate::base::Availability;
use crate::rate::BPS_PER_UNIT;

/// The covenants of a facility (stored on it with these defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CovenantTerms {
    /// Largest share one brand may have of eligible collateral (before the
    /// concentration cap).
    pub max_brand_concentration_bps: u32,
    /// Longest an open invoice may be past due.
    pub max_days_past_due: u32,
    /// Largest missed share of the committed value due so far.
    pub max_missed_delivery_bps: u32,
    /// Least eligible collateral (0 = no minimum).
    pub min_eligible_minor: i64,
    /// Within this share of a limit, a covenant is `near_breach`.
    pub near_breach_margin_bps: u32,
}

impl Default for CovenantTerms {
    fn default() -> Self {
        CovenantTerms {
            max_brand_concentration_bps: 7_000,
            max_days_past_due: 60,
            max_missed_delivery_bps: 1_000,
            min_eligible_minor: 0,
            near_breach_margin_bps: 1_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovenantState {
    Met,
    NearBreach,
    Breached,
}

/// One covenant on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovenantResult {
    /// `max_brand_concentration`, `no_overadvance`, `max_days_past_due`,
    /// `max_missed_delivery_share`, `min_eligible_collateral`.
    pub name: String,
    /// The measured value (bps, days or minor units, as the name says).
    pub value: i64,
    pub limit: i64,
    pub state: CovenantState,
    /// First day of the current state when it is not `met` (set from the
    /// history by the end-of-day run).
    pub since: Option<time::Date>,
}

/// A "no more than" check: near when above limit × (1 − margin).
fn at_most(name: &str, value: i64, limit: i64, margin_bps: u32) -> CovenantResult {
    let near_from = i128::from(limit) * i128::from(BPS_PER_UNIT - margin_bps.min(BPS_PER_UNIT)) / 10_000;
    let state = if value > limit {
        CovenantState::Breached
    } else if i128::from(value) > near_from {
        CovenantState::NearBreach
    } else {
        CovenantState::Met
    };
    CovenantResult { name: name.into(), value, limit, state, since: None }
}

/// A "no less than" check: near when below limit × (1 + margin).
fn at_least(name: &str, value: i64, limit: i64, margin_bps: u32) -> CovenantResult {
    let near_below = i128::from(limit) * i128::from(BPS_PER_UNIT + margin_bps) / 10_000;
    let state = if value < limit {
        CovenantState::Breached
    } else if i128::from(value) < near_below {
        CovenantState::NearBreach
    } else {
        CovenantState::Met
    };
    CovenantResult { name: name.into(), value, limit, state, since: None }
}

fn share_bps(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    i64::try_from(i128::from(part) * i128::from(BPS_PER_UNIT) / i128::from(whole)).unwrap_or(i64::MAX)
}

/// Evaluates every covenant on a day's availability and aging.
pub fn evaluate(terms: &CovenantTerms, a: &Availability, aging: &AgingReport) -> Vec<CovenantResult> {
    let m = terms.near_breach_margin_bps;
    let largest = a.brands.iter().map(|b| b.eligible_minor).max().unwrap_or(0);
    // Committed value due so far: tranches whose window (with grace) has
    // begun, delivered or not; missed = their open value once missed.
    let due_minor: i64 = a
        .tranches
        .iter()
        .filter(|t| {
            !matches!(t.state, crate::lifecycle::TrancheState::Scheduled | crate::lifecycle::TrancheState::Cancelled)
        })
        .map(|t| t.value_minor)
        .sum();
    let missed_minor: i64 =
        a.tranches.iter().filter(|t| t.state == crate::lifecycle::TrancheState::Missed).map(|t| t.open_minor).sum();
    let max_dpd = aging.invoices.iter().map(|l| l.days_past_due).max().unwrap_or(0);
    let mut overadvance = at_most("no_overadvance", a.overadvance_minor, 0, 0);
    if overadvance.state == CovenantState::Met && a.capacity_minor > 0 {
        // Near: less than the margin of capacity left to draw.
        let headroom = a.capacity_minor - a.outstanding_minor;
        if i128::from(headroom) * 10_000 < i128::from(a.capacity_minor) * i128::from(m) {
            overadvance.state = CovenantState::NearBreach;
        }
    }
    vec![
        at_most(
            "max_brand_concentration",
            share_bps(largest, a.eligible_minor),
            terms.max_brand_concentration_bps.into(),
            m,
        ),
        overadvance,
        at_most("max_days_past_due", max_dpd, terms.max_days_past_due.into(), m),
        at_most(
            "max_missed_delivery_share",
            share_bps(missed_minor, due_minor),
            terms.max_missed_delivery_bps.into(),
            m,
        ),
        at_least("min_eligible_collateral", a.eligible_minor, terms.min_eligible_minor, m),
    ]
}

/// Carries `since` from the previous day's results: a state that goes on
/// keeps its start date, a new one starts `today`.
pub fn with_since(
    mut today_results: Vec<CovenantResult>,
    previous: &[CovenantResult],
    today: time::Date,
) -> Vec<CovenantResult> {
    for r in &mut today_results {
        r.since = match r.state {
            CovenantState::Met => None,
            state => {
                previous.iter().find(|p| p.name == r.name && p.state == state).and_then(|p| p.since).or(Some(today))
            }
        };
    }
    today_results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_margins() {
        // Limit 60 days, margin 10 %: near above 54.
        assert_eq!(at_most("d", 54, 60, 1_000).state, CovenantState::Met);
        assert_eq!(at_most("d", 55, 60, 1_000).state, CovenantState::NearBreach);
        assert_eq!(at_most("d", 60, 60, 1_000).state, CovenantState::NearBreach);
        assert_eq!(at_most("d", 61, 60, 1_000).state, CovenantState::Breached);
        // At least 100,000, margin 10 %: near below 110,000.
        assert_eq!(at_least("e", 110_000, 100_000, 1_000).state, CovenantState::Met);
        assert_eq!(at_least("e", 109_999, 100_000, 1_000).state, CovenantState::NearBreach);
        assert_eq!(at_least("e", 99_999, 100_000, 1_000).state, CovenantState::Breached);
    }
}
