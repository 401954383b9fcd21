//! The waterfall: how one payment splits, decided on numbers alone.
//!
//! Money applied to a brand's invoices belongs to the maker, who owes the
//! lender; it pays the maker's facility in the order penalties → fees →
//! interest → principal, and whatever is left is the maker's (remitted).
//! Money beyond the invoices' open amounts is an overpayment: a credit owed
//! back to the brand.

use offtake_finance::chart::FacilityPart;
use serde::{Deserialize, Serialize};

/// What the payment meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaterfallInput {
    pub amount_minor: i64,
    /// Open invoices in the order they are to be paid, with their open
    /// amounts (an explicit allocation caps each one's amount).
    pub invoices: Vec<InvoiceOpen>,
    /// What the maker owes on the facility, by part.
    pub owed: Vec<(FacilityPart, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceOpen {
    pub invoice: String,
    pub open_minor: i64,
    /// At most this much goes to the invoice (explicit allocation).
    pub cap_minor: Option<i64>,
}

/// How a payment was applied, part by part: the statement the user reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub amount_minor: i64,
    pub invoices: Vec<InvoiceApplied>,
    /// Sum of `invoices`.
    pub applied_minor: i64,
    /// Paid to the lender, in waterfall order.
    pub debt: Vec<PartPaid>,
    pub debt_paid_minor: i64,
    /// Applied but not owed to the lender: payable to the maker.
    pub remainder_minor: i64,
    /// Beyond every invoice: a credit owed to the brand.
    pub overpayment_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceApplied {
    pub invoice: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPaid {
    pub part: FacilityPart,
    pub amount_minor: i64,
}

/// Splits a payment. Invariants (asserted): applied + overpayment = amount,
/// debt + remainder = applied, no invoice or debt receives more than is open.
pub fn split(input: &WaterfallInput) -> Breakdown {
    assert!(input.amount_minor >= 0, "payments are positive");
    let mut left = input.amount_minor;
    let mut invoices = Vec::new();
    for inv in &input.invoices {
        let room = inv.cap_minor.map_or(inv.open_minor, |c| c.min(inv.open_minor)).max(0);
        let take = left.min(room);
        if take > 0 {
            invoices.push(InvoiceApplied { invoice: inv.invoice.clone(), amount_minor: take });
            left -= take;
        }
    }
    let applied_minor = input.amount_minor - left;
    let mut to_debt = applied_minor;
    let mut debt = Vec::new();
    for part in FacilityPart::WATERFALL {
        let owed: i64 = input.owed.iter().filter(|(p, _)| *p == part).map(|(_, v)| (*v).max(0)).sum();
        let take = to_debt.min(owed);
        if take > 0 {
            debt.push(PartPaid { part, amount_minor: take });
            to_debt -= take;
        }
    }
    let debt_paid_minor = applied_minor - to_debt;
    let b = Breakdown {
        amount_minor: input.amount_minor,
        invoices,
        applied_minor,
        debt,
        debt_paid_minor,
        remainder_minor: to_debt,
        overpayment_minor: left,
    };
    assert_eq!(b.applied_minor + b.overpayment_minor, b.amount_minor);
    assert_eq!(b.debt_paid_minor + b.remainder_minor, b.applied_minor);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn owed(penalty: i64, fees: i64, interest: i64, principal: i64) -> Vec<(FacilityPart, i64)> {
        vec![
            (FacilityPart::Penalty, penalty),
            (FacilityPart::Fees, fees),
            (FacilityPart::Interest, interest),
            (FacilityPart::Principal, principal),
        ]
    }

    #[test]
    fn design_worked_example() {
        // 50,000.00 against an invoice of 200,000.00; owed: fees 800,
        // interest 2,400, principal 80,000.
        let b = split(&WaterfallInput {
            amount_minor: 5_000_000,
            invoices: vec![InvoiceOpen { invoice: "i".into(), open_minor: 20_000_000, cap_minor: None }],
            owed: owed(0, 80_000, 240_000, 8_000_000),
        });
        let parts: Vec<(FacilityPart, i64)> = b.debt.iter().map(|p| (p.part, p.amount_minor)).collect();
        assert_eq!(
            parts,
            vec![(FacilityPart::Fees, 80_000), (FacilityPart::Interest, 240_000), (FacilityPart::Principal, 4_680_000)]
        );
        assert_eq!((b.remainder_minor, b.overpayment_minor), (0, 0));
    }

    #[test]
    fn oldest_first_then_overpayment_and_remainder() {
        let b = split(&WaterfallInput {
            amount_minor: 1_000,
            invoices: vec![
                InvoiceOpen { invoice: "old".into(), open_minor: 300, cap_minor: None },
                InvoiceOpen { invoice: "new".into(), open_minor: 500, cap_minor: Some(400) },
            ],
            owed: owed(10, 0, 20, 100),
        });
        assert_eq!(b.invoices.iter().map(|i| i.amount_minor).collect::<Vec<_>>(), vec![300, 400]);
        assert_eq!((b.applied_minor, b.overpayment_minor), (700, 300));
        assert_eq!((b.debt_paid_minor, b.remainder_minor), (130, 570));
        assert_eq!(b.debt[0].part, FacilityPart::Penalty);
    }

    proptest! {
        #[test]
        fn parts_always_add_up(
            amount in 0i64..10_000_000,
            opens in prop::collection::vec((0i64..3_000_000, prop::option::of(0i64..3_000_000)), 0..5),
            debts in prop::collection::vec(0i64..2_000_000, 4),
        ) {
            let input = WaterfallInput {
                amount_minor: amount,
                invoices: opens.iter().enumerate().map(|(i, (o, c))| InvoiceOpen { invoice: i.to_string(), open_minor: *o, cap_minor: *c }).collect(),
                owed: owed(debts[0], debts[1], debts[2], debts[3]),
            };
            let b = split(&input);
            for (applied, inv) in b.invoices.iter().zip(input.invoices.iter()) {
                prop_assert!(applied.amount_minor <= inv.open_minor);
            }
            for p in &b.debt {
                let owed = input.owed.iter().find(|(x, _)| *x == p.part).unwrap().1;
                prop_assert!(p.amount_minor <= owed);
            }
            prop_assert_eq!(b.debt.iter().map(|p| p.amount_minor).sum::<i64>(), b.debt_paid_minor);
            prop_assert_eq!(b.invoices.iter().map(|p| p.amount_minor).sum::<i64>(), b.applied_minor);
        }
    }
}
