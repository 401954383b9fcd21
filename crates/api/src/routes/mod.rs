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
pub mod chain;
pub mod entries;
pub mod health;
pub mod keys;
pub mod parties;
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
}

/// Cursor pagination, the same on every list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn limit(&self) -> u32 {
        offtake_ledger::store::clamp_limit(self.limit)
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
