//! `/v1/advances`: draws on a facility. The maker requests (a signed
//! `advance_request`), the lender approves or rejects (a signed
//! `advance_approval` naming the request's hash). Visible to the maker and
//! the facility's lender.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::model::{index, kind};
use offtake_finance::Advance;
use offtake_signing::Envelope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::views::{scan_page, FacilityParties, Keep, Source};
use super::{created, in_range, list_query, query_day};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_advance, list_advances))
        .routes(routes!(get_advance))
        .routes(routes!(approve_advance))
        .routes(routes!(reject_advance))
}

/// Whether the caller sees an advance: its maker does, and the lender of
/// its facility (looked up once into `lenders`, which a page shares).
async fn visible(
    state: &AppState,
    principal: &Principal,
    a: &Advance,
    lenders: &FacilityParties,
) -> Result<bool, ApiError> {
    if principal.can_see([a.maker.as_str()]) {
        return Ok(true);
    }
    let lender = lenders.lender(state, &a.facility).await;
    Ok(principal.can_see([lender.as_str()]))
}

/// Request an advance: a signed `advance_request` (the maker or admin).
/// Drawing more than is available is `422 insufficient_availability`.
#[utoipa::path(post, path = "/advances", tag = "advances", request_body = EnvelopeInput,
    responses((status = 201, description = "Requested (a hold on the lender's cash)", body = wire::Advance)))]
async fn request_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    let advance = state.finance().request_advance(&doc, offtake_ledger::date::now()).await?;
    Ok(created(&format!("/v1/advances/{}", advance.id), wire::Advance::from(advance)))
}

list_query! {
    /// Filters of `GET /v1/advances` (all optional, combined with AND).
    AdvanceQuery {
        /// Only advances in this status.
        status: Option<wire::AdvanceStatus>,
        /// Only draws on this facility.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        facility: Option<String>,
        /// Only this maker's advances.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        maker: Option<String>,
        /// Requested on or after this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        requested_from: Option<String>,
        /// Requested on or before this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        requested_to: Option<String>,
    }
}

/// List the advances the caller may see, by id.
#[utoipa::path(get, path = "/advances", tag = "advances", params(AdvanceQuery),
    responses((status = 200, body = wire::AdvancePage)))]
async fn list_advances(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AdvanceQuery>,
) -> Result<Json<wire::AdvancePage>, ApiError> {
    Ok(Json(advance_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/advances` (also the CLI's `advance list`): a facility
/// filter reads only that facility's advances, otherwise the advances in
/// id order (see [`scan_page`]).
pub async fn advance_page(
    state: &AppState,
    principal: &Principal,
    q: &AdvanceQuery,
) -> Result<wire::AdvancePage, ApiError> {
    let from = query_day("requested_from", q.requested_from.as_deref())?;
    let to = query_day("requested_to", q.requested_to.as_deref())?;
    let wanted = |a: &Advance| {
        q.status.is_none_or(|s| s == wire::AdvanceStatus::from(a.status))
            && q.facility.as_ref().is_none_or(|f| *f == a.facility)
            && q.maker.as_ref().is_none_or(|m| *m == a.maker)
            && in_range(a.requested_on, from, to)
    };
    let source = match &q.facility {
        Some(f) => Source::index(kind::ADVANCE, index::FACILITY, f),
        None => Source::Kind(kind::ADVANCE),
    };
    let lenders = FacilityParties::default();
    let (lenders, wanted) = (&lenders, &wanted);
    let keep = |a: Advance| -> Keep<'_, Advance> {
        Box::pin(async move {
            let yes = wanted(&a) && visible(state, principal, &a, lenders).await?;
            Ok(yes.then_some(a))
        })
    };
    let (items, next_cursor) = scan_page(state, &source, &q.page(), keep).await?;
    Ok(wire::AdvancePage::new(items.into_iter().map(wire::Advance::from).collect(), next_cursor))
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
    if visible(state, principal, &advance, &FacilityParties::default()).await? {
        Ok(advance)
    } else {
        Err(not_found())
    }
}

/// One advance.
#[utoipa::path(get, path = "/advances/{id}", tag = "advances",
    params(("id" = String, Path, description = "Advance id")),
    responses((status = 200, body = wire::Advance)))]
async fn get_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::Advance>, ApiError> {
    Ok(Json(visible_advance(&state, &principal, &id).await?.into()))
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
    Ok(created(&format!("/v1/advances/{}", decided.id), wire::Advance::from(decided)))
}

/// Approve (and fund) an advance: a signed `advance_approval` with
/// `decision: approve` (the facility's lender or admin).
#[utoipa::path(post, path = "/advances/{id}/approve", tag = "advances",
    params(("id" = String, Path, description = "Advance id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Funded", body = wire::Advance)))]
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
    responses((status = 201, description = "Rejected", body = wire::Advance)))]
async fn reject_advance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    decide(state, principal, id, body, "reject").await
}
