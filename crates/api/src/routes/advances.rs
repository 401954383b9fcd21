//! `/v1/advances`: draws on a facility. The maker requests (a signed
//! `advance_request`), the lender approves or rejects (a signed
//! `advance_approval` naming the request's hash). Visible to the maker and
//! the facility's lender.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::Advance;
use offtake_signing::Envelope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::views::{page_of, AdvanceDoc, AdvancePage};
use super::{created, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_advance, list_advances))
        .routes(routes!(get_advance))
        .routes(routes!(approve_advance))
        .routes(routes!(reject_advance))
}

async fn visible(state: &AppState, principal: &Principal, a: &Advance) -> Result<bool, ApiError> {
    if principal.can_see([a.maker.as_str()]) {
        return Ok(true);
    }
    let lender = state.finance().facility(&a.facility).await.map(|f| f.lender).unwrap_or_default();
    Ok(principal.can_see([lender.as_str()]))
}

/// Request an advance: a signed `advance_request` (the maker or admin).
/// Drawing more than is available is `422 insufficient_availability`.
#[utoipa::path(post, path = "/advances", tag = "advances", request_body = EnvelopeInput,
    responses((status = 201, description = "Requested (a hold on the lender's cash)", body = AdvanceDoc)))]
async fn request_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    let advance = state.finance().request_advance(&doc, time::OffsetDateTime::now_utc()).await?;
    Ok(created(&format!("/v1/advances/{}", advance.id), AdvanceDoc::of(&advance)?))
}

/// List the advances the caller may see.
#[utoipa::path(get, path = "/advances", tag = "advances", params(PageQuery),
    responses((status = 200, body = AdvancePage)))]
async fn list_advances(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<AdvancePage>, ApiError> {
    let mut mine = Vec::new();
    for a in state.finance().advances().await? {
        if visible(&state, &principal, &a).await? {
            mine.push(a);
        }
    }
    mine.sort_by(|a, b| a.id.cmp(&b.id));
    let (items, next_cursor) = page_of(mine, &q, |a| a.id.clone())?;
    Ok(Json(AdvancePage { items: items.iter().map(AdvanceDoc::of).collect::<Result<_, _>>()?, next_cursor }))
}

async fn visible_advance(state: &AppState, principal: &Principal, id: &str) -> Result<Advance, ApiError> {
    let not_found = || ApiError::not_found(format!("advance {id:?}"));
    let advance = match state.finance().advance(id).await {
        Ok(a) => a,
        Err(offtake_finance::FinanceError::NotFound { .. })
        | Err(offtake_finance::FinanceError::Ledger(offtake_ledger::LedgerError::InvalidInput { .. })) => {
            return Err(not_found())
        }
        Err(e) => return Err(e.into()),
    };
    if visible(state, principal, &advance).await? {
        Ok(advance)
    } else {
        Err(not_found())
    }
}

/// One advance.
#[utoipa::path(get, path = "/advances/{id}", tag = "advances",
    params(("id" = String, Path, description = "Advance id")),
    responses((status = 200, body = AdvanceDoc)))]
async fn get_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdvanceDoc>, ApiError> {
    Ok(Json(AdvanceDoc::of(&visible_advance(&state, &principal, &id).await?)?))
}

async fn decide(
    state: AppState,
    principal: Principal,
    id: String,
    body: EnvelopeInput,
    decision: &'static str,
) -> Result<Response, ApiError> {
    let advance = visible_advance(&state, &principal, &id).await?;
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    let said = doc.body.get("decision").and_then(|v| v.as_str()).unwrap_or("approve");
    if said != decision {
        return Err(ApiError::unprocessable(
            "decision_mismatch",
            format!("the document says {said:?}, not {decision:?}"),
        ));
    }
    if doc.str_field("request_hash")? != advance.request_hash {
        return Err(ApiError::unprocessable(
            "decision_mismatch",
            format!("the document decides another request than advance {id:?}"),
        ));
    }
    let decided = state.finance().decide_advance(&doc).await?;
    Ok(created(&format!("/v1/advances/{}", decided.id), AdvanceDoc::of(&decided)?))
}

/// Approve (and fund) an advance: a signed `advance_approval` with
/// `decision: approve` (the facility's lender or admin).
#[utoipa::path(post, path = "/advances/{id}/approve", tag = "advances",
    params(("id" = String, Path, description = "Advance id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Funded", body = AdvanceDoc)))]
async fn approve_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    decide(state, principal, id, body, "approve").await
}

/// Reject an advance, releasing its hold: a signed `advance_approval` with
/// `decision: reject` (the facility's lender or admin).
#[utoipa::path(post, path = "/advances/{id}/reject", tag = "advances",
    params(("id" = String, Path, description = "Advance id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Rejected", body = AdvanceDoc)))]
async fn reject_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    decide(state, principal, id, body, "reject").await
}
