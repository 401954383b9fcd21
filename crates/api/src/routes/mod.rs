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
pub mod bank;
pub mod chain;
pub mod checkpoints;
pub mod collateral;
pub mod commitments;
pub mod entries;
pub mod events;
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
pub mod webhooks;

/// Every `/v1` resource.
pub fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(parties::router())
        .merge(keys::router())
        .merge(accounts::router())
        .merge(entries::router())
        .merge(transfers::router())
        .merge(chain::router())
        .merge(checkpoints::router())
        .merge(signing_keys::router())
        .merge(commitments::router())
        .merge(facilities::router())
        .merge(advances::router())
        .merge(invoices::router())
        .merge(payments::router())
        .merge(exports::router())
        .merge(statements::router())
        .merge(bank::router())
        .merge(collateral::router())
        .merge(events::router())
        .merge(webhooks::router())
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
    /// Items per page at most, 1 to 1000 (default 100); outside that range
    /// the request is refused (`400 invalid_query`), not silently clamped.
    /// A filtered list may answer fewer (even none) with a `next_cursor`:
    /// the list ends only where `next_cursor` is absent.
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

/// Declares a list's query: its filters plus `cursor` and `limit` (one
/// struct, because `deny_unknown_fields` cannot see through a flatten).
/// An unknown filter or a bad value is `400 invalid_query`.
macro_rules! list_query {
    ($(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Opaque: the `next_cursor` of the previous page; absent (or
            /// empty) for the first page.
            #[param(pattern = "^[!#-\\[\\]-~]{0,200}$")]
            pub cursor: Option<String>,
            /// Items per page at most, 1 to 1000 (default 100); outside
            /// that range the request is refused (`400 invalid_query`). A
            /// page reads at most the server's scan budget of records, so a
            /// selective filter may answer fewer items (even none) with a
            /// `next_cursor`: the list ends only where `next_cursor` is
            /// absent.
            #[param(minimum = 1, maximum = 1000)]
            pub limit: Option<u32>,
        }

        impl $name {
            pub fn page(&self) -> $crate::routes::PageQuery {
                $crate::routes::PageQuery { cursor: self.cursor.clone(), limit: self.limit }
            }
        }
    };
}
pub(crate) use list_query;

/// A `YYYY-MM-DD` query parameter (`400 invalid_query` otherwise).
pub fn query_day(name: &str, text: Option<&str>) -> Result<Option<time::Date>, crate::error::ApiError> {
    text.map(|d| {
        offtake_ledger::row::parse_date(d)
            .map_err(|_| crate::error::ApiError::InvalidQuery(format!("{name}: {d:?} is not YYYY-MM-DD")))
    })
    .transpose()
}

/// Whether `day` is within the inclusive range `[from, to]` (open ends).
pub fn in_range(day: time::Date, from: Option<time::Date>, to: Option<time::Date>) -> bool {
    from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t)
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
    offtake_ledger::date::parse_rfc3339(text).ok_or_else(|| {
        crate::error::ApiError::unprocessable("invalid_input", format!("{field}: {text:?} is not an RFC 3339 time"))
    })
}

/// Parses a `YYYY-MM-DD` date from a request body (`422 invalid_date` or
/// `422 date_out_of_range`).
pub fn parse_day(text: &str) -> Result<time::Date, crate::error::ApiError> {
    Ok(offtake_ledger::date::parse_date(text)?)
}

/// Parses a `YYYY-MM-DD` date from a query string: the same rule as a
/// body's, answered `400` like every other malformed query —
/// `invalid_query` when it is not a date, `date_out_of_range` when it is
/// one outside the years accepted.
pub fn parse_query_day(name: &str, text: &str) -> Result<time::Date, crate::error::ApiError> {
    use offtake_ledger::LedgerError;
    match offtake_ledger::date::parse_date(text) {
        Ok(d) => Ok(d),
        Err(e @ LedgerError::DateOutOfRange(_)) => Err(crate::error::ApiError::Status {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: e.code(),
            detail: format!("{name}: {e}"),
        }),
        Err(_) => Err(crate::error::ApiError::InvalidQuery(format!("{name}: not YYYY-MM-DD"))),
    }
}

/// A query's optional date ([`parse_query_day`]), else today.
pub fn query_day_or_today(name: &str, text: Option<&str>) -> Result<time::Date, crate::error::ApiError> {
    text.map_or_else(|| Ok(today()), |d| parse_query_day(name, d))
}

pub use offtake_ledger::date::today;
