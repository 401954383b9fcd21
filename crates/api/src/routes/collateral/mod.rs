//! Collateral over time (issue 18): a facility's borrowing-base
//! certificate for a day and the diff between two days, the tranche
//! lifecycle and receivables on a day, aging, covenant history, reserves,
//! and the end-of-day run. Every read takes a date and answers what was
//! true then. Visible to the facility's lender and maker (and admin,
//! auditor); another party's facility answers like a missing one.
//!
//! One module per concept: `certificates` (the day's certificate, its
//! signatures, the diff between two days), `pool` (tranches and
//! receivables on a day), `aging`, `covenants`, `reserves`, `eod` (the
//! end-of-day run). This module holds the dated queries they share.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use offtake_finance::Facility;
use offtake_ledger::Currency;
use serde::Deserialize;
use time::Date;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::facilities::visible_facility;
use super::{parse_day, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

mod aging;
mod certificates;
mod covenants;
mod eod;
mod pool;
mod reserves;

pub use aging::{AgingDoc, AgingLineDoc, BrandBucketsDoc};
pub use certificates::{DiffDoc, DiffLineDoc};
pub use covenants::{CovenantDayDoc, CovenantHistoryDoc};
pub use eod::{EodFacilityDoc, EodRun, EodRunDoc};
pub use pool::{CollateralDoc, ReceivableDoc, TrancheDoc};
pub use reserves::{ReserveSettingDoc, ReservesDoc, SetReserve};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(certificates::certificate))
        .routes(routes!(certificates::sign_certificate))
        .routes(routes!(certificates::certificate_diff))
        .routes(routes!(pool::collateral))
        .routes(routes!(aging::aging))
        .routes(routes!(covenants::covenants))
        .routes(routes!(reserves::set_reserve))
        .routes(routes!(eod::eod_run))
}

/// Amounts are the wire's one money object.
use offtake_wire::Money as Amount;

fn amount(minor: i64, c: Currency) -> Amount {
    Amount::new(minor, c)
}

/// A query's day (`400 invalid_query` when it is not one), else today.
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

impl RangeQuery {
    /// The range's end, today when absent.
    fn to(&self) -> Result<Date, ApiError> {
        day_query("to", self.to.as_deref())
    }

    /// The range's start, `None` when absent (each read has its own
    /// default, or requires it).
    fn from(&self) -> Result<Option<Date>, ApiError> {
        self.from.as_deref().map(|d| day_query("from", Some(d))).transpose()
    }
}

/// What every "as of" read starts with: the facility of the path, visible
/// to the caller (another party's answers like a missing one), and the day
/// of the query (today by default). Checked in the order a handler taking
/// the principal, path and query would: `401`, then `400 invalid_path`,
/// `400 invalid_query`, `404`, and last a malformed day.
pub(super) struct FacilityAsOf {
    pub facility: Facility,
    pub as_of: Date,
}

impl FromRequestParts<AppState> for FacilityAsOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let ApiPath(id) = ApiPath::<String>::from_request_parts(parts, state).await?;
        let ApiQuery(q) = ApiQuery::<AsOfQuery>::from_request_parts(parts, state).await?;
        let facility = visible_facility(state, &principal, &id).await?;
        let as_of = day_query("as_of", q.as_of.as_deref())?;
        Ok(FacilityAsOf { facility, as_of })
    }
}
