//! `/v1/accounts`: the raw ledger's accounts, their balances (now or as of
//! an entry or an instant) and their entries. Admin writes; admin and
//! auditor read.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_ledger::{AccountCode, AsOf, Book, Currency, LedgerError, NewAccount, Side};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(get_balance))
        .routes(routes!(account_entries))
}

fn default_side() -> String {
    "debit".to_owned()
}

fn default_book() -> String {
    "main".to_owned()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// Lower-case `a-z 0-9 _ - : .`, at most 128 characters.
    #[schema(example = "cash:lender:l1", pattern = "^[a-z0-9_.:-]{1,128}$")]
    pub code: String,
    /// ISO 4217 code, upper case.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// `debit` (assets, receivables; default) or `credit` (liabilities, income).
    #[serde(default = "default_side")]
    #[schema(pattern = "^(debit|credit)$")]
    pub normal_side: String,
    /// `main` (default) or `memo` (off-balance commitments).
    #[serde(default = "default_book")]
    #[schema(pattern = "^(main|memo)$")]
    pub book: String,
    /// Refuse entries that would take the available balance below zero.
    #[serde(default)]
    pub non_negative: bool,
}

/// Create an account (admin). Creating the same account again answers it;
/// the same code with other attributes is `409 account_exists`.
#[utoipa::path(post, path = "/accounts", tag = "ledger", request_body = CreateAccount,
    responses((status = 201, description = "Created", body = wire::Account)))]
async fn create_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let spec = NewAccount {
        code: AccountCode::new(&body.code)?,
        currency: Currency::from_code(&body.currency)?,
        normal_side: Side::parse(&body.normal_side)?,
        book: Book::parse(&body.book)?,
        non_negative: body.non_negative,
    };
    let account = state.store().create_account(state.ledger(), &spec).await?;
    Ok(created(&format!("/v1/accounts/{}", account.code), wire::Account::from(account)))
}

/// List accounts by number (admin, auditor).
#[utoipa::path(get, path = "/accounts", tag = "ledger", params(PageQuery),
    responses((status = 200, body = wire::AccountPage)))]
async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<wire::AccountPage>, ApiError> {
    principal.require_ledger_reader()?;
    let page = state.store().list_accounts(state.ledger(), q.cursor()?, q.limit()?).await?;
    Ok(Json(wire::AccountPage::from_page(page, wire::Account::from)))
}

/// Parses an account code from a path; a malformed one cannot exist (404).
pub(crate) fn path_code(code: &str) -> Result<AccountCode, ApiError> {
    AccountCode::new(code).map_err(|_| ApiError::not_found(format!("account {code:?}")))
}

fn unknown_is_404(e: LedgerError) -> ApiError {
    match e {
        LedgerError::UnknownAccount(code) => ApiError::not_found(format!("account {code:?}")),
        other => other.into(),
    }
}

/// One account (admin, auditor).
#[utoipa::path(get, path = "/accounts/{code}", tag = "ledger",
    params(("code" = String, Path, description = "Account code")),
    responses((status = 200, body = wire::Account)))]
async fn get_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<wire::Account>, ApiError> {
    principal.require_ledger_reader()?;
    let account = state.store().account(state.ledger(), &path_code(&code)?).await.map_err(unknown_is_404)?;
    Ok(Json(account.into()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// Balance after this entry (inclusive).
    #[param(minimum = 0)]
    pub as_of_seq: Option<i64>,
    /// Balance after the last entry recorded at or before this RFC 3339 instant.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

impl AsOfQuery {
    fn as_of(&self) -> Result<AsOf, ApiError> {
        match (self.as_of_seq, self.as_of.as_deref()) {
            (None, None) => Ok(AsOf::Now),
            (Some(seq), None) if seq >= 0 => Ok(AsOf::Seq(seq)),
            (Some(_), None) => Err(ApiError::InvalidQuery("as_of_seq must be 0 or more".into())),
            (None, Some(text)) => {
                let at = offtake_ledger::date::parse_rfc3339(text)
                    .ok_or_else(|| ApiError::InvalidQuery(format!("as_of {text:?} is not an RFC 3339 time")))?;
                Ok(AsOf::RecordedAtUs(offtake_ledger::date::unix_us(at)))
            }
            // Each is well-formed alone; together they are a contradiction
            // the document cannot express, so it is 422, not a malformed 400.
            (Some(_), Some(_)) => Err(ApiError::unprocessable("invalid_input", "give as_of_seq or as_of, not both")),
        }
    }
}

/// Balance of an account, now or as of an entry or an instant (admin, auditor).
#[utoipa::path(get, path = "/accounts/{code}/balance", tag = "ledger",
    params(("code" = String, Path, description = "Account code"), AsOfQuery),
    responses((status = 200, body = wire::Balance)))]
async fn get_balance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfQuery>,
) -> Result<Json<wire::Balance>, ApiError> {
    principal.require_ledger_reader()?;
    let balance =
        state.store().balance(state.ledger(), &path_code(&code)?, q.as_of()?).await.map_err(unknown_is_404)?;
    Ok(Json(balance.into()))
}

/// Entries touching an account, oldest first (admin, auditor).
#[utoipa::path(get, path = "/accounts/{code}/entries", tag = "ledger",
    params(("code" = String, Path, description = "Account code"), PageQuery),
    responses((status = 200, body = wire::EntryPage)))]
async fn account_entries(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<wire::EntryPage>, ApiError> {
    principal.require_ledger_reader()?;
    let page = state
        .store()
        .account_entries(state.ledger(), &path_code(&code)?, q.cursor()?, q.limit()?)
        .await
        .map_err(unknown_is_404)?;
    Ok(Json(wire::EntryPage::from_page(page, wire::Entry::from)))
}
