//! `--ledger-map FILE`: each ledger on its own PostgreSQL database. Two
//! databases on the test server; ledger `fund-a` mapped to the first, the
//! default (every other ledger) the second. Writes through the CLI and
//! through the API (a server over the routing store, one per ledger) land
//! only in their ledger's database.

use std::process::{Command, Output};
use std::sync::Arc;

use offtake_api::{ApiConfig, AppState};
use offtake_conformance::postgres_env;
use offtake_ledger::{LedgerId, RoutingStore, Store};
use offtake_store_postgres::PostgresStore;

/// Two scratch databases, dropped with this value.
struct Databases {
    admin_url: String,
    names: [String; 2],
}

impl Databases {
    async fn create() -> Option<Databases> {
        let admin_url = postgres_env::url();
        let pool = match sqlx::PgPool::connect(&admin_url).await {
            Ok(p) => p,
            Err(e) => return postgres_env::unavailable(&e.to_string()),
        };
        let tag = postgres_env::unique_schema("offtake_map");
        let names = [format!("{tag}_a"), format!("{tag}_b")];
        for name in &names {
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create database");
        }
        pool.close().await;
        Some(Databases { admin_url, names })
    }

    /// The URL of database `i` (the admin URL with its database replaced).
    fn url(&self, i: usize) -> String {
        let base = self.admin_url.rsplit_once('/').map_or(self.admin_url.as_str(), |(base, _)| base);
        format!("{base}/{}", self.names[i])
    }

    /// The ledger ids that have rows in database `i`'s `ledgers` and
    /// `entries` tables.
    async fn ledgers_in(&self, i: usize) -> (Vec<String>, Vec<String>) {
        let pool = sqlx::PgPool::connect(&self.url(i)).await.expect("connect");
        let ledgers: Vec<String> =
            sqlx::query_scalar("SELECT ledger_id FROM ledgers ORDER BY 1").fetch_all(&pool).await.expect("ledgers");
        let entries: Vec<String> = sqlx::query_scalar("SELECT DISTINCT ledger_id FROM entries ORDER BY 1")
            .fetch_all(&pool)
            .await
            .expect("entries");
        pool.close().await;
        (ledgers, entries)
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let (url, names) = (self.admin_url.clone(), self.names.clone());
        // On a side thread: we may be inside a runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    for name in names {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await;
                    }
                }
            });
        })
        .join();
    }
}

fn offtake(map: &std::path::Path, ledger: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offtake"))
        .env_remove("OFFTAKE_DATABASE_URL")
        .arg("--ledger-map")
        .arg(map)
        .args(["--ledger", ledger])
        .args(args)
        .output()
        .expect("run offtake")
}

fn ok(map: &std::path::Path, ledger: &str, args: &[&str]) {
    let out = offtake(map, ledger, args);
    assert!(out.status.success(), "{ledger} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ledger_lives_in_its_own_database() {
    let Some(dbs) = Databases::create().await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let map = dir.path().join("ledgers.map");
    let text = format!("# fund-a on its own server\nfund-a = {}\ndefault = {}\n", dbs.url(0), dbs.url(1));
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
    assert_eq!(dbs.ledgers_in(0).await, (one("fund-a"), one("fund-a")), "database A holds fund-a only");
    assert_eq!(dbs.ledgers_in(1).await, (one("fund-b"), one("fund-b")), "the default database holds fund-b only");

    // The API: one routing store, a server per ledger over it.
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(&dbs.url(0)).await.expect("connect A"));
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&dbs.url(1)).await.expect("connect B"));
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
    assert_eq!(dbs.ledgers_in(0).await, (one("fund-a"), one("fund-a")));
    assert_eq!(dbs.ledgers_in(1).await, (one("fund-b"), one("fund-b")));
}
