//! offtake webhooks: parties register endpoints for the event types they
//! want; a dispatcher posts each event, in ledger order and at least once,
//! signed as the Standard Webhooks specification says (`webhook-id` = the
//! event id, for deduplication), retrying with exponential backoff and
//! jitter for the retry window (24 hours by default) and then keeping the
//! event as failed until it is replayed. Each endpoint has its own task, so
//! a slow or failing endpoint delays only itself, never the write path
//! (events are read from the record chain after their change committed).

#![forbid(unsafe_code)]

pub mod dispatch;
pub mod endpoint;
pub mod error;
pub mod network;
pub mod policy;
pub mod sign;

pub use dispatch::{AttemptLog, Dispatcher, DispatcherHandle};
pub use endpoint::{get, list, register, replay, EndpointRecord, ENDPOINT_KIND, STATE_KIND};
pub use error::WebhookError;
pub use network::Reach;
pub use policy::RetryPolicy;
