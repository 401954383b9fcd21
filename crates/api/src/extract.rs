//! Extractors whose rejections are problem+json: axum's own answer plain
//! text, which must never reach a client.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON body. Refuses a missing or wrong `Content-Type` (415), unparsable
/// JSON (400 `malformed_json`) and JSON of the wrong shape, including
/// unknown fields (422 `invalid_body`).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string (400 `invalid_query` when it does not parse).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters (400 `invalid_path` when they do not parse).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
