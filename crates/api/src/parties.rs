//! Parties (their API keys: [`crate::api_keys`]).
//!
//! Brands, makers, lenders and auditors are the finance domain's parties
//! (record kind `party`, [`offtake_finance::Party`]); the API adds
//! operators (record kind `operator`), the servicer's own staff whose keys
//! are admin keys. API keys are records of kind `api_key` holding the
//! SHA-256 of the key, never the key: it is shown once, when issued.

use offtake_finance::Finance;
use offtake_ledger::{LedgerError, LedgerId, RecordStore};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const OPERATOR_KIND: &str = "operator";
/// Longest party id (the one rule: [`offtake_signing::check_party`]).
pub use offtake_signing::PARTY_ID_MAX_CHARS;

pub use offtake_wire::{Party, PartyKind, Role};

/// A party id, by the one rule of [`offtake_signing::check_party`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PartyId(String);

impl PartyId {
    pub fn new(text: &str) -> Result<Self, ApiError> {
        if offtake_signing::check_party(text).is_ok() {
            Ok(PartyId(text.to_owned()))
        } else {
            Err(ApiError::unprocessable(
                "invalid_party_id",
                format!("a party id is 1 to {PARTY_ID_MAX_CHARS} characters of a-z, 0-9, '_' and '-'"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The operator party of [`crate::api_keys::bootstrap_admin`].
    pub(crate) fn operator() -> Self {
        PartyId(crate::api_keys::OPERATOR_PARTY_ID.to_owned())
    }
}

impl<'de> Deserialize<'de> for PartyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PartyId::new(&text).map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Operator {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// A party of any kind by id, if it exists.
pub async fn find_party(store: &dyn RecordStore, ledger: &LedgerId, id: &str) -> Result<Option<Party>, ApiError> {
    if PartyId::new(id).is_err() {
        return Ok(None);
    }
    if let Some(r) = store.get_record(ledger, offtake_finance::kind::PARTY, id).await? {
        let p: offtake_finance::Party = r.decode()?;
        return Ok(Some(Party { id: p.id, kind: PartyKind::from(p.role), name: p.name }));
    }
    if let Some(r) = store.get_record(ledger, OPERATOR_KIND, id).await? {
        let o: Operator = r.decode()?;
        return Ok(Some(Party { id: o.id, kind: PartyKind::Operator, name: o.name }));
    }
    Ok(None)
}

/// Every party, operators included, ordered by id. Reads both kinds whole
/// on purpose: parties are the program's configuration (a few per lender,
/// maker and brand), not records that grow with its business (issue 21).
pub async fn all_parties(store: &dyn RecordStore, ledger: &LedgerId) -> Result<Vec<Party>, ApiError> {
    let mut out = Vec::new();
    for r in store.all_records(ledger, offtake_finance::kind::PARTY).await? {
        let p: offtake_finance::Party = r.decode()?;
        out.push(Party { id: p.id, kind: PartyKind::from(p.role), name: p.name });
    }
    for r in store.all_records(ledger, OPERATOR_KIND).await? {
        let o: Operator = r.decode()?;
        out.push(Party { id: o.id, kind: PartyKind::Operator, name: o.name });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Registers a party. The same party again is a no-op; the same id with
/// another kind or name is `409 already_exists`.
pub async fn register_party(finance: &Finance, id: &PartyId, kind: PartyKind, name: &str) -> Result<Party, ApiError> {
    let store = finance.store().as_ref();
    let ledger = finance.ledger();
    let exists = || ApiError::Conflict {
        code: "already_exists",
        detail: format!("party {:?} already exists with other attributes", id.as_str()),
    };
    let view = Party { id: id.as_str().to_owned(), kind, name: name.to_owned() };
    // One id, one party, whatever its kind.
    if let Some(existing) = find_party(store, ledger, id.as_str()).await? {
        return if existing == view { Ok(existing) } else { Err(exists()) };
    }
    match kind.finance_role() {
        Some(role) => {
            let p = finance.register_party(id.as_str(), role, name).await?;
            Ok(Party { id: p.id, kind, name: p.name })
        }
        None => {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(ApiError::unprocessable("invalid_input", "name: 1-200 characters"));
            }
            let body = serde_json::to_value(Operator { id: view.id.clone(), name: name.to_owned() })
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            match store.put_record(ledger, OPERATOR_KIND, id.as_str(), 0, &body).await {
                Ok(_) => Ok(view),
                Err(LedgerError::VersionConflict { .. }) => match find_party(store, ledger, id.as_str()).await? {
                    Some(existing) if existing == view => Ok(existing),
                    _ => Err(exists()),
                },
                Err(e) => Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids_are_restricted() {
        assert!(PartyId::new("brand-acme_1").is_ok());
        for bad in ["", "Brand", "a b", "a/b", "-a", "a.b", &"a".repeat(49)] {
            assert!(PartyId::new(bad).is_err(), "{bad:?}");
        }
    }
}
