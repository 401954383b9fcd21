//! Reserves: named amounts a lender holds back from the borrowing base
//! (a fixed amount, or a share of the base). Each setting is kept with the
//! day it takes effect, so the reserves of any past date can be recomputed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::FinanceError;
use crate::rate::{apply_bps_floor, BPS_PER_UNIT};

/// What a reserve holds back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReserveAmount {
    Fixed {
        amount_minor: i64,
    },
    /// A share of the borrowing base (rounded down).
    Percent {
        bps: u32,
    },
    /// The reserve is lifted from this day on.
    Removed,
}

/// One setting of a named reserve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserve {
    pub name: String,
    pub effective_on: Date,
    pub amount: ReserveAmount,
}

impl Reserve {
    pub fn validate(&self) -> Result<(), FinanceError> {
        crate::service::check_id("reserve", &self.name)?;
        match self.amount {
            ReserveAmount::Fixed { amount_minor } if amount_minor <= 0 => {
                Err(FinanceError::invalid("amount", "a fixed reserve must be positive"))
            }
            ReserveAmount::Percent { bps } if bps == 0 || bps > BPS_PER_UNIT => {
                Err(FinanceError::invalid("bps", "a percent reserve is 1 to 10000 bps"))
            }
            _ => Ok(()),
        }
    }
}

/// A reserve in force on a date and what it holds back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReserveLine {
    pub name: String,
    pub effective_on: Date,
    pub amount: ReserveAmount,
    pub reserve_minor: i64,
}

/// The reserves in force at the end of `as_of` (the latest setting of each
/// name dated on or before it), applied to `base_minor`.
pub fn reserves_on(settings: &[Reserve], as_of: Date, base_minor: i64) -> Vec<ReserveLine> {
    let mut latest: BTreeMap<&str, &Reserve> = BTreeMap::new();
    for r in settings.iter().filter(|r| r.effective_on <= as_of) {
        // Later in the list wins on the same day: settings are appended.
        match latest.get(r.name.as_str()) {
            Some(prev) if prev.effective_on > r.effective_on => {}
            _ => {
                latest.insert(r.name.as_str(), r);
            }
        }
    }
    latest
        .into_values()
        .filter_map(|r| {
            let reserve_minor = match r.amount {
                ReserveAmount::Fixed { amount_minor } => amount_minor,
                ReserveAmount::Percent { bps } => apply_bps_floor(base_minor.max(0), bps),
                ReserveAmount::Removed => return None,
            };
            Some(ReserveLine { name: r.name.clone(), effective_on: r.effective_on, amount: r.amount, reserve_minor })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn set(name: &str, on: Date, amount: ReserveAmount) -> Reserve {
        Reserve { name: name.into(), effective_on: on, amount }
    }

    #[test]
    fn latest_setting_per_name_on_the_date() {
        let settings = vec![
            set("dilution", date!(2026 - 01 - 01), ReserveAmount::Percent { bps: 500 }),
            set("rent", date!(2026 - 02 - 01), ReserveAmount::Fixed { amount_minor: 1_000_000 }),
            set("rent", date!(2026 - 03 - 01), ReserveAmount::Removed),
        ];
        let lines = reserves_on(&settings, date!(2026 - 02 - 15), 12_345_678);
        // 5 % of 123,456.78 = 6,172.8390 → 6,172.83 (down).
        assert_eq!(
            lines.iter().map(|l| (l.name.as_str(), l.reserve_minor)).collect::<Vec<_>>(),
            vec![("dilution", 617_283), ("rent", 1_000_000)]
        );
        assert_eq!(reserves_on(&settings, date!(2026 - 03 - 01), 12_345_678).len(), 1);
        assert!(reserves_on(&settings, date!(2025 - 12 - 31), 12_345_678).is_empty());
    }
}
