//! The pages' only way to data: requests to the HTTP API's own router, in
//! process, with the caller's `Authorization` header. Whatever the API
//! would refuse or hide from that key, the pages cannot show either.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

/// Largest API answer the pages read (a list of 1000 items is far below).
pub const MAX_API_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Items per page when a view reads a whole list.
const PAGE_LIMIT: u32 = 1000;
/// Pages read at most per list: a view never loads more than this many
/// thousands of objects.
const MAX_PAGES: usize = 50;

/// The envelope every list answers (`offtake_wire`'s named `…Page` types
/// all have this shape); generic so one loop reads every list.
#[derive(serde::Deserialize)]
struct Page<T> {
    items: Vec<T>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// An API answer the pages cannot use: its status and problem body.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
}

impl WebError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        WebError { status, code: code.to_owned(), detail: detail.into() }
    }

    fn internal(detail: impl Into<String>) -> Self {
        WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": format!("urn:offtake:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// The API as one caller sees it.
#[derive(Clone)]
pub struct Client {
    api: Router,
    authorization: HeaderValue,
}

impl Client {
    pub fn new(api: Router, authorization: HeaderValue) -> Self {
        Client { api, authorization }
    }

    /// GETs `path` (with its query) and returns the status and body.
    pub async fn raw(&self, path: &str) -> Result<(StatusCode, axum::body::Bytes), WebError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .map_err(|e| WebError::internal(e.to_string()))?;
        let response = match self.api.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = to_bytes(response.into_body(), MAX_API_BODY_BYTES)
            .await
            .map_err(|e| WebError::internal(format!("reading {path}: {e}")))?;
        Ok((status, bytes))
    }

    /// GETs and parses a JSON answer; any non-2xx is an error carrying the
    /// API's status, code and detail.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, WebError> {
        let (status, bytes) = self.raw(path).await?;
        if !status.is_success() {
            let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let text = |k: &str, default: &str| problem[k].as_str().unwrap_or(default).to_owned();
            return Err(WebError { status, code: text("code", "http_error"), detail: text("detail", path) });
        }
        serde_json::from_slice(&bytes).map_err(|e| WebError::internal(format!("{path}: unexpected answer: {e}")))
    }

    /// Like [`Client::get`], with `404` (absent, or not the caller's, or an
    /// endpoint this server does not have) as `None`.
    pub async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, WebError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paginated list the caller may see.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, WebError> {
        Ok(self.list_opt(path).await?.unwrap_or_default())
    }

    /// Every item of a paginated list, or `None` when this server has no
    /// such list (an older server).
    pub async fn list_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<Vec<T>>, WebError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &cursor {
                Some(c) => format!("{path}?limit={PAGE_LIMIT}&cursor={}", encode(c)),
                None => format!("{path}?limit={PAGE_LIMIT}"),
            };
            let Some(page) = self.get_opt::<Page<T>>(&url).await? else {
                return Ok(None);
            };
            items.extend(page.items);
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(Some(items)),
            }
        }
        Ok(Some(items))
    }
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Json;

    fn fake_api() -> Router {
        Router::new()
            .route(
                "/v1/things",
                get(|q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    match q.get("cursor").map(String::as_str) {
                        None => Json(serde_json::json!({ "items": [1, 2], "next_cursor": "b/2" })),
                        Some("b/2") => Json(serde_json::json!({ "items": [3], "next_cursor": null })),
                        Some(_) => Json(serde_json::json!({ "items": [], "next_cursor": null })),
                    }
                }),
            )
            .route(
                "/v1/secret",
                get(|headers: axum::http::HeaderMap| async move {
                    let ok = headers.get(header::AUTHORIZATION).is_some_and(|v| v == "Bearer good");
                    if ok {
                        (StatusCode::OK, "{\"x\":1}").into_response()
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"code":"unauthenticated","detail":"unknown key"}"#)
                            .into_response()
                    }
                }),
            )
    }

    #[tokio::test]
    async fn lists_follow_the_cursor_to_the_end() {
        let c = Client::new(fake_api(), HeaderValue::from_static("Bearer good"));
        let all: Vec<i64> = c.list("/v1/things").await.unwrap();
        assert_eq!(all, vec![1, 2, 3]);
        assert!(c.list_opt::<i64>("/v1/nothing").await.unwrap().is_none(), "a missing list is None");
    }

    #[tokio::test]
    async fn the_callers_key_is_what_the_api_sees() {
        let good = Client::new(fake_api(), HeaderValue::from_static("Bearer good"));
        let v: serde_json::Value = good.get("/v1/secret").await.unwrap();
        assert_eq!(v["x"], 1);
        let bad = Client::new(fake_api(), HeaderValue::from_static("Bearer bad"));
        let e = bad.get::<serde_json::Value>("/v1/secret").await.unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.detail.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthenticated", "unknown key")
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
    }
}
