//! The HTTP API, in process (`support::api`) or as `offtake serve`.

mod auth;
mod bank;
mod client;
mod collateral;
mod errors;
mod events;
mod idempotency;
mod ledger;
mod lists;
mod openapi;
mod server;
mod slow_clients;
mod story;
mod webhooks;
