//! Facilities: opening, lender capital, availability.

use offtake_ledger::{Action, AmountMinor, AsOf, Currency, LedgerError};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::base::Availability;
use crate::chart::{self, FacilityPart};
use crate::error::FinanceError;
use crate::model::{index, kind, Facility, FacilityStatus, PartyRole};
use crate::terms::{CollateralTerms, FacilityTerms};

use super::{check_id, command, pair, Finance, Versioned};

/// Availability together with the ledger position it was computed at (the
/// snapshot a draw guards on).
pub struct Snapshot {
    pub availability: Availability,
    pub at_seq: i64,
}

impl Finance {
    /// The lender puts capital into the program (cash it can advance).
    pub async fn fund_lender(
        &self,
        lender: &str,
        currency: Currency,
        amount_minor: AmountMinor,
        on: Date,
        reference: &str,
    ) -> Result<i64, FinanceError> {
        self.party_as(lender, PartyRole::Lender).await?;
        if !amount_minor.is_positive() {
            return Err(FinanceError::invalid("amount", "must be positive"));
        }
        check_id("reference", reference)?;
        let cash = chart::lender_cash(lender, currency)?;
        let capital = chart::lender_capital(lender, currency)?;
        self.ensure_accounts(&[cash.clone(), capital.clone()]).await?;
        let c = self
            .commit(command(
                format!("capital:{lender}:{reference}"),
                "lender_capital",
                on,
                serde_json::json!({ "lender": lender, "reference": reference }),
                None,
                Action::Record { legs: pair(&cash, &capital, amount_minor.get()), pending: false },
            ))
            .await?;
        Ok(c.seq)
    }

    /// Opens a facility from a lender to a maker. One open facility per
    /// maker and currency: it finances all of the maker's commitments in
    /// that currency.
    pub async fn open_facility(
        &self,
        id: &str,
        lender: &str,
        maker: &str,
        terms: FacilityTerms,
        opened_on: Date,
    ) -> Result<Facility, FinanceError> {
        self.open_facility_with(id, lender, maker, terms, CollateralTerms::default(), opened_on).await
    }

    /// [`Finance::open_facility`] with collateral rules other than the
    /// defaults. They are fixed at opening, so any past date recomputes
    /// under the rules that applied then.
    pub async fn open_facility_with(
        &self,
        id: &str,
        lender: &str,
        maker: &str,
        terms: FacilityTerms,
        collateral: CollateralTerms,
        opened_on: Date,
    ) -> Result<Facility, FinanceError> {
        check_id("facility", id)?;
        terms.validate()?;
        collateral.validate()?;
        self.party_as(lender, PartyRole::Lender).await?;
        self.party_as(maker, PartyRole::Maker).await?;
        let facility = Facility {
            id: id.to_owned(),
            lender: lender.to_owned(),
            maker: maker.to_owned(),
            terms,
            opened_on,
            status: FacilityStatus::Offered,
            accrued_through: None,
            interest_booked_minor: 0,
            default_interest_booked_minor: 0,
            collateral,
            reserves: Vec::new(),
            covenants: crate::covenants::CovenantTerms::default(),
            acceptance: None,
        };
        if let Some(existing) = self.load::<Facility>(kind::FACILITY, id).await? {
            return if same_opening(&existing.value, &facility) {
                Ok(existing.value)
            } else {
                Err(FinanceError::AlreadyExists { kind: "facility", id: id.to_owned() })
            };
        }
        // No check that the maker is financed already: an offer is only an
        // offer. The maker's acceptance decides (accept_facility), so a
        // lender neither learns about another lender's facility nor blocks
        // it by opening one first.
        let c = facility.terms.currency;
        let mut specs = vec![
            chart::lender_cash(lender, c)?,
            chart::lender_capital(lender, c)?,
            chart::maker_equity(maker, c)?,
            chart::maker_payable(maker, c)?,
            chart::collection(id, c)?,
            chart::memo_backlog(maker, c)?,
        ];
        for part in FacilityPart::WATERFALL {
            specs.push(chart::facility(id, part, c)?);
            if part != FacilityPart::Principal {
                specs.push(chart::income(lender, part, c)?);
            }
        }
        self.ensure_accounts(&specs).await?;
        match self.save(kind::FACILITY, id, 0, &facility).await {
            Ok(_) => Ok(facility),
            Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => {
                let existing = self.require::<Facility>(kind::FACILITY, id).await?;
                if same_opening(&existing.value, &facility) {
                    Ok(existing.value)
                } else {
                    Err(FinanceError::AlreadyExists { kind: "facility", id: id.to_owned() })
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn facility(&self, id: &str) -> Result<Facility, FinanceError> {
        Ok(self.require::<Facility>(kind::FACILITY, id).await?.value)
    }

    /// The facilities a party is the lender or the maker of, by id.
    pub async fn facilities_of_party(&self, party: &str) -> Result<Vec<Facility>, FinanceError> {
        self.indexed(kind::FACILITY, index::PARTY, &[party]).await
    }

    /// The open (accepted) facility financing `maker` in `currency`, if any.
    pub async fn facility_for(
        &self,
        maker: &str,
        currency: Currency,
    ) -> Result<Option<Versioned<Facility>>, FinanceError> {
        if let Some(slot) = self.load::<FacilitySlot>(kind::FACILITY_SLOT, &slot_id(maker, currency)).await? {
            let held = self.load::<Facility>(kind::FACILITY, &slot.value.facility).await?;
            // A slot whose acceptance was interrupted before the facility
            // was saved names a facility still offered: not financing yet.
            return Ok(held.filter(|f| f.value.status == FacilityStatus::Open));
        }
        // Facilities opened before acceptance existed have no slot record:
        // they are found by their status.
        let found = self
            .facilities_of_party(maker)
            .await?
            .into_iter()
            .find(|f| f.maker == maker && f.terms.currency == currency && f.status == FacilityStatus::Open);
        match found {
            Some(f) => self.load(kind::FACILITY, &f.id).await,
            None => Ok(None),
        }
    }

    /// Availability of a facility at the end of `as_of`, with the
    /// breakdown: what was true on that date (commitment versions in force,
    /// deliveries, invoices, payments, draws and reserves dated on or
    /// before it), so a past date recomputes to the same figures.
    pub async fn availability(&self, facility: &str, as_of: Date) -> Result<Availability, FinanceError> {
        let f = self.facility(facility).await?;
        let (outstanding_minor, pending_minor) = self.drawn_on(&f, as_of).await?;
        let collateral = self.collateral_on(&f, as_of).await?;
        Ok(collateral.base(&f, as_of, outstanding_minor, pending_minor))
    }

    /// Availability computed at one ledger position, for a draw: balances
    /// as of the head read first, collateral read after it (so anything
    /// that changed it since is visible to the draw's guard).
    pub(crate) async fn snapshot(&self, facility: &Facility, as_of: Date) -> Result<Snapshot, FinanceError> {
        let at_seq = self.store.head(&self.ledger).await?.seq;
        let principal = chart::facility(&facility.id, FacilityPart::Principal, facility.terms.currency)?;
        let bal = self.store.balance(&self.ledger, &principal.code, AsOf::Seq(at_seq)).await?;
        let collateral = self.collateral_on(facility, as_of).await?;
        let availability = collateral.base(facility, as_of, bal.posted_minor, bal.totals.pending_debit_minor);
        Ok(Snapshot { availability, at_seq })
    }
}

/// The record that names a maker's accepted facility in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FacilitySlot {
    pub facility: String,
}

pub(crate) fn slot_id(maker: &str, currency: Currency) -> String {
    format!("{maker}~{currency}")
}

fn same_opening(a: &Facility, b: &Facility) -> bool {
    a.id == b.id
        && a.lender == b.lender
        && a.maker == b.maker
        && a.terms == b.terms
        && a.opened_on == b.opened_on
        && a.collateral == b.collateral
}
