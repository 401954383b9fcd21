//! `/v1/payments`: brand payments (signed payment notices) queued for
//! settlement; `/v1/settlement-runs` applies them through the waterfall;
//! remittances pay the makers; statements show them. A payment is visible
//! to its brand and the facility's maker and lender.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_settlement::{NoticeRecord, Settlement};
use offtake_signing::Envelope;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::facilities::visible_facility;
use super::views::{page_of, PaymentDoc, PaymentPage, RemittanceDoc, RunReportDoc, StatementDoc};
use super::{created, parse_day, today, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_payment, list_payments))
        .routes(routes!(get_payment))
        .routes(routes!(settlement_run))
        .routes(routes!(remit))
        .routes(routes!(statement))
}

fn settlement(state: &AppState) -> &Settlement {
    state.settlement()
}

async fn visible(state: &AppState, principal: &Principal, n: &NoticeRecord) -> Result<bool, ApiError> {
    if principal.can_see([n.notice.brand.as_str()]) {
        return Ok(true);
    }
    match state.finance().facility(&n.notice.facility).await {
        Ok(f) => Ok(principal.can_see([f.lender.as_str(), f.maker.as_str()])),
        Err(_) => Ok(false),
    }
}

/// Submit a payment notice signed by the brand (the brand or admin). A
/// replayed bank notification (same `external_ref`, same payment) answers
/// the queued notice and books nothing twice.
#[utoipa::path(post, path = "/payments", tag = "payments", request_body = EnvelopeInput,
    responses((status = 201, description = "Queued", body = PaymentDoc)))]
async fn submit_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let envelope = Envelope::from(body);
    verified_by_caller(&state, &principal, &envelope).await?;
    let record = settlement(&state).enqueue_envelope(&envelope, time::OffsetDateTime::now_utc()).await?;
    Ok(created(
        &format!("/v1/payments/{}", record.notice.external_ref),
        PaymentDoc::in_currency(&record, Some(record.notice.currency))?,
    ))
}

/// List the payments the caller may see.
#[utoipa::path(get, path = "/payments", tag = "payments", params(PageQuery),
    responses((status = 200, body = PaymentPage)))]
async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PaymentPage>, ApiError> {
    let mut mine = Vec::new();
    for n in settlement(&state).notices().await? {
        if visible(&state, &principal, &n).await? {
            mine.push(n);
        }
    }
    mine.sort_by(|a, b| a.notice.external_ref.cmp(&b.notice.external_ref));
    let (items, next_cursor) = page_of(mine, &q, |n| n.notice.external_ref.clone())?;
    Ok(Json(PaymentPage {
        items: items.iter().map(|n| PaymentDoc::in_currency(n, Some(n.notice.currency))).collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

/// One payment, by its external reference.
#[utoipa::path(get, path = "/payments/{external_ref}", tag = "payments",
    params(("external_ref" = String, Path, description = "The bank's reference")),
    responses((status = 200, body = PaymentDoc)))]
async fn get_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(external_ref): ApiPath<String>,
) -> Result<Json<PaymentDoc>, ApiError> {
    let not_found = || ApiError::not_found(format!("payment {external_ref:?}"));
    if offtake_ledger::record::check_record_key("external_ref", &external_ref).is_err() {
        return Err(not_found());
    }
    let record = match settlement(&state).notice(&external_ref).await {
        Ok(r) => r,
        Err(offtake_settlement::SettlementError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if !visible(&state, &principal, &record).await? {
        return Err(not_found());
    }
    Ok(Json(PaymentDoc::in_currency(&record, Some(record.notice.currency))?))
}

/// Run settlement once over the queue (admin): every queued payment is
/// applied through the waterfall exactly once.
#[utoipa::path(post, path = "/settlement-runs", tag = "payments",
    responses((status = 201, description = "What the run did", body = RunReportDoc)))]
async fn settlement_run(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let report = settlement(&state).settle_once(&format!("api:{}", principal.key_id)).await?;
    Ok(created("/v1/payments", RunReportDoc::of(&report)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Remit {
    /// Unique per payout: repeating it answers the first payout.
    #[schema(example = "remit-0001")]
    pub reference: String,
    /// `YYYY-MM-DD` (default: today, UTC).
    pub on: Option<String>,
}

/// Pay the maker what the waterfall left it on a facility (admin).
#[utoipa::path(post, path = "/facilities/{id}/remittances", tag = "payments",
    params(("id" = String, Path, description = "Facility id")), request_body = Remit,
    responses((status = 201, description = "Paid (or nothing owed)", body = RemittanceDoc)))]
async fn remit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Remit>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let f = visible_facility(&state, &principal, &id).await?;
    let on = match body.on.as_deref() {
        Some(d) => parse_day(d)?,
        None => today(),
    };
    let r = settlement(&state).remit(&body.reference, &f.id, on).await?;
    Ok(created(&format!("/v1/facilities/{}/statement", f.id), RemittanceDoc::in_currency(&r, Some(f.terms.currency))?))
}

/// The maker's remittance statement for a facility (its maker and lender).
#[utoipa::path(get, path = "/facilities/{id}/statement", tag = "payments",
    params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, body = StatementDoc)))]
async fn statement(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<StatementDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let statement = settlement(&state).remittance_statement(&f.id).await?;
    Ok(Json(StatementDoc::in_currency(&statement, Some(f.terms.currency))?))
}
