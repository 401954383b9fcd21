//! `/v1/facilities`: a lender's facility for a maker, its availability
//! (borrowing base with the breakdown), interest accrual, and the lender's
//! capital. A facility is visible to its lender and its maker.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::model::{index, kind};
use offtake_finance::{DayCount, Facility, FacilityTerms, Rounding};
use offtake_ledger::{AmountMinor, Currency};
use offtake_signing::Envelope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::views::{keep_if, scan_page, Source};
use super::{created, list_query, query_day_or_today, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_facility, list_facilities))
        .routes(routes!(get_facility))
        .routes(routes!(accept_facility))
        .routes(routes!(availability))
        .routes(routes!(accrue))
        .routes(routes!(fund_lender))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenFacility {
    #[schema(example = "f1", pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
    pub id: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
    pub lender: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
    pub maker: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Decimal string in the currency.
    #[schema(example = "500000.00", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub limit: String,
    /// Share of eligible collateral that may be drawn (basis points).
    pub advance_rate_bps: u32,
    /// A tranche is eligible when its delivery window starts within this many days.
    pub eligibility_days: u32,
    /// Largest share of eligible value one brand may count for (basis points).
    pub concentration_bps: u32,
    /// Annual interest rate (basis points).
    pub rate_bps: u32,
    /// `act360` or `act365_f`.
    #[schema(value_type = String, example = "act360")]
    pub day_count: DayCount,
    pub fee_bps: u32,
    pub default_margin_bps: u32,
    pub late_fee_bps: u32,
    pub grace_days: u32,
    /// `half_even` or `half_up`.
    #[schema(value_type = String, example = "half_even")]
    pub rounding: Rounding,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub opened_on: Option<String>,
}

fn visible(principal: &Principal, f: &Facility) -> bool {
    principal.can_see([f.lender.as_str(), f.maker.as_str()])
}

/// Open a facility (its lender or admin). Opening the same facility again
/// answers it.
#[utoipa::path(post, path = "/facilities", tag = "facilities", request_body = OpenFacility,
    responses((status = 201, description = "Opened", body = wire::Facility)))]
async fn open_facility(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(b): ApiJson<OpenFacility>,
) -> Result<Response, ApiError> {
    if !principal.is_admin() && principal.party_id.as_str() != b.lender {
        return Err(ApiError::forbidden("a lender opens its own facilities"));
    }
    let currency = Currency::from_code(&b.currency)?;
    let terms = FacilityTerms {
        currency,
        limit_minor: AmountMinor::parse(&b.limit, currency)?,
        advance_rate_bps: b.advance_rate_bps,
        eligibility_days: b.eligibility_days,
        concentration_bps: b.concentration_bps,
        rate_bps: b.rate_bps,
        day_count: b.day_count,
        fee_bps: b.fee_bps,
        default_margin_bps: b.default_margin_bps,
        late_fee_bps: b.late_fee_bps,
        grace_days: b.grace_days,
        rounding: b.rounding,
    };
    let opened_on = offtake_ledger::date::date_or_today(b.opened_on.as_deref())?;
    let f = state.finance().open_facility(&b.id, &b.lender, &b.maker, terms, opened_on).await?;
    Ok(created(&format!("/v1/facilities/{}", f.id), wire::Facility::from(f)))
}

list_query! {
    /// Filters of `GET /v1/facilities` (all optional, combined with AND).
    FacilityQuery {
        /// Only facilities in this status.
        status: Option<wire::FacilityStatus>,
        /// Only this lender's facilities.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        lender: Option<String>,
        /// Only facilities for this maker.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        maker: Option<String>,
    }
}

/// List the facilities the caller is party to, by id.
#[utoipa::path(get, path = "/facilities", tag = "facilities", params(FacilityQuery),
    responses((status = 200, body = wire::FacilityPage)))]
async fn list_facilities(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<FacilityQuery>,
) -> Result<Json<wire::FacilityPage>, ApiError> {
    Ok(Json(facility_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/facilities`, read through the `party` index when a
/// party or a filter names one (see [`scan_page`]).
pub async fn facility_page(
    state: &AppState,
    principal: &Principal,
    q: &FacilityQuery,
) -> Result<wire::FacilityPage, ApiError> {
    let party = match (&q.lender, &q.maker) {
        (Some(p), _) | (None, Some(p)) => Some(p.as_str()),
        (None, None) if !principal.sees_everything() => Some(principal.party_id.as_str()),
        (None, None) => None,
    };
    let source = match party {
        Some(p) => Source::index(kind::FACILITY, index::PARTY, p),
        None => Source::Kind(kind::FACILITY),
    };
    let wanted = |f: &Facility| {
        q.status.is_none_or(|s| s == wire::FacilityStatus::from(f.status))
            && q.lender.as_ref().is_none_or(|l| *l == f.lender)
            && q.maker.as_ref().is_none_or(|m| *m == f.maker)
    };
    let keep = |f: Facility| {
        let yes = visible(principal, &f) && wanted(&f);
        keep_if(f, yes)
    };
    let (items, next_cursor) = scan_page(state, &source, &q.page(), keep).await?;
    Ok(wire::FacilityPage::new(items.into_iter().map(wire::Facility::from).collect(), next_cursor))
}

pub(crate) async fn visible_facility(state: &AppState, principal: &Principal, id: &str) -> Result<Facility, ApiError> {
    let not_found = || ApiError::not_found(format!("facility {id:?}"));
    match state.finance().facility(id).await {
        Ok(f) if visible(principal, &f) => Ok(f),
        Ok(_) => Err(not_found()),
        Err(offtake_finance::FinanceError::NotFound { .. })
        | Err(offtake_finance::FinanceError::Ledger(offtake_ledger::LedgerError::InvalidInput { .. })) => {
            Err(not_found())
        }
        Err(e) => Err(e.into()),
    }
}

/// One facility.
#[utoipa::path(get, path = "/facilities/{id}", tag = "facilities",
    params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, body = wire::Facility)))]
async fn get_facility(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::Facility>, ApiError> {
    Ok(Json(visible_facility(&state, &principal, &id).await?.into()))
}

/// Accept a facility: its maker's signed `facility_acceptance` (the maker
/// or admin). A facility cannot be drawn before (`409
/// facility_not_accepted`); the same document again answers the facility.
#[utoipa::path(post, path = "/facilities/{id}/acceptance", tag = "facilities",
    params(("id" = String, Path, description = "Facility id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Accepted: the facility is open", body = wire::Facility)))]
async fn accept_facility(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    visible_facility(&state, &principal, &id).await?;
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    if doc.str_field("facility")? != id {
        // Checked before the domain sees it: the path names the facility.
        return Err(ApiError::unprocessable(
            "invalid_input",
            format!("the document accepts another facility than {id:?}"),
        ));
    }
    let f = state.finance().accept_facility(&doc).await?;
    Ok(created(&format!("/v1/facilities/{}", f.id), wire::Facility::from(f)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AsOfDate {
    /// `YYYY-MM-DD` (default: today, UTC).
    #[param(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub as_of: Option<String>,
}

/// Availability to draw, with the borrowing base broken down by tranche and brand.
#[utoipa::path(get, path = "/facilities/{id}/availability", tag = "facilities",
    params(("id" = String, Path, description = "Facility id"), AsOfDate),
    responses((status = 200, body = wire::Availability)))]
async fn availability(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfDate>,
) -> Result<Json<wire::Availability>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let as_of = query_day_or_today("as_of", q.as_of.as_deref())?;
    let availability = state.finance().availability(&f.id, as_of).await?;
    Ok(Json(wire::Availability::of(availability, f.terms.currency)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Accrue {
    /// Accrue interest through this day, inclusive (`YYYY-MM-DD`; default today).
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub through: Option<String>,
}

/// Accrue a facility's interest, fees and penalties through a day (admin).
/// Running it again books only what is missing.
#[utoipa::path(post, path = "/facilities/{id}/accruals", tag = "facilities",
    params(("id" = String, Path, description = "Facility id")), request_body = Accrue,
    responses((status = 201, description = "What was booked", body = wire::AccrualReport)))]
async fn accrue(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Accrue>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let f = visible_facility(&state, &principal, &id).await?;
    let through = offtake_ledger::date::date_or_today(body.through.as_deref())?;
    // Never past today (UTC): `future_date`, nothing booked.
    let report = state.finance().accrue_until(&f.id, through, today()).await?;
    Ok(created(&format!("/v1/facilities/{}", f.id), wire::AccrualReport::of(report, f.terms.currency)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundLender {
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[schema(example = "1000000.00", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub amount: String,
    /// Unique per funding: a repeated reference books nothing twice.
    #[schema(example = "wire-2026-001", pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
    pub reference: String,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub on: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Funded {
    /// The ledger entry booking the capital.
    pub seq: i64,
}

/// A lender puts capital into the program (the lender itself or admin).
#[utoipa::path(post, path = "/lenders/{id}/capital", tag = "facilities",
    params(("id" = String, Path, description = "Lender party id")), request_body = FundLender,
    responses((status = 201, description = "Booked", body = Funded)))]
async fn fund_lender(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<FundLender>,
) -> Result<Response, ApiError> {
    if !principal.is_admin() && principal.party_id.as_str() != id {
        return Err(ApiError::not_found(format!("lender {id:?}")));
    }
    let currency = Currency::from_code(&b.currency)?;
    let amount = AmountMinor::parse(&b.amount, currency)?;
    let on = offtake_ledger::date::date_or_today(b.on.as_deref())?;
    let seq = state.finance().fund_lender(&id, currency, amount, on, &b.reference).await?;
    Ok(created(&format!("/v1/entries/{seq}"), Funded { seq }))
}
