//! Liveness and readiness, outside `/v1` and without authentication.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (the database answers).
    pub status: String,
    /// Storage backend (`sqlite`, `postgres`), on readiness only.
    pub backend: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".to_owned(), backend: None })
}

/// The database answers (reads the ledger's chain head).
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store().head(state.ledger()).await.map_err(|e| ApiError::NotReady(e.code().to_owned()))?;
    Ok(Json(Health { status: "ready".to_owned(), backend: Some(state.store().backend().to_owned()) }))
}
