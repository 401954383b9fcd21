//! Consent: a facility a lender opens is an offer until its maker signs a
//! `facility_acceptance`. Only an accepted facility can be drawn, finances
//! the maker's deliveries and counts as "the maker's facility" in its
//! currency, so a lender cannot take a maker's place in a currency by
//! opening a facility for it first (docs/financing.md, "Consent").

use offtake_ledger::{LedgerError, RecordWrite};

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
        // The facility, the maker's slot in its currency and the document's
        // nonces are written in one transaction: of two acceptances racing
        // for one currency, or two documents for one nonce, the loser
        // writes nothing.
        self.check_nonces(doc).await?;
        let acceptance = Acceptance { accepted_on: doc.issued_on()?, doc_hash: hash };
        for _ in 0..MAX_ATTEMPTS {
            // Re-read: the lender may have changed reserves or covenants.
            let current = self.require::<Facility>(kind::FACILITY, facility_id).await?;
            if current.value.status != FacilityStatus::Offered {
                return self.accepted_meanwhile(doc, current.value).await;
            }
            let mut next = current.value;
            next.status = FacilityStatus::Open;
            next.acceptance = Some(acceptance.clone());
            let body = serde_json::to_value(&next).map_err(|e| FinanceError::invalid("record", e.to_string()))?;
            let mut writes = vec![RecordWrite {
                kind: kind::FACILITY.into(),
                id: facility_id.into(),
                expected_version: current.version,
                body,
            }];
            writes.extend(self.slot_write(&next).await?);
            match self.put_admitted(doc, writes).await {
                Ok(()) => return Ok(next),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// The facility stopped being an offer while this acceptance was
    /// decided: by this very document (fine), or otherwise (refused).
    async fn accepted_meanwhile(&self, doc: &SignedDocument, f: Facility) -> Result<Facility, FinanceError> {
        if f.acceptance.as_ref().is_some_and(|a| a.doc_hash == doc.body_hash_hex()) {
            self.admit(doc).await?;
            return Ok(f);
        }
        Err(FinanceError::InvalidState {
            what: format!("facility {:?}", f.id),
            state: status_name(f.status).into(),
            action: "accept it",
        })
    }

    /// The write naming `f` as the maker's facility in its currency (a
    /// maker has one facility per currency); none when the slot names `f`
    /// already (an acceptance interrupted before is simply sent again).
    async fn slot_write(&self, f: &Facility) -> Result<Option<RecordWrite>, FinanceError> {
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
        if let Some(holder) = self.load::<FacilitySlot>(kind::FACILITY_SLOT, &id).await? {
            return if holder.value.facility == f.id { Ok(None) } else { Err(refused()) };
        }
        let body = serde_json::to_value(FacilitySlot { facility: f.id.clone() })
            .map_err(|e| FinanceError::invalid("record", e.to_string()))?;
        Ok(Some(RecordWrite { kind: kind::FACILITY_SLOT.into(), id, expected_version: 0, body }))
    }
}

fn status_name(s: FacilityStatus) -> &'static str {
    match s {
        FacilityStatus::Offered => "offered",
        FacilityStatus::Open => "accepted",
        FacilityStatus::Closed => "closed",
    }
}
