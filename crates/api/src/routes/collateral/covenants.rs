//! Covenant history: each closed day's covenant states over a range.

use axum::extract::State;
use axum::Json;
use offtake_wire::certificate::{covenant_docs, CovenantDoc};
use serde::Serialize;
use utoipa::ToSchema;

use super::RangeQuery;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::facilities::visible_facility;
use crate::state::AppState;

/// The longest range one read covers, in days.
const MAX_RANGE_DAYS: i64 = 366;

/// The range's start when the query gives none, in days before its end.
const DEFAULT_RANGE_DAYS: i64 = 30;

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
pub(super) async fn covenants(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<CovenantHistoryDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let to = q.to()?;
    let from = q.from()?.unwrap_or_else(|| to - time::Duration::days(DEFAULT_RANGE_DAYS));
    if (to - from).whole_days() > MAX_RANGE_DAYS || from > to {
        return Err(ApiError::InvalidQuery("from..to: at most 366 days, from not after to".into()));
    }
    let history = state.finance().covenant_history(&f.id, from, to).await?;
    let days = history
        .into_iter()
        .map(|(day, results)| CovenantDayDoc { day: day.to_string(), covenants: covenant_docs(&results) })
        .collect();
    Ok(Json(CovenantHistoryDoc { facility: f.id, days }))
}
