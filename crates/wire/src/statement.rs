//! Party statements: a maker's facilities and dues, a lender's exposure
//! and income, a brand's commitments, invoices and credit.

use std::collections::BTreeMap;

use offtake_finance::service::{
    BrandStatement as DomainBrand, LenderStatement as DomainLender, MakerStatement as DomainMaker,
};
use offtake_finance::Invoice as DomainInvoice;
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::error::WireError;
use crate::money::Money;

/// An open invoice and when it is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DueLine {
    pub invoice: String,
    pub brand: String,
    pub due_on: Date,
    pub open: Money,
}

/// One facility of a maker: what it may draw and what it owes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MakerFacilityLine {
    pub facility: String,
    pub lender: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub limit: Money,
    pub base: Money,
    pub drawn: Money,
    pub pending: Money,
    pub available: Money,
    pub interest_due: Money,
    pub fees_due: Money,
    pub penalty_due: Money,
    pub pending_advances: u64,
    /// Open invoices collected through this facility, by due date.
    pub next_due: Vec<DueLine>,
}

/// `GET /v1/parties/{maker}/statement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MakerStatement {
    pub maker: String,
    pub as_of: Date,
    pub facilities: Vec<MakerFacilityLine>,
}

impl TryFrom<DomainMaker> for MakerStatement {
    type Error = WireError;

    fn try_from(s: DomainMaker) -> Result<Self, WireError> {
        let mut facilities = Vec::with_capacity(s.facilities.len());
        for l in s.facilities {
            let c = Currency::from_code(&l.currency)?;
            let m = |minor| Money::new(minor, c);
            facilities.push(MakerFacilityLine {
                limit: m(l.limit_minor),
                base: m(l.base_minor),
                drawn: m(l.drawn_minor),
                pending: m(l.pending_minor),
                available: m(l.available_minor),
                interest_due: m(l.interest_due_minor),
                fees_due: m(l.fees_due_minor),
                penalty_due: m(l.penalty_due_minor),
                pending_advances: u64::try_from(l.pending_advances).unwrap_or(u64::MAX),
                next_due: l
                    .next_due
                    .into_iter()
                    .map(|d| DueLine { invoice: d.invoice, brand: d.brand, due_on: d.due_on, open: m(d.open_minor) })
                    .collect(),
                facility: l.facility,
                lender: l.lender,
                currency: l.currency,
            });
        }
        Ok(MakerStatement { maker: s.maker, as_of: s.as_of, facilities })
    }
}

/// A lender's exposure to one maker or one brand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExposureLine {
    pub name: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Makers: principal + interest + fees + penalty owed. Brands: open
    /// invoices plus undelivered committed value to financed makers.
    pub exposure: Money,
    /// The parts of `exposure` by name (`principal`, `interest`, …).
    pub detail: BTreeMap<String, Money>,
}

/// Income a lender booked, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncomeLine {
    /// `interest`, `fees` or `penalty`.
    #[schema(example = "interest")]
    pub kind: String,
    pub amount: Money,
}

/// `GET /v1/parties/{lender}/statement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LenderStatement {
    pub lender: String,
    pub as_of: Date,
    pub per_maker: Vec<ExposureLine>,
    pub per_brand: Vec<ExposureLine>,
    pub income: Vec<IncomeLine>,
}

impl TryFrom<DomainLender> for LenderStatement {
    type Error = WireError;

    fn try_from(s: DomainLender) -> Result<Self, WireError> {
        let mut income = Vec::with_capacity(s.income.len());
        for (key, minor) in s.income {
            let Some((kind, code)) = key.split_once(':') else {
                return Err(WireError::Malformed { what: "income line", reason: format!("{key:?} is not kind:CUR") });
            };
            income.push(IncomeLine { kind: kind.to_owned(), amount: Money::in_code(minor, code)? });
        }
        // The domain's line type is not nameable here, hence a closure.
        let line = |currency: String, name: String, exposure_minor: i64, detail: BTreeMap<String, i64>| {
            let c = Currency::from_code(&currency)?;
            Ok::<_, WireError>(ExposureLine {
                exposure: Money::new(exposure_minor, c),
                detail: detail.into_iter().map(|(k, v)| (k, Money::new(v, c))).collect(),
                name,
                currency,
            })
        };
        Ok(LenderStatement {
            per_maker: s
                .per_maker
                .into_iter()
                .map(|l| line(l.currency, l.name, l.exposure_minor, l.detail))
                .collect::<Result<_, _>>()?,
            per_brand: s
                .per_brand
                .into_iter()
                .map(|l| line(l.currency, l.name, l.exposure_minor, l.detail))
                .collect::<Result<_, _>>()?,
            lender: s.lender,
            as_of: s.as_of,
            income,
        })
    }
}

/// One commitment of a brand, by tranche status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrandCommitmentLine {
    pub commitment: String,
    pub maker: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub version: i64,
    /// `active` or `cancelled`.
    pub status: String,
    pub committed: Money,
    pub delivered: Money,
    pub cancelled: Money,
    pub undelivered: Money,
}

/// A brand's invoices in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrandTotals {
    pub invoiced: Money,
    pub paid: Money,
    pub outstanding: Money,
}

/// `GET /v1/parties/{brand}/statement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrandStatement {
    pub brand: String,
    pub commitments: Vec<BrandCommitmentLine>,
    /// Invoiced, paid and outstanding, one line per currency.
    pub totals: Vec<BrandTotals>,
    /// Open invoices by due date.
    pub invoices: Vec<DueLine>,
    /// Credit from overpayments, one amount per currency.
    pub credit: Vec<Money>,
}

impl BrandStatement {
    /// `invoices` are the brand's invoices: the domain statement sums them
    /// without their currencies, the wire keeps one total per currency.
    pub fn of(s: DomainBrand, invoices: &[DomainInvoice]) -> Result<Self, WireError> {
        let mine: Vec<&DomainInvoice> = invoices.iter().filter(|i| i.brand == s.brand).collect();
        let mut by_currency: BTreeMap<Currency, (i64, i64, i64)> = BTreeMap::new();
        for i in &mine {
            let t = by_currency.entry(i.currency).or_default();
            t.0 += i.amount_minor;
            t.1 += i.paid_minor();
            t.2 += i.open_minor();
        }
        let totals = by_currency
            .into_iter()
            .map(|(c, (invoiced, paid, outstanding))| BrandTotals {
                invoiced: Money::new(invoiced, c),
                paid: Money::new(paid, c),
                outstanding: Money::new(outstanding, c),
            })
            .collect();
        let currency_of = |id: &str| mine.iter().find(|i| i.id == id).map(|i| i.currency);
        let mut due = Vec::with_capacity(s.invoices.len());
        for d in s.invoices {
            let c = currency_of(&d.invoice).ok_or_else(|| WireError::Malformed {
                what: "brand statement",
                reason: format!("invoice {:?} is not the brand's", d.invoice),
            })?;
            due.push(DueLine {
                open: Money::new(d.open_minor, c),
                invoice: d.invoice,
                brand: d.brand,
                due_on: d.due_on,
            });
        }
        let mut commitments = Vec::with_capacity(s.commitments.len());
        for l in s.commitments {
            let c = Currency::from_code(&l.currency)?;
            commitments.push(BrandCommitmentLine {
                committed: Money::new(l.committed_minor, c),
                delivered: Money::new(l.delivered_minor, c),
                cancelled: Money::new(l.cancelled_minor, c),
                undelivered: Money::new(l.undelivered_minor, c),
                commitment: l.commitment,
                maker: l.maker,
                currency: l.currency,
                version: l.version,
                status: l.status,
            });
        }
        let credit =
            s.credit.into_iter().map(|(code, minor)| Money::in_code(minor, &code)).collect::<Result<_, _>>()?;
        Ok(BrandStatement { brand: s.brand, commitments, totals, invoices: due, credit })
    }
}

/// A party's statement; `kind` says which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartyStatement {
    Maker(MakerStatement),
    Lender(LenderStatement),
    Brand(BrandStatement),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_statements_say_their_kind() {
        let s = PartyStatement::Maker(MakerStatement {
            maker: "m1".into(),
            as_of: time::macros::date!(2026 - 04 - 05),
            facilities: vec![],
        });
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "maker", "maker": "m1", "as_of": "2026-04-05", "facilities": []}));
        assert_eq!(serde_json::from_value::<PartyStatement>(json).unwrap(), s);
    }
}
