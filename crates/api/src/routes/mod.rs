//! One module per resource; each exposes `router()`, and [`v1`] lists them.
//! Adding a resource is one module and one line there.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod accounts;
pub mod advances;
pub mod chain;
pub mod collateral;
pub mod commitments;
pub mod entries;
pub mod exports;
pub mod facilities;
pub mod health;
pub mod invoices;
pub mod keys;
pub mod parties;
pub mod payments;
pub mod signing_keys;
pub mod statements;
pub mod transfers;
pub mod views;

/// Every `/v1` resource.
pub fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(parties::router())
        .merge(keys::router())
        .merge(accounts::router())
        .merge(entries::router())
        .merge(transfers::router())
        .merge(chain::router())
        .merge(signing_keys::router())
        .merge(commitments::router())
        .merge(facilities::router())
        .merge(advances::router())
        .merge(invoices::router())
        .merge(payments::router())
        .merge(exports::router())
        .merge(statements::router())
        .merge(collateral::router())
}

/// Cursor pagination, the same on every list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page; absent (or empty) for the first
    /// page.
    #[param(pattern = "^[!#-\\[\\]-~]{0,200}$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100); outside that range the
    /// request is refused (`400 invalid_query`), not silently clamped, so a
    /// client never mistakes a short page for the end of the list.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The cursor, `None` for the first page (absent or empty). Anything
    /// this API could not have issued is refused here, the same on every
    /// list (`400 invalid_query`).
    pub fn cursor(&self) -> Result<Option<&str>, crate::error::ApiError> {
        const MAX_CURSOR_CHARS: usize = 200;
        match self.cursor.as_deref() {
            None | Some("") => Ok(None),
            Some(c)
                if c.len() <= MAX_CURSOR_CHARS
                    && c.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') =>
            {
                Ok(Some(c))
            }
            Some(_) => Err(crate::error::ApiError::InvalidQuery(
                "cursor: 1-200 printable ASCII characters without quotes, spaces or backslashes".into(),
            )),
        }
    }

    pub fn limit(&self) -> Result<u32, crate::error::ApiError> {
        let max = offtake_ledger::store::MAX_PAGE_LIMIT;
        match self.limit {
            None => Ok(offtake_ledger::store::clamp_limit(None)),
            Some(limit) if (1..=max).contains(&limit) => Ok(limit),
            Some(limit) => Err(crate::error::ApiError::InvalidQuery(format!("limit: {limit} is outside 1 to {max}"))),
        }
    }
}

/// `201 Created` with a `Location` and a JSON body.
pub fn created<T: Serialize>(location: &str, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Parses an RFC 3339 instant from a request body.
pub fn parse_instant(field: &'static str, text: &str) -> Result<time::OffsetDateTime, crate::error::ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| {
        crate::error::ApiError::unprocessable("invalid_input", format!("{field}: {text:?} is not an RFC 3339 time"))
    })
}

/// Parses a `YYYY-MM-DD` date from a request.
pub fn parse_day(text: &str) -> Result<time::Date, crate::error::ApiError> {
    Ok(offtake_ledger::row::parse_date(text)?)
}

/// Today (UTC).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
