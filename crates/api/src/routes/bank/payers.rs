//! Payer mappings: a payer's bank account or name tied to the brand it
//! pays for, so the matcher can name the brand of a credit.

use axum::extract::State;
use axum::response::Response;
use offtake_bank::PayerMapping;
use offtake_wire::PayerMap;
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
pub struct PayerInput {
    pub brand: String,
    pub account: Option<String>,
    pub name: Option<String>,
}

/// Map a payer's account or name to a brand (admin).
#[utoipa::path(post, path = "/bank-payers", tag = "bank", request_body = PayerInput,
    responses((status = 201, body = PayerMap)))]
pub(super) async fn map_payer(
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
