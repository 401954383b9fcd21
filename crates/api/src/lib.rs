//! offtake HTTP API: the only crate that knows HTTP.
//!
//! It parses requests into domain types, authenticates API keys, decides
//! which party may see what, and calls the domain crates; every answer is
//! JSON, every error an RFC 9457 `application/problem+json` body with a
//! stable `code` (one table maps codes to statuses: [`error`]).
//!
//! It must never hold a business rule (those live in the ledger and finance
//! crates), write SQL, or leak another party's object (a foreign object is
//! `404`, never `403`, so ids cannot be enumerated).
//!
//! Map of the crate:
//! * [`server`]: the router, the middleware stack (request ids, tracing,
//!   timeout, body limit, problem+json for every error) and graceful serve;
//! * [`auth`]: API keys (random, shown once, stored as SHA-256) and the
//!   [`auth::Principal`] every `/v1` handler receives;
//! * [`rate_limit`]: a token bucket per API key (`429 rate_limited`);
//! * [`idempotency`]: the `Idempotency-Key` contract of every creating POST;
//! * [`routes`]: one module per resource; adding a resource is one module
//!   and one line in [`routes::v1`];
//! * [`openapi`]: the OpenAPI 3.1 document, generated from the handlers.

#![forbid(unsafe_code)]

pub mod api_keys;
pub mod auth;
pub mod config;
pub mod connections;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod parties;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod state;

pub use auth::{bootstrap_admin, IssuedKey, Principal, Role};
pub use config::ApiConfig;
pub use error::{ApiError, Problem};
pub use offtake_webhooks::RetryPolicy;
pub use rate_limit::RateLimit;
pub use server::{app, serve};
pub use state::AppState;
