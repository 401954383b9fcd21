//! Envelope entry points: verify a DSSE envelope against the key registry
//! (signing crate), then hand the verified document to the domain.

use offtake_ledger::RecordStore;
use offtake_signing::{Envelope, KeyRegistry, SigningError, VerifiedDocument};
use time::OffsetDateTime;

use crate::error::FinanceError;
use crate::model::{Advance, Commitment, Facility};

use super::documents::{DocSigner, SignedDocument};
use super::Finance;

impl From<SigningError> for FinanceError {
    fn from(e: SigningError) -> Self {
        match e {
            SigningError::Store(inner) => FinanceError::Ledger(inner),
            other => FinanceError::Document { code: other.code(), message: other.to_string() },
        }
    }
}

impl SignedDocument {
    pub fn from_verified(v: VerifiedDocument, envelope: &Envelope) -> Result<Self, FinanceError> {
        Ok(SignedDocument {
            doc_type: v.doc_type.as_str().to_owned(),
            body: v.body,
            body_hash: v.body_hash,
            signers: v
                .signers
                .into_iter()
                .map(|s| DocSigner { key_id: s.key_id, party: s.party, role: s.role })
                .collect(),
            envelope: serde_json::to_value(envelope).map_err(|e| FinanceError::invalid("envelope", e.to_string()))?,
        })
    }
}

impl Finance {
    /// The key registry of this ledger.
    pub fn keys(&self) -> KeyRegistry<'_> {
        let records: &dyn RecordStore = self.store.as_ref();
        KeyRegistry::new(records, self.ledger.clone())
    }

    /// Verifies an envelope: signatures, keys, schema, validity period and
    /// the signatures its type requires. No side effects.
    pub async fn verify_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<SignedDocument, FinanceError> {
        let verified = self.keys().verify(envelope, now).await?;
        SignedDocument::from_verified(verified, envelope)
    }

    pub async fn submit_commitment_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Commitment, FinanceError> {
        self.submit_commitment(&self.verify_envelope(envelope, now).await?).await
    }

    pub async fn request_advance_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Advance, FinanceError> {
        self.request_advance(&self.verify_envelope(envelope, now).await?, now).await
    }

    pub async fn accept_facility_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Facility, FinanceError> {
        self.accept_facility(&self.verify_envelope(envelope, now).await?).await
    }

    /// `now` is the verification time; `today` bounds the certificate's day.
    pub async fn sign_certificate_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
        today: time::Date,
    ) -> Result<super::CertificateSignature, FinanceError> {
        self.sign_certificate(&self.verify_envelope(envelope, now).await?, today).await
    }

    pub async fn decide_advance_envelope(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Advance, FinanceError> {
        self.decide_advance(&self.verify_envelope(envelope, now).await?).await
    }
}
