//! Balances: running totals per account and the derived posted / available
//! figures. Totals are kept per side and layer so that nothing is lost by
//! netting, and so that "available" can subtract only the holds that reduce
//! the account.

use serde::{Deserialize, Serialize};

use crate::account::{Account, Side};
use crate::currency::Currency;
use crate::entry::Layer;
use crate::error::LedgerError;

/// Cumulative debits and credits of one account, per layer, after some entry.
/// Every leg stores the totals of its account after it is applied, which is
/// what makes "balance as of entry N" one index lookup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceTotals {
    pub posted_debit_minor: i64,
    pub posted_credit_minor: i64,
    pub pending_debit_minor: i64,
    pub pending_credit_minor: i64,
}

impl BalanceTotals {
    /// Adds one leg. A `Release` leg takes back (part of) a hold on the same
    /// side, as TigerBeetle's post/void does: holds are tracked per side so an
    /// incoming hold can never make an outgoing one look smaller.
    pub fn apply(&mut self, side: Side, layer: Layer, amount_minor: i64) -> Result<(), LedgerError> {
        let slot = match (layer, side) {
            (Layer::Posted, Side::Debit) => &mut self.posted_debit_minor,
            (Layer::Posted, Side::Credit) => &mut self.posted_credit_minor,
            (Layer::Pending | Layer::Release, Side::Debit) => &mut self.pending_debit_minor,
            (Layer::Pending | Layer::Release, Side::Credit) => &mut self.pending_credit_minor,
        };
        let next =
            if layer == Layer::Release { slot.checked_sub(amount_minor) } else { slot.checked_add(amount_minor) };
        *slot = next.ok_or(LedgerError::AmountOutOfRange)?;
        debug_assert!(self.pending_debit_minor >= 0 && self.pending_credit_minor >= 0, "released more than held");
        Ok(())
    }

    /// Posted balance on the account's normal side.
    pub fn posted_minor(&self, normal: Side) -> i64 {
        let (d, c) = (i128::from(self.posted_debit_minor), i128::from(self.posted_credit_minor));
        saturate(match normal {
            Side::Debit => d - c,
            Side::Credit => c - d,
        })
    }

    /// Outstanding holds on the side that reduces the account.
    pub fn pending_out_minor(&self, normal: Side) -> i64 {
        match normal {
            Side::Debit => self.pending_credit_minor,
            Side::Credit => self.pending_debit_minor,
        }
    }

    /// Outstanding holds on the side that will increase the account. They do
    /// not count as available until posted.
    pub fn pending_in_minor(&self, normal: Side) -> i64 {
        match normal {
            Side::Debit => self.pending_debit_minor,
            Side::Credit => self.pending_credit_minor,
        }
    }

    /// Posted balance minus the holds that would reduce it.
    pub fn available_minor(&self, normal: Side) -> i64 {
        saturate(i128::from(self.posted_minor(normal)) - i128::from(self.pending_out_minor(normal)))
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Balance of one account at one point of its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account: String,
    pub currency: Currency,
    pub normal_side: Side,
    /// The entry sequence number this balance is as of (0 = before any entry).
    pub as_of_seq: i64,
    pub totals: BalanceTotals,
    pub posted_minor: i64,
    pub pending_in_minor: i64,
    pub pending_out_minor: i64,
    pub available_minor: i64,
}

impl Balance {
    pub fn new(account: &Account, as_of_seq: i64, totals: BalanceTotals) -> Self {
        let normal = account.normal_side;
        Balance {
            account: account.code.as_str().to_owned(),
            currency: account.currency,
            normal_side: normal,
            as_of_seq,
            totals,
            posted_minor: totals.posted_minor(normal),
            pending_in_minor: totals.pending_in_minor(normal),
            pending_out_minor: totals.pending_out_minor(normal),
            available_minor: totals.available_minor(normal),
        }
    }
}

/// Which point of history a balance query asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// After the latest entry.
    Now,
    /// After entry `seq` (inclusive).
    Seq(i64),
    /// After the last entry recorded at or before this instant (microseconds
    /// since the Unix epoch, UTC). Recorded-at is monotonic per ledger.
    RecordedAtUs(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_then_release_leaves_available_unchanged() {
        let mut t = BalanceTotals::default();
        t.apply(Side::Debit, Layer::Posted, 1_000).unwrap();
        t.apply(Side::Credit, Layer::Pending, 300).unwrap();
        assert_eq!(t.available_minor(Side::Debit), 700);
        assert_eq!(t.pending_out_minor(Side::Debit), 300);
        t.apply(Side::Debit, Layer::Pending, 200).unwrap();
        assert_eq!(t.available_minor(Side::Debit), 700, "an incoming hold does not offset an outgoing one");
        t.apply(Side::Credit, Layer::Release, 300).unwrap();
        assert_eq!(t.available_minor(Side::Debit), 1_000);
        assert_eq!(t.pending_out_minor(Side::Debit), 0);
    }

    #[test]
    fn credit_normal_account_mirrors_debit_normal() {
        let mut t = BalanceTotals::default();
        t.apply(Side::Credit, Layer::Posted, 500).unwrap();
        t.apply(Side::Debit, Layer::Pending, 200).unwrap();
        assert_eq!(t.posted_minor(Side::Credit), 500);
        assert_eq!(t.available_minor(Side::Credit), 300);
    }
}
