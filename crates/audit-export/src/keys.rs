//! The ledger key: an Ed25519 key that signs bundle manifests and
//! checkpoints. Stored as its raw 32-byte seed in a file only its owner may
//! read (0600), like an SSH private key; the public key travels in every
//! bundle, and auditors pin it with `--ledger-public-key`.

use std::io::Write;
use std::path::Path;

use base64::Engine;
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signature, Signer, SigningKey};

use crate::error::{AuditError, Loc};

/// Length of the seed file.
pub const SEED_BYTES: usize = 32;

pub struct LedgerKey {
    signing: SigningKey,
}

impl LedgerKey {
    /// Generates a fresh key from the operating system's randomness and
    /// writes its seed to `path` with mode 0600. Refuses to overwrite.
    pub fn generate(path: &Path) -> Result<LedgerKey, AuditError> {
        let signing = SigningKey::generate(&mut rand_core::OsRng);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| AuditError::io(path.display(), e))?;
        file.write_all(signing.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| AuditError::io(path.display(), e))?;
        Ok(LedgerKey { signing })
    }

    /// Loads a seed file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<LedgerKey, AuditError> {
        let key_err = |reason: String| AuditError::Key { path: path.display().to_string(), reason };
        let meta = std::fs::metadata(path).map_err(|e| AuditError::io(path.display(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(AuditError::KeyPermissions { path: path.display().to_string(), mode });
            }
        }
        if meta.len() != SEED_BYTES as u64 {
            return Err(key_err(format!("expected a {SEED_BYTES}-byte seed, found {} bytes", meta.len())));
        }
        let bytes = std::fs::read(path).map_err(|e| AuditError::io(path.display(), e))?;
        let seed: [u8; SEED_BYTES] =
            bytes.as_slice().try_into().map_err(|_| key_err("seed changed length while reading".into()))?;
        Ok(LedgerKey { signing: SigningKey::from_bytes(&seed) })
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key().as_bytes())
    }

    /// This key as a signed-note signer under `name` (the ledger's origin
    /// for checkpoints, a witness's own name for cosignatures).
    pub fn note_signer(&self, name: &str) -> Result<crate::note::NoteSigner, AuditError> {
        crate::note::NoteSigner::new(name, self.signing.clone())
    }

    /// Signs `message` and returns the base64 signature.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.signing.sign(message).to_bytes())
    }
}

/// Parses a hex public key with `offtake-signing`'s rules (64 hex digits,
/// a valid Ed25519 point, not of small order).
pub fn parse_public_key(hex_text: &str, loc: &Loc) -> Result<VerifyingKey, AuditError> {
    offtake_signing::key::parse_public_key(hex_text).map_err(|e| AuditError::malformed(loc.clone(), e.to_string()))
}

/// Verifies a base64 Ed25519 signature with `verify_strict` (no malleable
/// or small-order encodings).
pub fn verify_b64(key: &VerifyingKey, message: &[u8], sig_b64: &str, loc: &Loc) -> Result<(), AuditError> {
    let bad = |reason: String| AuditError::BadSignature { loc: loc.clone(), reason };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig_b64.trim())
        .map_err(|e| bad(format!("signature is not base64: {e}")))?;
    let sig = Signature::from_slice(&raw).map_err(|_| bad(format!("signature is {} bytes, not 64", raw.len())))?;
    key.verify_strict(message, &sig).map_err(|_| bad("Ed25519 verification failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_private_and_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.key");
        let key = LedgerKey::generate(&path).expect("generate");
        assert!(LedgerKey::generate(&path).is_err(), "never overwrites a key");
        let again = LedgerKey::load(&path).expect("load");
        assert_eq!(key.public_key_hex(), again.public_key_hex());
        let sig = key.sign_b64(b"hello");
        let loc = Loc::file("x");
        verify_b64(&again.public_key(), b"hello", &sig, &loc).expect("verifies");
        assert_eq!(verify_b64(&again.public_key(), b"hellp", &sig, &loc).unwrap_err().code(), "bad_signature");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.key");
        LedgerKey::generate(&path).expect("generate");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(LedgerKey::load(&path).err().map(|e| e.code()), Some("ledger_key_permissions"));
    }

    #[test]
    fn weak_public_keys_are_refused_like_in_signing() {
        // The identity point: a valid encoding of small order, which
        // `verify` would let sign anything for. Signing refuses it; so do we.
        let identity = format!("01{}", "00".repeat(31));
        let e = parse_public_key(&identity, &Loc::file("keys.json")).unwrap_err();
        assert_eq!(e.code(), "malformed");
        assert!(e.to_string().contains("small order"), "{e}");
        assert!(parse_public_key("zz", &Loc::file("keys.json")).is_err());
    }
}
