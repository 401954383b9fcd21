//! DSSE envelopes (<https://github.com/secure-systems-lab/dsse>, v1.0).
//!
//! `{"payloadType", "payload", "signatures": [{"keyid", "sig"}]}`, where
//! `payload` is the standard, padded base64 of the document's RFC 8785
//! canonical body and each `sig` is the standard, padded base64 of an
//! Ed25519 signature over
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`
//! (LEN = byte length in ASCII decimal, SP = one space).
//!
//! Sealing validates the body against its schema first; the payload is
//! always the canonical body, so a payload whose keys were re-ordered (or
//! re-spaced) is refused even if someone re-signed it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{canonical_json, sha256};
use crate::doc::{validate, DocHeader, DocType};
use crate::error::SigningError;
use crate::key::{SigningKey, KEY_ID_HEX_LEN};

/// Largest canonical body accepted (bytes). A commitment with 120 tranches
/// is about 25 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Most signatures on one envelope.
pub const MAX_SIGNATURES: usize = 8;
/// Ed25519 signature length (bytes).
pub const SIGNATURE_BYTES: usize = 64;

/// A DSSE envelope. Field names follow the DSSE JSON (camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    pub payload_type: String,
    /// Standard, padded base64 of the canonical body.
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Key id (see [`crate::key`]).
    pub keyid: String,
    /// Standard, padded base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// DSSE pre-authentication encoding: the exact bytes that are signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Wraps a document body into an unsigned envelope: validates it against
/// its schema, canonicalises it and encodes it.
pub fn seal(doc_type: DocType, body: &Value) -> Result<Envelope, SigningError> {
    validate(doc_type, body)?;
    let canonical = canonical_json(body)?;
    if canonical.len() > MAX_PAYLOAD_BYTES {
        return Err(SigningError::schema(format!("document is larger than {MAX_PAYLOAD_BYTES} bytes")));
    }
    Ok(Envelope {
        payload_type: doc_type.payload_type().to_owned(),
        payload: STANDARD.encode(&canonical),
        signatures: vec![],
    })
}

/// Adds `key`'s signature. The payload is decoded and checked (known type,
/// schema, canonical form) before it is signed: a key never signs what it
/// would not accept. Signing twice with the same key is a no-op (Ed25519
/// signatures are deterministic).
pub fn sign(envelope: &mut Envelope, key: &SigningKey) -> Result<(), SigningError> {
    let opened = open(envelope)?;
    if envelope.signatures.iter().any(|s| s.keyid == key.key_id()) {
        return Ok(());
    }
    if envelope.signatures.len() >= MAX_SIGNATURES {
        return Err(SigningError::malformed(format!("an envelope holds at most {MAX_SIGNATURES} signatures")));
    }
    let sig = key.sign_bytes(&pae(&envelope.payload_type, &opened.payload));
    envelope.signatures.push(EnvelopeSignature { keyid: key.key_id().to_owned(), sig: STANDARD.encode(sig) });
    Ok(())
}

/// An envelope's signatures, decoded but not verified.
pub(crate) struct RawSignature {
    pub key_id: String,
    pub sig: [u8; SIGNATURE_BYTES],
}

/// Decodes the signature list: bounded, unique key ids, 64-byte signatures.
/// A signature of the wrong length is a `bad_signature` (truncated), the
/// rest of the structure is `malformed_envelope`.
pub(crate) fn decode_signatures(envelope: &Envelope) -> Result<Vec<RawSignature>, SigningError> {
    if envelope.signatures.is_empty() {
        return Err(SigningError::MissingSignature("the envelope has no signatures".into()));
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(SigningError::malformed(format!("an envelope holds at most {MAX_SIGNATURES} signatures")));
    }
    let mut out: Vec<RawSignature> = Vec::with_capacity(envelope.signatures.len());
    for s in &envelope.signatures {
        let well_formed = s.keyid.len() == KEY_ID_HEX_LEN
            && s.keyid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(SigningError::malformed(format!("keyid must be {KEY_ID_HEX_LEN} lower-case hex characters")));
        }
        if out.iter().any(|r| r.key_id == s.keyid) {
            return Err(SigningError::malformed(format!("key {} signs twice", s.keyid)));
        }
        if s.sig.len() > 2 * SIGNATURE_BYTES {
            return Err(bad_sig(&s.keyid, "signature is too long"));
        }
        let bytes = STANDARD.decode(&s.sig).map_err(|e| bad_sig(&s.keyid, &format!("signature is not base64: {e}")))?;
        let sig: [u8; SIGNATURE_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| {
            bad_sig(&s.keyid, &format!("signature is {} bytes, not {SIGNATURE_BYTES}", b.len()))
        })?;
        out.push(RawSignature { key_id: s.keyid.clone(), sig });
    }
    Ok(out)
}

pub(crate) fn bad_sig(key_id: &str, reason: &str) -> SigningError {
    SigningError::BadSignature { key_id: key_id.to_owned(), reason: reason.to_owned() }
}

/// The payload bytes of an envelope, decoded from base64 (bounded).
pub(crate) fn decode_payload(envelope: &Envelope) -> Result<Vec<u8>, SigningError> {
    // 4 base64 characters per 3 bytes.
    if envelope.payload.len() > MAX_PAYLOAD_BYTES.div_ceil(3) * 4 {
        return Err(SigningError::malformed(format!("payload is larger than {MAX_PAYLOAD_BYTES} bytes")));
    }
    STANDARD.decode(&envelope.payload).map_err(|e| SigningError::malformed(format!("payload is not base64: {e}")))
}

/// A decoded, schema-valid, canonical envelope payload. Nothing here is
/// authenticated yet.
pub(crate) struct Opened {
    pub payload: Vec<u8>,
    pub body: Value,
    pub header: DocHeader,
    pub body_hash: [u8; 32],
}

/// Decodes and checks an envelope's payload: known payload type, JSON,
/// schema, canonical form.
pub(crate) fn open(envelope: &Envelope) -> Result<Opened, SigningError> {
    let doc_type = DocType::from_payload_type(&envelope.payload_type).ok_or_else(|| {
        SigningError::malformed(format!("unknown payloadType {:?}", truncate(&envelope.payload_type)))
    })?;
    let payload = decode_payload(envelope)?;
    open_payload(doc_type, payload)
}

pub(crate) fn open_payload(doc_type: DocType, payload: Vec<u8>) -> Result<Opened, SigningError> {
    let body: Value =
        serde_json::from_slice(&payload).map_err(|e| SigningError::malformed(format!("payload is not JSON: {e}")))?;
    let header = validate(doc_type, &body)?;
    if canonical_json(&body)? != payload {
        return Err(SigningError::malformed("payload is not in RFC 8785 canonical form"));
    }
    let body_hash = sha256(&payload);
    Ok(Opened { payload, body, header, body_hash })
}

/// The first 80 characters of untrusted text, for messages.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }
}
