//! The shared conformance suite on PostgreSQL: a fresh schema per test.

use std::sync::Arc;

use async_trait::async_trait;
use offtake_conformance::{conformance_suite, postgres_env, Fixture, Insider};
use offtake_ledger::LedgerId;
use offtake_store_postgres::PostgresStore;
use sqlx::PgPool;

struct PgInsider {
    pool: PgPool,
    schema: String,
}

impl Drop for PgInsider {
    fn drop(&mut self) {
        // Tests leave nothing behind: drop the schema on a side thread.
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(pool) = PgPool::connect(&postgres_env::url()).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

#[async_trait]
impl Insider for PgInsider {
    async fn try_update_leg_amount(&self, ledger: &LedgerId, seq: i64, amount_minor: i64) -> Result<(), String> {
        sqlx::query("UPDATE legs SET amount_minor = $1 WHERE ledger_id = $2 AND seq = $3")
            .bind(amount_minor)
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn try_delete_entry(&self, ledger: &LedgerId, seq: i64) -> Result<(), String> {
        sqlx::query("DELETE FROM entries WHERE ledger_id = $1 AND seq = $2")
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn force_leg_amount(&self, ledger: &LedgerId, seq: i64, leg_no: i32, amount_minor: i64) {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("ALTER TABLE legs DISABLE TRIGGER legs_append_only").execute(&mut *tx).await.unwrap();
        sqlx::query("UPDATE legs SET amount_minor = $1 WHERE ledger_id = $2 AND seq = $3 AND leg_no = $4")
            .bind(amount_minor)
            .bind(ledger.as_str())
            .bind(seq)
            .bind(leg_no)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("ALTER TABLE legs ENABLE TRIGGER legs_append_only").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn force_entry_kind(&self, ledger: &LedgerId, seq: i64, kind: &str) {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("ALTER TABLE entries DISABLE TRIGGER entries_append_only").execute(&mut *tx).await.unwrap();
        sqlx::query("UPDATE entries SET kind = $1 WHERE ledger_id = $2 AND seq = $3")
            .bind(kind)
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("ALTER TABLE entries ENABLE TRIGGER entries_append_only").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn try_update_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<(), String> {
        sqlx::query("UPDATE records SET body = '{}' WHERE ledger_id = $1 AND kind = $2 AND id = $3")
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn row_counts(&self, ledger: &LedgerId) -> (i64, i64) {
        let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM entries WHERE ledger_id = $1")
            .bind(ledger.as_str())
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let legs: i64 = sqlx::query_scalar("SELECT count(*) FROM legs WHERE ledger_id = $1")
            .bind(ledger.as_str())
            .fetch_one(&self.pool)
            .await
            .unwrap();
        (entries, legs)
    }
}

async fn setup() -> Option<Fixture> {
    let schema = postgres_env::unique_schema("conformance");
    let store = match PostgresStore::connect_in_schema(&postgres_env::url(), Some(&schema)).await {
        Ok(s) => s,
        Err(e) => return postgres_env::unavailable(&e.to_string()),
    };
    let pool = store.pool().clone();
    Some(Fixture::new(Arc::new(store), Arc::new(PgInsider { pool, schema })))
}

conformance_suite!(setup);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    #[test]
    fn random_operations_agree_with_the_model(ops in offtake_conformance::properties::ops()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let Some(fixture) = setup().await else { return };
            offtake_conformance::properties::random_operations_agree_with_the_model(fixture, ops).await;
        });
    }
}
