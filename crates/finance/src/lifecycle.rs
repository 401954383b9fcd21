//! Tranche lifecycle: where a tranche stands on a date. Computed, never
//! stored, so any past date answers what was true then: a delivery counts
//! from its own date, not from the day it was recorded.

use serde::Serialize;
use time::{Date, Duration};

use crate::model::{Tranche, TrancheStatus};

/// The state of a tranche's open (undelivered) part on a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrancheState {
    /// Before `delivery_start`.
    Scheduled,
    /// From `delivery_start` through `delivery_end + delivery_grace_days`.
    InWindow,
    /// Nothing left open.
    Delivered,
    /// Past `delivery_end + delivery_grace_days` with value still open.
    Missed,
    Cancelled,
}

impl TrancheState {
    pub fn as_str(self) -> &'static str {
        match self {
            TrancheState::Scheduled => "scheduled",
            TrancheState::InWindow => "in_window",
            TrancheState::Delivered => "delivered",
            TrancheState::Missed => "missed",
            TrancheState::Cancelled => "cancelled",
        }
    }
}

/// A tranche on a date: what was delivered by then and what is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrancheView {
    pub state: TrancheState,
    /// Delivered on or before the date.
    pub delivered_minor: i64,
    /// Still to deliver on the date (0 when cancelled).
    pub open_minor: i64,
    /// Deliveries dated on or before the date.
    pub deliveries: usize,
}

/// Last day a tranche's open value may still be delivered on time.
pub fn last_on_time_day(t: &Tranche, grace_days: u32) -> Date {
    t.delivery_end.checked_add(Duration::days(i64::from(grace_days))).unwrap_or(Date::MAX)
}

/// Where `t` stands at the end of `as_of`. `cancelled` is the tranche's
/// cancellation as of that date (from the commitment version then in force).
pub fn tranche_view(t: &Tranche, as_of: Date, grace_days: u32, cancelled: bool) -> TrancheView {
    let legacy_whole =
        t.deliveries.is_empty() && matches!(t.status, TrancheStatus::Delivered | TrancheStatus::Invoiced);
    let (delivered_minor, deliveries) = if legacy_whole {
        (t.value_minor, 1)
    } else {
        let dated: Vec<_> = t.deliveries.iter().filter(|d| d.delivered_on <= as_of).collect();
        (dated.iter().map(|d| d.value_minor).sum(), dated.len())
    };
    let rest = (t.value_minor - delivered_minor).max(0);
    let (state, open_minor) = if cancelled {
        (TrancheState::Cancelled, 0)
    } else if rest == 0 {
        (TrancheState::Delivered, 0)
    } else if as_of < t.delivery_start {
        (TrancheState::Scheduled, rest)
    } else if as_of <= last_on_time_day(t, grace_days) {
        (TrancheState::InWindow, rest)
    } else {
        (TrancheState::Missed, rest)
    };
    TrancheView { state, delivered_minor, open_minor, deliveries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Delivery;
    use time::macros::date;

    fn tranche() -> Tranche {
        Tranche {
            id: "t".into(),
            quantity: "100".into(),
            unit_price: "10.00".into(),
            value_minor: 100_000,
            delivery_start: date!(2026 - 03 - 01),
            delivery_end: date!(2026 - 03 - 31),
            status: TrancheStatus::Scheduled,
            invoice_id: None,
            deliveries: vec![],
        }
    }

    #[test]
    fn states_follow_the_calendar() {
        let t = tranche();
        let at = |d| tranche_view(&t, d, 15, false).state;
        assert_eq!(at(date!(2026 - 02 - 28)), TrancheState::Scheduled);
        assert_eq!(at(date!(2026 - 03 - 01)), TrancheState::InWindow);
        // 31 March + 15 days = 15 April: the last day on time.
        assert_eq!(at(date!(2026 - 04 - 15)), TrancheState::InWindow);
        assert_eq!(at(date!(2026 - 04 - 16)), TrancheState::Missed);
        assert_eq!(tranche_view(&t, date!(2026 - 04 - 16), 15, true).state, TrancheState::Cancelled);
    }

    #[test]
    fn a_part_delivery_counts_from_its_own_date() {
        let mut t = tranche();
        t.deliveries.push(Delivery {
            number: 1,
            delivered_on: date!(2026 - 03 - 10),
            quantity: "40".into(),
            value_minor: 40_000,
            invoice: "c--t".into(),
        });
        let before = tranche_view(&t, date!(2026 - 03 - 09), 15, false);
        assert_eq!((before.delivered_minor, before.open_minor), (0, 100_000));
        let after = tranche_view(&t, date!(2026 - 03 - 10), 15, false);
        assert_eq!((after.state, after.delivered_minor, after.open_minor), (TrancheState::InWindow, 40_000, 60_000));
        // The rest is missed after the grace; the delivered part stays delivered.
        let late = tranche_view(&t, date!(2026 - 04 - 16), 15, false);
        assert_eq!((late.state, late.delivered_minor, late.open_minor), (TrancheState::Missed, 40_000, 60_000));
    }
}
