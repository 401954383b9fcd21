//! Payouts: what is owed, pain.001 batches of it, and the bank's pain.002
//! status reports on them.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_wire::{Payout, PayoutBatch, PayoutStatusImport};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{api_error, bank};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::created;
use crate::state::AppState;

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
pub(super) async fn create_payouts(
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
pub(super) async fn owed_payouts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Payout>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).owed_payouts().await.map_err(api_error)?.iter().map(Payout::from).collect()))
}

/// One payout batch and its file (admin).
#[utoipa::path(get, path = "/payouts/{batch}", tag = "bank",
    params(("batch" = String, Path, description = "Batch id")), responses((status = 200, body = PayoutBatch)))]
pub(super) async fn get_payouts(
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
pub(super) async fn import_status(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StatusUpload>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let s = bank(&state, 0).import_status(body.file.as_bytes()).await.map_err(api_error)?;
    Ok(created(&format!("/v1/payouts/{}", s.batch), PayoutStatusImport::from(&s)))
}
