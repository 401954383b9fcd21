//! Aging of a facility's invoices on a day: buckets per brand and in
//! total, and each open invoice's days past due.

use axum::extract::State;
use axum::Json;
use offtake_wire::certificate::{buckets, BucketsDoc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{amount, Amount, AsOfQuery, FacilityAsOf};
use crate::error::ApiError;
use crate::state::AppState;

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
pub(super) async fn aging(
    State(state): State<AppState>,
    FacilityAsOf { facility: f, as_of }: FacilityAsOf,
) -> Result<Json<AgingDoc>, ApiError> {
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
