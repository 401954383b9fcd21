//! Statement imports: a camt.053/camt.054, MT940 or BAI2 file, each
//! credit matched or queued, with a dry run to preview.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offtake_wire::BankImport;
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
pub(super) async fn import_statement(
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
