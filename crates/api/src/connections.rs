//! The accept loop behind [`crate::serve`]: one HTTP/1 connection per task,
//! a header-read timeout, a cap on connections per client address, and a
//! graceful stop.
//!
//! `axum::serve` sets no timer, so hyper never enforced a header-read
//! timeout: a client that sent half its headers and stalled held its
//! connection for as long as it liked, and a few hundred such connections,
//! with no API key, starved `/healthz`. Here every connection gets hyper's
//! `header_read_timeout`, and one address may hold only so many at once
//! (more are closed as soon as they are accepted, before a byte is read).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What each connection is allowed.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Time to send a request's headers; `None` waits forever.
    pub header_read_timeout: Option<Duration>,
    /// Connections one client address may hold at once; `None` is no cap.
    pub max_per_ip: Option<u32>,
}

impl ConnectionLimits {
    /// From the configuration, where 0 means "no limit".
    pub fn of(config: &crate::ApiConfig) -> Self {
        ConnectionLimits {
            header_read_timeout: (config.header_read_timeout_ms > 0)
                .then(|| Duration::from_millis(config.header_read_timeout_ms)),
            max_per_ip: (config.max_connections_per_ip > 0).then_some(config.max_connections_per_ip),
        }
    }
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// One counted connection; dropping it frees the slot.
struct Slot {
    table: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    /// A slot for `ip`, or `None` when it already holds `max` connections.
    fn acquire(&self, ip: IpAddr, max: Option<u32>) -> Option<Slot> {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let open = table.entry(ip).or_insert(0);
        if max.is_some_and(|max| *open >= max) {
            return None;
        }
        *open += 1;
        Some(Slot { table: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = table.get_mut(&self.ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets each connection finish the request it is answering, and
/// returns when all have closed.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let per_address = PerAddress::default();
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of descriptors or a connection reset before
                        // accept: back off briefly instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(slot) = per_address.acquire(peer.ip(), limits.max_per_ip) else {
                    tracing::debug!(ip = %peer.ip(), "connection refused: too many from this address");
                    drop(stream);
                    continue;
                };
                tasks.spawn(serve_one(stream, app.clone(), limits, stop_rx.clone(), slot));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// One connection, HTTP/1.1 with keep-alive, until the client closes it,
/// it breaks a limit, or the server stops.
async fn serve_one(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
    _slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed");
            }
        }
        // Sent once, when the server stops (connections are only spawned
        // before that); a dropped sender means the same.
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_a_closed_connection_frees_its_slot() {
        let table = PerAddress::default();
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let first = table.acquire(a, Some(2)).expect("first");
        let _second = table.acquire(a, Some(2)).expect("second");
        assert!(table.acquire(a, Some(2)).is_none(), "a third from the same address");
        assert!(table.acquire(b, Some(2)).is_some(), "another address is not affected");
        drop(first);
        assert!(table.acquire(a, Some(2)).is_some(), "a slot freed by a closed connection");
        assert!(table.acquire(a, None).is_some(), "no cap");
    }

    #[test]
    fn zero_means_no_limit() {
        let config = crate::ApiConfig { header_read_timeout_ms: 0, max_connections_per_ip: 0, ..Default::default() };
        let limits = ConnectionLimits::of(&config);
        assert!(limits.header_read_timeout.is_none() && limits.max_per_ip.is_none());
    }
}
