//! Parties: the brands, makers, lenders and auditors of a program.

use offtake_signing::RegisteredKey;
use time::OffsetDateTime;

use crate::error::FinanceError;
use crate::model::{kind, Party, PartyRole};

use super::Finance;

impl Finance {
    /// Registers a party; registering the same party again is a no-op, the
    /// same id with another role or name is `already_exists`.
    pub async fn register_party(&self, id: &str, role: PartyRole, name: &str) -> Result<Party, FinanceError> {
        offtake_signing::check_party(id).map_err(|e| FinanceError::invalid("party", e.to_string()))?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(FinanceError::invalid("name", "1-200 characters"));
        }
        let party = Party { id: id.to_owned(), role, name: name.to_owned() };
        if let Some(existing) = self.load::<Party>(kind::PARTY, id).await? {
            return if existing.value == party {
                Ok(party)
            } else {
                Err(FinanceError::AlreadyExists { kind: "party", id: id.to_owned() })
            };
        }
        match self.save(kind::PARTY, id, 0, &party).await {
            Ok(_) => Ok(party),
            // A concurrent registration of the same party is fine.
            Err(FinanceError::Ledger(offtake_ledger::LedgerError::VersionConflict { .. })) => {
                let existing = self.require::<Party>(kind::PARTY, id).await?;
                if existing.value == party {
                    Ok(party)
                } else {
                    Err(FinanceError::AlreadyExists { kind: "party", id: id.to_owned() })
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn party(&self, id: &str) -> Result<Party, FinanceError> {
        Ok(self.require::<Party>(kind::PARTY, id).await?.value)
    }

    /// The party, which must have `role`.
    pub(crate) async fn party_as(&self, id: &str, role: PartyRole) -> Result<Party, FinanceError> {
        let party = self.party(id).await?;
        if party.role != role {
            return Err(FinanceError::WrongRole {
                party: id.to_owned(),
                expected: role.as_str(),
                actual: party.role.as_str().to_owned(),
            });
        }
        Ok(party)
    }

    /// Registers a signing key for a party: the party must exist
    /// (`not_found`) and a role the caller states (a public key file names
    /// one) must be the party's (`wrong_role`); the key signs in the
    /// party's role. Registering the same key again is a no-op. The one
    /// rule behind `POST /v1/signing-keys` and `offtake key register`.
    pub async fn register_signing_key(
        &self,
        party_id: &str,
        stated_role: Option<PartyRole>,
        public_key_hex: &str,
        valid_from: OffsetDateTime,
    ) -> Result<RegisteredKey, FinanceError> {
        let party = match stated_role {
            Some(role) => self.party_as(party_id, role).await?,
            None => self.party(party_id).await?,
        };
        let key = RegisteredKey::new(&party.id, party.role, public_key_hex, valid_from)?;
        Ok(self.keys().register(&key).await?)
    }
}
