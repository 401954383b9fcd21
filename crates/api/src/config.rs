//! Limits and settings of the HTTP server. Every limit is explicit and
//! named with its unit.

use crate::rate_limit::RateLimit;

/// Default largest request body: generous for a signed document or a
/// multi-leg entry, small enough that a flood of them cannot exhaust memory.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// Default time a request may take before it is answered `503 timeout`.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// Default time a client has to send a request's headers, from the moment
/// the server starts reading them; a connection slower than that is closed.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default connections one client address may hold open at once; more are
/// closed as soon as they are accepted.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 128;

/// Default sustained requests per second per API key.
pub const DEFAULT_RATE_LIMIT_PER_S: u32 = 200;
/// Default requests a key may send at once after being idle.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 400;

/// Default longest a server keeps answering from an API key it read
/// (SECURITY.md: a key revoked by another process, e.g. `offtake api-key
/// revoke`, stops working within this bound; one revoked through this
/// server's `DELETE /v1/keys/{id}` stops at once).
pub const DEFAULT_API_KEY_CACHE_TTL_MS: u64 = 1_000;

/// Default most records one page of a filtered list reads.
pub const DEFAULT_LIST_SCAN_BUDGET: usize = 2_000;

/// Default most entries one group-commit transaction carries.
pub const DEFAULT_COMMIT_MAX_BATCH: usize = offtake_committer::DEFAULT_MAX_BATCH;

#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body accepted; larger is `413 payload_too_large`.
    pub body_limit_bytes: usize,
    /// Longest a request may run; longer is `503 timeout` (the work is
    /// cancelled: a database transaction not yet committed rolls back).
    pub request_timeout_ms: u64,
    /// Requests per API key (`429 rate_limited` beyond); `per_s: 0` is off.
    pub rate_limit: RateLimit,
    /// Longest a client may take to send a request's headers (0: no limit).
    /// Without it, connections that send part of their headers and stall
    /// are held open indefinitely, by anyone, without an API key.
    pub header_read_timeout_ms: u64,
    /// Connections one client address may hold at once (0: no limit).
    pub max_connections_per_ip: u32,
    /// Most entries one ledger transaction carries: every write of the
    /// server goes through one group committer per ledger.
    pub commit_max_batch: usize,
    /// How long a non-full batch may wait for more entries (0: never).
    pub commit_max_wait_us: u64,
    /// How long an authenticated API key is answered from memory before
    /// its record is read again (0: read on every request). Bounds how
    /// late a revocation by another process takes effect.
    pub api_key_cache_ttl_ms: u64,
    /// Webhook delivery (`None`: no dispatcher runs in this server).
    pub webhooks: Option<offtake_webhooks::RetryPolicy>,
    /// Records one page of a filtered list may read at most (see
    /// `routes::views::scan_page`): bounds a page's cost however large the
    /// program grows; a selective filter then answers a short page with a
    /// `next_cursor`.
    pub list_scan_budget: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            rate_limit: RateLimit { per_s: DEFAULT_RATE_LIMIT_PER_S, burst: DEFAULT_RATE_LIMIT_BURST },
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            commit_max_batch: DEFAULT_COMMIT_MAX_BATCH,
            commit_max_wait_us: 0,
            api_key_cache_ttl_ms: DEFAULT_API_KEY_CACHE_TTL_MS,
            webhooks: Some(offtake_webhooks::RetryPolicy::default()),
            list_scan_budget: DEFAULT_LIST_SCAN_BUDGET,
        }
    }
}
