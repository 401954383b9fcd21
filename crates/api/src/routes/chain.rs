//! `/v1/chain`: the hash chain's head and a full verification (admin,
//! auditor).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(head)).routes(routes!(verify))
}

/// The chain head: last entry's sequence number and hash.
#[utoipa::path(get, path = "/chain/head", tag = "ledger", responses((status = 200, body = wire::ChainHead)))]
async fn head(State(state): State<AppState>, principal: Principal) -> Result<Json<wire::ChainHead>, ApiError> {
    principal.require_ledger_reader()?;
    Ok(Json(state.store().head(state.ledger()).await?.into()))
}

/// Recompute every hash, link and running total of the ledger, and every
/// domain record version's link in the record chain, each against its
/// stored head. A broken chain answers `500 chain_broken`.
#[utoipa::path(get, path = "/chain/verify", tag = "ledger", responses((status = 200, body = wire::ChainReport)))]
async fn verify(State(state): State<AppState>, principal: Principal) -> Result<Json<wire::ChainReport>, ApiError> {
    principal.require_ledger_reader()?;
    let report = offtake_ledger::verify_history(state.store(), state.ledger()).await?;
    Ok(Json(report.into()))
}
