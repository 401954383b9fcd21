//! The shared conformance suite on SQLite: a fresh database file per test.

use std::sync::Arc;

use async_trait::async_trait;
use offtake_ledger::{ChainedRecord, LedgerId, Store, StoredRecord};
use offtake_store_sqlite::SqliteStore;
use offtake_testkit::conformance::{Fixture, Insider};
use offtake_testkit::conformance_suite;
use sqlx::{SqliteConnection, SqlitePool};

/// Drops the records' append-only triggers inside `tx`, as a database owner
/// could (each test has a database of its own).
async fn drop_record_triggers(tx: &mut SqliteConnection) {
    for trigger in ["records_append_only_update", "records_append_only_delete", "record_heads_append_only_delete"] {
        sqlx::query(&format!("DROP TRIGGER IF EXISTS {trigger}")).execute(&mut *tx).await.unwrap();
    }
}

struct SqliteInsider {
    pool: SqlitePool,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl Insider for SqliteInsider {
    async fn try_update_leg_amount(&self, ledger: &LedgerId, seq: i64, amount_minor: i64) -> Result<(), String> {
        sqlx::query("UPDATE legs SET amount_minor = ? WHERE ledger_id = ? AND seq = ?")
            .bind(amount_minor)
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn try_delete_entry(&self, ledger: &LedgerId, seq: i64) -> Result<(), String> {
        sqlx::query("DELETE FROM entries WHERE ledger_id = ? AND seq = ?")
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn force_leg_amount(&self, ledger: &LedgerId, seq: i64, leg_no: i32, amount_minor: i64) {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("DROP TRIGGER legs_append_only_update").execute(&mut *tx).await.unwrap();
        sqlx::query("UPDATE legs SET amount_minor = ? WHERE ledger_id = ? AND seq = ? AND leg_no = ?")
            .bind(amount_minor)
            .bind(ledger.as_str())
            .bind(seq)
            .bind(leg_no)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn force_entry_kind(&self, ledger: &LedgerId, seq: i64, kind: &str) {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("DROP TRIGGER entries_append_only_update").execute(&mut *tx).await.unwrap();
        sqlx::query("UPDATE entries SET kind = ? WHERE ledger_id = ? AND seq = ?")
            .bind(kind)
            .bind(ledger.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn try_update_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<(), String> {
        sqlx::query("UPDATE records SET body = '{}' WHERE ledger_id = ? AND kind = ? AND id = ?")
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ledger.as_str())
        .bind(&record.kind)
        .bind(&record.id)
        .bind(record.version)
        .bind(record.body.to_string())
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
        drop_record_triggers(&mut tx).await;
        sqlx::query("UPDATE records SET body = ? WHERE ledger_id = ? AND kind = ? AND id = ? AND version = ?")
            .bind(body.to_string())
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn force_delete_record(&self, ledger: &LedgerId, kind: &str, id: &str, version: i64) {
        let mut tx = self.pool.begin().await.unwrap();
        drop_record_triggers(&mut tx).await;
        sqlx::query("DELETE FROM records WHERE ledger_id = ? AND kind = ? AND id = ? AND version = ?")
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn unchain_records(&self, ledger: &LedgerId) {
        let mut tx = self.pool.begin().await.unwrap();
        drop_record_triggers(&mut tx).await;
        sqlx::query("UPDATE records SET chain_seq = NULL, prev_hash = NULL, hash = NULL WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("DELETE FROM record_heads WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn index_rows(&self, ledger: &LedgerId) -> Vec<(String, String, String, String, i64)> {
        sqlx::query_as(
            "SELECT kind, index_name, index_key, id, version FROM record_index WHERE ledger_id = ? \
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
        Arc::new(SqliteStore::open(&self._dir.path().join("ledger.db")).await.unwrap())
    }

    async fn row_counts(&self, ledger: &LedgerId) -> (i64, i64) {
        let count = |table: &'static str| {
            let pool = self.pool.clone();
            let ledger = ledger.as_str().to_owned();
            async move {
                sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table} WHERE ledger_id = ?"))
                    .bind(ledger)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        (count("entries").await, count("legs").await)
    }
}

async fn setup() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ledger.db")).await.unwrap();
    let pool = store.pool().clone();
    Some(Fixture::new(Arc::new(store), Arc::new(SqliteInsider { pool, _dir: dir })))
}

conformance_suite!(setup);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    #[test]
    fn random_operations_agree_with_the_model(ops in offtake_testkit::conformance::properties::ops()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let fixture = setup().await.unwrap();
            offtake_testkit::conformance::properties::random_operations_agree_with_the_model(fixture, ops).await;
        });
    }
}

/// The same suite through `--ledger-map`'s routing store (every ledger on
/// this database): each store method must pass through unchanged.
mod routed {
    use super::*;
    use offtake_ledger::routing::RoutingStore;

    async fn setup() -> Option<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ledger.db")).await.unwrap();
        let pool = store.pool().clone();
        let routed = RoutingStore::new(std::collections::HashMap::new(), Arc::new(store));
        Some(Fixture::new(Arc::new(routed), Arc::new(SqliteInsider { pool, _dir: dir })))
    }

    conformance_suite!(setup);
}
