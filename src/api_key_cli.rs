//! `offtake api-key issue | list | revoke`: API keys straight from the
//! database, for the operator who lost the admin key printed by `init` (or
//! must shut a leaked one out while the API is down).
//!
//! Holding the database is holding the books, so these commands need no
//! API key. They call the same functions as `POST /v1/keys`, `GET
//! /v1/keys` and `DELETE /v1/keys/{id}` (`offtake_api::api_keys`): the
//! party must exist and the role must be its role, in one place.

use clap::Subcommand;
use offtake_api::api_keys;
use offtake_ledger::{LedgerId, Store};
use offtake_wire::{ApiKey, IssuedApiKey, Role};

use crate::output::{show, show_line, Format};

#[derive(Subcommand, Debug)]
pub enum ApiKeyCmd {
    /// Issue an API key for a party; the key is printed once, here only
    /// (the database keeps its SHA-256).
    Issue {
        /// The party the key acts for (`operator` for the admin created by
        /// `offtake init`).
        #[arg(long)]
        party: String,
        /// The key's role; it must be the party's role (`admin` for an
        /// operator).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Every API key of the ledger, revoked ones included (one JSON object
    /// a line; never the keys themselves).
    List,
    /// Revoke a key: requests with it are `401` from now on.
    Revoke {
        /// The key id (the part of the key between `otk_` and the next `_`).
        key_id: String,
    },
}

/// A role as the API spells it (the wire type's own serde names, so there
/// is no second list of roles to keep in step).
fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("{text:?} is not a role: admin, brand, maker, lender or auditor"))
}

pub async fn run(store: &dyn Store, ledger: &LedgerId, cmd: ApiKeyCmd) -> anyhow::Result<()> {
    match cmd {
        ApiKeyCmd::Issue { party, role } => {
            let issued = api_keys::issue_key_for(store, ledger, &party, role).await?;
            let view = IssuedApiKey { key_info: ApiKey::from(issued.record), key: Some(issued.key) };
            show(&view, Format::Json)?;
        }
        ApiKeyCmd::List => {
            let mut cursor: Option<String> = None;
            loop {
                let limit = offtake_ledger::store::MAX_PAGE_LIMIT;
                let (records, next) = api_keys::list_keys(store, ledger, cursor.as_deref(), limit).await?;
                for r in records {
                    show_line(&ApiKey::from(r), Format::Json)?;
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        ApiKeyCmd::Revoke { key_id } => {
            let record = api_keys::revoke_key(store, ledger, &key_id).await?;
            show(&ApiKey::from(record), Format::Json)?;
        }
    }
    Ok(())
}
