//! `/v1/exports`: the books for auditors (admin, auditor): one CSV row per
//! leg, or Beancount for plain-text accounting tools. The signed audit
//! bundle needs the ledger's signing key on disk and stays a CLI command
//! (`offtake export bundle`).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use offtake_audit_export::beancount::{export_beancount, BeancountOptions};
use offtake_audit_export::csv_export::export_csv;
use offtake_audit_export::PeriodSpec;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::parse_day;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(csv)).routes(routes!(beancount))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First effective date (`YYYY-MM-DD`), inclusive: the export starts at
    /// the first entry effective on or after it.
    #[param(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Last effective date, inclusive: the export ends at the last entry
    /// effective on or before it.
    #[param(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
    /// Select by the ledger clock instead: first UTC day entries were
    /// recorded, inclusive (not with `from`/`to`).
    #[param(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub recorded_from: Option<String>,
    /// Last UTC day entries were recorded, inclusive.
    #[param(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub recorded_to: Option<String>,
    /// First entry, inclusive.
    #[param(minimum = 0)]
    pub from_seq: Option<i64>,
    /// Last entry, inclusive.
    #[param(minimum = 0)]
    pub to_seq: Option<i64>,
    /// Only accounts whose code starts with this (CSV only).
    pub scope: Option<String>,
    /// Include the memo book (Beancount only).
    pub include_memo: Option<bool>,
}

impl Period {
    fn spec(&self) -> Result<PeriodSpec, ApiError> {
        if self.from_seq.is_some_and(|s| s < 0) || self.to_seq.is_some_and(|s| s < 0) {
            return Err(ApiError::InvalidQuery("from_seq and to_seq are entry numbers, 0 or more".into()));
        }
        let day = |d: &Option<String>| d.as_deref().map(parse_day).transpose();
        if (self.from.is_some() || self.to.is_some()) && (self.recorded_from.is_some() || self.recorded_to.is_some()) {
            return Err(ApiError::InvalidQuery(
                "select by effective date (from, to) or by recorded date (recorded_from, recorded_to), not both".into(),
            ));
        }
        Ok(PeriodSpec {
            from: day(&self.from)?,
            to: day(&self.to)?,
            recorded_from: day(&self.recorded_from)?,
            recorded_to: day(&self.recorded_to)?,
            from_seq: self.from_seq,
            to_seq: self.to_seq,
        })
    }
}

fn text(content_type: &'static str, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}

/// Every leg in the period as CSV (admin, auditor).
#[utoipa::path(get, path = "/exports/entries.csv", tag = "exports", params(Period),
    responses((status = 200, description = "CSV, one row per leg", content_type = "text/csv", body = String)))]
async fn csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<Period>,
) -> Result<Response, ApiError> {
    principal.require_ledger_reader()?;
    let mut out = Vec::new();
    export_csv(state.store(), state.ledger(), q.spec()?, q.scope.as_deref(), &mut out).await?;
    Ok(text("text/csv; charset=utf-8", out))
}

/// The books in the period as a Beancount ledger (admin, auditor).
#[utoipa::path(get, path = "/exports/ledger.beancount", tag = "exports", params(Period),
    responses((status = 200, description = "Beancount text", content_type = "text/plain", body = String)))]
async fn beancount(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<Period>,
) -> Result<Response, ApiError> {
    principal.require_ledger_reader()?;
    let mut out = Vec::new();
    let opts = BeancountOptions { include_memo: q.include_memo.unwrap_or(false) };
    export_beancount(state.store(), state.ledger(), q.spec()?, opts, &mut out).await?;
    Ok(text("text/plain; charset=utf-8", out))
}
