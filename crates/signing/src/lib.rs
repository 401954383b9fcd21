//! offtake-signing: signed documents — who signed what, provably.
//!
//! A document (commitment, advance request, advance approval, payment
//! notice) is a JSON body validated against its JSON Schema (`schemas/`),
//! canonicalised with RFC 8785 (JCS), wrapped in a DSSE envelope and signed
//! with Ed25519 by one or more parties. The key registry (in the ledger
//! database, through [`offtake_ledger::RecordStore`]) maps key ids to a
//! party and a role and records revocations and accepted nonces.
//!
//! This crate must never: accept a document it has not validated against
//! its schema; interpret a payload before its signatures verified; sign a
//! non-canonical payload; print or log a private key; know about money,
//! facilities or SQL (the finance domain decides what a verified document
//! means; the stores own the SQL).
//!
//! Entry points: [`seal`] + [`sign`] to produce envelopes,
//! [`KeyRegistry::verify`] / [`KeyRegistry::accept`] to check them,
//! [`require_roles`] for extra signer rules.

#![forbid(unsafe_code)]

pub mod canonical;
pub mod doc;
pub mod envelope;
pub mod error;
pub mod key;
pub mod registry;
pub mod samples;

pub use canonical::{body_hash, canonical_json};
pub use doc::{doc_type_of, validate, DocHeader, DocType};
pub use envelope::{pae, seal, sign, Envelope, EnvelopeSignature, MAX_PAYLOAD_BYTES, MAX_SIGNATURES};
pub use error::SigningError;
pub use key::{check_party, key_id_of, PublicKeyFile, Role, SigningKey, PARTY_ID_MAX_CHARS};
pub use registry::{
    require_roles, required_signers, KeyRegistry, RegisteredKey, Revocation, Signer, VerifiedDocument, KEY_RECORD_KIND,
    MAX_CLOCK_SKEW, NONCE_RECORD_KIND,
};
