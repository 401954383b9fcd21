//! `/v1/keys`: API keys. The admin issues a key for a party; the key is in
//! the `201` answer and nowhere else (the server keeps its SHA-256), and a
//! replay of the issuing request answers the same body without the key.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_wire::{ApiKey, ApiKeyPage, IssuedApiKey};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, PageQuery};
use crate::api_keys;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::idempotency::ReplayBody;
use crate::parties::Role;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue_api_key, list_api_keys)).routes(routes!(revoke_api_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueKey {
    #[schema(example = "brand-acme")]
    pub party_id: String,
    /// Must be the party's role (`admin` for the operator).
    pub role: Role,
}

/// Issue an API key for a party (admin).
#[utoipa::path(post, path = "/keys", tag = "keys", request_body = IssueKey,
    responses((status = 201, description = "Created; the key is in this body only", body = IssuedApiKey)))]
async fn issue_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<IssueKey>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let issued = api_keys::issue_key_for(state.store(), state.ledger(), &body.party_id, body.role).await?;
    let info = ApiKey::from(issued.record);
    let location = format!("/v1/keys/{}", info.key_id);
    let replay = IssuedApiKey { key_info: info.clone(), key: None };
    let mut response = created(&location, IssuedApiKey { key_info: info, key: Some(issued.key) });
    let replay = serde_json::to_value(replay).map_err(|e| ApiError::Internal(e.to_string()))?;
    response.extensions_mut().insert(ReplayBody(replay));
    Ok(response)
}

/// List keys: every key for admins and auditors, one's own party's otherwise.
#[utoipa::path(get, path = "/keys", tag = "keys", params(PageQuery),
    responses((status = 200, body = ApiKeyPage)))]
async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ApiKeyPage>, ApiError> {
    let (records, next_cursor) = api_keys::list_keys(state.store(), state.ledger(), q.cursor()?, q.limit()?).await?;
    let items = records.into_iter().filter(|r| principal.can_see([r.party_id.as_str()])).map(ApiKey::from).collect();
    Ok(Json(ApiKeyPage { items, next_cursor }))
}

/// Revoke a key (admin). Requests with it are `401` from now on.
#[utoipa::path(delete, path = "/keys/{key_id}", tag = "keys",
    params(("key_id" = String, Path, description = "Key id (the part after `otk_`)")),
    responses((status = 200, body = ApiKey)))]
async fn revoke_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key_id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    principal.require_admin()?;
    let revoked = api_keys::revoke_key(state.store(), state.ledger(), &key_id).await?;
    state.forget_key(&key_id);
    Ok(Json(revoked.into()))
}
