//! How tests find PostgreSQL: `OFFTAKE_TEST_POSTGRES_URL` (default: the
//! local trust-auth server). Without a server, Postgres tests skip with a
//! printed notice — except under `CI=true`, where they must run.
//!
//! The one place tests make (and drop) a schema or a database of their own:
//! names unique per process and call, so tests sharing a process or a server
//! never meet.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn url() -> String {
    std::env::var("OFFTAKE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Call when the server cannot be reached: panics under CI, else prints a
/// notice and returns `None` so the test can return early.
pub fn unavailable<T>(reason: &str) -> Option<T> {
    if is_ci() {
        panic!("CI=true but PostgreSQL is unavailable at {}: {reason}", url());
    }
    // Written to the process's stderr directly: the test harness captures
    // `eprintln!` of passing tests, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "NOTICE: skipping PostgreSQL test, no server at {} ({reason}); set OFFTAKE_TEST_POSTGRES_URL",
        url()
    );
    None
}

/// A schema name unique to this process and call, so tests run in parallel.
pub fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{n}", std::process::id(), nanos)
}

/// Drops a test schema and everything in it, on a side thread: the caller
/// may be inside a runtime, where blocking on another one is refused.
/// Waits for the drop, but not for ever: if a transaction the test left
/// open holds a lock the `DROP` needs, only the test's own runtime can roll
/// it back, and that may be the thread waiting here. Best effort: a test
/// that cannot clean up must not fail (or hang) for it.
pub fn drop_schema(schema: String) {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            if let Ok(pool) = sqlx::PgPool::connect(&url()).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&pool).await;
                pool.close().await;
            }
        });
        let _ = done.send(());
    });
    let _ = finished.recv_timeout(std::time::Duration::from_secs(DROP_WAIT_S));
}

/// How long [`drop_schema`] waits before leaving the drop to its thread.
const DROP_WAIT_S: u64 = 15;

/// A schema of a test's own, dropped when this guard is: tests leave
/// nothing behind, and never share tables with a test running beside them.
#[derive(Debug)]
pub struct Schema {
    name: String,
}

impl Schema {
    /// A fresh name (see [`unique_schema`]); the store creates the schema
    /// when it connects.
    pub fn new(prefix: &str) -> Schema {
        Schema { name: unique_schema(prefix) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        drop_schema(std::mem::take(&mut self.name));
    }
}

/// A PostgreSQL store in a fresh schema, and the guard that drops the
/// schema. `None` (after a notice) when no server answers, except under
/// `CI=true`, where it panics.
pub async fn store_in_fresh_schema(prefix: &str) -> Option<(offtake_store_postgres::PostgresStore, Schema)> {
    let schema = Schema::new(prefix);
    match offtake_store_postgres::PostgresStore::connect_in_schema(&url(), Some(schema.name())).await {
        Ok(store) => Some((store, schema)),
        Err(e) => unavailable(&e.to_string()),
    }
}

/// Runs `run` with the URL of a database of its own (`CREATE DATABASE`),
/// for a test that needs a whole database rather than a schema: a child
/// `offtake` process connects by URL and migrates the default schema. The
/// database is dropped afterwards (`WITH (FORCE)`: a killed server may
/// leave sessions behind), also when `run` panics, whose panic is then
/// resumed. Skips (after a notice) without a server, except under `CI=true`.
pub async fn with_database<F, Fut>(prefix: &str, run: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let admin_url = url();
    let pool = match sqlx::PgPool::connect(&admin_url).await {
        Ok(p) => p,
        Err(e) => {
            unavailable::<()>(&e.to_string());
            return;
        }
    };
    let db = unique_schema(prefix);
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&pool).await.expect("create database");
    let db_url = match admin_url.rfind('/') {
        Some(i) => format!("{}/{db}", &admin_url[..i]),
        None => panic!("no database in {admin_url}"),
    };
    let result = tokio::spawn(run(db_url)).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&pool).await;
    pool.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The schema's name, for SQL (`SET search_path TO {schema}`).
impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}
