//! The key registry and document verification.
//!
//! Keys live in the ledger database as versioned records (kind
//! `signing_key`, id = key id), so both stores hold them and every change
//! (a revocation) keeps its history. Accepted nonces are records of kind
//! `nonce`, id `<key id>:<nonce>`, created with `insert_once`: a (signer,
//! nonce) pair is accepted once.
//!
//! # When is a signature valid?
//!
//! The signature verifies (`verify_strict`) over the DSSE PAE with the
//! registered public key, and at the document's `issued_at`:
//!
//! * the key is valid (`valid_from <= issued_at`), and
//! * it is not revoked:
//!   * **superseded** at T (the key was rotated): documents issued before T
//!     stay valid; documents issued at or after T are refused.
//!   * **compromised** since T: documents issued at or after T are refused.
//!     A document dated before T is honoured only if this registry
//!     accepted it before T (its nonce record says so): `issued_at` is
//!     written by whoever holds the key, so after a compromise the date
//!     alone proves nothing, and only our own record of having seen the
//!     document earlier can be trusted. Anything else must be re-signed
//!     with a new key.
//!
//! Then the document must not be expired (`now < expires_at`) nor issued
//! further in the future than [`MAX_CLOCK_SKEW`].
//!
//! Signatures are checked before the payload is parsed (DSSE: authenticate,
//! then interpret), so a flipped byte anywhere in the payload or the
//! payload type is a `bad_signature`, whatever it does to the JSON.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use offtake_ledger::{LedgerError, LedgerId, RecordStore};

use crate::doc::{parse_timestamp, DocHeader, DocType};
use crate::envelope::{bad_sig, decode_payload, decode_signatures, open_payload, truncate, Envelope};
use crate::error::SigningError;
use crate::key::{check_party, key_id_of, parse_public_key, Role};

/// Record kind of registered keys.
pub const KEY_RECORD_KIND: &str = "signing_key";
/// Record kind of accepted (signer, nonce) pairs.
pub const NONCE_RECORD_KIND: &str = "nonce";
/// How far in the future a document's `issued_at` may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Why a key was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Revocation {
    /// The secret leaked: signatures dated at or after `revoked_at` are
    /// void, and earlier ones count only if accepted before `revoked_at`.
    Compromised,
    /// The key was rotated: documents issued before `revoked_at` stay valid.
    Superseded,
}

impl Revocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Revocation::Compromised => "compromised",
            Revocation::Superseded => "superseded",
        }
    }
}

impl std::str::FromStr for Revocation {
    type Err = SigningError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "compromised" => Ok(Revocation::Compromised),
            "superseded" => Ok(Revocation::Superseded),
            _ => Err(SigningError::InvalidKey(format!("unknown revocation reason {s:?}: compromised or superseded"))),
        }
    }
}

/// A public key in the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredKey {
    /// Derived from the public key (see [`crate::key`]).
    pub key_id: String,
    pub party: String,
    pub role: Role,
    /// 32-byte Ed25519 public key, lower-case hex.
    pub public_key_hex: String,
    /// Documents issued before this instant are not signed by this key.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub revocation: Option<Revocation>,
}

impl RegisteredKey {
    /// A new, unrevoked registry entry; checks the key and derives its id.
    pub fn new(
        party: &str,
        role: Role,
        public_key_hex: &str,
        valid_from: OffsetDateTime,
    ) -> Result<RegisteredKey, SigningError> {
        check_party(party)?;
        let key = parse_public_key(public_key_hex)?;
        Ok(RegisteredKey {
            key_id: key_id_of(&key),
            party: party.to_owned(),
            role,
            public_key_hex: hex::encode(key.as_bytes()),
            valid_from,
            revoked_at: None,
            revocation: None,
        })
    }

    fn check(&self) -> Result<(), SigningError> {
        check_party(&self.party)?;
        let key = parse_public_key(&self.public_key_hex)?;
        if key_id_of(&key) != self.key_id || hex::encode(key.as_bytes()) != self.public_key_hex {
            return Err(SigningError::InvalidKey("key_id must be derived from the lower-case hex public key".into()));
        }
        if self.revoked_at.is_some() != self.revocation.is_some() {
            return Err(SigningError::InvalidKey("revoked_at and revocation go together".into()));
        }
        Ok(())
    }

    fn same_identity(&self, other: &RegisteredKey) -> bool {
        self.key_id == other.key_id
            && self.party == other.party
            && self.role == other.role
            && self.public_key_hex == other.public_key_hex
            && self.valid_from == other.valid_from
    }
}

/// Who signed a verified document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    pub key_id: String,
    pub party: String,
    pub role: Role,
}

/// A document whose signatures, schema and validity period were checked.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedDocument {
    pub doc_type: DocType,
    /// The body, parsed from the canonical payload.
    pub body: Value,
    /// SHA-256 of the canonical body (the payload bytes).
    pub body_hash: [u8; 32],
    pub doc_id: String,
    /// Signers in envelope order.
    pub signers: Vec<Signer>,
    /// Version, dates, nonce and prev_hash, parsed.
    pub header: DocHeader,
}

impl VerifiedDocument {
    /// `body_hash` as lower-case hex (what `prev_hash` and `request_hash` hold).
    pub fn body_hash_hex(&self) -> String {
        hex::encode(self.body_hash)
    }

    /// A string field of the body (`brand`, `maker`, `facility`, `amount`…).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

/// The signatures a document type needs, by role and party, read from the
/// body: a commitment its brand and its maker; an advance request its
/// maker; an advance approval its lender; a payment notice its brand.
pub fn required_signers(doc_type: DocType, body: &Value) -> Vec<(Role, String)> {
    let party = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
    match doc_type {
        DocType::Commitment => vec![(Role::Brand, party("brand")), (Role::Maker, party("maker"))],
        DocType::AdvanceRequest => vec![(Role::Maker, party("maker"))],
        DocType::AdvanceApproval => vec![(Role::Lender, party("lender"))],
        DocType::PaymentNotice => vec![(Role::Brand, party("brand"))],
        DocType::FacilityAcceptance => vec![(Role::Maker, party("maker"))],
        // The maker attests the day's certificate; the lender reviews it.
        DocType::CertificateSignature => match body.get("act").and_then(Value::as_str) {
            Some("review") => vec![(Role::Lender, party("lender"))],
            _ => vec![(Role::Maker, party("maker"))],
        },
    }
}

/// `missing_signature` unless, for every (role, party), a key of that party
/// registered in that role signed the document.
pub fn require_roles(doc: &VerifiedDocument, required: &[(Role, &str)]) -> Result<(), SigningError> {
    for (role, party) in required {
        if !doc.signers.iter().any(|s| s.role == *role && s.party == *party) {
            return Err(SigningError::MissingSignature(format!(
                "{} {} needs the signature of {role} {party:?}",
                doc.doc_type, doc.doc_id
            )));
        }
    }
    Ok(())
}

/// The registry of one ledger, over any record store.
pub struct KeyRegistry<'a> {
    store: &'a dyn RecordStore,
    ledger: LedgerId,
}

impl<'a> KeyRegistry<'a> {
    pub fn new(store: &'a dyn RecordStore, ledger: LedgerId) -> Self {
        KeyRegistry { store, ledger }
    }

    /// Registers a public key. Registering the same key again is a no-op
    /// returning the stored entry (with its revocation, if any); another
    /// party, role or valid_from under the same id is `key_exists`.
    pub async fn register(&self, key: &RegisteredKey) -> Result<RegisteredKey, SigningError> {
        key.check()?;
        if key.revoked_at.is_some() {
            return Err(SigningError::InvalidKey("register the key first, then revoke it".into()));
        }
        let body = serde_json::to_value(key).map_err(|e| LedgerError::Storage(e.to_string()))?;
        if self.store.insert_once(&self.ledger, KEY_RECORD_KIND, &key.key_id, &body).await? {
            return Ok(key.clone());
        }
        match self.get(&key.key_id).await? {
            Some(existing) if existing.same_identity(key) => Ok(existing),
            _ => Err(SigningError::KeyExists(key.key_id.clone())),
        }
    }

    /// Revokes a key from `at` on. A revocation can only be made stricter
    /// afterwards (an earlier time, or superseded → compromised); repeating
    /// it is a no-op; loosening it is `invalid_key`.
    pub async fn revoke(
        &self,
        key_id: &str,
        at: OffsetDateTime,
        reason: Revocation,
    ) -> Result<RegisteredKey, SigningError> {
        let record = self
            .store
            .get_record(&self.ledger, KEY_RECORD_KIND, key_id)
            .await?
            .ok_or_else(|| SigningError::UnknownKey(truncate(key_id)))?;
        let mut key: RegisteredKey = record.decode()?;
        if let (Some(old_at), Some(old_reason)) = (key.revoked_at, key.revocation) {
            if old_at == at && old_reason == reason {
                return Ok(key);
            }
            let stricter = at <= old_at && (reason == old_reason || reason == Revocation::Compromised);
            if !stricter {
                return Err(SigningError::InvalidKey(format!(
                    "key {key_id} is already revoked ({}) at {}; a revocation can only be made stricter",
                    old_reason.as_str(),
                    rfc3339(old_at)
                )));
            }
        }
        key.revoked_at = Some(at);
        key.revocation = Some(reason);
        let body = serde_json::to_value(&key).map_err(|e| LedgerError::Storage(e.to_string()))?;
        self.store.put_record(&self.ledger, KEY_RECORD_KIND, key_id, record.version, &body).await?;
        Ok(key)
    }

    /// The registered key with this id, if any.
    pub async fn get(&self, key_id: &str) -> Result<Option<RegisteredKey>, SigningError> {
        match self.store.get_record(&self.ledger, KEY_RECORD_KIND, key_id).await {
            Ok(Some(record)) => Ok(Some(record.decode()?)),
            Ok(None) => Ok(None),
            // An id the store refuses as a record key cannot be registered.
            Err(LedgerError::InvalidInput { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every registered key, ordered by key id. Reads the whole kind on
    /// purpose: keys are configuration (a few per party), not records that
    /// grow with the program's business (issue 21).
    pub async fn list(&self) -> Result<Vec<RegisteredKey>, SigningError> {
        let records = self.store.all_records(&self.ledger, KEY_RECORD_KIND).await?;
        records.iter().map(|r| r.decode().map_err(SigningError::from)).collect()
    }

    /// Verifies an envelope (no side effects): every signature against a
    /// registered key valid at the document's `issued_at`, the schema, the
    /// validity period at `now`, and the signatures its type requires
    /// ([`required_signers`]).
    pub async fn verify(&self, env: &Envelope, now: OffsetDateTime) -> Result<VerifiedDocument, SigningError> {
        let doc = self.verify_signatures(env, now).await?;
        let required = required_signers(doc.doc_type, &doc.body);
        let required: Vec<(Role, &str)> = required.iter().map(|(r, p)| (*r, p.as_str())).collect();
        require_roles(&doc, &required)?;
        Ok(doc)
    }

    /// Like [`verify`](Self::verify) but without requiring the signatures
    /// the type needs: for co-signing workflows (a commitment the brand has
    /// signed and the maker has not yet) and for showing who signed so far.
    pub async fn verify_signatures(
        &self,
        env: &Envelope,
        now: OffsetDateTime,
    ) -> Result<VerifiedDocument, SigningError> {
        let raw = decode_signatures(env)?;
        let payload = decode_payload(env)?;
        let message = crate::envelope::pae(&env.payload_type, &payload);
        let mut keys = Vec::with_capacity(raw.len());
        for r in &raw {
            let key = self.get(&r.key_id).await?.ok_or_else(|| SigningError::UnknownKey(r.key_id.clone()))?;
            let public = parse_public_key(&key.public_key_hex)
                .map_err(|e| LedgerError::Storage(format!("registered key {} is corrupt: {e}", key.key_id)))?;
            let sig = ed25519_dalek::Signature::from_bytes(&r.sig);
            public.verify_strict(&message, &sig).map_err(|_| bad_sig(&r.key_id, "signature does not verify"))?;
            keys.push(key);
        }
        let doc_type = DocType::from_payload_type(&env.payload_type)
            .ok_or_else(|| SigningError::malformed(format!("unknown payloadType {:?}", truncate(&env.payload_type))))?;
        let opened = open_payload(doc_type, payload)?;
        let header = opened.header;
        for key in &keys {
            self.check_key_at(key, &header, &opened.body_hash).await?;
        }
        if now >= header.expires_at {
            return Err(SigningError::ExpiredDocument { expires_at: rfc3339(header.expires_at) });
        }
        if header.issued_at > now + MAX_CLOCK_SKEW {
            return Err(SigningError::NotYetValid { issued_at: rfc3339(header.issued_at) });
        }
        Ok(VerifiedDocument {
            doc_type,
            body: opened.body,
            body_hash: opened.body_hash,
            doc_id: header.doc_id.clone(),
            signers: keys.into_iter().map(|k| Signer { key_id: k.key_id, party: k.party, role: k.role }).collect(),
            header,
        })
    }

    /// Verifies, then records (signer, nonce) for every signer. A pair seen
    /// before — the same envelope again, or another document reusing a
    /// signer's nonce — is `replayed_nonce`. Callers that want re-submitting
    /// the same document to be a no-op use [`verify`](Self::verify) +
    /// [`record_acceptance`](Self::record_acceptance) instead.
    pub async fn accept(&self, env: &Envelope, now: OffsetDateTime) -> Result<VerifiedDocument, SigningError> {
        let doc = self.verify(env, now).await?;
        if self.record_acceptance(&doc, now).await? {
            Ok(doc)
        } else {
            let key_id = doc.signers.first().map(|s| s.key_id.as_str()).unwrap_or_default();
            Err(replayed(key_id, &doc.header.nonce))
        }
    }

    /// Records (signer, nonce) for every signer of a verified document.
    /// `Ok(true)`: recorded now; `Ok(false)`: this very document (same body
    /// hash) was accepted before — nothing to do; `replayed_nonce`: a
    /// signer's nonce belongs to another document.
    pub async fn record_acceptance(&self, doc: &VerifiedDocument, now: OffsetDateTime) -> Result<bool, SigningError> {
        let key_ids: Vec<&str> = doc.signers.iter().map(|s| s.key_id.as_str()).collect();
        let detail = json!({"doc_type": doc.doc_type.as_str(), "doc_id": doc.doc_id, "version": doc.header.version});
        self.record_nonces(&key_ids, &doc.header.nonce, &doc.body_hash, now, detail).await
    }

    /// The primitive under [`record_acceptance`](Self::record_acceptance).
    /// Record body: `{key_id, nonce, body_hash (hex), accepted_at (RFC 3339)}`
    /// plus `detail`'s members. Every pair is checked before any is
    /// written, so a replay never consumes the other signers' nonces; a
    /// pair already held by the same document (an earlier attempt that
    /// stopped half-way) is completed, not refused. Two concurrent
    /// submissions of different documents sharing a nonce can race; at most
    /// one of them is accepted for that signer.
    pub async fn record_nonces(
        &self,
        key_ids: &[&str],
        nonce: &str,
        body_hash: &[u8; 32],
        now: OffsetDateTime,
        detail: Value,
    ) -> Result<bool, SigningError> {
        let hash = hex::encode(body_hash);
        let mut missing = Vec::with_capacity(key_ids.len());
        for key_id in key_ids {
            let id = nonce_record_id(key_id, nonce);
            match self.store.get_record(&self.ledger, NONCE_RECORD_KIND, &id).await? {
                Some(r) if r.body.get("body_hash").and_then(Value::as_str) == Some(hash.as_str()) => {}
                Some(_) => return Err(replayed(key_id, nonce)),
                None => missing.push((*key_id, id)),
            }
        }
        if missing.is_empty() {
            return Ok(false);
        }
        for (key_id, id) in missing {
            let mut body = json!({"key_id": key_id, "nonce": nonce, "body_hash": hash, "accepted_at": rfc3339(now)});
            if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), &detail) {
                for (k, v) in extra {
                    b.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            if !self.store.insert_once(&self.ledger, NONCE_RECORD_KIND, &id, &body).await? {
                let now_held = self.store.get_record(&self.ledger, NONCE_RECORD_KIND, &id).await?;
                if now_held.and_then(|r| r.body.get("body_hash").and_then(Value::as_str).map(str::to_owned))
                    != Some(hash.clone())
                {
                    return Err(replayed(key_id, nonce));
                }
            }
        }
        Ok(true)
    }

    /// The key may sign a document issued at `header.issued_at` (see the
    /// module doc for the revocation rules).
    async fn check_key_at(
        &self,
        key: &RegisteredKey,
        header: &DocHeader,
        body_hash: &[u8; 32],
    ) -> Result<(), SigningError> {
        if header.issued_at < key.valid_from {
            return Err(SigningError::KeyNotYetValid {
                key_id: key.key_id.clone(),
                valid_from: rfc3339(key.valid_from),
                issued_at: rfc3339(header.issued_at),
            });
        }
        let (Some(revoked_at), Some(reason)) = (key.revoked_at, key.revocation) else {
            return Ok(());
        };
        let revoked = |why: String| SigningError::RevokedKey { key_id: key.key_id.clone(), reason: why };
        if header.issued_at >= revoked_at {
            return Err(revoked(format!(
                "{} at {}, the document was issued at {}",
                reason.as_str(),
                rfc3339(revoked_at),
                rfc3339(header.issued_at)
            )));
        }
        if reason == Revocation::Superseded {
            return Ok(());
        }
        let id = nonce_record_id(&key.key_id, &header.nonce);
        let accepted_before = match self.store.get_record(&self.ledger, NONCE_RECORD_KIND, &id).await? {
            Some(record) => {
                let same_doc = record.body.get("body_hash").and_then(Value::as_str) == Some(&hex::encode(body_hash));
                same_doc && accepted_at(&record).is_some_and(|t| t < revoked_at)
            }
            None => false,
        };
        if accepted_before {
            Ok(())
        } else {
            Err(revoked(format!(
                "compromised since {}, and this document was not accepted before then",
                rfc3339(revoked_at)
            )))
        }
    }
}

/// When a nonce record was written: its `accepted_at` (the `now` of the
/// acceptance), or else the store's own timestamp (records written by other
/// code without `accepted_at`).
fn accepted_at(record: &offtake_ledger::StoredRecord) -> Option<OffsetDateTime> {
    match record.body.get("accepted_at").and_then(Value::as_str) {
        Some(text) => parse_timestamp("accepted_at", text).ok(),
        None => OffsetDateTime::from_unix_timestamp_nanos(i128::from(record.recorded_at_us) * 1000).ok(),
    }
}

fn nonce_record_id(key_id: &str, nonce: &str) -> String {
    format!("{key_id}:{nonce}")
}

fn replayed(key_id: &str, nonce: &str) -> SigningError {
    SigningError::ReplayedNonce { key_id: key_id.to_owned(), nonce: nonce.to_owned() }
}

/// RFC 3339 text of a timestamp (for messages and records).
pub(crate) use offtake_ledger::date::format_rfc3339 as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The registry's futures are `Send`, so axum handlers and spawned tasks can await them.
    #[allow(dead_code)]
    fn registry_futures_are_send(registry: &KeyRegistry<'_>, env: &Envelope, now: OffsetDateTime) {
        assert_send(&registry.verify(env, now));
        assert_send(&registry.accept(env, now));
        assert_send(&registry.register(&RegisteredKey::new("a", Role::Brand, "", now).unwrap()));
        assert_send(&registry.revoke("k", now, Revocation::Superseded));
        assert_send(&registry.list());
    }

    #[test]
    fn required_signers_follow_the_document_type() {
        let body = json!({"brand": "b", "maker": "m", "lender": "l"});
        assert_eq!(
            required_signers(DocType::Commitment, &body),
            vec![(Role::Brand, "b".to_owned()), (Role::Maker, "m".to_owned())]
        );
        assert_eq!(required_signers(DocType::AdvanceRequest, &body), vec![(Role::Maker, "m".to_owned())]);
        assert_eq!(required_signers(DocType::AdvanceApproval, &body), vec![(Role::Lender, "l".to_owned())]);
        assert_eq!(required_signers(DocType::PaymentNotice, &body), vec![(Role::Brand, "b".to_owned())]);
        assert_eq!(required_signers(DocType::FacilityAcceptance, &body), vec![(Role::Maker, "m".to_owned())]);
        let mut cert = body.clone();
        cert["act"] = "attestation".into();
        assert_eq!(required_signers(DocType::CertificateSignature, &cert), vec![(Role::Maker, "m".to_owned())]);
        cert["act"] = "review".into();
        assert_eq!(required_signers(DocType::CertificateSignature, &cert), vec![(Role::Lender, "l".to_owned())]);
    }
}
