//! The shared conformance suite on PostgreSQL: a fresh schema per test.

use std::sync::Arc;

use async_trait::async_trait;
use offtake_ledger::{ChainedRecord, LedgerId, Store, StoredRecord};
use offtake_store_postgres::PostgresStore;
use offtake_testkit::conformance::{Fixture, Insider};
use offtake_testkit::{conformance_suite, postgres_env};
use sqlx::{PgConnection, PgPool};

/// Turns the records' append-only triggers off (`false`) or on inside a
/// transaction, as a database owner could.
async fn record_triggers(tx: &mut PgConnection, on: bool) {
    let verb = if on { "ENABLE" } else { "DISABLE" };
    sqlx::query(&format!("ALTER TABLE records {verb} TRIGGER records_append_only")).execute(&mut *tx).await.unwrap();
    sqlx::query(&format!("ALTER TABLE record_heads {verb} TRIGGER record_heads_no_delete"))
        .execute(&mut *tx)
        .await
        .unwrap();
}

/// Holds the schema's guard: the schema is dropped with the fixture.
struct PgInsider {
    pool: PgPool,
    schema: postgres_env::Schema,
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

    async fn force_insert_record(&self, ledger: &LedgerId, record: &StoredRecord, link: Option<&ChainedRecord>) {
        sqlx::query(
            "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us, chain_seq, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(ledger.as_str())
        .bind(&record.kind)
        .bind(&record.id)
        .bind(record.version)
        .bind(&record.body)
        .bind(record.recorded_at_us)
        .bind(link.map(|l| l.seq))
        .bind(link.map(|l| l.prev_hash.to_vec()))
        .bind(link.map(|l| l.hash.to_vec()))
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn force_record_body(&self, ledger: &LedgerId, kind: &str, id: &str, version: i64, body: &serde_json::Value) {
        let mut tx = self.pool.begin().await.unwrap();
        record_triggers(&mut tx, false).await;
        sqlx::query("UPDATE records SET body = $1 WHERE ledger_id = $2 AND kind = $3 AND id = $4 AND version = $5")
            .bind(body)
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .unwrap();
        record_triggers(&mut tx, true).await;
        tx.commit().await.unwrap();
    }

    async fn force_delete_record(&self, ledger: &LedgerId, kind: &str, id: &str, version: i64) {
        let mut tx = self.pool.begin().await.unwrap();
        record_triggers(&mut tx, false).await;
        sqlx::query("DELETE FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 AND version = $4")
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .unwrap();
        record_triggers(&mut tx, true).await;
        tx.commit().await.unwrap();
    }

    async fn unchain_records(&self, ledger: &LedgerId) {
        let mut tx = self.pool.begin().await.unwrap();
        record_triggers(&mut tx, false).await;
        sqlx::query("UPDATE records SET chain_seq = NULL, prev_hash = NULL, hash = NULL WHERE ledger_id = $1")
            .bind(ledger.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("DELETE FROM record_heads WHERE ledger_id = $1")
            .bind(ledger.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        record_triggers(&mut tx, true).await;
        tx.commit().await.unwrap();
    }

    async fn index_rows(&self, ledger: &LedgerId) -> Vec<(String, String, String, String, i64)> {
        sqlx::query_as(
            "SELECT kind, index_name, index_key, id, version FROM record_index WHERE ledger_id = $1 \
             ORDER BY kind, index_name, index_key, id",
        )
        .bind(ledger.as_str())
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    async fn forget_index(&self) {
        sqlx::query("DELETE FROM record_index").execute(&self.pool).await.unwrap();
        sqlx::query("DELETE FROM record_index_meta").execute(&self.pool).await.unwrap();
    }

    async fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(PostgresStore::connect_in_schema(&postgres_env::url(), Some(self.schema.name())).await.unwrap())
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
    let (store, schema) = postgres_env::store_in_fresh_schema("conformance").await?;
    let pool = store.pool().clone();
    Some(Fixture::new(Arc::new(store), Arc::new(PgInsider { pool, schema })))
}

conformance_suite!(setup);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    #[test]
    fn random_operations_agree_with_the_model(ops in offtake_testkit::conformance::properties::ops()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let Some(fixture) = setup().await else { return };
            offtake_testkit::conformance::properties::random_operations_agree_with_the_model(fixture, ops).await;
        });
    }
}
