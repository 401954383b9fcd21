//! Public signing keys in the registry.

use offtake_signing::{RegisteredKey, Revocation as DomainRevocation, Role as DomainSigningRole};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

wire_enum! {
    /// The role a key signs documents in.
    SigningRole from DomainSigningRole {
        Brand = "brand" <= Brand,
        Maker = "maker" <= Maker,
        Lender = "lender" <= Lender,
        Auditor = "auditor" <= Auditor,
    }
}

wire_enum! {
    /// Why a key was revoked.
    Revocation from DomainRevocation {
        /// The secret leaked: signatures from `revoked_at` on are void.
        Compromised = "compromised" <= Compromised,
        /// Rotated: documents issued before `revoked_at` stay valid.
        Superseded = "superseded" <= Superseded,
    }
}

/// An Ed25519 public key that signed documents are verified against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SigningKey {
    /// Derived from the public key.
    #[schema(example = "ed25519:5c1f0b7e2d9a4c38")]
    pub key_id: String,
    #[schema(example = "brand-acme")]
    pub party: String,
    pub role: SigningRole,
    /// 32-byte Ed25519 public key, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub public_key_hex: String,
    /// Documents issued before this instant are not signed by this key.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub revocation: Option<Revocation>,
}

impl From<RegisteredKey> for SigningKey {
    fn from(k: RegisteredKey) -> Self {
        SigningKey {
            key_id: k.key_id,
            party: k.party,
            role: k.role.into(),
            public_key_hex: k.public_key_hex,
            valid_from: k.valid_from,
            revoked_at: k.revoked_at,
            revocation: k.revocation.map(Into::into),
        }
    }
}
