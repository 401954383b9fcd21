//! What the committer's test files share: a fresh store of each kind, and
//! one case run on both.

use std::sync::Arc;

use offtake_ledger::Store;
use offtake_store_sqlite::SqliteStore;
use offtake_testkit::postgres_env;

/// A fresh store and what keeps it alive (its file or schema).
pub struct Db {
    pub store: Arc<dyn Store>,
    pub _dir: Option<tempfile::TempDir>,
    pub _schema: Option<postgres_env::Schema>,
}

/// A fresh SQLite file.
pub async fn sqlite() -> Option<Db> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("ledger.db")).await.expect("open sqlite");
    Some(Db { store: Arc::new(store), _dir: Some(dir), _schema: None })
}

/// A fresh PostgreSQL schema (`None`: no server, outside CI).
pub async fn postgres() -> Option<Db> {
    let (store, schema) = postgres_env::store_in_fresh_schema("committer").await?;
    Some(Db { store: Arc::new(store), _dir: None, _schema: Some(schema) })
}

/// Instantiates each case twice: `on_sqlite` (a fresh file) and
/// `on_postgres` (a fresh schema; skipped without a server outside CI),
/// from the `sqlite()` and `postgres()` setups of the including file.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::sqlite().await else { return };
                    super::$case(db).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::postgres().await else { return };
                    super::$case(db).await;
                }
            )*
        }
    };
}
