//! Slow clients (issue 20, finding 7): connections that send part of their
//! headers and stall are closed after the header-read timeout, and one
//! client address cannot hold more than its cap of connections, so
//! `/healthz` keeps answering. Bounded: a few dozen loopback connections,
//! timeouts of about a second.

use crate::support::reliability as reliability_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use offtake_api::ApiConfig;
use reliability_support::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const HEADER_TIMEOUT_MS: u64 = 1_000;
const CAP: u32 = 16;
const ATTACKERS: usize = 40;

/// A connection from `source` (another loopback address than the one
/// `/healthz` is asked from) that sends the start of a request and stalls.
async fn partial_header(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((source, 0))).expect("bind a loopback source address");
    let mut stream = socket.connect(server).await.expect("connect");
    // The write may fail if the server already closed this one (over the cap).
    let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: offtake\r\nX-Slow: ").await;
    stream
}

/// How long until the server closes `stream` (EOF or reset), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // a 408 or similar before the close
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok().map(|()| started.elapsed())
}

async fn healthz_time(h: &Harness) -> Duration {
    let started = Instant::now();
    let a = h.request(reqwest::Method::GET, "/healthz", None, None, None).await;
    assert!(a.status.is_success(), "healthz: {}", a.text);
    started.elapsed()
}

#[tokio::test]
async fn stalled_headers_are_closed_and_one_address_cannot_starve_the_server() {
    let config =
        ApiConfig { header_read_timeout_ms: HEADER_TIMEOUT_MS, max_connections_per_ip: CAP, ..Default::default() };
    let mut h = Harness::sqlite_with(config).await;
    let attacker = [127, 0, 0, 2];

    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..ATTACKERS {
        held.push(partial_header(attacker, h.addr).await);
    }
    // While they are held, /healthz (from 127.0.0.1) answers quickly.
    let t = healthz_time(&h).await;
    assert!(t < Duration::from_millis(500), "/healthz took {t:?} with {ATTACKERS} stalled connections open");

    // Those over the cap were closed at once; the others at the timeout.
    // Each close is observed by its own task, relative to `started`.
    let watchers: Vec<_> = held
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                closed_within(&mut stream, Duration::from_secs(5)).await.expect("closed within 5 s");
                started.elapsed()
            })
        })
        .collect();
    let mut closed_at = Vec::new();
    for w in watchers {
        closed_at.push(w.await.expect("watcher"));
    }
    let early = closed_at.iter().filter(|t| **t < Duration::from_millis(HEADER_TIMEOUT_MS / 2)).count();
    assert_eq!(early, ATTACKERS - CAP as usize, "connections over the cap are closed on accept: {closed_at:?}");
    let first = closed_at.iter().filter(|t| **t >= Duration::from_millis(HEADER_TIMEOUT_MS / 2)).min();
    let first = first.copied().unwrap_or_default();
    assert!(
        first >= Duration::from_millis(HEADER_TIMEOUT_MS * 8 / 10),
        "a partial-header connection closed after {first:?}, before the {HEADER_TIMEOUT_MS} ms timeout"
    );

    // Their slots are free again: the same address is served.
    let fresh = TcpSocket::new_v4().expect("socket");
    fresh.bind(SocketAddr::from((attacker, 0))).expect("bind");
    let mut stream = fresh.connect(h.addr).await.expect("connect");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: offtake\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut reply)).await.expect("reply").ok();
    assert!(reply.starts_with("HTTP/1.1 200"), "after the stalled ones closed: {reply:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_too() {
    let config = ApiConfig { header_read_timeout_ms: HEADER_TIMEOUT_MS, ..Default::default() };
    let mut h = Harness::sqlite_with(config).await;
    let mut silent = TcpStream::connect(h.addr).await.expect("connect");
    let closed = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a silent connection was still open after 5 s");
    h.shutdown().await;
}

/// The flags of `offtake serve` reach the server.
#[tokio::test]
async fn offtake_serve_takes_the_limits_as_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = crate::support::offtake()
        .sqlite(&dir.path().join("serve.db"))
        .serve(&["--header-read-timeout-ms", "2000", "--max-connections-per-ip", "1"], None);
    let addr: SocketAddr = server.addr();
    let started = Instant::now();
    let mut first = partial_header([127, 0, 0, 1], addr).await;
    let mut second = partial_header([127, 0, 0, 1], addr).await;
    let second_closed = closed_within(&mut second, Duration::from_secs(5)).await.expect("second closed");
    let first_closed = closed_within(&mut first, Duration::from_secs(8)).await.expect("first closed");
    drop(server);
    // The timeout is long next to the cap's answer, so that a loaded
    // machine cannot blur which of the two closed a connection.
    assert!(second_closed < Duration::from_millis(1_500), "over the cap of 1: closed after {second_closed:?}");
    let total = started.elapsed();
    assert!(
        total >= Duration::from_millis(1_900) && first_closed <= Duration::from_secs(6),
        "the stalled connection closed {total:?} after opening"
    );
}
