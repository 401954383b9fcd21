//! Collateral on a date: the commitment versions in force, the facility's
//! invoices, and the principal drawn and held by then. Everything here
//! filters by the dates events carry (issue, delivery, value, funding and
//! release dates), never by when they were recorded, so the figures of a
//! past day can be recomputed at any later time.

use offtake_ledger::{Currency, LedgerError};
use time::Date;

use crate::aging::{aging, AgingReport};
use crate::base::{borrowing_base, Availability, BaseInput};
use crate::error::FinanceError;
use crate::model::{kind, AdvanceStatus, Commitment, Facility, Invoice};
use crate::reserves::Reserve;

use super::{Finance, MAX_ATTEMPTS};

/// What a facility's base is computed from on one date.
pub(crate) struct Collateral {
    pub commitments: Vec<Commitment>,
    pub invoices: Vec<Invoice>,
}

impl Collateral {
    pub fn base(&self, f: &Facility, as_of: Date, outstanding_minor: i64, pending_minor: i64) -> Availability {
        borrowing_base(&BaseInput {
            terms: &f.terms,
            collateral: &f.collateral,
            commitments: &self.commitments,
            invoices: &self.invoices,
            reserves: &f.reserves,
            as_of,
            outstanding_minor,
            pending_minor,
        })
    }
}

impl Finance {
    pub(crate) async fn collateral_on(&self, f: &Facility, as_of: Date) -> Result<Collateral, FinanceError> {
        let commitments = self.commitments_as_of(&f.maker, f.terms.currency, as_of).await?;
        let invoices = self.invoices_of_facility(&f.id).await?;
        Ok(Collateral { commitments, invoices })
    }

    /// The maker's commitments in `currency` as in force at the end of
    /// `as_of`: for each, the latest version issued on or before it (none
    /// before its first version), with the deliveries recorded since (the
    /// base counts each from its own date).
    pub async fn commitments_as_of(
        &self,
        maker: &str,
        currency: Currency,
        as_of: Date,
    ) -> Result<Vec<Commitment>, FinanceError> {
        let mut out = Vec::new();
        for current in self.commitments_of_maker(maker).await?.into_iter().filter(|c| c.currency == currency) {
            if current.issued_on <= as_of {
                out.push(current);
                continue;
            }
            let versions = self.commitment_versions(&current.doc_id).await?;
            let Some(then) = versions.into_iter().rev().find(|v| v.issued_on <= as_of) else { continue };
            out.push(with_deliveries_of(then, &current));
        }
        Ok(out)
    }

    /// Posted principal and pending holds at the end of `as_of`, from the
    /// ledger's effective dates and the advances' decision dates.
    pub(crate) async fn drawn_on(&self, f: &Facility, as_of: Date) -> Result<(i64, i64), FinanceError> {
        let outstanding_minor: i64 = self.principal_deltas(f).await?.range(..=as_of).map(|(_, d)| *d).sum();
        let pending_minor = self
            .advances_of_facility(&f.id)
            .await?
            .iter()
            .filter(|a| a.requested_on <= as_of)
            .filter(|a| {
                let resolved_on = match a.status {
                    AdvanceStatus::Pending => None,
                    AdvanceStatus::Funded => a.funded_on,
                    AdvanceStatus::Rejected | AdvanceStatus::Expired => Some(a.released_on.unwrap_or(a.requested_on)),
                };
                resolved_on.is_none_or(|d| d > as_of)
            })
            .map(|a| a.amount_minor)
            .sum();
        Ok((outstanding_minor, pending_minor))
    }
}

/// An older version of a commitment, with each tranche's deliveries as
/// recorded now (deliveries are dated; the older version did not know the
/// later ones).
fn with_deliveries_of(mut then: Commitment, current: &Commitment) -> Commitment {
    for t in &mut then.tranches {
        if let Some(now) = current.tranches.iter().find(|x| x.id == t.id) {
            if !now.deliveries.is_empty() {
                t.deliveries = now.deliveries.clone();
            }
        }
    }
    then
}

impl Finance {
    /// Aging of a facility's invoices at the end of `as_of`.
    pub async fn aging(&self, facility: &str, as_of: Date) -> Result<AgingReport, FinanceError> {
        let f = self.facility(facility).await?;
        let invoices: Vec<Invoice> = self.invoices_of_facility(&f.id).await?;
        Ok(aging(&f.id, &invoices, as_of, f.terms.grace_days, f.collateral.default_days_past_due))
    }

    /// Sets (or, with `ReserveAmount::Removed`, lifts) a named reserve on a
    /// facility from `effective_on`. The lender's decision; the caller
    /// checks who asks. Setting the same reserve again changes nothing.
    pub async fn set_reserve(&self, facility: &str, reserve: Reserve) -> Result<Facility, FinanceError> {
        reserve.validate()?;
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Facility>(kind::FACILITY, facility).await?;
            if cur.value.reserves.contains(&reserve) {
                return Ok(cur.value);
            }
            let mut next = cur.value;
            next.reserves.push(reserve.clone());
            match self.save(kind::FACILITY, facility, cur.version, &next).await {
                Ok(_) => return Ok(next),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }
}
