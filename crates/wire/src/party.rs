//! Parties and API keys.

use offtake_finance::PartyRole;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What a party is in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// The servicer running offtake; its keys are admin keys.
    Operator,
    Brand,
    Maker,
    Lender,
    Auditor,
}

/// What an API key may do. A key's role is its party's: an operator's key
/// is `admin`, a brand's key `brand`, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the raw ledger, parties and keys.
    Admin,
    /// Its own commitments, invoices and payments.
    Brand,
    /// Its own facilities, advances, commitments and statements.
    Maker,
    /// Its own facilities and what they finance.
    Lender,
    /// Reads everything, writes nothing.
    Auditor,
}

impl PartyKind {
    /// The role of the party's API keys.
    pub fn role(self) -> Role {
        match self {
            PartyKind::Operator => Role::Admin,
            PartyKind::Brand => Role::Brand,
            PartyKind::Maker => Role::Maker,
            PartyKind::Lender => Role::Lender,
            PartyKind::Auditor => Role::Auditor,
        }
    }

    /// The finance domain's role; operators are not finance parties.
    pub fn finance_role(self) -> Option<PartyRole> {
        match self {
            PartyKind::Operator => None,
            PartyKind::Brand => Some(PartyRole::Brand),
            PartyKind::Maker => Some(PartyRole::Maker),
            PartyKind::Lender => Some(PartyRole::Lender),
            PartyKind::Auditor => Some(PartyRole::Auditor),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Operator => "operator",
            PartyKind::Brand => "brand",
            PartyKind::Maker => "maker",
            PartyKind::Lender => "lender",
            PartyKind::Auditor => "auditor",
        }
    }
}

impl From<PartyRole> for PartyKind {
    fn from(role: PartyRole) -> Self {
        match role {
            PartyRole::Brand => PartyKind::Brand,
            PartyRole::Maker => PartyKind::Maker,
            PartyRole::Lender => PartyKind::Lender,
            PartyRole::Auditor => PartyKind::Auditor,
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Brand => "brand",
            Role::Maker => "maker",
            Role::Lender => "lender",
            Role::Auditor => "auditor",
        }
    }
}

/// A brand, maker, lender, auditor or operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Party {
    #[schema(example = "brand-acme")]
    pub id: String,
    pub kind: PartyKind,
    #[schema(example = "Acme Apparel Inc.")]
    pub name: String,
}

impl From<offtake_finance::Party> for Party {
    fn from(p: offtake_finance::Party) -> Self {
        Party { id: p.id, kind: p.role.into(), name: p.name }
    }
}

/// An API key's public description (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// The part of the key after `otk_`, before the secret.
    #[schema(example = "3f2a9c01b7e4d5a6c8f0e1d2")]
    pub key_id: String,
    #[schema(example = "brand-acme")]
    pub party_id: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Absent while the key is valid.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Every API key starts with this, so leaked keys are easy to scan for.
pub const API_KEY_PREFIX: &str = "otk_";
/// Random bytes in a key's public id (hex: twice as many digits).
pub const API_KEY_ID_BYTES: usize = 12;
/// Random bytes in a key's secret (hex: twice as many digits).
pub const API_KEY_SECRET_BYTES: usize = 32;

/// Splits an API key, `otk_<key id>_<secret>`, into its key id; `None`
/// if malformed. The key's format is part of the contract: the API reads
/// the id to authenticate, the dashboard to find the signed-in key among
/// those it may list, so the one parser lives here, below both.
pub fn key_id_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of = |s: &str, n: usize| s.len() == n * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, API_KEY_ID_BYTES) && hex_of(secret, API_KEY_SECRET_BYTES)).then_some(id)
}

/// A newly issued API key: the description and, this once, the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedApiKey {
    #[serde(flatten)]
    pub key_info: ApiKey,
    /// The key itself (`otk_…`), shown this once; send it as
    /// `Authorization: Bearer <key>`. Absent on an idempotent replay.
    #[serde(default)]
    pub key: Option<String>,
}

#[cfg(test)]
mod api_key_tests {
    use super::*;

    #[test]
    fn key_ids_parse_only_from_well_formed_keys() {
        let good = format!("otk_{}_{}", "a".repeat(24), "b".repeat(64));
        assert_eq!(key_id_of(&good), Some("a".repeat(24).as_str()));
        for bad in ["", "otk_", "otk_zz_zz", &good[1..], &format!("{good}0"), &good.replace("otk_", "ot_")] {
            assert_eq!(key_id_of(bad), None, "{bad}");
        }
    }
}
