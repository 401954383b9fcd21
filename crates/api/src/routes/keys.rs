//! `/v1/keys`: API keys. The admin issues a key for a party; the key is in
//! the `201` answer and nowhere else (the server keeps its SHA-256), and a
//! replay of the issuing request answers the same body without the key.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{page_type, rfc3339_us};
use super::{created, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::idempotency::ReplayBody;
use crate::parties::{self, ApiKeyRecord, Role, API_KEY_KIND};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue_key, list_keys)).routes(routes!(revoke_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueKey {
    #[schema(example = "brand-acme")]
    pub party_id: String,
    /// Must be the party's role (`admin` for the operator).
    pub role: Role,
}

/// An API key's public description.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub key_id: String,
    pub party_id: String,
    pub role: Role,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(r: ApiKeyRecord) -> Self {
        KeyView {
            key_id: r.key_id,
            party_id: r.party_id.as_str().to_owned(),
            role: r.role,
            created_at: rfc3339_us(r.created_at_us),
            revoked_at: r.revoked_at_us.map(rfc3339_us),
        }
    }
}

/// A newly issued key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedKeyView {
    #[serde(flatten)]
    pub key_info: KeyView,
    /// The key itself (`otk_…`), shown this once; send it as
    /// `Authorization: Bearer <key>`. Absent on an idempotent replay.
    pub key: Option<String>,
}

page_type!(KeyPage, KeyView);

/// Issue an API key for a party (admin).
#[utoipa::path(post, path = "/keys", tag = "keys", request_body = IssueKey,
    responses((status = 201, description = "Created; the key is in this body only", body = IssuedKeyView)))]
async fn issue_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<IssueKey>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let party = parties::find_party(state.store(), state.ledger(), &body.party_id)
        .await?
        .ok_or_else(|| ApiError::unprocessable("unknown_party", format!("no party {:?}", body.party_id)))?;
    let issued = parties::issue_key(state.store(), state.ledger(), &party, body.role).await?;
    let info = KeyView::from(issued.record);
    let location = format!("/v1/keys/{}", info.key_id);
    let replay = IssuedKeyView { key_info: info.clone(), key: None };
    let mut response = created(&location, IssuedKeyView { key_info: info, key: Some(issued.key) });
    let replay = serde_json::to_value(replay).map_err(|e| ApiError::Internal(e.to_string()))?;
    response.extensions_mut().insert(ReplayBody(replay));
    Ok(response)
}

/// List keys: every key for admins and auditors, one's own party's otherwise.
#[utoipa::path(get, path = "/keys", tag = "keys", params(PageQuery),
    responses((status = 200, body = KeyPage)))]
async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<KeyPage>, ApiError> {
    let page = state.store().list_records(state.ledger(), API_KEY_KIND, q.cursor()?, q.limit()?).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for r in &page.items {
        let record: ApiKeyRecord = r.decode()?;
        if principal.can_see([record.party_id.as_str()]) {
            items.push(KeyView::from(record));
        }
    }
    Ok(Json(KeyPage { items, next_cursor: page.next_cursor }))
}

/// Revoke a key (admin). Requests with it are `401` from now on.
#[utoipa::path(delete, path = "/keys/{key_id}", tag = "keys",
    params(("key_id" = String, Path, description = "Key id (the part after `otk_`)")),
    responses((status = 200, body = KeyView)))]
async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key_id): ApiPath<String>,
) -> Result<Json<KeyView>, ApiError> {
    principal.require_admin()?;
    if offtake_ledger::record::check_record_key("key_id", &key_id).is_err() {
        return Err(ApiError::not_found(format!("api key {key_id:?}")));
    }
    Ok(Json(parties::revoke_key(state.store(), state.ledger(), &key_id).await?.into()))
}
