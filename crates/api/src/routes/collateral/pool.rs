//! The collateral pool on a day: each committed tranche's lifecycle and
//! each receivable, with its eligibility and what it counts for.

use axum::extract::State;
use axum::Json;
use offtake_finance::{Availability, Facility};
use serde::Serialize;
use utoipa::ToSchema;

use super::{amount, Amount, AsOfQuery, FacilityAsOf};
use crate::error::ApiError;
use crate::state::AppState;

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
pub(super) async fn collateral(
    State(state): State<AppState>,
    FacilityAsOf { facility: f, as_of }: FacilityAsOf,
) -> Result<Json<CollateralDoc>, ApiError> {
    let a = state.finance().availability(&f.id, as_of).await?;
    Ok(Json(collateral_doc(&f, &a)))
}
