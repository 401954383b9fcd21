//! `--ledger-map FILE`: each ledger on its own PostgreSQL database. Two
//! databases on the test server; ledger `fund-a` mapped to the first, the
//! default (every other ledger) the second. Writes through the CLI and
//! through the API (a server over the routing store, one per ledger) land
//! only in their ledger's database.

use std::path::Path;
use std::sync::Arc;

use offtake_api::{ApiConfig, AppState};
use offtake_ledger::{LedgerId, RoutingStore, Store};
use offtake_store_postgres::PostgresStore;
use offtake_testkit::cli::Cli;
use offtake_testkit::postgres_env;

/// The ledger ids that have rows in a database's `ledgers` and `entries`
/// tables.
async fn ledgers_in(url: &str) -> (Vec<String>, Vec<String>) {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let ledgers: Vec<String> =
        sqlx::query_scalar("SELECT ledger_id FROM ledgers ORDER BY 1").fetch_all(&pool).await.expect("ledgers");
    let entries: Vec<String> = sqlx::query_scalar("SELECT DISTINCT ledger_id FROM entries ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("entries");
    pool.close().await;
    (ledgers, entries)
}

/// `offtake --ledger-map MAP --ledger LEDGER ARGS…`, which must succeed.
fn ok(map: &Path, ledger: &str, args: &[&str]) {
    let map = map.to_str().expect("utf-8 path");
    let mut all = vec!["--ledger-map", map];
    all.extend_from_slice(args);
    Cli::new(env!("CARGO_BIN_EXE_offtake")).ledger(ledger).ok(&all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ledger_lives_in_its_own_database() {
    postgres_env::with_database("offtake_map_a", |url_a| async move {
        postgres_env::with_database("offtake_map_b", |url_b| ledgers_on_two_databases(url_a, url_b)).await
    })
    .await;
}

/// Ledger `fund-a` on database A, every other ledger (the default) on B.
async fn ledgers_on_two_databases(url_a: String, url_b: String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let map = dir.path().join("ledgers.map");
    let text = format!("# fund-a on its own server\nfund-a = {url_a}\ndefault = {url_b}\n");
    std::fs::write(&map, text).expect("write map");

    // The CLI: a command acts on its ledger's database.
    for ledger in ["fund-a", "fund-b"] {
        ok(&map, ledger, &["init"]);
        ok(&map, ledger, &["account", "create", "equity", "--currency", "USD", "--side", "credit"]);
        ok(&map, ledger, &["account", "create", "cash", "--currency", "USD"]);
        ok(&map, ledger, &["transfer", "--from", "equity", "--to", "cash", "--amount", "10.00", "--key", "cli-1"]);
        ok(&map, ledger, &["verify-chain"]);
    }
    let one = |s: &str| vec![s.to_owned()];
    assert_eq!(ledgers_in(&url_a).await, (one("fund-a"), one("fund-a")), "database A holds fund-a only");
    assert_eq!(ledgers_in(&url_b).await, (one("fund-b"), one("fund-b")), "the default database holds fund-b only");

    // The API: one routing store, a server per ledger over it.
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url_a).await.expect("connect A"));
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url_b).await.expect("connect B"));
    let routes = [(LedgerId::new("fund-a").unwrap(), a.clone())].into_iter().collect();
    let routing: Arc<dyn Store> = Arc::new(RoutingStore::new(routes, b.clone()));
    let client = reqwest::Client::new();
    for (ledger, key) in [("fund-a", "api-1"), ("fund-b", "api-1")] {
        let ledger = LedgerId::new(ledger).unwrap();
        // `offtake init` made the operator party (and printed its first key): issue another.
        let admin =
            offtake_api::api_keys::issue_key_for(routing.as_ref(), &ledger, "operator", offtake_api::Role::Admin)
                .await
                .expect("admin key");
        let state = AppState::new(routing.clone(), ledger.clone(), ApiConfig::default()).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(offtake_api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let body = serde_json::json!({ "from": "equity", "to": "cash", "amount": "2.50" });
        let response = client
            .post(format!("http://{addr}/v1/transfers"))
            .bearer_auth(&admin.key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 201, "{ledger}: {}", response.text().await.unwrap_or_default());
        let _ = stop.send(());
        let _ = server.await;
    }
    // Each database: its ledger's two entries (CLI and API), nothing of the other.
    let fund_a = LedgerId::new("fund-a").unwrap();
    let fund_b = LedgerId::new("fund-b").unwrap();
    assert_eq!(a.head(&fund_a).await.expect("head").seq, 2);
    assert_eq!(b.head(&fund_b).await.expect("head").seq, 2);
    assert_eq!(routing.head(&fund_a).await.expect("head").seq, 2, "the router reads A for fund-a");
    assert_eq!(ledgers_in(&url_a).await, (one("fund-a"), one("fund-a")));
    assert_eq!(ledgers_in(&url_b).await, (one("fund-b"), one("fund-b")));
}
