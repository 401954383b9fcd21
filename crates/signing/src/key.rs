//! Ed25519 keys, key ids, roles and the private key file format.
//!
//! Key id = lower-case hex of the first 16 bytes of SHA-256 over the 32-byte
//! Ed25519 public key (32 hex characters). It is derived, never chosen, so
//! a registry entry cannot name a key id that does not belong to its key.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::canonical::sha256;
use crate::error::SigningError;

/// Length of a key id in hex characters.
pub const KEY_ID_HEX_LEN: usize = 32;
/// The `type` field of a private key file.
pub const PRIVATE_KEY_FILE_TYPE: &str = "offtake-ed25519-private-key";
/// The `type` field of a public key file.
pub const PUBLIC_KEY_FILE_TYPE: &str = "offtake-ed25519-public-key";

/// The role a key signs in. A key has exactly one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Brand,
    Maker,
    Lender,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Brand => "brand",
            Role::Maker => "maker",
            Role::Lender => "lender",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = SigningError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "brand" => Ok(Role::Brand),
            "maker" => Ok(Role::Maker),
            "lender" => Ok(Role::Lender),
            "auditor" => Ok(Role::Auditor),
            _ => Err(SigningError::InvalidKey(format!("unknown role {s:?}: expected brand, maker, lender or auditor"))),
        }
    }
}

/// Key id of a public key (see the module doc).
pub fn key_id_of(public_key: &VerifyingKey) -> String {
    hex::encode(&sha256(public_key.as_bytes())[..KEY_ID_HEX_LEN / 2])
}

/// Parses a hex Ed25519 public key and refuses weak (small-order) keys.
pub fn parse_public_key(public_key_hex: &str) -> Result<VerifyingKey, SigningError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(public_key_hex.trim(), &mut bytes)
        .map_err(|e| SigningError::InvalidKey(format!("public key must be 64 hex characters: {e}")))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SigningError::InvalidKey("public key is not a valid Ed25519 point".into()))?;
    if key.is_weak() {
        return Err(SigningError::InvalidKey("public key has small order".into()));
    }
    Ok(key)
}

/// A private signing key with the party and role it signs for.
///
/// `Debug` never shows the secret; the secret is zeroed on drop (by
/// `ed25519-dalek`).
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    key_id: String,
    party: String,
    role: Role,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .field("party", &self.party)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// On-disk form of a private key (JSON, written with mode 0600).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKeyFile {
    #[serde(rename = "type")]
    file_type: String,
    key_id: String,
    party: String,
    role: Role,
    public_key: String,
    /// The 32-byte Ed25519 seed, hex.
    secret_key: String,
}

/// On-disk form of a public key: what `key register` needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyFile {
    #[serde(rename = "type")]
    pub file_type: String,
    pub key_id: String,
    pub party: String,
    pub role: Role,
    pub public_key: String,
}

impl PublicKeyFile {
    /// Parses a public key file and checks that its key id matches its key.
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let file: PublicKeyFile = serde_json::from_str(text)
            .map_err(|e| SigningError::InvalidKey(format!("not an offtake public key file: {e}")))?;
        if file.file_type != PUBLIC_KEY_FILE_TYPE {
            return Err(SigningError::InvalidKey(format!("type must be {PUBLIC_KEY_FILE_TYPE:?}")));
        }
        let key = parse_public_key(&file.public_key)?;
        if key_id_of(&key) != file.key_id {
            return Err(SigningError::InvalidKey("key_id does not match public_key".into()));
        }
        Ok(file)
    }
}

/// Longest party id. Short because ledger idempotency keys and account
/// codes embed it.
pub const PARTY_ID_MAX_CHARS: usize = 48;

/// Checks a party id: 1 to [`PARTY_ID_MAX_CHARS`] of `a-z 0-9 _ -`,
/// starting with a letter or digit, so that documents can name the party
/// (their ids are `^[a-z0-9][a-z0-9_-]{0,63}$`). The one party-id rule of
/// the signing registry, the finance domain, the API and the CLI.
pub fn check_party(party: &str) -> Result<(), SigningError> {
    let bytes = party.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= PARTY_ID_MAX_CHARS
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SigningError::InvalidKey(format!(
            "party {party:?} must be 1-{PARTY_ID_MAX_CHARS} of a-z 0-9 _ -, starting with a-z or 0-9"
        )))
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(party: &str, role: Role) -> Result<SigningKey, SigningError> {
        let inner = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        SigningKey::from_dalek(inner, party, role)
    }

    /// A key from a 32-byte seed (test vectors; importing keys).
    pub fn from_seed(seed: &[u8; 32], party: &str, role: Role) -> Result<SigningKey, SigningError> {
        SigningKey::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed), party, role)
    }

    fn from_dalek(inner: ed25519_dalek::SigningKey, party: &str, role: Role) -> Result<SigningKey, SigningError> {
        check_party(party)?;
        let key_id = key_id_of(&inner.verifying_key());
        Ok(SigningKey { inner, key_id, party: party.to_owned(), role })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn party(&self) -> &str {
        &self.party
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.inner.verifying_key()
    }

    /// Public key, lower-case hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.inner.verifying_key().as_bytes())
    }

    /// Signs raw bytes (callers sign the DSSE PAE, see [`crate::envelope::sign`]).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }

    /// The private key file's JSON text. Holds the secret: write it with
    /// mode 0600 and never print it.
    pub fn to_private_file(&self) -> String {
        let file = PrivateKeyFile {
            file_type: PRIVATE_KEY_FILE_TYPE.into(),
            key_id: self.key_id.clone(),
            party: self.party.clone(),
            role: self.role,
            public_key: self.public_key_hex(),
            secret_key: hex::encode(self.inner.to_bytes()),
        };
        // Serialising a struct of strings cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    /// Reads a private key file; checks that its key id and public key
    /// belong to its secret.
    pub fn from_private_file(text: &str) -> Result<SigningKey, SigningError> {
        let file: PrivateKeyFile = serde_json::from_str(text)
            .map_err(|_| SigningError::InvalidKey("not an offtake private key file".into()))?;
        if file.file_type != PRIVATE_KEY_FILE_TYPE {
            return Err(SigningError::InvalidKey(format!("type must be {PRIVATE_KEY_FILE_TYPE:?}")));
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&file.secret_key, &mut seed)
            .map_err(|_| SigningError::InvalidKey("secret_key must be 64 hex characters".into()))?;
        let key = SigningKey::from_seed(&seed, &file.party, file.role)?;
        seed.fill(0);
        if key.public_key_hex() != file.public_key || key.key_id != file.key_id {
            return Err(SigningError::InvalidKey("public_key or key_id does not match secret_key".into()));
        }
        Ok(key)
    }

    /// The public key file's JSON text.
    pub fn to_public_file(&self) -> PublicKeyFile {
        PublicKeyFile {
            file_type: PUBLIC_KEY_FILE_TYPE.into(),
            key_id: self.key_id.clone(),
            party: self.party.clone(),
            role: self.role,
            public_key: self.public_key_hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_file_round_trips_and_debug_hides_the_secret() {
        let key = SigningKey::from_seed(&[7u8; 32], "acme", Role::Maker).unwrap();
        let text = key.to_private_file();
        let back = SigningKey::from_private_file(&text).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.public_key_hex(), key.public_key_hex());
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode([7u8; 32])), "{debug}");
        assert_eq!(key.key_id().len(), KEY_ID_HEX_LEN);
    }

    #[test]
    fn a_file_whose_public_key_was_swapped_is_refused() {
        let a = SigningKey::from_seed(&[1u8; 32], "acme", Role::Maker).unwrap();
        let b = SigningKey::from_seed(&[2u8; 32], "acme", Role::Maker).unwrap();
        let text = a.to_private_file().replace(&a.public_key_hex(), &b.public_key_hex());
        assert_eq!(SigningKey::from_private_file(&text).unwrap_err().code(), "invalid_key");
    }

    /// RFC 8032 section 7.1, TEST 2 (one-byte message 0x72).
    #[test]
    fn ed25519_matches_rfc8032_test_2() {
        let mut seed = [0u8; 32];
        hex::decode_to_slice("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", &mut seed).unwrap();
        let key = SigningKey::from_seed(&seed, "rfc", Role::Auditor).unwrap();
        assert_eq!(key.public_key_hex(), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
        assert_eq!(
            hex::encode(key.sign_bytes(&[0x72])),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        );
    }

    #[test]
    fn weak_public_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(parse_public_key(&hex::encode(identity)).unwrap_err().code(), "invalid_key");
    }
}
