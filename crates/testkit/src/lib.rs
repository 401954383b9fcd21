//! Throwaway stores for tests above the ledger (finance, settlement, API):
//! a SQLite file in a temporary directory, or a PostgreSQL schema of its
//! own that is dropped afterwards. Test support only.

#![forbid(unsafe_code)]

use std::sync::Arc;

pub use offtake_conformance::postgres_env;
use offtake_ledger::Store;
use offtake_store_postgres::PostgresStore;
use offtake_store_sqlite::SqliteStore;

/// A store and whatever must live as long as it (temp dir, schema).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestStore {
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("test.db")).await.expect("open sqlite");
        TestStore { store: Arc::new(store), backend: "sqlite", _dir: Some(dir), schema: None }
    }

    /// `None` (after a printed notice) when no server answers, except under
    /// `CI=true`, where it panics.
    pub async fn postgres() -> Option<TestStore> {
        let schema = postgres_env::unique_schema("t");
        match PostgresStore::connect_in_schema(&postgres_env::url(), Some(&schema)).await {
            Ok(store) => {
                Some(TestStore { store: Arc::new(store), backend: "postgres", _dir: None, schema: Some(schema) })
            }
            Err(e) => postgres_env::unavailable(&e.to_string()),
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else { return };
        // Tests leave nothing behind: drop the schema on a side thread (we
        // may be inside a runtime here).
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&postgres_env::url()).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
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
