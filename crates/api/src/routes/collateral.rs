//! Collateral over time (issue 18): a facility's borrowing-base
//! certificate for a day and the diff between two days, the tranche
//! lifecycle and receivables on a day, aging, covenant history, reserves,
//! and the end-of-day run. Every read takes a date and answers what was
//! true then. Visible to the facility's lender and maker (and admin,
//! auditor); another party's facility answers like a missing one.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::{Availability, Facility, Reserve, ReserveAmount};
use offtake_ledger::{AmountMinor, Currency};
use offtake_signing::Envelope;
use offtake_wire as wire;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::certificate::{buckets, covenant_docs, BucketsDoc, CertificateDoc, CovenantDoc};

use super::commitments::{verified_by_caller, EnvelopeInput};
use super::facilities::visible_facility;
use super::{created, parse_day, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(certificate))
        .routes(routes!(sign_certificate))
        .routes(routes!(certificate_diff))
        .routes(routes!(collateral))
        .routes(routes!(aging))
        .routes(routes!(covenants))
        .routes(routes!(set_reserve))
        .routes(routes!(eod_run))
}

/// Amounts are the wire's one money object.
use offtake_wire::Money as Amount;

fn amount(minor: i64, c: Currency) -> Amount {
    Amount::new(minor, c)
}

fn day_query(field: &str, text: Option<&str>) -> Result<Date, ApiError> {
    match text {
        Some(d) => parse_day(d).map_err(|_| ApiError::InvalidQuery(format!("{field} {d:?} is not YYYY-MM-DD"))),
        None => Ok(today()),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// `YYYY-MM-DD` (default: today, UTC).
    #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub as_of: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// `YYYY-MM-DD`.
    #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
}

/// A facility's borrowing-base certificate for a day (the one the end of
/// day kept when the day is closed).
#[utoipa::path(get, path = "/facilities/{id}/certificate", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), AsOfQuery),
    responses((status = 200, body = CertificateDoc)))]
async fn certificate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfQuery>,
) -> Result<Json<CertificateDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let as_of = day_query("as_of", q.as_of.as_deref())?;
    let (c, hash, signatures) = state.finance().signed_bbc(&f.id, as_of).await?;
    Ok(Json(CertificateDoc::of(&c, f.terms.currency, hash, signatures)))
}

/// Sign a day's certificate: the maker's `certificate_signature` with act
/// `attestation`, then the lender's with act `review` (`409 not_attested`
/// before the attestation). The document names the facility, the day (not
/// after today) and the certificate's hash, which the certificate
/// recomputed for that day must match (`422 certificate_mismatch`). A
/// second, different signature of an act is `409 already_signed`; the
/// same document again answers the signature as kept.
#[utoipa::path(post, path = "/facilities/{id}/certificate/signatures", tag = "collateral",
    params(("id" = String, Path, description = "Facility id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Signed", body = wire::CertificateSignature)))]
async fn sign_certificate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    if doc.str_field("facility")? != f.id {
        // Checked before the domain sees it: the path names the facility.
        return Err(ApiError::unprocessable(
            "invalid_input",
            format!("the document signs another facility's certificate than {id:?}"),
        ));
    }
    let s = state.finance().sign_certificate(&doc, today()).await?;
    let location = format!("/v1/facilities/{}/certificate?as_of={}", s.facility, s.as_of);
    Ok(created(&location, wire::CertificateSignature::from(s)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffLineDoc {
    /// `collateral`, `concentration`, `base`, `reserve`, `limit`, `drawn`,
    /// `pending`, `available`.
    pub step: String,
    pub item: String,
    pub from: Amount,
    pub to: Amount,
    pub change: Amount,
    pub why: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffDoc {
    pub facility: String,
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub lines: Vec<DiffLineDoc>,
}

/// Why availability moved between two days, line by line.
#[utoipa::path(get, path = "/facilities/{id}/certificate-diff", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), RangeQuery),
    responses((status = 200, body = DiffDoc)))]
async fn certificate_diff(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<DiffDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let from = match q.from.as_deref() {
        Some(_) => day_query("from", q.from.as_deref())?,
        None => return Err(ApiError::InvalidQuery("from: required (YYYY-MM-DD)".into())),
    };
    let to = day_query("to", q.to.as_deref())?;
    let c = f.terms.currency;
    let lines = state.finance().bbc_diff(&f.id, from, to).await?;
    let lines = lines
        .into_iter()
        .map(|l| DiffLineDoc {
            step: l.step,
            item: l.item,
            from: amount(l.from_minor, c),
            to: amount(l.to_minor, c),
            change: amount(l.change_minor, c),
            why: l.why,
        })
        .collect();
    Ok(Json(DiffDoc { facility: f.id, from: from.to_string(), to: to.to_string(), lines }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrancheDoc {
    pub commitment: String,
    pub brand: String,
    pub tranche: String,
    #[schema(format = Date)]
    pub delivery_start: String,
    #[schema(format = Date)]
    pub delivery_end: String,
    /// `scheduled`, `in_window`, `delivered`, `missed` or `cancelled`.
    pub state: String,
    pub value: Amount,
    pub delivered: Amount,
    pub open: Amount,
    /// Reason code (`eligible`, `missed_delivery`, `too_far_out`, …).
    pub eligibility: String,
    pub eligible: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivableDoc {
    pub invoice: String,
    pub brand: String,
    #[schema(format = Date)]
    pub due_on: String,
    pub open: Amount,
    pub days_past_due: i64,
    /// `open`, `overdue` or `defaulted`.
    pub state: String,
    /// `eligible`, `aged_receivable` or `cross_aged`.
    pub eligibility: String,
    pub eligible: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollateralDoc {
    pub facility: String,
    #[schema(format = Date)]
    pub as_of: String,
    pub tranches: Vec<TrancheDoc>,
    pub receivables: Vec<ReceivableDoc>,
}

fn text_of<T: Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn collateral_doc(f: &Facility, a: &Availability) -> CollateralDoc {
    let c = f.terms.currency;
    CollateralDoc {
        facility: f.id.clone(),
        as_of: a.as_of.to_string(),
        tranches: a
            .tranches
            .iter()
            .map(|t| TrancheDoc {
                commitment: t.commitment.clone(),
                brand: t.brand.clone(),
                tranche: t.tranche.clone(),
                delivery_start: t.delivery_start.to_string(),
                delivery_end: t.delivery_end.to_string(),
                state: t.state.as_str().to_owned(),
                value: amount(t.value_minor, c),
                delivered: amount(t.delivered_minor, c),
                open: amount(t.open_minor, c),
                eligibility: t.eligibility.as_str().to_owned(),
                eligible: amount(t.eligible_minor, c),
            })
            .collect(),
        receivables: a
            .receivables
            .iter()
            .map(|r| ReceivableDoc {
                invoice: r.invoice.clone(),
                brand: r.brand.clone(),
                due_on: r.due_on.to_string(),
                open: amount(r.open_minor, c),
                days_past_due: r.days_past_due,
                state: text_of(r.state),
                eligibility: r.eligibility.as_str().to_owned(),
                eligible: amount(r.eligible_minor, c),
            })
            .collect(),
    }
}

/// The tranche lifecycle and the receivables of a facility on a day.
#[utoipa::path(get, path = "/facilities/{id}/collateral", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), AsOfQuery),
    responses((status = 200, body = CollateralDoc)))]
async fn collateral(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfQuery>,
) -> Result<Json<CollateralDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let as_of = day_query("as_of", q.as_of.as_deref())?;
    let a = state.finance().availability(&f.id, as_of).await?;
    Ok(Json(collateral_doc(&f, &a)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandBucketsDoc {
    pub brand: String,
    pub buckets: BucketsDoc,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgingLineDoc {
    pub invoice: String,
    pub brand: String,
    #[schema(format = Date)]
    pub due_on: String,
    pub open: Amount,
    pub days_past_due: i64,
    /// `open`, `overdue` or `defaulted`.
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgingDoc {
    pub facility: String,
    #[schema(format = Date)]
    pub as_of: String,
    pub total: BucketsDoc,
    pub brands: Vec<BrandBucketsDoc>,
    pub invoices: Vec<AgingLineDoc>,
    /// Invoices paid by the day.
    pub paid: usize,
}

/// Aging of a facility's invoices on a day, per brand and in total.
#[utoipa::path(get, path = "/facilities/{id}/aging", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), AsOfQuery),
    responses((status = 200, body = AgingDoc)))]
async fn aging(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfQuery>,
) -> Result<Json<AgingDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let as_of = day_query("as_of", q.as_of.as_deref())?;
    let r = state.finance().aging(&f.id, as_of).await?;
    let c = f.terms.currency;
    Ok(Json(AgingDoc {
        facility: r.facility.clone(),
        as_of: r.as_of.to_string(),
        total: buckets(&r.total, c),
        brands: r.brands.iter().map(|(b, v)| BrandBucketsDoc { brand: b.clone(), buckets: buckets(v, c) }).collect(),
        invoices: r
            .invoices
            .iter()
            .map(|l| AgingLineDoc {
                invoice: l.invoice.clone(),
                brand: l.brand.clone(),
                due_on: l.due_on.to_string(),
                open: amount(l.open_minor, c),
                days_past_due: l.days_past_due,
                state: l.state.as_str().to_owned(),
            })
            .collect(),
        paid: r.paid,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CovenantDayDoc {
    #[schema(format = Date)]
    pub day: String,
    pub covenants: Vec<CovenantDoc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CovenantHistoryDoc {
    pub facility: String,
    pub days: Vec<CovenantDayDoc>,
}

/// Covenant states of the closed days in a range (at most 366 days).
#[utoipa::path(get, path = "/facilities/{id}/covenants", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), RangeQuery),
    responses((status = 200, body = CovenantHistoryDoc)))]
async fn covenants(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<CovenantHistoryDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let to = day_query("to", q.to.as_deref())?;
    let from = match q.from.as_deref() {
        Some(_) => day_query("from", q.from.as_deref())?,
        None => to - time::Duration::days(30),
    };
    if (to - from).whole_days() > 366 || from > to {
        return Err(ApiError::InvalidQuery("from..to: at most 366 days, from not after to".into()));
    }
    let history = state.finance().covenant_history(&f.id, from, to).await?;
    let days = history
        .into_iter()
        .map(|(day, results)| CovenantDayDoc { day: day.to_string(), covenants: covenant_docs(&results) })
        .collect();
    Ok(Json(CovenantHistoryDoc { facility: f.id, days }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetReserve {
    #[schema(example = "dilution", pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
    pub name: String,
    /// A fixed amount (decimal string in the facility's currency)…
    #[schema(example = "2000.00", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub amount: Option<String>,
    /// …or a share of the base in basis points.
    pub pct_bps: Option<u32>,
    /// `true` lifts the reserve from `effective_on`.
    #[serde(default)]
    pub lift: bool,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub effective_on: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReserveSettingDoc {
    pub name: String,
    #[schema(format = Date)]
    pub effective_on: String,
    /// `fixed`, `percent` or `removed`.
    pub kind: String,
    pub amount: Option<Amount>,
    pub pct_bps: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservesDoc {
    pub facility: String,
    /// Every setting, oldest first.
    pub reserves: Vec<ReserveSettingDoc>,
}

/// Set or lift a named reserve (the facility's lender or admin).
#[utoipa::path(post, path = "/facilities/{id}/reserves", tag = "collateral",
    params(("id" = String, Path, description = "Facility id")), request_body = SetReserve,
    responses((status = 201, description = "The reserve settings", body = ReservesDoc)))]
async fn set_reserve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SetReserve>,
) -> Result<Response, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    if !principal.is_admin() && principal.party_id.as_str() != f.lender {
        return Err(ApiError::forbidden("the facility's lender sets its reserves"));
    }
    let c = f.terms.currency;
    let amount_spec = match (b.lift, b.amount.as_deref(), b.pct_bps) {
        (true, None, None) => ReserveAmount::Removed,
        (false, Some(a), None) => ReserveAmount::Fixed { amount_minor: AmountMinor::parse(a, c)?.get() },
        (false, None, Some(bps)) => ReserveAmount::Percent { bps },
        _ => return Err(ApiError::unprocessable("invalid_input", "give one of amount, pct_bps or lift")),
    };
    let effective_on = offtake_ledger::date::date_or_today(b.effective_on.as_deref())?;
    let next = state.finance().set_reserve(&f.id, Reserve { name: b.name, effective_on, amount: amount_spec }).await?;
    let reserves = next
        .reserves
        .iter()
        .map(|r| {
            let (kind, amt, pct) = match r.amount {
                ReserveAmount::Fixed { amount_minor } => ("fixed", Some(amount(amount_minor, c)), None),
                ReserveAmount::Percent { bps } => ("percent", None, Some(bps)),
                ReserveAmount::Removed => ("removed", None, None),
            };
            ReserveSettingDoc {
                name: r.name.clone(),
                effective_on: r.effective_on.to_string(),
                kind: kind.into(),
                amount: amt,
                pct_bps: pct,
            }
        })
        .collect();
    Ok(created(&format!("/v1/facilities/{}/certificate", f.id), ReservesDoc { facility: f.id.clone(), reserves }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EodRun {
    /// Close every day through this one (`YYYY-MM-DD`, not after today;
    /// default today).
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub through: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EodFacilityDoc {
    pub facility: String,
    pub days_closed: usize,
    #[schema(format = Date)]
    pub closed_through: Option<String>,
    pub covenants: Vec<CovenantDoc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EodRunDoc {
    #[schema(format = Date)]
    pub through: String,
    pub facilities: Vec<EodFacilityDoc>,
}

/// Run the end of day through a day (admin): accrual, aging, eligibility,
/// missed deliveries, covenants and certificates for every open facility
/// and each day not yet closed. Idempotent; `future_date` after today.
#[utoipa::path(post, path = "/eod-runs", tag = "collateral", request_body = EodRun,
    responses((status = 201, description = "Days closed", body = EodRunDoc)))]
async fn eod_run(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(b): ApiJson<EodRun>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let through = offtake_ledger::date::date_or_today(b.through.as_deref())?;
    let report = state.finance().eod(through, today(), &mut |_, _| {}).await?;
    let facilities = report
        .facilities
        .iter()
        .map(|f| EodFacilityDoc {
            facility: f.facility.clone(),
            days_closed: f.days_closed,
            closed_through: f.closed_through.map(|d| d.to_string()),
            covenants: covenant_docs(&f.covenants),
        })
        .collect();
    Ok(created("/v1/eod-runs", EodRunDoc { through: through.to_string(), facilities }))
}
