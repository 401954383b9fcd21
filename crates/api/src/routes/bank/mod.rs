//! Bank files over HTTP (crates/bank): statement import with matching
//! (`POST /v1/bank-statements`, `dry_run` to preview), the reconciliation
//! queue and hand matches, payout files (`POST /v1/payouts`,
//! `GET /v1/payouts/{batch}`), bank status reports and the cash
//! reconciliation. Lender operations: admin keys (the lender's
//! operators); the queue, hand matches and the cash reconciliation also
//! to a lender key, for the accounts of its own facilities only.
//!
//! One module per concept: `statements` (imports), `accounts` (the
//! registered bank accounts), `payers` (payer mappings), `queue` (the
//! reconciliation queue and hand matches), `payouts` (batches and status
//! reports), `reconciliation` (cash). This module holds what they share:
//! the bank service, its errors as problems, and which accounts a caller
//! works.

use offtake_bank::{Bank, BankError, MatchConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::state::AppState;

mod accounts;
mod payers;
mod payouts;
mod queue;
mod reconciliation;
mod statements;

pub use accounts::BankAccountInput;
pub use payers::PayerInput;
pub use payouts::{PayoutsInput, StatusUpload};
pub use queue::MatchInput;
pub use reconciliation::ThroughQuery;
pub use statements::StatementUpload;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(statements::import_statement))
        .routes(routes!(accounts::register_account, accounts::list_accounts))
        .routes(routes!(payers::map_payer))
        .routes(routes!(queue::queue))
        .routes(routes!(queue::match_line))
        .routes(routes!(payouts::create_payouts, payouts::owed_payouts))
        .routes(routes!(payouts::get_payouts))
        .routes(routes!(payouts::import_status))
        .routes(routes!(reconciliation::reconciliation))
}

fn bank(state: &AppState, tolerance_minor: i64) -> Bank {
    Bank::new(state.settlement().clone(), MatchConfig { tolerance_minor })
}

/// Bank errors as problems: bad files and unknown accounts are 422,
/// conflicts with what was imported 409, missing things 404.
fn api_error(e: BankError) -> ApiError {
    let code = e.code();
    match e {
        BankError::Settlement(inner) => inner.into(),
        BankError::NotFound { kind, id } => ApiError::not_found(format!("{kind} {id:?}")),
        BankError::StatementConflict(_) | BankError::EntryConflict(_) | BankError::InvalidState { .. } => {
            ApiError::Conflict { code, detail: e.to_string() }
        }
        other => ApiError::unprocessable(code, other.to_string()),
    }
}

/// The bank accounts a caller works: every one for an operator (`None`),
/// a lender's own (its facilities' collection accounts, its disbursement
/// account); anyone else is refused.
async fn worked_accounts(b: &Bank, principal: &Principal) -> Result<Option<Vec<String>>, ApiError> {
    if principal.is_admin() {
        return Ok(None);
    }
    if principal.role != Role::Lender {
        return Err(ApiError::forbidden("the bank queue and cash reconciliation are the lender's"));
    }
    Ok(Some(b.lender_accounts(principal.party_id.as_str()).await.map_err(api_error)?))
}

fn works(accounts: &Option<Vec<String>>, account: &str) -> bool {
    accounts.as_ref().is_none_or(|a| a.iter().any(|x| x == account))
}
