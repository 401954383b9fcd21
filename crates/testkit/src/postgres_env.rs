//! How tests find PostgreSQL: `OFFTAKE_TEST_POSTGRES_URL` (default: the
//! local trust-auth server). Without a server, Postgres tests skip with a
//! printed notice — except under `CI=true`, where they must run.

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
