//! Test support for every offtake test, one of each: the ledger
//! conformance suite every store runs ([`conformance`]); throwaway SQLite
//! and PostgreSQL stores, schemas and databases ([`TestStore`],
//! [`postgres_env`]); and the runners of the `offtake` binary, a command or
//! `offtake serve` on a free port ([`cli`]). The in-process API server and
//! its HTTP answers live with their only users, the root tests
//! (`tests/it/support/{server,http}.rs`): here they made every crate's
//! tests relink whenever the API changed.
//!
//! Test support only: never a dependency of production code.

#![forbid(unsafe_code)]

pub mod cli;
pub mod conformance;
pub mod postgres_env;

use std::sync::Arc;

use offtake_ledger::Store;
use offtake_store_sqlite::SqliteStore;

/// A store and whatever must live as long as it (temp dir, schema).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<postgres_env::Schema>,
}

impl TestStore {
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("test.db")).await.expect("open sqlite");
        TestStore { store: Arc::new(store), backend: "sqlite", _dir: Some(dir), _schema: None }
    }

    /// `None` (after a printed notice) when no server answers, except under
    /// `CI=true`, where it panics. The schema is dropped with the store.
    pub async fn postgres() -> Option<TestStore> {
        let (store, schema) = postgres_env::store_in_fresh_schema("t").await?;
        Some(TestStore { store: Arc::new(store), backend: "postgres", _dir: None, _schema: Some(schema) })
    }
}

/// Instantiates async test functions `fn(TestStore)` once per backend:
/// `<name>_sqlite` and `<name>_postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::TestStore::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(store) = $crate::TestStore::postgres().await else { return };
                    super::$case(store).await;
                }
            )*
        }
    };
}
