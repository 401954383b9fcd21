//! The registered bank accounts: each one's purpose says which ledger
//! cash account mirrors it.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_bank::{BankAccount, Purpose};
use offtake_ledger::Currency;
use offtake_wire::{self as wire, AccountPurpose};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{api_error, bank};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::created;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountInput {
    /// IBAN or account number.
    pub account: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub holder: String,
    pub bic: Option<String>,
    /// `collection` (a facility's), `disbursement` (a lender's) or `payee`.
    pub purpose: AccountPurpose,
    /// The facility, lender or party the purpose names.
    pub owner: String,
}

/// Register a bank account (admin).
#[utoipa::path(post, path = "/bank-accounts", tag = "bank", request_body = BankAccountInput,
    responses((status = 201, body = wire::BankAccount)))]
pub(super) async fn register_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<BankAccountInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let purpose = match body.purpose {
        AccountPurpose::Collection => Purpose::Collection { facility: body.owner },
        AccountPurpose::Disbursement => Purpose::Disbursement { lender: body.owner },
        AccountPurpose::Payee => Purpose::Payee { party: body.owner },
    };
    let currency = Currency::from_code(&body.currency)?;
    let acct = BankAccount { account: body.account, currency, holder: body.holder, bic: body.bic, purpose };
    let done = bank(&state, 0).register_account(acct).await.map_err(api_error)?;
    Ok(created("/v1/bank-accounts", wire::BankAccount::from(&done)))
}

/// The registered bank accounts (admin).
#[utoipa::path(get, path = "/bank-accounts", tag = "bank", operation_id = "list_bank_accounts",
    responses((status = 200, body = Vec<wire::BankAccount>)))]
pub(super) async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<wire::BankAccount>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).accounts().await.map_err(api_error)?.iter().map(wire::BankAccount::from).collect()))
}
