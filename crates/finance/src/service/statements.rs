//! Statements: what each party reads about its own position. Computed from
//! the ledger (balances) and the records (facilities, commitments,
//! invoices, advances); nothing here writes.

use std::collections::BTreeMap;

use offtake_ledger::{AccountCode, AsOf, LedgerError};
use serde::Serialize;
use time::Date;

use crate::chart::{self, FacilityPart};
use crate::error::FinanceError;
use crate::model::{AdvanceStatus, Invoice, InvoiceStatus, PartyRole, TrancheStatus};

use super::Finance;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MakerFacilityLine {
    pub facility: String,
    pub lender: String,
    pub currency: String,
    pub limit_minor: i64,
    pub base_minor: i64,
    pub drawn_minor: i64,
    pub pending_minor: i64,
    pub available_minor: i64,
    pub interest_due_minor: i64,
    pub fees_due_minor: i64,
    pub penalty_due_minor: i64,
    pub pending_advances: usize,
    /// Open invoices (collected through this facility) by due date.
    pub next_due: Vec<DueLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DueLine {
    pub invoice: String,
    pub brand: String,
    pub due_on: Date,
    pub open_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MakerStatement {
    pub maker: String,
    pub as_of: Date,
    pub facilities: Vec<MakerFacilityLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExposureLine {
    pub name: String,
    pub currency: String,
    /// Maker lines: principal + interest + fees + penalty owed. Brand lines:
    /// open invoices plus undelivered committed value to financed makers.
    pub exposure_minor: i64,
    pub detail: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LenderStatement {
    pub lender: String,
    pub as_of: Date,
    pub per_maker: Vec<ExposureLine>,
    pub per_brand: Vec<ExposureLine>,
    /// Income booked, by kind and currency ("interest:USD" → minor units).
    pub income: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrandCommitmentLine {
    pub commitment: String,
    pub maker: String,
    pub currency: String,
    pub version: i64,
    pub status: String,
    pub committed_minor: i64,
    pub delivered_minor: i64,
    pub cancelled_minor: i64,
    pub undelivered_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrandStatement {
    pub brand: String,
    pub commitments: Vec<BrandCommitmentLine>,
    pub invoiced_minor: i64,
    pub paid_minor: i64,
    pub outstanding_minor: i64,
    pub invoices: Vec<DueLine>,
    /// Credit from overpayments, by currency.
    pub credit: BTreeMap<String, i64>,
}

impl Finance {
    /// Posted balance, 0 for an account no entry has opened yet.
    async fn posted_or_zero(&self, code: &AccountCode) -> Result<i64, FinanceError> {
        match self.store.balance(&self.ledger, code, AsOf::Now).await {
            Ok(b) => Ok(b.posted_minor),
            Err(LedgerError::UnknownAccount(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    async fn owed(&self, facility: &str, part: FacilityPart, c: offtake_ledger::Currency) -> Result<i64, FinanceError> {
        self.posted_or_zero(&chart::facility(facility, part, c)?.code).await
    }

    pub async fn maker_statement(&self, maker: &str, as_of: Date) -> Result<MakerStatement, FinanceError> {
        self.party_as(maker, PartyRole::Maker).await?;
        let invoices = self.invoices_of_maker(maker).await?;
        let mut facilities = Vec::new();
        for f in self.facilities_of_party(maker).await?.into_iter().filter(|f| f.maker == maker) {
            let advances = self.advances_of_facility(&f.id).await?;
            let a = self.availability(&f.id, as_of).await?;
            let c = f.terms.currency;
            let next_due = due_lines(invoices.iter().filter(|i| i.facility == f.id));
            facilities.push(MakerFacilityLine {
                facility: f.id.clone(),
                lender: f.lender.clone(),
                currency: c.to_string(),
                limit_minor: a.limit_minor,
                base_minor: a.base_minor,
                drawn_minor: a.outstanding_minor,
                pending_minor: a.pending_minor,
                available_minor: a.available_minor,
                interest_due_minor: self.owed(&f.id, FacilityPart::Interest, c).await?,
                fees_due_minor: self.owed(&f.id, FacilityPart::Fees, c).await?,
                penalty_due_minor: self.owed(&f.id, FacilityPart::Penalty, c).await?,
                pending_advances: advances
                    .iter()
                    .filter(|x| x.facility == f.id && x.status == AdvanceStatus::Pending)
                    .count(),
                next_due,
            });
        }
        Ok(MakerStatement { maker: maker.to_owned(), as_of, facilities })
    }

    pub async fn lender_statement(&self, lender: &str, as_of: Date) -> Result<LenderStatement, FinanceError> {
        self.party_as(lender, PartyRole::Lender).await?;
        let facilities: Vec<_> =
            self.facilities_of_party(lender).await?.into_iter().filter(|f| f.lender == lender).collect();
        let mut invoices = Vec::new();
        for f in &facilities {
            invoices.extend(self.invoices_of_facility(&f.id).await?);
        }
        let mut commitments = Vec::new();
        let makers: std::collections::BTreeSet<&str> = facilities.iter().map(|f| f.maker.as_str()).collect();
        for maker in makers {
            commitments.extend(self.commitments_of_maker(maker).await?);
        }
        let mut per_maker = Vec::new();
        let mut brands: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
        let mut income = BTreeMap::new();
        for f in &facilities {
            let c = f.terms.currency;
            let mut detail = BTreeMap::new();
            for part in FacilityPart::WATERFALL {
                let owed = self.posted_or_zero(&chart::facility(&f.id, part, c)?.code).await?;
                detail.insert(part.as_str().to_owned(), owed);
            }
            per_maker.push(ExposureLine {
                name: format!("{} ({})", f.maker, f.id),
                currency: c.to_string(),
                exposure_minor: detail.values().sum(),
                detail,
            });
            for i in invoices.iter().filter(|i| i.facility == f.id && i.status == InvoiceStatus::Open) {
                *brands
                    .entry((i.brand.clone(), c.to_string()))
                    .or_default()
                    .entry("open_invoices".into())
                    .or_default() += i.open_minor();
            }
            for cm in commitments.iter().filter(|cm| cm.maker == f.maker && cm.currency == c) {
                *brands
                    .entry((cm.brand.clone(), c.to_string()))
                    .or_default()
                    .entry("undelivered_commitments".into())
                    .or_default() += cm.undelivered_minor();
            }
        }
        let currencies: std::collections::BTreeSet<_> = facilities.iter().map(|f| f.terms.currency).collect();
        for c in currencies {
            for part in [FacilityPart::Interest, FacilityPart::Fees, FacilityPart::Penalty] {
                let booked = self.posted_or_zero(&chart::income(lender, part, c)?.code).await?;
                income.insert(format!("{}:{c}", part.as_str()), booked);
            }
        }
        let per_brand = brands
            .into_iter()
            .map(|((brand, currency), detail)| ExposureLine {
                name: brand,
                currency,
                exposure_minor: detail.values().sum(),
                detail,
            })
            .collect();
        Ok(LenderStatement { lender: lender.to_owned(), as_of, per_maker, per_brand, income })
    }

    pub async fn brand_statement(&self, brand: &str) -> Result<BrandStatement, FinanceError> {
        self.party_as(brand, PartyRole::Brand).await?;
        let mut commitments = Vec::new();
        let mut currencies = std::collections::BTreeSet::new();
        for c in self.commitments_of_brand(brand).await?.into_iter() {
            let sum = |pred: &dyn Fn(TrancheStatus) -> bool| {
                c.tranches.iter().filter(|t| pred(t.status)).map(|t| t.value_minor).sum::<i64>()
            };
            currencies.insert(c.currency);
            commitments.push(BrandCommitmentLine {
                commitment: c.doc_id.clone(),
                maker: c.maker.clone(),
                currency: c.currency.to_string(),
                version: c.doc_version,
                status: format!("{:?}", c.status).to_lowercase(),
                committed_minor: sum(&|_| true),
                delivered_minor: sum(&|s| matches!(s, TrancheStatus::Delivered | TrancheStatus::Invoiced)),
                cancelled_minor: sum(&|s| s == TrancheStatus::Cancelled),
                undelivered_minor: c.undelivered_minor(),
            });
        }
        let invoices: Vec<_> = self.invoices_of_brand(brand).await?;
        let open = due_lines(&invoices);
        let mut credit = BTreeMap::new();
        for i in &invoices {
            currencies.insert(i.currency);
        }
        for c in currencies {
            credit.insert(c.to_string(), self.posted_or_zero(&chart::brand_credit(brand, c)?.code).await?);
        }
        Ok(BrandStatement {
            brand: brand.to_owned(),
            commitments,
            invoiced_minor: invoices.iter().map(|i| i.amount_minor).sum(),
            paid_minor: invoices.iter().map(|i| i.paid_minor()).sum(),
            outstanding_minor: invoices.iter().map(|i| i.open_minor()).sum(),
            invoices: open,
            credit,
        })
    }
}

/// The open invoices among `invoices` as due lines, soonest due first
/// (then by invoice id, so equal days keep one order).
fn due_lines<'a>(invoices: impl IntoIterator<Item = &'a Invoice>) -> Vec<DueLine> {
    let mut lines: Vec<DueLine> = invoices
        .into_iter()
        .filter(|i| i.status == InvoiceStatus::Open)
        .map(|i| DueLine {
            invoice: i.id.clone(),
            brand: i.brand.clone(),
            due_on: i.due_on,
            open_minor: i.open_minor(),
        })
        .collect();
    lines.sort_by_key(|d| (d.due_on, d.invoice.clone()));
    lines
}
