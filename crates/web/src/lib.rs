//! offtake web dashboard: the pages `offtake serve` shows to makers,
//! lenders, brands and auditors, under `/app/`.
//!
//! The page is one HTML shell and a small script, embedded in the binary
//! (no build step). The visitor signs in with an API key, which the script
//! keeps in `sessionStorage` and sends as `Authorization: Bearer` — no
//! cookie, so no cross-site request can act with it. The dashboard itself
//! is rendered here, on the server, as an HTML fragment: every figure is
//! read from the HTTP API's own router, in process, with the visitor's
//! key ([`client`]), so the pages see exactly what the API lets that key
//! see and authorization stays the API's alone. Writes (a draw request,
//! an approval) go from the browser straight to the API, signed in the
//! browser with WebCrypto Ed25519: private keys never reach the server.
//!
//! This crate must never hold a business rule, read the database, or
//! decide who may see what: it formats what the API answers.

#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub mod certificate;
pub mod certificate_pdf;
pub mod chart;
pub mod client;
pub mod html;
pub mod model;
pub mod views;

use client::{Client, WebError};

/// Where the dashboard lives.
pub const BASE_PATH: &str = "/app/";

/// Content Security Policy of the pages: only this server's own script
/// and style, no inline code, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const FEED_JS: &str = include_str!("../assets/feed.js");
pub(crate) const APP_CSS: &str = include_str!("../assets/app.css");
const FAVICON_SVG: &str = include_str!("../assets/favicon.svg");

#[derive(Clone)]
struct Web {
    api: Router,
}

/// The dashboard's routes. `api` is the HTTP API's router (with its
/// state); the pages call it in process with the visitor's key.
pub fn router(api: Router) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to(BASE_PATH) }))
        .route("/app", get(|| async { Redirect::to(BASE_PATH) }))
        .route("/app/", get(index))
        .route("/app/assets/{name}", get(asset))
        .route("/app/dashboard", get(dashboard))
        .route("/app/certificate", get(certificate))
        .route("/app/chain-verify", get(chain_verify))
        .route("/app/feed", get(feed))
        .route("/app/checkpoint", post(checkpoint))
        .with_state(Web { api })
}

fn page_headers(content_type: &'static str) -> [(header::HeaderName, HeaderValue); 5] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
    ]
}

async fn index() -> Response {
    (page_headers("text/html; charset=utf-8"), INDEX_HTML).into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "feed.js" => ("text/javascript; charset=utf-8", FEED_JS),
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "favicon.svg" => ("image/svg+xml", FAVICON_SVG),
        _ => return WebError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}

/// The caller's API client and bearer token, or `401`.
fn caller(web: &Web, headers: &HeaderMap) -> Result<(Client, String), WebError> {
    let missing = || WebError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in with an API key");
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .ok_or_else(missing)?;
    Ok((Client::new(web.api.clone(), value.clone()), token))
}

fn fragment(result: Result<maud::Markup, WebError>) -> Response {
    match result {
        Ok(html) => (page_headers("text/html; charset=utf-8"), html.into_string()).into_response(),
        Err(e) => e.into_response(),
    }
}

use offtake_ledger::date::today;

async fn dashboard(State(web): State<Web>, headers: HeaderMap) -> Response {
    fragment(
        async {
            let (client, token) = caller(&web, &headers)?;
            let viewer = views::whoami(&client, &token).await?;
            views::dashboard(&client, &viewer, today()).await
        }
        .await,
    )
}

async fn feed(State(web): State<Web>, headers: HeaderMap) -> Response {
    fragment(
        async {
            let (client, _) = caller(&web, &headers)?;
            views::feed::panel(&client).await
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CertificateQuery {
    facility: String,
    as_of: Option<String>,
}

/// A facility's borrowing-base certificate of a day, printable, with the
/// chart of the period (each point that day's certificate).
async fn certificate(State(web): State<Web>, headers: HeaderMap, Query(q): Query<CertificateQuery>) -> Response {
    fragment(
        async {
            let (client, _) = caller(&web, &headers)?;
            let as_of = match q.as_of.as_deref() {
                None => today(),
                Some(text) => model::parse_day(text).ok_or_else(|| {
                    WebError::new(StatusCode::BAD_REQUEST, "invalid_query", "as_of: expected YYYY-MM-DD")
                })?,
            };
            views::certificate::render(&client, &q.facility, as_of).await
        }
        .await,
    )
}

async fn chain_verify(State(web): State<Web>, headers: HeaderMap) -> Response {
    fragment(
        async {
            let (client, _) = caller(&web, &headers)?;
            views::auditor::verify_fragment(&client).await
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CheckpointQuery {
    public_key: Option<String>,
}

async fn checkpoint(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<CheckpointQuery>,
    body: Bytes,
) -> Response {
    fragment(
        async {
            let (client, _) = caller(&web, &headers)?;
            if body.len() > views::auditor::MAX_CHECKPOINT_BYTES {
                return Err(WebError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "checkpoint file too large",
                ));
            }
            views::auditor::checkpoint_fragment(&client, &body, q.public_key.as_deref()).await
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(app: &Router, path: &str, auth: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::builder().uri(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_shell_and_its_assets_are_served_with_a_strict_policy() {
        let app = router(Router::new());
        let (status, headers, body) = get(&app, "/app/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
        assert!(body.contains(r#"<script src="/app/assets/app.js" defer></script>"#));
        assert!(!body.contains("<script>") && !body.contains("style="), "no inline script or style");
        for (path, ty) in [("/app/assets/app.js", "text/javascript"), ("/app/assets/app.css", "text/css")] {
            let (status, headers, _) = get(&app, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(ty));
        }
        assert_eq!(get(&app, "/app/assets/../Cargo.toml", None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, "/", None).await.0, StatusCode::SEE_OTHER);
    }

    #[tokio::test]
    async fn fragments_need_a_key() {
        let app = router(Router::new());
        for path in ["/app/dashboard", "/app/chain-verify", "/app/feed"] {
            let (status, headers, body) = get(&app, path, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
            assert!(body.contains("\"code\":\"unauthenticated\""));
        }
        let (status, _, _) = get(&app, "/app/dashboard", Some("Basic abc")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
