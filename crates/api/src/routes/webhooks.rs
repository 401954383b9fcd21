//! `/v1/webhook-endpoints`: where a party's events are posted, signed as
//! Standard Webhooks. A party registers and sees its own endpoints (another
//! party's answers `404`, like a missing one); an admin registers for any
//! party, or for itself to receive every event. Delivery is
//! `offtake-webhooks`' dispatcher, running beside the server.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_webhooks::WebhookError;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency::ReplayBody;
use crate::parties;
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_endpoint, list_endpoints))
        .routes(routes!(get_endpoint))
        .routes(routes!(list_attempts))
        .routes(routes!(replay_failed))
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpoint {
    /// Absolute `http://` or `https://` URL the events are posted to.
    #[schema(example = "https://erp.example.com/offtake/events")]
    pub url: String,
    /// Event types to receive (absent or empty: all).
    #[serde(default)]
    pub types: Vec<String>,
    /// The party whose events it receives (admins only; default: the
    /// caller — for an admin, every event).
    #[serde(default)]
    pub party_id: Option<String>,
}

fn api_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Ledger(inner) => ApiError::Ledger(inner),
        WebhookError::NotFound(id) => ApiError::not_found(format!("webhook endpoint {id:?}")),
        WebhookError::Events(inner) => ApiError::unprocessable("invalid_input", inner.to_string()),
        e @ WebhookError::Invalid { .. } => ApiError::unprocessable("invalid_input", e.to_string()),
    }
}

fn owner_visible(principal: &Principal) -> impl Fn(&str) -> bool + Send + Sync + '_ {
    move |party: &str| principal.can_see([party])
}

/// Register an endpoint (its party or admin). The signing secret is in
/// this answer only; deliveries start with the next event.
#[utoipa::path(post, path = "/webhook-endpoints", tag = "events", request_body = RegisterEndpoint,
    responses((status = 201, description = "Registered; the secret is in this body only", body = wire::NewWebhookEndpoint)))]
async fn register_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<RegisterEndpoint>,
) -> Result<Response, ApiError> {
    let owner = match &body.party_id {
        Some(id) if id != principal.party_id.as_str() => {
            principal.require_admin()?;
            parties::find_party(state.store(), state.ledger(), id)
                .await?
                .ok_or_else(|| ApiError::unprocessable("unknown_party", format!("no party {id:?}")))?;
            (id.clone(), false)
        }
        _ => (principal.party_id.as_str().to_owned(), principal.is_admin()),
    };
    let reach = state.config().webhooks.map(|p| p.reach).unwrap_or_default();
    let new =
        offtake_webhooks::register(state.store(), state.ledger(), (&owner.0, owner.1), &body.url, &body.types, reach)
            .await
            .map_err(api_error)?;
    let location = format!("/v1/webhook-endpoints/{}", new.endpoint.id);
    let replay = serde_json::to_value(&new.endpoint).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = created(&location, new);
    response.extensions_mut().insert(ReplayBody(replay));
    Ok(response)
}

/// The caller's endpoints (every one for admins and auditors).
#[utoipa::path(get, path = "/webhook-endpoints", tag = "events",
    responses((status = 200, body = wire::WebhookEndpointList)))]
async fn list_endpoints(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<wire::WebhookEndpointList>, ApiError> {
    let visible = owner_visible(&principal);
    let items = offtake_webhooks::list(state.store(), state.ledger(), &visible).await.map_err(api_error)?;
    Ok(Json(wire::WebhookEndpointList { items }))
}

/// One endpoint, with how far it has been delivered and what failed.
#[utoipa::path(get, path = "/webhook-endpoints/{id}", tag = "events",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = wire::WebhookEndpoint)))]
async fn get_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::WebhookEndpoint>, ApiError> {
    let visible = owner_visible(&principal);
    Ok(Json(offtake_webhooks::get(state.store(), state.ledger(), &id, &visible).await.map_err(api_error)?))
}

/// An endpoint's recent delivery attempts (status, error, latency), oldest
/// first. Kept in the server's memory: a restart starts the list afresh.
#[utoipa::path(get, path = "/webhook-endpoints/{id}/attempts", tag = "events",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = wire::WebhookAttemptList)))]
async fn list_attempts(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::WebhookAttemptList>, ApiError> {
    let visible = owner_visible(&principal);
    offtake_webhooks::get(state.store(), state.ledger(), &id, &visible).await.map_err(api_error)?;
    Ok(Json(wire::WebhookAttemptList { items: state.webhook_log().of(&id) }))
}

/// Deliver the endpoint's failed events again, in order, before new ones.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/replay", tag = "events",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "Queued", body = wire::WebhookEndpoint)))]
async fn replay_failed(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::WebhookEndpoint>, ApiError> {
    let visible = owner_visible(&principal);
    Ok(Json(offtake_webhooks::replay(state.store(), state.ledger(), &id, &visible).await.map_err(api_error)?))
}
