//! `/v1/parties`: the admin registers brands, makers, lenders, auditors
//! and operators; every party may read itself.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::parties::{self, Party, PartyId, PartyKind};
use crate::routes::views::page_of;
use crate::state::AppState;
use offtake_wire::PartyPage;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_party, list_parties)).routes(routes!(get_party))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParty {
    /// 1-48 characters of `a-z 0-9 _ - .`, chosen by the admin.
    #[schema(example = "brand-acme")]
    pub id: String,
    pub kind: PartyKind,
    #[schema(example = "Acme Apparel Inc.")]
    pub name: String,
}

/// Register a party (admin). The same party again answers it; the same id
/// with another kind or name is `409 already_exists`.
#[utoipa::path(post, path = "/parties", tag = "parties", request_body = CreateParty,
    responses((status = 201, description = "Created", body = Party)))]
async fn create_party(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateParty>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let id = PartyId::new(&body.id)?;
    let party = parties::register_party(state.finance(), &id, body.kind, &body.name).await?;
    Ok(created(&format!("/v1/parties/{}", party.id), party))
}

/// List parties: all of them for admins and auditors, one's own otherwise.
#[utoipa::path(get, path = "/parties", tag = "parties", params(PageQuery),
    responses((status = 200, body = PartyPage)))]
async fn list_parties(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PartyPage>, ApiError> {
    Ok(Json(party_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/parties` (also the CLI's `party list`): the parties
/// are configuration, read whole and paged in memory (see
/// [`parties::all_parties`]).
pub async fn party_page(state: &AppState, principal: &Principal, q: &PageQuery) -> Result<PartyPage, ApiError> {
    let all = parties::all_parties(state.store(), state.ledger()).await?;
    let visible = all.into_iter().filter(|p| principal.can_see([p.id.as_str()])).collect();
    let (items, next_cursor) = page_of(visible, q, |p| p.id.clone())?;
    Ok(PartyPage::new(items, next_cursor))
}

/// One party (another party's is `404`).
#[utoipa::path(get, path = "/parties/{id}", tag = "parties",
    params(("id" = String, Path, description = "Party id")),
    responses((status = 200, body = Party)))]
async fn get_party(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Party>, ApiError> {
    let not_found = || ApiError::not_found(format!("party {id:?}"));
    if !principal.can_see([id.as_str()]) {
        return Err(not_found());
    }
    let party = parties::find_party(state.store(), state.ledger(), &id).await?.ok_or_else(not_found)?;
    Ok(Json(party))
}
