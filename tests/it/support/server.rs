//! The real API in process, on a free loopback port, over SQLite (a
//! temporary file) or PostgreSQL (a schema of its own), talked to with a
//! real HTTP client. The API tests use it directly; the reliability
//! harness builds its cast and story on top of it.

use std::sync::Arc;

use offtake_api::{ApiConfig, AppState};
use offtake_ledger::{LedgerId, Store};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::http::{answer, Answer};
use offtake_testkit::TestStore;

/// A running in-process server. It stops on [`TestServer::shutdown`], or
/// when dropped (the shutdown signal's sender goes with it).
pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub admin_key: String,
    pub store: Arc<dyn Store>,
    pub ledger: LedgerId,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<std::io::Result<()>>>,
    /// The store's temporary directory or schema, when the server made it.
    _store: Option<TestStore>,
}

/// A server on a fresh SQLite file.
pub async fn sqlite() -> TestServer {
    sqlite_with(ApiConfig::default()).await
}

/// [`sqlite`] with a configuration of its own.
pub async fn sqlite_with(config: ApiConfig) -> TestServer {
    let ts = TestStore::sqlite().await;
    let mut server = start(ts.store.clone(), config).await;
    server._store = Some(ts);
    server
}

/// A server on PostgreSQL in a fresh schema, or `None` (with a printed
/// notice) when no server answers — except under CI=true, which panics.
/// The schema is dropped when the server is.
pub async fn postgres() -> Option<TestServer> {
    postgres_with(ApiConfig::default()).await
}

/// [`postgres`] with a configuration of its own.
pub async fn postgres_with(config: ApiConfig) -> Option<TestServer> {
    let ts = TestStore::postgres().await?;
    let mut server = start(ts.store.clone(), config).await;
    server._store = Some(ts);
    Some(server)
}

/// The API over `store` on a free loopback port, with the first admin key
/// bootstrapped in ledger `main`. The caller keeps whatever the store needs
/// alive (its file, its schema) for as long as the server.
pub async fn start(store: Arc<dyn Store>, config: ApiConfig) -> TestServer {
    let ledger = LedgerId::new("main").unwrap();
    store.ensure_ledger(&ledger).await.expect("ledger");
    let admin = offtake_api::bootstrap_admin(store.as_ref(), &ledger).await.expect("bootstrap").expect("first key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(store.clone(), ledger.clone(), config).await.expect("state");
    let task = tokio::spawn(offtake_api::serve(listener, state, async move {
        let _ = rx.await;
    }));
    TestServer {
        base: format!("http://{addr}"),
        addr,
        admin_key: admin.key,
        store,
        ledger,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        task: Some(task),
        _store: None,
    }
}

static KEY_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A fresh idempotency key.
pub fn fresh_key() -> String {
    let n = KEY_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-{}-{n}", std::process::id())
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `key` is the bearer key, `idem` the Idempotency-Key.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        idem: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(i) = idem {
            req = req.header("Idempotency-Key", i);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.send(Method::GET, path, Some(key), None, None).await
    }

    /// POST with a fresh idempotency key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(key), Some(&fresh_key()), Some(body)).await
    }

    /// POST a raw body with a content type.
    pub async fn post_raw(&self, path: &str, key: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .header("Idempotency-Key", fresh_key())
            .header("content-type", content_type)
            .body(body);
        answer(req.send().await.expect("request")).await
    }

    /// Creates a party and returns a key for it.
    pub async fn party(&self, id: &str, kind: &str) -> String {
        self.post("/v1/parties", &self.admin_key, &json!({ "id": id, "kind": kind, "name": id }))
            .await
            .assert_status(201);
        let role = if kind == "operator" { "admin" } else { kind };
        let issued = self.post("/v1/keys", &self.admin_key, &json!({ "party_id": id, "role": role })).await;
        issued.assert_status(201)["key"].as_str().expect("key").to_owned()
    }

    pub async fn account(&self, code: &str, currency: &str, side: &str, non_negative: bool) {
        let body = json!({ "code": code, "currency": currency, "normal_side": side, "non_negative": non_negative });
        self.post("/v1/accounts", &self.admin_key, &body).await.assert_status(201);
    }

    /// The chain head (seq, hash) straight from the store.
    pub async fn head(&self) -> (i64, String) {
        let h = self.store.head(&self.ledger).await.expect("head");
        (h.seq, hex::encode(h.hash))
    }

    /// Stops accepting, waits for requests in flight, and returns the
    /// server task's result.
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task"),
            None => Ok(()),
        }
    }
}
