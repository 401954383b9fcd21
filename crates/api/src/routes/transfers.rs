//! `/v1/transfers`: the common two-leg entry, moving an amount from one
//! account to another, posted now or as a two-phase hold (admin).

use axum::extract::State;
use axum::response::Response;
use offtake_ledger::{AccountCode, Action, AmountMinor, LedgerError, NewLeg, Side};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::entries::{command, commit_and_show};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::idempotency::IdempotencyKey;
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_transfer))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransfer {
    /// Account credited.
    #[schema(example = "cash:lender:l1", pattern = "^[a-z0-9_.:-]{1,128}$")]
    pub from: String,
    /// Account debited.
    #[schema(example = "facility:f1:principal", pattern = "^[a-z0-9_.:-]{1,128}$")]
    pub to: String,
    /// Positive decimal string in the accounts' currency; more decimals than
    /// the currency has is `422 amount_scale`, never rounded.
    #[schema(example = "80000.00", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub amount: String,
    /// Book a two-phase hold (post or void it via `/v1/entries/{seq}`).
    #[serde(default)]
    pub pending: bool,
    /// Free label (default `transfer`).
    pub kind: Option<String>,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub effective_date: Option<String>,
    #[schema(schema_with = offtake_wire::ledger::metadata_schema)]
    pub metadata: Option<serde_json::Value>,
}

/// Move an amount between two accounts of one currency (admin).
#[utoipa::path(post, path = "/transfers", tag = "ledger", request_body = CreateTransfer,
    responses((status = 201, description = "The entry", body = wire::Entry)))]
async fn create_transfer(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<CreateTransfer>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let from = state.account(&AccountCode::new(&body.from)?).await?;
    let to = state.account(&AccountCode::new(&body.to)?).await?;
    if from.currency != to.currency {
        return Err(LedgerError::CurrencyMismatch {
            account: to.code.as_str().to_owned(),
            leg: from.currency,
            account_currency: to.currency,
        }
        .into());
    }
    let amount_minor = AmountMinor::parse(&body.amount, from.currency)?;
    if !amount_minor.is_positive() {
        return Err(LedgerError::NonPositiveAmount(amount_minor.get()).into());
    }
    let legs = vec![
        NewLeg { account: to.code, side: Side::Debit, currency: to.currency, amount_minor },
        NewLeg { account: from.code, side: Side::Credit, currency: from.currency, amount_minor },
    ];
    let action = Action::Record { legs, pending: body.pending };
    let cmd = command(key.ledger_key(), body.kind, body.effective_date, body.metadata, action)?;
    commit_and_show(&state, &key, cmd).await
}
