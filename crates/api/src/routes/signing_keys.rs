//! `/v1/signing-keys`: the registry of parties' Ed25519 public keys that
//! signed documents are verified against. A party registers and revokes
//! its own keys (or the admin does for it); the key's role is the party's.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_signing::{RegisteredKey, Revocation};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::page_of;
use super::{created, parse_instant, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::parties::{self, PartyKind};
use crate::state::AppState;
use offtake_wire::{SigningKey, SigningKeyPage};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_signing_key, list_signing_keys))
        .routes(routes!(get_signing_key))
        .routes(routes!(revoke_signing_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSigningKey {
    #[schema(example = "brand-acme")]
    pub party_id: String,
    /// 32-byte Ed25519 public key, hex.
    pub public_key_hex: String,
    /// RFC 3339; documents issued before it are not signed by this key (default: now).
    pub valid_from: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeSigningKey {
    /// `compromised` (signatures from `at` on are void) or `superseded` (rotated).
    pub reason: String,
    /// RFC 3339 (default: now).
    pub at: Option<String>,
}

/// May the principal manage `party`'s keys? Admins any, a party its own.
fn may_manage(principal: &Principal, party: &str) -> bool {
    principal.is_admin() || principal.party_id.as_str() == party
}

/// Register a public signing key for a party (the party itself or admin).
#[utoipa::path(post, path = "/signing-keys", tag = "signing", request_body = RegisterSigningKey,
    responses((status = 201, description = "Registered (or already registered)", body = SigningKey)))]
async fn register_signing_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<RegisterSigningKey>,
) -> Result<Response, ApiError> {
    if !may_manage(&principal, &body.party_id) {
        return Err(ApiError::forbidden("a party registers its own signing keys"));
    }
    let party = parties::find_party(state.store(), state.ledger(), &body.party_id)
        .await?
        .ok_or_else(|| ApiError::unprocessable("unknown_party", format!("no party {:?}", body.party_id)))?;
    if party.kind == PartyKind::Operator {
        return Err(ApiError::unprocessable("wrong_role", "operators do not sign documents"));
    }
    let valid_from = match body.valid_from.as_deref() {
        Some(text) => parse_instant("valid_from", text)?,
        None => offtake_ledger::date::now(),
    };
    let stored = state.finance().register_signing_key(&party.id, None, &body.public_key_hex, valid_from).await?;
    Ok(created(&format!("/v1/signing-keys/{}", stored.key_id), SigningKey::from(stored)))
}

/// List signing keys: every key for admins and auditors, one's own otherwise.
#[utoipa::path(get, path = "/signing-keys", tag = "signing", params(PageQuery),
    responses((status = 200, body = SigningKeyPage)))]
async fn list_signing_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<SigningKeyPage>, ApiError> {
    let keys = state.finance().keys().list().await?;
    let visible: Vec<RegisteredKey> = keys.into_iter().filter(|k| principal.can_see([k.party.as_str()])).collect();
    let (items, next_cursor) = page_of(visible, &q, |k| k.key_id.clone())?;
    Ok(Json(SigningKeyPage::new(items.into_iter().map(SigningKey::from).collect(), next_cursor)))
}

async fn visible_key(state: &AppState, principal: &Principal, key_id: &str) -> Result<RegisteredKey, ApiError> {
    state
        .finance()
        .keys()
        .get(key_id)
        .await?
        .filter(|k| principal.can_see([k.party.as_str()]))
        .ok_or_else(|| ApiError::not_found(format!("signing key {key_id:?}")))
}

/// One signing key.
#[utoipa::path(get, path = "/signing-keys/{key_id}", tag = "signing",
    params(("key_id" = String, Path, description = "Key id")),
    responses((status = 200, body = SigningKey)))]
async fn get_signing_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key_id): ApiPath<String>,
) -> Result<Json<SigningKey>, ApiError> {
    Ok(Json(visible_key(&state, &principal, &key_id).await?.into()))
}

/// Revoke a signing key (its party or admin).
#[utoipa::path(post, path = "/signing-keys/{key_id}/revoke", tag = "signing",
    params(("key_id" = String, Path, description = "Key id")), request_body = RevokeSigningKey,
    responses((status = 200, body = SigningKey)))]
async fn revoke_signing_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key_id): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeSigningKey>,
) -> Result<Json<SigningKey>, ApiError> {
    let key = visible_key(&state, &principal, &key_id).await?;
    if !may_manage(&principal, &key.party) {
        return Err(ApiError::not_found(format!("signing key {key_id:?}")));
    }
    let reason: Revocation = body.reason.parse()?;
    let at = match body.at.as_deref() {
        Some(text) => parse_instant("at", text)?,
        None => offtake_ledger::date::now(),
    };
    Ok(Json(state.finance().keys().revoke(&key_id, at, reason).await?.into()))
}
