//! Collateral over time (issue 18): a facility's borrowing-base
//! certificate for a day and the diff between two days, the tranche
//! lifecycle and receivables on a day, aging, covenant history, reserves,
//! and the end-of-day run. Every read takes a date and answers what was
//! true then. Visible to the facility's lender and maker (and admin,
//! auditor); another party's facility answers like a missing one.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::{AgingBuckets, Availability, Certificate, CovenantResult, Facility, Reserve, ReserveAmount};
use offtake_ledger::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::facilities::visible_facility;
use super::{created, parse_day, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(certificate))
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

#[derive(Debug, Serialize, ToSchema)]
pub struct BucketsDoc {
    pub current: Amount,
    pub days_1_30: Amount,
    pub days_31_60: Amount,
    pub days_61_90: Amount,
    pub days_over_90: Amount,
}

fn buckets(b: &AgingBuckets, c: Currency) -> BucketsDoc {
    BucketsDoc {
        current: amount(b.current_minor, c),
        days_1_30: amount(b.days_1_30_minor, c),
        days_31_60: amount(b.days_31_60_minor, c),
        days_61_90: amount(b.days_61_90_minor, c),
        days_over_90: amount(b.days_over_90_minor, c),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonAmount {
    /// `too_far_out`, `missed_delivery`, `aged_receivable`, `cross_aged`, …
    pub reason: String,
    pub amount: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConcentrationDoc {
    pub brand: String,
    pub eligible: Amount,
    pub cap: Amount,
    pub excess: Amount,
    pub counted: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedAmount {
    pub name: String,
    pub amount: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CovenantDoc {
    /// `max_brand_concentration`, `no_overadvance`, `max_days_past_due`,
    /// `max_missed_delivery_share`, `min_eligible_collateral`.
    pub name: String,
    /// Measured value (bps, days or minor units, as the name says).
    pub value: i64,
    pub limit: i64,
    /// `met`, `near_breach` or `breached`.
    pub state: String,
    /// First day of the current state (`YYYY-MM-DD`), when not met.
    #[schema(format = Date)]
    pub since: Option<String>,
}

fn covenant_docs(results: &[CovenantResult]) -> Vec<CovenantDoc> {
    results
        .iter()
        .map(|r| CovenantDoc {
            name: r.name.clone(),
            value: r.value,
            limit: r.limit,
            state: serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            since: r.since.map(|d| d.to_string()),
        })
        .collect()
}

/// A borrowing-base certificate (the document of `schemas/bbc.schema.json`,
/// with amounts spelled out).
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateDoc {
    pub facility: String,
    pub lender: String,
    pub maker: String,
    pub currency: String,
    #[schema(format = Date)]
    pub as_of: String,
    pub commitments_in_window: Amount,
    pub commitments_scheduled: Amount,
    pub receivables: BucketsDoc,
    pub ineligible: Vec<ReasonAmount>,
    pub concentration: Vec<ConcentrationDoc>,
    pub advance_rate_bps: u32,
    pub receivable_advance_rate_bps: u32,
    pub eligible: Amount,
    pub counted: Amount,
    pub base: Amount,
    pub reserves: Vec<NamedAmount>,
    pub reserves_total: Amount,
    pub net_base: Amount,
    pub limit: Amount,
    pub capacity: Amount,
    pub drawn: Amount,
    pub pending: Amount,
    /// Negative when drawn exceeds capacity.
    pub available: Amount,
    pub overadvance: Amount,
    pub overadvanced: bool,
    pub covenants: Vec<CovenantDoc>,
    pub overdue_invoices: Vec<String>,
    pub missed_tranches: Vec<String>,
}

impl CertificateDoc {
    fn of(c: &Certificate, ccy: Currency) -> Self {
        let m = |minor| amount(minor, ccy);
        CertificateDoc {
            facility: c.facility.clone(),
            lender: c.lender.clone(),
            maker: c.maker.clone(),
            currency: c.currency.clone(),
            as_of: c.as_of.to_string(),
            commitments_in_window: m(c.collateral.commitments_in_window_minor),
            commitments_scheduled: m(c.collateral.commitments_scheduled_minor),
            receivables: buckets(&c.collateral.receivables, ccy),
            ineligible: c.ineligible.iter().map(|(r, v)| ReasonAmount { reason: r.clone(), amount: m(*v) }).collect(),
            concentration: c
                .concentration
                .iter()
                .map(|b| ConcentrationDoc {
                    brand: b.brand.clone(),
                    eligible: m(b.eligible_minor),
                    cap: m(b.cap_minor),
                    excess: m(b.excess_minor),
                    counted: m(b.counted_minor),
                })
                .collect(),
            advance_rate_bps: c.advance_rate_bps,
            receivable_advance_rate_bps: c.receivable_advance_rate_bps,
            eligible: m(c.eligible_minor),
            counted: m(c.counted_minor),
            base: m(c.base_minor),
            reserves: c
                .reserves
                .iter()
                .map(|r| NamedAmount { name: r.name.clone(), amount: m(r.reserve_minor) })
                .collect(),
            reserves_total: m(c.reserves_minor),
            net_base: m(c.net_base_minor),
            limit: m(c.limit_minor),
            capacity: m(c.capacity_minor),
            drawn: m(c.drawn_minor),
            pending: m(c.pending_minor),
            available: m(c.available_minor),
            overadvance: m(c.overadvance_minor),
            overadvanced: c.overadvance_minor > 0,
            covenants: covenant_docs(&c.covenants),
            overdue_invoices: c.overdue_invoices.clone(),
            missed_tranches: c.missed_tranches.clone(),
        }
    }
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
    let c = state.finance().bbc(&f.id, as_of).await?;
    Ok(Json(CertificateDoc::of(&c, f.terms.currency)))
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
