//! Advances: a maker-signed request holds availability (a pending ledger
//! entry); a lender-signed approval funds it and books the fee; a
//! rejection or expiry releases it.

use offtake_ledger::{Action, AmountMinor, Currency, LedgerError};
use time::OffsetDateTime;

use crate::chart::{self, FacilityPart};
use crate::error::FinanceError;
use crate::model::{index, kind, Advance, AdvanceStatus, Facility, FacilityStatus, PartyRole};
use crate::rate::apply_bps;

use super::commitments::hex_to_hash;
use super::documents::SignedDocument;
use super::{command, pair, Finance, MAX_ATTEMPTS};

impl Finance {
    /// Accepts a maker-signed advance request: refuses it when it exceeds
    /// availability, else holds the amount. Concurrent requests are
    /// decided one at a time by the ledger's guard on the facility's
    /// accounts: whoever decided on stale numbers re-reads and retries.
    pub async fn request_advance(&self, doc: &SignedDocument, now: OffsetDateTime) -> Result<Advance, FinanceError> {
        let (facility, amount) = self.read_advance_request(doc).await?;
        let doc_id = doc.doc_id()?;
        let (id, existing) = self.advance_slot(doc_id, &facility.maker).await?;
        if let Some(existing) = existing {
            return if existing.request_hash == doc.body_hash_hex() {
                Ok(existing)
            } else {
                Err(FinanceError::AlreadyExists { kind: "advance", id })
            };
        }
        // The hold is decided first, under the ledger's guard, and the
        // document admitted (its nonce consumed, the document stored) only
        // once it holds: a request refused for availability, also one that
        // loses a race to a concurrent draw, writes nothing.
        self.check_nonces(doc).await?;
        let requested_on = doc.issued_on()?;
        let expires_at = doc.str_field("expires_at")?.to_owned();
        let hold_seq = self.hold_advance(doc, &facility, &id, amount, now.date()).await?;
        if let Err(e) = self.admit(doc).await {
            // Another document took this nonce between the check above and
            // now (two documents signed with one nonce, sent at once): the
            // hold is released again, visibly, and the request refused.
            self.commit(command(
                format!("advance:{id}:void"),
                "advance_released",
                requested_on,
                serde_json::json!({ "advance": id, "reason": "replayed_nonce" }),
                Some(doc.body_hash),
                Action::VoidPending { pending_seq: hold_seq },
            ))
            .await?;
            return Err(e);
        }
        let advance = Advance {
            id: id.clone(),
            facility: facility.id.clone(),
            maker: facility.maker.clone(),
            amount_minor: amount.get(),
            currency: facility.terms.currency,
            status: AdvanceStatus::Pending,
            requested_on,
            expires_at,
            hold_seq,
            request_hash: doc.body_hash_hex(),
            approval_hash: None,
            funded_on: None,
            fee_minor: 0,
            released_on: None,
        };
        match self.save(kind::ADVANCE, &id, 0, &advance).await {
            Ok(_) => Ok(advance),
            Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => self.advance(&id).await,
            Err(e) => Err(e),
        }
    }

    /// The facility an advance request draws on and the positive amount it
    /// asks for, or the refusal: the request's own fields are checked before
    /// anything is read from availability.
    async fn read_advance_request(&self, doc: &SignedDocument) -> Result<(Facility, AmountMinor), FinanceError> {
        doc.require_type("advance_request")?;
        super::check_id("doc_id", doc.doc_id()?)?;
        let facility_id = doc.str_field("facility")?;
        let facility = self.facility(facility_id).await?;
        if doc.str_field("maker")? != facility.maker {
            // Another maker's facility answers exactly like a missing one.
            return Err(FinanceError::not_found("facility", facility_id));
        }
        doc.require_signer(&facility.maker, PartyRole::Maker)?;
        if facility.status != FacilityStatus::Open {
            return Err(FinanceError::NotAccepted { facility: facility.id.clone() });
        }
        let currency = Currency::from_code(doc.str_field("currency")?)?;
        if currency != facility.terms.currency {
            return Err(FinanceError::CurrencyMismatch {
                expected: facility.terms.currency.to_string(),
                got: currency.to_string(),
            });
        }
        let amount = AmountMinor::parse(doc.str_field("amount")?, currency)?;
        if !amount.is_positive() {
            return Err(FinanceError::invalid("amount", "must be positive"));
        }
        Ok((facility, amount))
    }

    /// Holds `amount` on the facility as a pending entry if availability on
    /// `as_of` covers it, and answers the hold's sequence number. The entry
    /// commits only if the facility's principal, the maker's backlog and
    /// its equity (moved by invoices and the payments that lower
    /// receivables) are unchanged since the availability was read; a draw
    /// decided on stale numbers re-reads and retries.
    async fn hold_advance(
        &self,
        doc: &SignedDocument,
        facility: &Facility,
        id: &str,
        amount: AmountMinor,
        as_of: time::Date,
    ) -> Result<i64, FinanceError> {
        let currency = facility.terms.currency;
        let principal = chart::facility(&facility.id, FacilityPart::Principal, currency)?;
        let cash = chart::lender_cash(&facility.lender, currency)?;
        let backlog = chart::memo_backlog(&facility.maker, currency)?;
        let equity = chart::maker_equity(&facility.maker, currency)?;
        for _ in 0..MAX_ATTEMPTS {
            let snap = self.snapshot(facility, as_of).await?;
            let available = snap.availability.available_minor;
            if snap.availability.overadvanced {
                return Err(FinanceError::Overadvanced {
                    facility: facility.id.clone(),
                    shortfall: AmountMinor::new(snap.availability.overadvance_minor).format(currency),
                    currency: currency.code(),
                });
            }
            if amount.get() > available {
                return Err(FinanceError::InsufficientAvailability {
                    requested: amount.format(currency),
                    available: AmountMinor::new(available).format(currency),
                    currency: currency.code(),
                });
            }
            let cmd = command(
                format!("advance:{id}:hold"),
                "advance_requested",
                doc.issued_on()?,
                serde_json::json!({ "advance": id, "facility": facility.id }),
                Some(doc.body_hash),
                Action::RecordIfUnchanged {
                    legs: pair(&principal, &cash, amount.get()),
                    pending: true,
                    unchanged: vec![principal.code.clone(), backlog.code.clone(), equity.code.clone()],
                    since_seq: snap.at_seq,
                },
            );
            match self.store.commit(&self.ledger, cmd).await {
                Ok(c) => return Ok(c.seq),
                Err(LedgerError::PreconditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// The id an advance request's `doc_id` gets, and the advance already
    /// there. A maker's ids are its own: when another maker's advance holds
    /// `doc_id`, this maker's lives at `{doc_id}~{maker}` (a form no doc_id
    /// can take), so no refusal says that the other one exists.
    async fn advance_slot(&self, doc_id: &str, maker: &str) -> Result<(String, Option<Advance>), FinanceError> {
        match self.load::<Advance>(kind::ADVANCE, doc_id).await? {
            Some(other) if other.value.maker != maker => {
                let id = format!("{doc_id}~{maker}");
                let mine = self.load::<Advance>(kind::ADVANCE, &id).await?.map(|v| v.value);
                Ok((id, mine))
            }
            held => Ok((doc_id.to_owned(), held.map(|v| v.value))),
        }
    }

    /// Applies a lender-signed decision on a pending advance: `approve`
    /// posts the hold (funding on the approval's date) and books the fee;
    /// `reject` voids the hold.
    pub async fn decide_advance(&self, doc: &SignedDocument) -> Result<Advance, FinanceError> {
        doc.require_type("advance_approval")?;
        let request_hash = doc.str_field("request_hash")?.to_owned();
        let decision = doc.body.get("decision").and_then(|v| v.as_str()).unwrap_or("approve");
        let approve = match decision {
            "approve" => true,
            "reject" => false,
            other => return Err(FinanceError::invalid("decision", format!("{other:?} is not approve or reject"))),
        };
        let advances: Vec<Advance> = self.indexed(kind::ADVANCE, index::REQUEST_HASH, &[&request_hash]).await?;
        let adv = advances
            .into_iter()
            .find(|a| a.request_hash == request_hash)
            .ok_or_else(|| FinanceError::not_found("advance request", request_hash.clone()))?;
        let facility = self.facility(&adv.facility).await?;
        if let Some(f) = doc.body.get("facility").and_then(|v| v.as_str()) {
            if f != facility.id {
                return Err(FinanceError::SignerMismatch(format!(
                    "approval names facility {f:?}, not {:?}",
                    facility.id
                )));
            }
        }
        doc.require_signer(&facility.lender, PartyRole::Lender)?;
        if adv.approval_hash.as_deref() == Some(doc.body_hash_hex().as_str()) {
            // The same decision again: make sure its document is kept.
            self.admit(doc).await?;
            return Ok(adv);
        }
        if adv.status != AdvanceStatus::Pending {
            return Err(FinanceError::InvalidState {
                what: format!("advance {:?}", adv.id),
                state: format!("{:?}", adv.status).to_lowercase(),
                action: "decide on it again",
            });
        }
        // Refuse a reused nonce before acting, and admit the document only
        // once the decision is booked: a decision refused here, or one that
        // loses a race to another decision, writes nothing.
        self.check_nonces(doc).await?;
        let on = doc.issued_on()?;
        let id = adv.id.clone();
        let decided = if approve {
            self.fund(&facility, adv, doc, on).await
        } else {
            self.release(adv, AdvanceStatus::Rejected, Some(doc.body_hash_hex()), on).await
        };
        let decided = decided.map_err(|e| lost_decision_race(&id, e))?;
        self.admit(doc).await?;
        Ok(decided)
    }

    async fn fund(
        &self,
        facility: &Facility,
        adv: Advance,
        doc: &SignedDocument,
        on: time::Date,
    ) -> Result<Advance, FinanceError> {
        let c = facility.terms.currency;
        let fee = facility.terms.rounding.round_minor(apply_bps(adv.amount_minor, facility.terms.fee_bps))?;
        let mut commands = vec![command(
            format!("advance:{}:fund", adv.id),
            "advance_funded",
            on,
            serde_json::json!({ "advance": adv.id, "facility": facility.id }),
            Some(doc.body_hash),
            Action::PostPending { pending_seq: adv.hold_seq, amount_minor: None },
        )];
        if fee > 0 {
            commands.push(command(
                format!("advance:{}:fee", adv.id),
                "fee",
                on,
                serde_json::json!({ "advance": adv.id, "facility": facility.id, "fee_bps": facility.terms.fee_bps }),
                Some(doc.body_hash),
                Action::Record {
                    legs: pair(
                        &chart::facility(&facility.id, FacilityPart::Fees, c)?,
                        &chart::income(&facility.lender, FacilityPart::Fees, c)?,
                        fee,
                    ),
                    pending: false,
                },
            ));
        }
        self.commit_all(commands).await?;
        let mut next = adv;
        next.status = AdvanceStatus::Funded;
        next.funded_on = Some(on);
        next.fee_minor = fee;
        next.approval_hash = Some(doc.body_hash_hex());
        self.update_advance(next).await
    }

    async fn release(
        &self,
        adv: Advance,
        status: AdvanceStatus,
        approval_hash: Option<String>,
        on: time::Date,
    ) -> Result<Advance, FinanceError> {
        self.commit(command(
            format!("advance:{}:void", adv.id),
            "advance_released",
            on,
            serde_json::json!({ "advance": adv.id, "reason": format!("{status:?}").to_lowercase() }),
            hex_to_hash(&adv.request_hash),
            Action::VoidPending { pending_seq: adv.hold_seq },
        ))
        .await?;
        let mut next = adv;
        next.status = status;
        next.approval_hash = approval_hash;
        next.released_on = Some(on);
        self.update_advance(next).await
    }

    async fn update_advance(&self, next: Advance) -> Result<Advance, FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Advance>(kind::ADVANCE, &next.id).await?;
            if cur.value.status != AdvanceStatus::Pending {
                return Ok(cur.value);
            }
            match self.save(kind::ADVANCE, &next.id, cur.version, &next).await {
                Ok(_) => return Ok(next),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// Releases every pending advance whose request expired before `now`.
    pub async fn expire_advances(&self, now: OffsetDateTime) -> Result<Vec<Advance>, FinanceError> {
        let mut expired = Vec::new();
        for adv in self.indexed::<Advance>(kind::ADVANCE, index::PENDING, &[]).await? {
            if adv.status != AdvanceStatus::Pending {
                continue;
            }
            let at = offtake_ledger::date::parse_rfc3339(&adv.expires_at)
                .ok_or_else(|| FinanceError::invalid("expires_at", "not an RFC 3339 timestamp"))?;
            if at < now {
                expired.push(self.release(adv, AdvanceStatus::Expired, None, now.date()).await?);
            }
        }
        Ok(expired)
    }

    pub async fn advance(&self, id: &str) -> Result<Advance, FinanceError> {
        Ok(self.require::<Advance>(kind::ADVANCE, id).await?.value)
    }

    /// Every advance, by id: reads the whole kind, so it is for tests and
    /// offline checks, never a request path (issue 21: requests read
    /// through an index or a page).
    pub async fn advances(&self) -> Result<Vec<Advance>, FinanceError> {
        self.all(kind::ADVANCE).await
    }

    /// Funded advances, by id (what the bank pays out).
    pub async fn funded_advances(&self) -> Result<Vec<Advance>, FinanceError> {
        self.indexed(kind::ADVANCE, index::FUNDED, &[]).await
    }

    /// A facility's advances, by id.
    pub async fn advances_of_facility(&self, facility: &str) -> Result<Vec<Advance>, FinanceError> {
        self.indexed(kind::ADVANCE, index::FACILITY, &[facility]).await
    }
}

/// A decision that raced another one on the same advance and lost reaches
/// the ledger second: its funding (or release) entry meets the winner's
/// idempotency key or an already settled hold. That is the same refusal as a
/// decision sent after the first had landed, so it answers the same way
/// (`invalid_state`), not with an internal ledger key.
fn lost_decision_race(advance_id: &str, e: FinanceError) -> FinanceError {
    match e {
        FinanceError::Ledger(
            LedgerError::IdempotencyConflict(_)
            | LedgerError::PendingAlreadyPosted(_)
            | LedgerError::PendingAlreadyVoided(_),
        ) => FinanceError::InvalidState {
            what: format!("advance {advance_id:?}"),
            state: "decided".to_owned(),
            action: "decide on it again",
        },
        other => other,
    }
}
