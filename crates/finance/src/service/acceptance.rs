//! Consent: a facility a lender opens is an offer until its maker signs a
//! `facility_acceptance`. Only an accepted facility can be drawn, finances
//! the maker's deliveries and counts as "the maker's facility" in its
//! currency, so a lender cannot take a maker's place in a currency by
//! opening a facility for it first (docs/financing.md, "Consent").

use offtake_ledger::LedgerError;

use crate::error::FinanceError;
use crate::model::{kind, Acceptance, Facility, FacilityStatus, PartyRole};

use super::documents::SignedDocument;
use super::facilities::{slot_id, FacilitySlot};
use super::{Finance, Versioned, MAX_ATTEMPTS};

impl Finance {
    /// Accepts a maker-signed `facility_acceptance`. The same document
    /// again returns the facility as it is; anything refused writes nothing.
    pub async fn accept_facility(&self, doc: &SignedDocument) -> Result<Facility, FinanceError> {
        doc.require_type("facility_acceptance")?;
        let facility_id = doc.str_field("facility")?;
        let maker = doc.str_field("maker")?;
        let lender = doc.str_field("lender")?;
        let hash = doc.body_hash_hex();
        let f = self.require::<Facility>(kind::FACILITY, facility_id).await?.value;
        if f.maker != maker {
            // Another maker's facility answers exactly like a missing one.
            return Err(FinanceError::not_found(kind::FACILITY, facility_id));
        }
        doc.require_signer(&f.maker, PartyRole::Maker)?;
        if f.lender != lender {
            return Err(FinanceError::invalid(
                "lender",
                format!("facility {facility_id:?} was offered by another lender"),
            ));
        }
        if f.acceptance.as_ref().is_some_and(|a| a.doc_hash == hash) {
            // Accepted by this very document: make sure it is kept.
            self.admit(doc).await?;
            return Ok(f);
        }
        if f.status != FacilityStatus::Offered {
            return Err(FinanceError::InvalidState {
                what: format!("facility {facility_id:?}"),
                state: status_name(f.status).into(),
                action: "accept it",
            });
        }
        // Decide first, write after: every refusal above wrote nothing.
        // The slot is claimed before anything else is written, so of two
        // acceptances racing for one currency the loser writes nothing.
        self.check_nonces(doc).await?;
        self.claim_slot(&f).await?;
        self.admit(doc).await?;
        let acceptance = Acceptance { accepted_on: doc.issued_on()?, doc_hash: hash };
        for _ in 0..MAX_ATTEMPTS {
            // Re-read: the lender may have changed reserves or covenants.
            let current = self.require::<Facility>(kind::FACILITY, facility_id).await?;
            let mut next = current.value;
            next.status = FacilityStatus::Open;
            next.acceptance = Some(acceptance.clone());
            match self.save(kind::FACILITY, facility_id, current.version, &next).await {
                Ok(_) => return Ok(next),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// Names `f` as the maker's facility in its currency, once (a maker has
    /// one facility per currency). A slot already naming `f` is fine: an
    /// acceptance interrupted after claiming it is simply sent again.
    async fn claim_slot(&self, f: &Facility) -> Result<(), FinanceError> {
        let refused = || FinanceError::InvalidState {
            what: format!("maker {:?}", f.maker),
            state: format!("financed in {} by an accepted facility", f.terms.currency),
            action: "accept a second facility in that currency",
        };
        if let Some(Versioned { value: other, .. }) = self.facility_for(&f.maker, f.terms.currency).await? {
            if other.id != f.id {
                return Err(refused());
            }
        }
        let id = slot_id(&f.maker, f.terms.currency);
        let body = serde_json::to_value(FacilitySlot { facility: f.id.clone() })
            .map_err(|e| FinanceError::invalid("record", e.to_string()))?;
        if self.store.insert_once(&self.ledger, kind::FACILITY_SLOT, &id, &body).await? {
            return Ok(());
        }
        let holder = self.require::<FacilitySlot>(kind::FACILITY_SLOT, &id).await?;
        if holder.value.facility == f.id {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

fn status_name(s: FacilityStatus) -> &'static str {
    match s {
        FacilityStatus::Offered => "offered",
        FacilityStatus::Open => "accepted",
        FacilityStatus::Closed => "closed",
    }
}
