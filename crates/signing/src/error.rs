//! Signing errors. Every variant has a stable machine code (`code()`); the
//! CLI prints it as `error[code]`, the API maps it to an HTTP status.

use offtake_ledger::LedgerError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// A signature does not verify (tampered payload or payload type,
    /// truncated or forged signature, wrong key).
    #[error("bad signature by key {key_id}: {reason}")]
    BadSignature { key_id: String, reason: String },
    /// A signature names a key the registry does not hold.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The key was revoked before the document's `issued_at` (or, for a
    /// compromised key, the document was not accepted before the compromise).
    #[error("key {key_id} is revoked: {reason}")]
    RevokedKey { key_id: String, reason: String },
    /// The key's `valid_from` is after the document's `issued_at`.
    #[error("key {key_id} is not valid until {valid_from}, the document was issued at {issued_at}")]
    KeyNotYetValid { key_id: String, valid_from: String, issued_at: String },
    /// This signer already had a document with this nonce accepted.
    #[error("nonce {nonce:?} of key {key_id} was already accepted")]
    ReplayedNonce { key_id: String, nonce: String },
    /// `now` is at or after the document's `expires_at`.
    #[error("document expired at {expires_at}")]
    ExpiredDocument { expires_at: String },
    /// The document's `issued_at` is further in the future than the allowed
    /// clock skew.
    #[error("document is issued at {issued_at}, in the future")]
    NotYetValid { issued_at: String },
    /// The body does not match its JSON Schema or a rule a schema cannot
    /// express (dates in order, unique tranche ids, type matching payloadType).
    #[error("schema violation: {0}")]
    SchemaViolation(String),
    /// A signature the rules require (a party in a role) is absent.
    #[error("missing signature: {0}")]
    MissingSignature(String),
    /// The envelope cannot be decoded (bad base64, unknown payload type,
    /// non-canonical payload, too large, duplicate signers).
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    /// A key cannot be registered or revoked as asked.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A different key is already registered under this id.
    #[error("key {0} is already registered with different attributes")]
    KeyExists(String),
    /// The record store failed; the ledger's code passes through.
    #[error(transparent)]
    Store(#[from] LedgerError),
}

impl SigningError {
    /// Stable machine code. Never rename one: clients match on it.
    pub fn code(&self) -> &'static str {
        use SigningError::*;
        match self {
            BadSignature { .. } => "bad_signature",
            UnknownKey(_) => "unknown_key",
            RevokedKey { .. } => "revoked_key",
            KeyNotYetValid { .. } => "key_not_yet_valid",
            ReplayedNonce { .. } => "replayed_nonce",
            ExpiredDocument { .. } => "expired_document",
            NotYetValid { .. } => "not_yet_valid",
            SchemaViolation(_) => "schema_violation",
            MissingSignature(_) => "missing_signature",
            MalformedEnvelope(_) => "malformed_envelope",
            InvalidKey(_) => "invalid_key",
            KeyExists(_) => "key_exists",
            Store(e) => e.code(),
        }
    }

    /// True when the error is about the input (the caller can fix it).
    pub fn is_client_error(&self) -> bool {
        match self {
            SigningError::Store(e) => e.is_client_error(),
            _ => true,
        }
    }

    pub(crate) fn schema(reason: impl Into<String>) -> Self {
        SigningError::SchemaViolation(reason.into())
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        SigningError::MalformedEnvelope(reason.into())
    }
}
