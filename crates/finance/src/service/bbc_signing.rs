//! Signing a day's borrowing-base certificate: the maker attests it, then
//! the lender reviews (countersigns) it, each with a signed
//! `certificate_signature` naming the facility, the day and the
//! certificate's hash (docs/collateral.md, "Signing the certificate").
//!
//! A certificate is point-in-time: recomputed for its day it gives the same
//! figures, so a signature is accepted only if the certificate recomputed
//! now hashes to what the signer saw. Each act is kept once per facility
//! and day (a record written once); a refused signature writes nothing.

use offtake_ledger::{LedgerError, RecordWrite};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::certificate::{certificate_hash, Certificate};
use crate::error::FinanceError;
use crate::model::{kind, Facility, PartyRole};

use super::documents::SignedDocument;
use super::{not_after_today, Finance};

/// What a certificate signature does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureAct {
    /// The maker attests the figures.
    Attestation,
    /// The lender has reviewed them (after the maker's attestation).
    Review,
}

impl SignatureAct {
    pub const ALL: [SignatureAct; 2] = [SignatureAct::Attestation, SignatureAct::Review];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAct::Attestation => "attestation",
            SignatureAct::Review => "review",
        }
    }

    pub fn parse(text: &str) -> Result<Self, FinanceError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| FinanceError::invalid("act", format!("{text:?} is not attestation or review")))
    }

    /// Who signs this act.
    pub fn role(self) -> PartyRole {
        match self {
            SignatureAct::Attestation => PartyRole::Maker,
            SignatureAct::Review => PartyRole::Lender,
        }
    }
}

/// One accepted signature on a facility's certificate of one day (record
/// kind `certificate_signature`, id `{facility}:{as_of}:{act}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSignature {
    pub facility: String,
    pub as_of: Date,
    pub act: SignatureAct,
    /// Hex SHA-256 of the certificate's canonical JSON.
    pub certificate_hash: String,
    /// The signing party (the maker for an attestation, the lender for a review).
    pub signed_by: String,
    pub key_id: String,
    /// The signed document's `issued_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// Body hash (hex) of the signed `certificate_signature` document.
    pub doc_hash: String,
}

fn signature_id(facility: &str, as_of: Date, act: SignatureAct) -> String {
    format!("{facility}:{as_of}:{}", act.as_str())
}

fn refused(code: &'static str, message: String) -> FinanceError {
    FinanceError::Document { code, message }
}

impl Finance {
    /// Accepts a verified `certificate_signature` on or before `today`. The
    /// same document again answers the signature as kept; anything refused
    /// writes nothing.
    pub async fn sign_certificate(
        &self,
        doc: &SignedDocument,
        today: Date,
    ) -> Result<CertificateSignature, FinanceError> {
        doc.require_type("certificate_signature")?;
        let facility_id = doc.str_field("facility")?;
        let f = self.require::<Facility>(kind::FACILITY, facility_id).await?.value;
        if f.maker != doc.str_field("maker")? || f.lender != doc.str_field("lender")? {
            // Another party's facility answers exactly like a missing one.
            return Err(FinanceError::not_found(kind::FACILITY, facility_id));
        }
        let act = SignatureAct::parse(doc.str_field("act")?)?;
        let signer_party = match act {
            SignatureAct::Attestation => &f.maker,
            SignatureAct::Review => &f.lender,
        };
        doc.require_signer(signer_party, act.role())?;
        let as_of = offtake_ledger::date::parse_date(doc.str_field("as_of")?)
            .map_err(|e| FinanceError::invalid("as_of", e.to_string()))?;
        not_after_today("as_of", as_of, today)?;
        let hash = doc.str_field("certificate_hash")?;
        let id = signature_id(&f.id, as_of, act);
        if let Some(kept) = self.load::<CertificateSignature>(kind::CERTIFICATE_SIGNATURE, &id).await? {
            return self.same_or_refused(doc, kept.value).await;
        }
        if act == SignatureAct::Review {
            self.require_attested(&f.id, as_of, hash).await?;
        }
        let current = certificate_hash(&self.bbc(&f.id, as_of).await?)?;
        if current != hash {
            return Err(refused(
                "certificate_mismatch",
                format!("the certificate of {} for {as_of} hashes to {current}, not {hash}", f.id),
            ));
        }
        // Decide first, write after: every refusal above wrote nothing.
        self.check_nonces(doc).await?;
        let signer = doc.signers.iter().find(|s| &s.party == signer_party && s.role == act.role());
        let signature = CertificateSignature {
            facility: f.id.clone(),
            as_of,
            act,
            certificate_hash: hash.to_owned(),
            signed_by: signer_party.clone(),
            key_id: signer.map(|s| s.key_id.clone()).unwrap_or_default(),
            signed_at: doc.timestamp("issued_at")?,
            doc_hash: doc.body_hash_hex(),
        };
        let body = serde_json::to_value(&signature).map_err(|e| FinanceError::invalid("record", e.to_string()))?;
        // The signature and the document's nonces in one transaction: a
        // document that takes a nonce meanwhile leaves no signature behind.
        let write = RecordWrite { kind: kind::CERTIFICATE_SIGNATURE.into(), id: id.clone(), expected_version: 0, body };
        match self.put_admitted(doc, vec![write]).await {
            Ok(()) => Ok(signature),
            Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => {
                // Another signature of this act won the race.
                let kept = self.require::<CertificateSignature>(kind::CERTIFICATE_SIGNATURE, &id).await?;
                self.same_or_refused(doc, kept.value).await
            }
            Err(e) => Err(e),
        }
    }

    /// The same document again is fine (and makes sure it is kept); another
    /// one for an act already signed is refused.
    async fn same_or_refused(
        &self,
        doc: &SignedDocument,
        kept: CertificateSignature,
    ) -> Result<CertificateSignature, FinanceError> {
        if kept.doc_hash != doc.body_hash_hex() {
            return Err(refused(
                "already_signed",
                format!("the {} of {} for {} is already signed", kept.act.as_str(), kept.facility, kept.as_of),
            ));
        }
        self.admit(doc).await?;
        Ok(kept)
    }

    /// A review countersigns the maker's attestation of the same certificate.
    async fn require_attested(&self, facility: &str, as_of: Date, hash: &str) -> Result<(), FinanceError> {
        let id = signature_id(facility, as_of, SignatureAct::Attestation);
        match self.load::<CertificateSignature>(kind::CERTIFICATE_SIGNATURE, &id).await? {
            None => Err(refused(
                "not_attested",
                format!("the certificate of {facility} for {as_of} is not attested by its maker yet"),
            )),
            Some(a) if a.value.certificate_hash != hash => Err(refused(
                "certificate_mismatch",
                format!("the maker attested the certificate {}, not {hash}", a.value.certificate_hash),
            )),
            Some(_) => Ok(()),
        }
    }

    /// The signatures on a facility's certificate of `as_of`, attestation first.
    pub async fn certificate_signatures(
        &self,
        facility: &str,
        as_of: Date,
    ) -> Result<Vec<CertificateSignature>, FinanceError> {
        let mut out = Vec::new();
        for act in SignatureAct::ALL {
            let id = signature_id(facility, as_of, act);
            if let Some(s) = self.load::<CertificateSignature>(kind::CERTIFICATE_SIGNATURE, &id).await? {
                out.push(s.value);
            }
        }
        Ok(out)
    }

    /// The certificate of `as_of` with its hash and signatures.
    pub async fn signed_bbc(
        &self,
        facility: &str,
        as_of: Date,
    ) -> Result<(Certificate, String, Vec<CertificateSignature>), FinanceError> {
        let c = self.bbc(facility, as_of).await?;
        let hash = certificate_hash(&c)?;
        Ok((c, hash, self.certificate_signatures(facility, as_of).await?))
    }
}
