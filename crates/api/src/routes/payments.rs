//! `/v1/payments`: brand payments (signed payment notices) queued for
//! settlement; `/v1/settlement-runs` applies them through the waterfall;
//! remittances pay the makers; statements show them. A payment is visible
//! to its brand and the facility's maker and lender.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_settlement::notice::NOTICE_KIND;
use offtake_settlement::{NoticeRecord, Settlement};
use offtake_signing::Envelope;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::facilities::visible_facility;
use super::views::{scan_page, FacilityParties, Keep, Source};
use super::{created, in_range, list_query, query_day};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

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

/// Whether the caller sees a payment: its brand does, and the lender and
/// maker of its facility (looked up once into `parties`, which a page
/// shares; a facility that cannot be read shows the payment to no one).
async fn visible(
    state: &AppState,
    principal: &Principal,
    n: &NoticeRecord,
    parties: &FacilityParties,
) -> Result<bool, ApiError> {
    if principal.can_see([n.notice.brand.as_str()]) {
        return Ok(true);
    }
    let [lender, maker] = parties.lender_and_maker(state, &n.notice.facility).await;
    Ok(principal.can_see([lender.as_str(), maker.as_str()]))
}

/// Submit a payment notice signed by the brand (the brand or admin). A
/// replayed bank notification (same `external_ref`, same payment) answers
/// the queued notice and books nothing twice.
#[utoipa::path(post, path = "/payments", tag = "payments", request_body = EnvelopeInput,
    responses((status = 201, description = "Queued", body = wire::Payment)))]
async fn submit_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let envelope = Envelope::from(body);
    verified_by_caller(&state, &principal, &envelope).await?;
    let record = settlement(&state).enqueue_envelope(&envelope, offtake_ledger::date::now()).await?;
    Ok(created(&format!("/v1/payments/{}", record.notice.external_ref), wire::Payment::from(record)))
}

list_query! {
    /// Filters of `GET /v1/payments` (all optional, combined with AND).
    PaymentQuery {
        /// Only payments in this state.
        status: Option<wire::PaymentStatus>,
        /// Only this brand's payments.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        brand: Option<String>,
        /// Only payments to this facility.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        facility: Option<String>,
        /// Value date on or after this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        value_from: Option<String>,
        /// Value date on or before this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        value_to: Option<String>,
    }
}

/// List the payments the caller may see, by external reference.
#[utoipa::path(get, path = "/payments", tag = "payments", params(PaymentQuery),
    responses((status = 200, body = wire::PaymentPage)))]
async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> Result<Json<wire::PaymentPage>, ApiError> {
    Ok(Json(payment_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/payments`: the notices in order of their external
/// reference, those the caller sees (see [`scan_page`]).
pub async fn payment_page(
    state: &AppState,
    principal: &Principal,
    q: &PaymentQuery,
) -> Result<wire::PaymentPage, ApiError> {
    let from = query_day("value_from", q.value_from.as_deref())?;
    let to = query_day("value_to", q.value_to.as_deref())?;
    let wanted = |n: &NoticeRecord| {
        q.status.is_none_or(|s| s == wire::Payment::status_of(&n.state))
            && q.brand.as_ref().is_none_or(|b| *b == n.notice.brand)
            && q.facility.as_ref().is_none_or(|f| *f == n.notice.facility)
            && in_range(n.notice.value_date, from, to)
    };
    let parties = FacilityParties::default();
    let (parties, wanted) = (&parties, &wanted);
    let keep = |n: NoticeRecord| -> Keep<'_, NoticeRecord> {
        Box::pin(async move {
            let yes = wanted(&n) && visible(state, principal, &n, parties).await?;
            Ok(yes.then_some(n))
        })
    };
    let (items, next_cursor) = scan_page(state, &Source::Kind(NOTICE_KIND), &q.page(), keep).await?;
    Ok(wire::PaymentPage::new(items.into_iter().map(wire::Payment::from).collect(), next_cursor))
}

/// One payment, by its external reference.
#[utoipa::path(get, path = "/payments/{external_ref}", tag = "payments",
    params(("external_ref" = String, Path, description = "The bank's reference")),
    responses((status = 200, body = wire::Payment)))]
async fn get_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(external_ref): ApiPath<String>,
) -> Result<Json<wire::Payment>, ApiError> {
    let not_found = || ApiError::not_found(format!("payment {external_ref:?}"));
    if offtake_ledger::record::check_record_key("external_ref", &external_ref).is_err() {
        return Err(not_found());
    }
    let record = match settlement(&state).notice(&external_ref).await {
        Ok(r) => r,
        Err(offtake_settlement::SettlementError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if !visible(&state, &principal, &record, &FacilityParties::default()).await? {
        return Err(not_found());
    }
    Ok(Json(record.into()))
}

/// Run settlement once over the queue (admin): every queued payment is
/// applied through the waterfall exactly once.
#[utoipa::path(post, path = "/settlement-runs", tag = "payments",
    responses((status = 201, description = "What the run did", body = wire::RunReport)))]
async fn settlement_run(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let report = settlement(&state).settle_once(&format!("api:{}", principal.key_id)).await?;
    Ok(created("/v1/payments", wire::RunReport::from(report)))
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
    responses((status = 201, description = "Paid (or nothing owed)", body = wire::Remittance)))]
async fn remit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Remit>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let f = visible_facility(&state, &principal, &id).await?;
    let on = offtake_ledger::date::date_or_today(body.on.as_deref())?;
    let r = settlement(&state).remit(&body.reference, &f.id, on).await?;
    Ok(created(&format!("/v1/facilities/{}/statement", f.id), wire::Remittance::of(r, f.terms.currency)))
}

/// The maker's remittance statement for a facility (its maker and lender).
#[utoipa::path(get, path = "/facilities/{id}/statement", tag = "payments",
    params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, body = wire::RemittanceStatement)))]
async fn statement(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::RemittanceStatement>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let statement = settlement(&state).remittance_statement(&f.id).await?;
    Ok(Json(wire::RemittanceStatement::try_from(statement)?))
}
