//! The router, the middleware stack and graceful serving.
//!
//! Stack, outermost first: request id (`x-request-id`, generated unless the
//! client sent one) → tracing span per request (method, path, request id,
//! party) → request id echoed on the response → problem+json for every
//! error the inner layers or axum produce in plain text (unknown route,
//! wrong method, timeout, body too large) → request timeout → body limit →
//! routes. `/v1` routes add authentication and then idempotency. Below
//! the stack, `crate::connections` limits each connection and address.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::require_api_key;
use crate::connections::{serve_connections, ConnectionLimits};
use crate::error::{problem, problem_response, PROBLEM_JSON};
use crate::idempotency::idempotency;
use crate::openapi::{finish, to_pretty_json, ApiDoc};
use crate::routes;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Routes and their document; with `state`, `/v1` gets its middleware.
fn build(state: Option<&AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut v1 = routes::v1();
    if let Some(state) = state {
        // The last layer added runs first: authenticate, then idempotency.
        v1 = v1
            .layer(from_fn_with_state(state.clone(), idempotency))
            .layer(from_fn_with_state(state.clone(), require_api_key));
    }
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .nest("/v1", v1)
        .split_for_parts();
    (router, finish(doc))
}

/// The OpenAPI document of this API.
pub fn document() -> utoipa::openapi::OpenApi {
    build(None).1
}

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    let (router, doc) = build(Some(&state));
    let doc_json: Arc<str> = Arc::from(to_pretty_json(&doc));
    let config = state.config().clone();
    let api =
        router
            .route(
                "/openapi.json",
                get(move || {
                    let doc_json = doc_json.clone();
                    async move {
                        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc_json.to_string())
                    }
                }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
            .with_state(state);
    // The web dashboard (`/app/`) reads this same API, in process, with the visitor's key.
    api.clone().merge(offtake_web::router(api)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!(
                            "request",
                            method = %req.method(),
                            path = %req.uri().path(),
                            request_id = %request_id,
                            party = tracing::field::Empty,
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(from_fn(problem_for_every_error))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_millis(config.request_timeout_ms),
            ))
            .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
            .layer(DefaultBodyLimit::max(config.body_limit_bytes)),
    )
}

/// Turns any error response that is not yet problem+json (axum's unknown
/// route and method answers, the timeout and body-limit layers) into one.
async fn problem_for_every_error(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such resource".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this resource does not accept that method".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", "the request body is larger than this server accepts".to_owned())
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => {
            ("timeout", "the request took longer than the server allows".to_owned())
        }
        other => ("http_error", other.canonical_reason().unwrap_or("error").to_owned()),
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut out = problem_response(&problem(status, code, detail));
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out.into_response()
}

/// Serves until `shutdown` resolves, then stops accepting connections and
/// waits for the requests in flight to finish. Each connection has the
/// configured header-read timeout, and each client address a cap on its
/// open connections (`crate::connections`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits::of(state.config());
    // Webhook deliveries run beside the server and stop with it.
    let _dispatcher = state.config().webhooks.map(|policy| {
        offtake_webhooks::Dispatcher::new(
            state.store_arc(),
            state.ledger().clone(),
            policy,
            state.webhook_log().clone(),
        )
        .spawn()
    });
    serve_connections(listener, app(state), limits, shutdown).await
}
