//! Reserves: named amounts (fixed, or a share of the base) the lender
//! holds back from availability from a day on, or lifts.

use axum::extract::State;
use axum::response::Response;
use offtake_finance::{Reserve, ReserveAmount};
use offtake_ledger::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{amount, Amount};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::created;
use crate::routes::facilities::visible_facility;
use crate::state::AppState;

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

/// The body's one choice of amount, percent or lift
/// (`422 invalid_input` for none or more than one).
fn amount_spec(b: &SetReserve, c: Currency) -> Result<ReserveAmount, ApiError> {
    Ok(match (b.lift, b.amount.as_deref(), b.pct_bps) {
        (true, None, None) => ReserveAmount::Removed,
        (false, Some(a), None) => ReserveAmount::Fixed { amount_minor: AmountMinor::parse(a, c)?.get() },
        (false, None, Some(bps)) => ReserveAmount::Percent { bps },
        _ => return Err(ApiError::unprocessable("invalid_input", "give one of amount, pct_bps or lift")),
    })
}

fn setting_doc(r: &Reserve, c: Currency) -> ReserveSettingDoc {
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
}

/// Set or lift a named reserve (the facility's lender or admin).
#[utoipa::path(post, path = "/facilities/{id}/reserves", tag = "collateral",
    params(("id" = String, Path, description = "Facility id")), request_body = SetReserve,
    responses((status = 201, description = "The reserve settings", body = ReservesDoc)))]
pub(super) async fn set_reserve(
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
    let amount_spec = amount_spec(&b, c)?;
    let effective_on = offtake_ledger::date::date_or_today(b.effective_on.as_deref())?;
    let next = state.finance().set_reserve(&f.id, Reserve { name: b.name, effective_on, amount: amount_spec }).await?;
    let reserves = next.reserves.iter().map(|r| setting_doc(r, c)).collect();
    Ok(created(&format!("/v1/facilities/{}/certificate", f.id), ReservesDoc { facility: f.id.clone(), reserves }))
}
