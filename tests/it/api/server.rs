//! The server itself: graceful shutdown lets requests in flight finish,
//! slow requests time out with a problem, and `offtake serve` starts on a
//! free port and stops cleanly on SIGTERM.

use crate::support::api as api_support;

use std::time::Duration;

use api_support::{fresh_key, sqlite, sqlite_with};
use offtake_api::ApiConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Request head and body of a transfer, to be sent in two halves.
fn transfer_request(admin: &str) -> (String, Vec<u8>) {
    let body = serde_json::to_vec(&json!({ "from": "cash:a", "to": "cash:b", "amount": "3.00" })).unwrap();
    let head = format!(
        "POST /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nIdempotency-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        fresh_key(),
        body.len()
    );
    (head, body)
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let mut s = sqlite().await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let before = s.head().await;
    let (head, body) = transfer_request(&s.admin_key);
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Shut down while the request is half received.
    let addr = s.addr;
    let stopping = tokio::spawn(async move { s.shutdown().await.map(|()| s) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "the server waits for the request in flight");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no new connections once shutting down");

    conn.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let s = tokio::time::timeout(Duration::from_secs(10), stopping).await.unwrap().unwrap().unwrap();
    assert_eq!(s.head().await.0, before.0 + 1, "the request in flight was committed");
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem() {
    let s = sqlite_with(ApiConfig { request_timeout_ms: 300, ..ApiConfig::default() }).await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let before = s.head().await;
    let (head, body) = transfer_request(&s.admin_key);
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..10]).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("application/problem+json") && response.contains("\"code\":\"timeout\""), "{response}");
    assert_eq!(s.head().await, before);
}

#[test]
fn offtake_serve_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("serve.db").display());
    let cli = crate::support::offtake().database_url(&url);
    let init_out = cli.ok(&["init"]);
    let key =
        init_out.split_whitespace().find(|w| w.starts_with("otk_")).expect("init prints the admin key").to_owned();
    let second = cli.run(&["init"]);
    assert!(!String::from_utf8_lossy(&second.stdout).contains("otk_"), "the admin key is printed once");

    let server = cli.serve(&[], None);
    let base = server.base.clone();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let parties = client.get(format!("{base}/v1/parties")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(parties.status(), 200);
    });

    let status = server.terminate();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit_and_a_refused_request_writes_nothing() {
    use offtake_api::RateLimit;
    // The setup below spends 6 of the admin's requests; then 3 more fit.
    let s = sqlite_with(ApiConfig { rate_limit: RateLimit { per_s: 1, burst: 9 }, ..ApiConfig::default() }).await;
    s.account("cash:a", "USD", "debit", false).await;
    s.account("cash:b", "USD", "debit", false).await;
    let maker = s.party("maker-m", "maker").await;
    let transfer = json!({ "from": "cash:a", "to": "cash:b", "amount": "1.00" });
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..12 {
        let a = s
            .send(reqwest::Method::POST, "/v1/transfers", Some(&s.admin_key), Some(&fresh_key()), Some(&transfer))
            .await;
        statuses.push(a.status.as_u16());
        if a.status == 429 {
            refused.get_or_insert(a);
        }
    }
    let accepted = statuses.iter().filter(|s| **s == 201).count();
    assert!((1..12).contains(&accepted), "a burst, then refusals: {statuses:?}");
    let refused = refused.expect("the burst ran out");
    refused.assert_problem(429, "rate_limited");
    let retry_after: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Exactly the accepted transfers were booked.
    assert_eq!(s.head().await.0 as usize, accepted, "nothing written for a refused request: {statuses:?}");
    // Another key still has its whole budget.
    assert_eq!(s.get("/v1/parties/maker-m", &maker).await.status, 200);
}
