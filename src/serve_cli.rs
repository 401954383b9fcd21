//! `offtake serve`: the HTTP API on a socket, and the admin key that
//! `offtake init` prints once.

use crate::output::out;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use offtake_api::{ApiConfig, AppState, RateLimit};
use offtake_ledger::{LedgerId, Store};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address
    /// is printed as `listening on http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_BODY_LIMIT_BYTES)]
    pub body_limit_bytes: usize,
    /// Longest a request may run, in milliseconds.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Sustained requests per second per API key (0 turns limiting off);
    /// beyond it, `429 rate_limited` with `Retry-After`.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_RATE_LIMIT_PER_S)]
    pub rate_limit_per_s: u32,
    /// Requests a key may send at once after being idle.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_RATE_LIMIT_BURST)]
    pub rate_limit_burst: u32,
    /// Longest a client may take to send a request's headers, in
    /// milliseconds; a slower connection is closed (0: no limit).
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,
    /// Connections one client address may hold open at once; more are
    /// closed on accept (0: no limit).
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: u32,
    /// Most entries one ledger transaction carries (every write of the
    /// server goes through one group committer per ledger).
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_COMMIT_MAX_BATCH)]
    pub commit_max_batch: usize,
    /// How long a non-full batch may wait for more entries, in
    /// microseconds (0: commit at once; batches still grow under load).
    #[arg(long, default_value_t = 0)]
    pub commit_max_wait_us: u64,
    /// How long an authenticated API key is answered from memory, in
    /// milliseconds (0: its record is read on every request). A key revoked
    /// by another process (`offtake api-key revoke`) works at most this
    /// long; one revoked through this server stops at once.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_API_KEY_CACHE_TTL_MS)]
    pub api_key_cache_ttl_ms: u64,
    /// Records one page of a filtered list (`GET /v1/facilities`,
    /// `/v1/invoices`, ...) reads at most: a page costs at most this
    /// however large the program grows; a selective filter then answers a
    /// short page with a `next_cursor`.
    #[arg(long, default_value_t = offtake_api::config::DEFAULT_LIST_SCAN_BUDGET)]
    pub list_scan_budget: usize,
    /// Also publish every event to NATS JetStream at this URL (README,
    /// "Events": subject `offtake.{ledger}.events.{type}`).
    #[arg(long, env = "OFFTAKE_NATS_URL")]
    pub nats_url: Option<String>,
    /// Let webhook endpoints be private, loopback or link-local addresses
    /// (by default only public addresses, so that no party can make the
    /// server call internal services).
    #[arg(long)]
    pub webhook_allow_private: bool,
}

pub async fn serve(store: Arc<dyn Store>, ledger: LedgerId, args: ServeArgs) -> anyhow::Result<()> {
    store.ensure_ledger(&ledger).await?;
    let config = ApiConfig {
        body_limit_bytes: args.body_limit_bytes,
        request_timeout_ms: args.request_timeout_ms,
        rate_limit: RateLimit { per_s: args.rate_limit_per_s, burst: args.rate_limit_burst },
        header_read_timeout_ms: args.header_read_timeout_ms,
        max_connections_per_ip: args.max_connections_per_ip,
        commit_max_batch: args.commit_max_batch,
        commit_max_wait_us: args.commit_max_wait_us,
        api_key_cache_ttl_ms: args.api_key_cache_ttl_ms,
        list_scan_budget: args.list_scan_budget,
        webhooks: Some(offtake_api::RetryPolicy {
            reach: if args.webhook_allow_private {
                offtake_webhooks::Reach::Any
            } else {
                offtake_webhooks::Reach::Public
            },
            ..offtake_api::RetryPolicy::default()
        }),
    };
    let state = AppState::new(store.clone(), ledger.clone(), config).await?;
    // The broker sink runs beside the server and stops with it.
    let _sink = match &args.nats_url {
        Some(url) => {
            let sink = offtake_broker::NatsSink::connect(url, store, ledger).await.context("connecting to NATS")?;
            Some(AbortOnDrop(tokio::spawn(sink.run(std::time::Duration::from_millis(500)))))
        }
        None => None,
    };
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Printed (and flushed) for scripts and tests that start on port 0.
    out!("listening on http://{addr}");
    use std::io::Write;
    std::io::stdout().flush()?;
    tracing::info!(%addr, "serving");
    offtake_api::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped: requests in flight finished");
    Ok(())
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}

/// Called by `offtake init`: creates the operator party and prints its
/// admin key the first time, and only then.
pub async fn bootstrap_admin_key(store: &dyn Store, ledger: &LedgerId) -> anyhow::Result<()> {
    match offtake_api::bootstrap_admin(store, ledger).await.map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))? {
        Some(issued) => {
            out!("admin API key (shown once, store it now): {}", issued.key);
            out!("  use it as: Authorization: Bearer <key>  (party {})", issued.record.party_id.as_str());
        }
        None => out!("admin API key already issued (issue more with `offtake api-key issue` or POST /v1/keys)"),
    }
    Ok(())
}
