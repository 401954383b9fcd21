//! The end-of-day run: closes each day not yet closed, for every open
//! facility, through a day.

use axum::extract::State;
use axum::response::Response;
use offtake_wire::certificate::{covenant_docs, CovenantDoc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::{created, today};
use crate::state::AppState;

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
pub(super) async fn eod_run(
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
