//! Cash reconciliation: statement balances against the ledger's cash
//! accounts, per account and day.

use axum::extract::State;
use axum::Json;
use offtake_ledger::Currency;
use offtake_wire::CashReconDay;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{api_error, bank, worked_accounts, works};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThroughQuery {
    /// `YYYY-MM-DD` (default: today, UTC).
    pub through: Option<String>,
}

/// Statement balances against the ledger's cash accounts, per account and
/// day, with the items that explain each difference: an operator sees
/// every account, a lender its own.
#[utoipa::path(get, path = "/cash-reconciliation", tag = "bank", params(ThroughQuery),
    responses((status = 200, body = Vec<CashReconDay>)))]
pub(super) async fn reconciliation(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ThroughQuery>,
) -> Result<Json<Vec<CashReconDay>>, ApiError> {
    let through = offtake_ledger::date::date_or_today(q.through.as_deref())?;
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let accounts = b.accounts().await.map_err(api_error)?;
    let days = b.reconcile(through).await.map_err(api_error)?;
    Ok(Json(
        days.iter()
            .filter(|d| works(&mine, &d.account))
            .map(|d| {
                let c = accounts.iter().find(|a| a.account == d.account).map_or(Currency::USD, |a| a.currency);
                CashReconDay::new(d, c)
            })
            .collect(),
    ))
}
