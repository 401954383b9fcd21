//! Signed documents as the finance domain sees them: a verified body, its
//! hash, and who signed it. Verification itself (DSSE, Ed25519, key
//! registry) is the signing crate's job; this module checks that the right
//! parties signed and that each (signer, nonce) is used by one document.

use offtake_ledger::{LedgerError, RecordWrite};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::FinanceError;
use crate::model::{kind, PartyRole};

use super::{Finance, MAX_ATTEMPTS};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSigner {
    pub key_id: String,
    pub party: String,
    pub role: PartyRole,
}

/// A document whose signatures have been verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedDocument {
    /// "commitment", "advance_request", "advance_approval", "payment_notice".
    pub doc_type: String,
    pub body: serde_json::Value,
    /// SHA-256 of the canonical body.
    pub body_hash: [u8; 32],
    pub signers: Vec<DocSigner>,
    /// The envelope as received (JSON), kept for audit export.
    pub envelope: serde_json::Value,
}

impl SignedDocument {
    pub fn body_hash_hex(&self) -> String {
        hex_lower(&self.body_hash)
    }

    pub fn str_field(&self, field: &'static str) -> Result<&str, FinanceError> {
        self.body
            .get(field)
            .and_then(|v| v.as_str())
            .ok_or_else(|| FinanceError::invalid(field, "missing or not a string"))
    }

    pub fn doc_id(&self) -> Result<&str, FinanceError> {
        self.str_field("doc_id")
    }

    /// Date part of `issued_at`: the effective date of what it books.
    pub fn issued_on(&self) -> Result<Date, FinanceError> {
        Ok(self.timestamp("issued_at")?.date())
    }

    pub fn timestamp(&self, field: &'static str) -> Result<OffsetDateTime, FinanceError> {
        let text = self.str_field(field)?;
        offtake_ledger::date::parse_rfc3339(text)
            .ok_or_else(|| FinanceError::invalid(field, format!("{text:?} is not an RFC 3339 timestamp")))
    }

    /// Refuses unless `party` signed in `role`.
    pub fn require_signer(&self, party: &str, role: PartyRole) -> Result<(), FinanceError> {
        if self.signers.iter().any(|s| s.party == party && s.role == role) {
            Ok(())
        } else {
            Err(FinanceError::Document {
                code: "missing_signature",
                message: format!("{} {party:?} has not signed this {}", role.as_str(), self.doc_type),
            })
        }
    }

    pub fn require_type(&self, doc_type: &str) -> Result<(), FinanceError> {
        if self.doc_type == doc_type {
            Ok(())
        } else {
            Err(FinanceError::Document {
                code: "wrong_document_type",
                message: format!("expected a {doc_type}, got a {}", self.doc_type),
            })
        }
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

impl Finance {
    /// Records the document (by body hash) and consumes each signer's
    /// nonce. Submitting the same document again is fine (its steps are
    /// idempotent); another document reusing a signer's nonce is
    /// `replayed_nonce`.
    pub(crate) async fn admit(&self, doc: &SignedDocument) -> Result<(), FinanceError> {
        self.put_admitted(doc, Vec::new()).await
    }

    /// Writes `writes` together with the document's admission (its nonces
    /// and its copy), in one transaction: a document whose nonce another
    /// one takes meanwhile leaves nothing behind (`replayed_nonce`). On a
    /// version conflict everything is decided again; `writes` is rebuilt
    /// by the caller's loop, so a conflict on one of them is returned.
    pub(crate) async fn put_admitted(
        &self,
        doc: &SignedDocument,
        writes: Vec<RecordWrite>,
    ) -> Result<(), FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut all = writes.clone();
            all.extend(self.admission_writes(doc).await?);
            match self.store.put_records(&self.ledger, &all).await {
                Ok(_) => return Ok(()),
                Err(e) => match &e {
                    // A nonce or the document appeared meanwhile: decide again.
                    LedgerError::VersionConflict { kind, id, .. }
                        if !writes.iter().any(|w| &w.kind == kind && &w.id == id) =>
                    {
                        continue
                    }
                    _ => return Err(e.into()),
                },
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// What admitting the document still writes: each signer's nonce not
    /// yet consumed, and the document unless kept already. A nonce another
    /// document consumed refuses it (`replayed_nonce`).
    async fn admission_writes(&self, doc: &SignedDocument) -> Result<Vec<RecordWrite>, FinanceError> {
        let hash = doc.body_hash_hex();
        let nonce = doc.str_field("nonce")?;
        let mut writes: Vec<RecordWrite> = Vec::new();
        for signer in &doc.signers {
            let id = format!("{}:{nonce}", signer.key_id);
            let kind = offtake_signing::NONCE_RECORD_KIND;
            if writes.iter().any(|w| w.id == id) || self.store.get_record(&self.ledger, kind, &id).await?.is_some() {
                self.nonce_unused_by_others(doc, &signer.key_id).await?;
                continue;
            }
            let body = serde_json::json!({ "body_hash": hash });
            writes.push(RecordWrite { kind: kind.to_owned(), id, expected_version: 0, body });
        }
        if self.store.get_record(&self.ledger, kind::DOCUMENT, &hash).await?.is_none() {
            let record = serde_json::to_value(doc).map_err(|e| FinanceError::invalid("document", e.to_string()))?;
            writes.push(RecordWrite { kind: kind::DOCUMENT.to_owned(), id: hash, expected_version: 0, body: record });
        }
        Ok(writes)
    }

    /// Refuses a document whose nonce another document already used, without
    /// writing anything: lets a caller refuse before it acts, then [`admit`]
    /// (which decides for good, atomically per nonce) after.
    ///
    /// [`admit`]: Finance::admit
    pub(crate) async fn check_nonces(&self, doc: &SignedDocument) -> Result<(), FinanceError> {
        for signer in &doc.signers {
            self.nonce_unused_by_others(doc, &signer.key_id).await?;
        }
        Ok(())
    }

    async fn nonce_unused_by_others(&self, doc: &SignedDocument, key_id: &str) -> Result<(), FinanceError> {
        let hash = doc.body_hash_hex();
        let nonce = doc.str_field("nonce")?;
        let id = format!("{key_id}:{nonce}");
        let seen = self.store.get_record(&self.ledger, offtake_signing::NONCE_RECORD_KIND, &id).await?;
        match seen.as_ref().map(|r| r.body.get("body_hash").and_then(|v| v.as_str())) {
            Some(used_by) if used_by != Some(hash.as_str()) => Err(FinanceError::Document {
                code: "replayed_nonce",
                message: format!("nonce {nonce:?} of key {key_id} was used by another document"),
            }),
            _ => Ok(()),
        }
    }

    /// Keeps a verified document that another domain (settlement) acts on:
    /// consumes its signers' nonces and stores it for audit export.
    pub async fn record_document(&self, doc: &SignedDocument) -> Result<(), FinanceError> {
        self.admit(doc).await
    }

    /// A stored signed document by body hash (hex).
    pub async fn document(&self, body_hash_hex: &str) -> Result<Option<SignedDocument>, FinanceError> {
        Ok(self.load(kind::DOCUMENT, body_hash_hex).await?.map(|v| v.value))
    }
}
