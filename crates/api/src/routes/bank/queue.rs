//! The reconciliation queue: credits no rule matched, worked by hand by
//! an operator or the lender of the account.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_bank::{BankError, HandMatch};
use offtake_wire::{BankQueueItem, HandMatched};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{api_error, bank, worked_accounts, works};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::created;
use crate::state::AppState;

/// Credits waiting to be matched by hand: an operator sees every
/// account's, a lender its own accounts'.
#[utoipa::path(get, path = "/bank-queue", tag = "bank", responses((status = 200, body = Vec<BankQueueItem>)))]
pub(super) async fn queue(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<BankQueueItem>>, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let items = b.queue().await.map_err(api_error)?;
    Ok(Json(items.iter().filter(|q| works(&mine, &q.account)).map(BankQueueItem::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchInput {
    pub brand: String,
    pub facility: String,
    /// Invoices it pays, in order (empty: the brand's open invoices).
    #[serde(default)]
    pub invoices: Vec<String>,
}

/// Match a queued credit by hand (an operator, or the lender of the
/// account; another lender's line answers like a missing one); it is
/// queued for settlement.
#[utoipa::path(post, path = "/bank-queue/{key}/match", tag = "bank",
    params(("key" = String, Path, description = "The line's key")), request_body = MatchInput,
    responses((status = 201, body = HandMatched)))]
pub(super) async fn match_line(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<MatchInput>,
) -> Result<Response, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let line = b.line(&key).await.map_err(api_error)?;
    if line.is_none_or(|l| !works(&mine, &l.account)) {
        return Err(api_error(BankError::NotFound { kind: "statement line", id: key }));
    }
    let by = format!("api:{}", principal.key_id);
    let m = HandMatch { brand: body.brand, facility: body.facility, invoices: body.invoices, by };
    let line = b.match_by_hand(&key, m).await.map_err(api_error)?;
    let done =
        HandMatched::of(&line).ok_or_else(|| ApiError::Internal(format!("line {key:?} is not matched by hand")))?;
    Ok(created(&format!("/v1/payments/{}", done.payment), done))
}
