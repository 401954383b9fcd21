//! Signed source documents (DSSE envelopes) referenced by entries'
//! `source_hash`.
//!
//! An envelope is `{payloadType, payload (base64), signatures: [{keyid,
//! sig}]}`; each signature is Ed25519 over
//! `PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body`. An entry's
//! `source_hash` is the SHA-256 of the document body (the decoded payload,
//! RFC 8785 JSON); an envelope whose own bytes hash to it is accepted too.
//! Signer keys come from `documents/keys.json` (`{keyid: public key hex}`),
//! which the ledger key signs along with the rest of the bundle.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use ed25519_dalek::VerifyingKey;
use offtake_signing::Envelope;

use crate::error::{AuditError, Loc};
use crate::format::sha256_hex;
use crate::keys::{parse_public_key, verify_b64};

/// Most documents an exporter indexes from one directory.
pub const MAX_DOCUMENTS: usize = 100_000;

/// The DSSE pre-authentication encoding, from `offtake-signing` (one
/// implementation for signing and for offline verification).
pub use offtake_signing::pae;

/// Envelopes are strict standard base64 (what `offtake-signing` writes);
/// the URL-safe alphabets are accepted too, since other DSSE writers use them.
fn decode_b64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD.decode(text).or_else(|_| URL_SAFE.decode(text)).or_else(|_| URL_SAFE_NO_PAD.decode(text)).ok()
}

/// What a checked document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDocument {
    pub payload_sha256: String,
    pub envelope_sha256: String,
    pub signatures: usize,
}

impl CheckedDocument {
    pub fn matches(&self, source_hash_hex: &str) -> bool {
        self.payload_sha256 == source_hash_hex || self.envelope_sha256 == source_hash_hex
    }
}

/// Parses an envelope and verifies every signature with `keys`. At least
/// one signature is required; an unknown key id fails.
pub fn check_envelope(
    bytes: &[u8],
    keys: &BTreeMap<String, VerifyingKey>,
    loc: &Loc,
) -> Result<CheckedDocument, AuditError> {
    let bad = |reason: String| AuditError::Document { loc: loc.clone(), reason };
    let env: Envelope = serde_json::from_slice(bytes).map_err(|e| bad(format!("not a DSSE envelope: {e}")))?;
    let body = decode_b64(&env.payload).ok_or_else(|| bad("payload is not base64".into()))?;
    if env.signatures.is_empty() {
        return Err(bad("envelope has no signature".into()));
    }
    let message = pae(&env.payload_type, &body);
    for (i, s) in env.signatures.iter().enumerate() {
        let key = keys.get(&s.keyid).ok_or_else(|| bad(format!("signature {i}: unknown key id {:?}", s.keyid)))?;
        verify_b64(key, &message, &s.sig, loc)
            .map_err(|_| bad(format!("signature {i} by key id {:?} does not verify", s.keyid)))?;
    }
    Ok(CheckedDocument {
        payload_sha256: sha256_hex(&body),
        envelope_sha256: sha256_hex(bytes),
        signatures: env.signatures.len(),
    })
}

/// Parses `documents/keys.json`.
pub fn parse_keys(bytes: &[u8], loc: &Loc) -> Result<BTreeMap<String, VerifyingKey>, AuditError> {
    let map: BTreeMap<String, String> = serde_json::from_slice(bytes)
        .map_err(|e| AuditError::malformed(loc.clone(), format!("expected {{\"keyid\": \"public key hex\"}}: {e}")))?;
    map.into_iter().map(|(id, hex_key)| Ok((id, parse_public_key(&hex_key, loc)?))).collect()
}

/// The documents an exporter was given: source hash → file bytes' path.
pub struct DocumentIndex {
    by_hash: BTreeMap<String, std::path::PathBuf>,
}

impl DocumentIndex {
    /// Indexes every regular file of `dir` by both its payload and its
    /// envelope hash, verifying each one first: the exporter never signs a
    /// bundle with a document that would fail verification.
    pub fn build(dir: &Path, keys: &BTreeMap<String, VerifyingKey>) -> Result<Self, AuditError> {
        let mut by_hash = BTreeMap::new();
        let rd = std::fs::read_dir(dir).map_err(|e| AuditError::io(dir.display(), e))?;
        for item in rd {
            let item = item.map_err(|e| AuditError::io(dir.display(), e))?;
            let path = item.path();
            if !path.is_file() {
                continue;
            }
            if by_hash.len() >= 2 * MAX_DOCUMENTS {
                return Err(AuditError::invalid("documents", format!("more than {MAX_DOCUMENTS} files")));
            }
            let bytes = std::fs::read(&path).map_err(|e| AuditError::io(path.display(), e))?;
            let checked = check_envelope(&bytes, keys, &Loc::file(path.display().to_string()))?;
            by_hash.insert(checked.payload_sha256, path.clone());
            by_hash.insert(checked.envelope_sha256, path);
        }
        Ok(DocumentIndex { by_hash })
    }

    pub fn get(&self, source_hash_hex: &str) -> Option<&Path> {
        self.by_hash.get(source_hash_hex).map(|p| p.as_path())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// A DSSE envelope over `body` signed by `key` under `keyid`.
    pub fn envelope(body: &[u8], keyid: &str, key: &SigningKey) -> Vec<u8> {
        let ty = "application/vnd.offtake.document+json";
        let sig = key.sign(&pae(ty, body));
        let b64 = base64::engine::general_purpose::STANDARD;
        serde_json::to_vec(&serde_json::json!({
            "payloadType": ty,
            "payload": b64.encode(body),
            "signatures": [{ "keyid": keyid, "sig": b64.encode(sig.to_bytes()) }],
        }))
        .expect("json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn signed_envelope_checks_and_tampering_fails() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let keys = BTreeMap::from([("brand-b1".to_owned(), key.verifying_key())]);
        let env = test_support::envelope(br#"{"doc_id":"c1"}"#, "brand-b1", &key);
        let loc = Loc::file("documents/x.json");
        let checked = check_envelope(&env, &keys, &loc).expect("valid");
        assert_eq!(checked.payload_sha256, sha256_hex(br#"{"doc_id":"c1"}"#));
        let mut tampered = String::from_utf8(env.clone()).expect("utf8");
        tampered = tampered.replace("brand-b1", "brand-b2");
        assert_eq!(check_envelope(tampered.as_bytes(), &keys, &loc).unwrap_err().code(), "document_invalid");
        let other = BTreeMap::from([("brand-b1".to_owned(), SigningKey::from_bytes(&[8u8; 32]).verifying_key())]);
        assert!(check_envelope(&env, &other, &loc).is_err());
    }

    #[test]
    fn pae_matches_the_dsse_spec_example_shape() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
