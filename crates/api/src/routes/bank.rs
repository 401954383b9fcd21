//! Bank files over HTTP (crates/bank): statement import with matching
//! (`POST /v1/bank-statements`, `dry_run` to preview), the reconciliation
//! queue and hand matches, payout files (`POST /v1/payouts`,
//! `GET /v1/payouts/{batch}`), bank status reports and the cash
//! reconciliation. Lender operations: admin keys (the lender's
//! operators); the queue, hand matches and the cash reconciliation also
//! to a lender key, for the accounts of its own facilities only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offtake_bank::{Bank, BankAccount, BankError, HandMatch, MatchConfig, PayerMapping, Purpose};
use offtake_ledger::Currency;
use offtake_wire::{
    self as wire, AccountPurpose, BankImport, BankQueueItem, CashReconDay, HandMatched, PayerMap, Payout, PayoutBatch,
    PayoutStatusImport,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_statement))
        .routes(routes!(register_account, list_accounts))
        .routes(routes!(map_payer))
        .routes(routes!(queue))
        .routes(routes!(match_line))
        .routes(routes!(create_payouts, owed_payouts))
        .routes(routes!(get_payouts))
        .routes(routes!(import_status))
        .routes(routes!(reconciliation))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementUpload {
    /// The file's text: camt.053, camt.054, MT940 or BAI2.
    pub file: String,
    /// Say what the import would do; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A credit may exceed the invoices it pays by this much (minor units).
    #[serde(default)]
    pub tolerance_minor: i64,
}

/// Import a bank statement (admin). Matched credits go to the settlement
/// queue, the rest to the reconciliation queue; the same file again
/// changes nothing. A dry run answers `200` and writes nothing.
#[utoipa::path(post, path = "/bank-statements", tag = "bank", request_body = StatementUpload,
    responses((status = 201, description = "Imported", body = BankImport),
              (status = 200, description = "Dry run: what an import would do", body = BankImport)))]
async fn import_statement(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StatementUpload>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    if body.tolerance_minor < 0 {
        return Err(ApiError::unprocessable("invalid_input", "tolerance_minor must not be negative"));
    }
    let report =
        bank(&state, body.tolerance_minor).import(body.file.as_bytes(), body.dry_run).await.map_err(api_error)?;
    let doc = BankImport::from(&report);
    if body.dry_run {
        return Ok((StatusCode::OK, Json(doc)).into_response());
    }
    Ok(created("/v1/bank-queue", doc))
}

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
async fn register_account(
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
async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<wire::BankAccount>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).accounts().await.map_err(api_error)?.iter().map(wire::BankAccount::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerInput {
    pub brand: String,
    pub account: Option<String>,
    pub name: Option<String>,
}

/// Map a payer's account or name to a brand (admin).
#[utoipa::path(post, path = "/bank-payers", tag = "bank", request_body = PayerInput,
    responses((status = 201, body = PayerMap)))]
async fn map_payer(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PayerInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let m = bank(&state, 0)
        .map_payer(PayerMapping { brand: body.brand, account: body.account, name: body.name })
        .await
        .map_err(api_error)?;
    Ok(created("/v1/bank-payers", PayerMap::from(&m)))
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

/// Credits waiting to be matched by hand: an operator sees every
/// account's, a lender its own accounts'.
#[utoipa::path(get, path = "/bank-queue", tag = "bank", responses((status = 200, body = Vec<BankQueueItem>)))]
async fn queue(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<BankQueueItem>>, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let items = b.queue().await.map_err(api_error)?;
    Ok(Json(items.iter().filter(|q| works(&mine, &q.account)).map(BankQueueItem::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchInput {
    pub brand: String,
    pub facility: String,
    /// Invoices it pays, in order (empty: the brand's open invoices).
    #[serde(default)]
    pub invoices: Vec<String>,
}

/// Match a queued credit by hand (an operator, or the lender of the
/// account; another lender's line answers like a missing one); it is
/// queued for settlement.
#[utoipa::path(post, path = "/bank-queue/{key}/match", tag = "bank",
    params(("key" = String, Path, description = "The line's key")), request_body = MatchInput,
    responses((status = 201, body = HandMatched)))]
async fn match_line(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<MatchInput>,
) -> Result<Response, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let line = b.line(&key).await.map_err(api_error)?;
    if line.is_none_or(|l| !works(&mine, &l.account)) {
        return Err(api_error(BankError::NotFound { kind: "statement line", id: key }));
    }
    let by = format!("api:{}", principal.key_id);
    let m = HandMatch { brand: body.brand, facility: body.facility, invoices: body.invoices, by };
    let line = b.match_by_hand(&key, m).await.map_err(api_error)?;
    let done =
        HandMatched::of(&line).ok_or_else(|| ApiError::Internal(format!("line {key:?} is not matched by hand")))?;
    Ok(created(&format!("/v1/payments/{}", done.payment), done))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutsInput {
    /// Batch id, the file's MsgId (at most 30 characters).
    #[schema(example = "PB-20260411")]
    pub batch: String,
    /// Requested execution date `YYYY-MM-DD` (default: today, UTC).
    pub on: Option<String>,
}

/// Write the payouts owed as a pain.001.001.09 batch (admin). The same
/// batch id again answers the same file.
#[utoipa::path(post, path = "/payouts", tag = "bank", request_body = PayoutsInput,
    responses((status = 201, body = PayoutBatch)))]
async fn create_payouts(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PayoutsInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let on = offtake_ledger::date::date_or_today(body.on.as_deref())?;
    let b = bank(&state, 0).create_batch(&body.batch, on).await.map_err(api_error)?;
    Ok(created(&format!("/v1/payouts/{}", b.id), PayoutBatch::from(b)))
}

/// Payouts owed and not yet in a batch (admin).
#[utoipa::path(get, path = "/payouts", tag = "bank", responses((status = 200, body = Vec<Payout>)))]
async fn owed_payouts(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<Payout>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).owed_payouts().await.map_err(api_error)?.iter().map(Payout::from).collect()))
}

/// One payout batch and its file (admin).
#[utoipa::path(get, path = "/payouts/{batch}", tag = "bank",
    params(("batch" = String, Path, description = "Batch id")), responses((status = 200, body = PayoutBatch)))]
async fn get_payouts(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(batch): ApiPath<String>,
) -> Result<Json<PayoutBatch>, ApiError> {
    principal.require_admin()?;
    if offtake_ledger::record::check_record_key("batch", &batch).is_err() {
        return Err(ApiError::not_found(format!("payout batch {batch:?}")));
    }
    Ok(Json(PayoutBatch::from(bank(&state, 0).batch(&batch).await.map_err(api_error)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusUpload {
    /// The pain.002 file's text.
    pub file: String,
}

/// Import a pain.002 status report (admin): rejected payouts are reversed.
#[utoipa::path(post, path = "/payout-status-reports", tag = "bank", request_body = StatusUpload,
    responses((status = 201, body = PayoutStatusImport)))]
async fn import_status(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StatusUpload>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let s = bank(&state, 0).import_status(body.file.as_bytes()).await.map_err(api_error)?;
    Ok(created(&format!("/v1/payouts/{}", s.batch), PayoutStatusImport::from(&s)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThroughQuery {
    /// `YYYY-MM-DD` (default: today, UTC).
    pub through: Option<String>,
}

/// Statement balances against the ledger's cash accounts, per account and
/// day, with the items that explain each difference: an operator sees
/// every account, a lender its own.
#[utoipa::path(get, path = "/cash-reconciliation", tag = "bank", params(ThroughQuery),
    responses((status = 200, body = Vec<CashReconDay>)))]
async fn reconciliation(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ThroughQuery>,
) -> Result<Json<Vec<CashReconDay>>, ApiError> {
    let through = offtake_ledger::date::date_or_today(q.through.as_deref())?;
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let accounts = b.accounts().await.map_err(api_error)?;
    let days = b.reconcile(through).await.map_err(api_error)?;
    Ok(Json(
        days.iter()
            .filter(|d| works(&mine, &d.account))
            .map(|d| {
                let c = accounts.iter().find(|a| a.account == d.account).map_or(Currency::USD, |a| a.currency);
                CashReconDay::new(d, c)
            })
            .collect(),
    ))
}
