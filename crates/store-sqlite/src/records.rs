//! `RecordStore` and `RecordChain` on SQLite: versioned, append-only rows,
//! each version linked into the ledger's record chain under the writer's
//! `BEGIN IMMEDIATE` lock (the steps are `offtake_ledger::record_chain`).

use async_trait::async_trait;
use offtake_ledger::record::check_record_key;
use offtake_ledger::record_chain::{genesis_head, ChainedRecord, RecordChain, RecordHead, RecordTx};
use offtake_ledger::write;
use offtake_ledger::{LedgerError, LedgerId, Page, RecordStore, RecordWrite, StoredRecord};
use offtake_store_sql::decode;
use offtake_store_sql::index;
use offtake_store_sql::SqlRow;
use sqlx::{Connection, SqliteConnection};

use crate::commit::SqliteWriter;
use crate::error::db;
use crate::SqliteStore;
use offtake_ledger::date::now_us;

const COLUMNS: &str = "kind, id, version, body, recorded_at_us";

#[async_trait]
impl RecordStore for SqliteStore {
    async fn get_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError> {
        // A kind or id that `put_record` would refuse names no record (and
        // PostgreSQL cannot even compare text holding a NUL byte).
        if check_record_key("kind", kind).is_err() || check_record_key("id", id).is_err() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM records WHERE ledger_id = ? AND kind = ? AND id = ? ORDER BY version DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(ledger.as_str())
            .bind(kind)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(decode::stored_record).transpose()
    }

    async fn put_record(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        expected_version: i64,
        body: &serde_json::Value,
    ) -> Result<StoredRecord, LedgerError> {
        let mut writer = self.writer.lock().await;
        let version =
            write::put_record(&mut SqliteWriter(&mut writer), ledger, (kind, id), expected_version, body, now_us)
                .await?;
        Ok(version.record)
    }

    async fn put_records(&self, ledger: &LedgerId, writes: &[RecordWrite]) -> Result<Vec<StoredRecord>, LedgerError> {
        let mut writer = self.writer.lock().await;
        let versions = write::put_records(&mut SqliteWriter(&mut writer), ledger, writes, now_us).await?;
        Ok(versions.into_iter().map(|v| v.record).collect())
    }

    async fn list_records(
        &self,
        ledger: &LedgerId,
        kind: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError> {
        if let Some(c) = cursor {
            check_record_key("cursor", c)?;
        }
        let limit = limit.clamp(1, offtake_ledger::store::MAX_PAGE_LIMIT);
        let sql = format!(
            "SELECT {COLUMNS} FROM records r WHERE ledger_id = ? AND kind = ? AND id > ? \
             AND version = (SELECT MAX(version) FROM records m \
                            WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind AND m.id = r.id) \
             ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(ledger.as_str())
            .bind(kind)
            .bind(cursor.unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        let items = rows.iter().map(decode::stored_record).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id.clone()))
    }

    async fn list_by_index(
        &self,
        ledger: &LedgerId,
        kind: &str,
        index_name: &str,
        key: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError> {
        if let Some(c) = cursor {
            check_record_key("cursor", c)?;
        }
        let limit = limit.clamp(1, offtake_ledger::store::MAX_PAGE_LIMIT);
        let rows = sqlx::query(
            "SELECT r.kind, r.id, r.version, r.body, r.recorded_at_us FROM record_index x \
             JOIN records r ON r.ledger_id = x.ledger_id AND r.kind = x.kind AND r.id = x.id AND r.version = x.version \
             WHERE x.ledger_id = ? AND x.kind = ? AND x.index_name = ? AND x.index_key = ? AND x.id > ? \
             ORDER BY x.id LIMIT ?",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(index_name)
        .bind(key)
        .bind(cursor.unwrap_or(""))
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        let items = rows.iter().map(decode::stored_record).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id.clone()))
    }

    async fn record_history(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        if check_record_key("kind", kind).is_err() || check_record_key("id", id).is_err() {
            return Ok(vec![]);
        }
        let sql = format!("SELECT {COLUMNS} FROM records WHERE ledger_id = ? AND kind = ? AND id = ? ORDER BY version");
        let rows =
            sqlx::query(&sql).bind(ledger.as_str()).bind(kind).bind(id).fetch_all(self.pool()).await.map_err(db)?;
        rows.iter().map(decode::stored_record).collect()
    }
}

#[async_trait]
impl RecordChain for SqliteStore {
    async fn record_head(&self, ledger: &LedgerId) -> Result<RecordHead, LedgerError> {
        let row = sqlx::query("SELECT head_seq, head_hash FROM record_heads WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(decode::record_head).unwrap_or_else(|| Ok(genesis_head(ledger)))
    }

    async fn chained_records(
        &self,
        ledger: &LedgerId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChainedRecord>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS}, chain_seq, prev_hash, hash FROM records INDEXED BY records_chain \
             WHERE ledger_id = ? AND chain_seq > ? ORDER BY chain_seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(ledger.as_str())
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(decode::chained_record).collect()
    }

    async fn record_rows(&self, ledger: &LedgerId) -> Result<i64, LedgerError> {
        sqlx::query_scalar("SELECT count(*) FROM records WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(db)
    }
}

/// A record write inside the writer's `BEGIN IMMEDIATE` transaction: the
/// write lock is already held, so "locking" the head is reading it.
pub(crate) struct SqliteRecordTx<'c>(pub(crate) &'c mut SqliteConnection);

#[async_trait]
impl RecordTx for SqliteRecordTx<'_> {
    async fn lock_for_write(
        &mut self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
    ) -> Result<Option<(RecordHead, i64)>, LedgerError> {
        let row = sqlx::query(
            "SELECT h.head_seq, h.head_hash, \
                    (SELECT COALESCE(MAX(version), 0) FROM records \
                     WHERE ledger_id = ?1 AND kind = ?2 AND id = ?3) AS current \
             FROM record_heads h WHERE h.ledger_id = ?1",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(db)?;
        row.map(|r| Ok((decode::record_head(&r)?, r.int("current")?))).transpose()
    }

    async fn lock_head(&mut self, ledger: &LedgerId) -> Result<Option<RecordHead>, LedgerError> {
        let row = sqlx::query("SELECT head_seq, head_hash FROM record_heads WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .fetch_optional(&mut *self.0)
            .await
            .map_err(db)?;
        row.as_ref().map(decode::record_head).transpose()
    }

    async fn insert_version(&mut self, ledger: &LedgerId, v: &ChainedRecord) -> Result<bool, LedgerError> {
        let text = serde_json::to_string(&v.record.body).map_err(|e| LedgerError::Storage(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us, chain_seq, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(ledger.as_str())
        .bind(&v.record.kind)
        .bind(&v.record.id)
        .bind(v.record.version)
        .bind(text)
        .bind(v.record.recorded_at_us)
        .bind(v.seq)
        .bind(v.prev_hash.as_slice())
        .bind(v.hash.as_slice())
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_index(&mut self, ledger: &LedgerId, record: &StoredRecord) -> Result<(), LedgerError> {
        sqlx::query("DELETE FROM record_index WHERE ledger_id = ? AND kind = ? AND id = ?")
            .bind(ledger.as_str())
            .bind(&record.kind)
            .bind(&record.id)
            .execute(&mut *self.0)
            .await
            .map_err(db)?;
        insert_index_rows(self.0, ledger.as_str(), record).await
    }

    async fn save_head(&mut self, ledger: &LedgerId, head: &RecordHead) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO record_heads (ledger_id, head_seq, head_hash) VALUES (?, ?, ?) \
             ON CONFLICT (ledger_id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash",
        )
        .bind(ledger.as_str())
        .bind(head.seq)
        .bind(head.hash.as_slice())
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn unlinked(&mut self, ledger: &LedgerId, limit: u32) -> Result<Vec<StoredRecord>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM records WHERE ledger_id = ? AND chain_seq IS NULL \
             ORDER BY recorded_at_us, kind, id, version LIMIT ?"
        );
        let rows =
            sqlx::query(&sql).bind(ledger.as_str()).bind(i64::from(limit)).fetch_all(&mut *self.0).await.map_err(db)?;
        rows.iter().map(decode::stored_record).collect()
    }

    async fn set_link(&mut self, ledger: &LedgerId, v: &ChainedRecord) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE records SET chain_seq = ?, prev_hash = ?, hash = ? \
             WHERE ledger_id = ? AND kind = ? AND id = ? AND version = ? AND chain_seq IS NULL",
        )
        .bind(v.seq)
        .bind(v.prev_hash.as_slice())
        .bind(v.hash.as_slice())
        .bind(ledger.as_str())
        .bind(&v.record.kind)
        .bind(&v.record.id)
        .bind(v.record.version)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(())
    }
}

/// Chains, once, the record versions written before the record chain
/// existed (ledgers without a record head), and gives them a record head (run on open).
pub(crate) async fn chain_unlinked(conn: &mut SqliteConnection) -> Result<(), LedgerError> {
    let ledgers: Vec<String> = sqlx::query_scalar(
        "SELECT ledger_id FROM ledgers l WHERE NOT EXISTS (SELECT 1 FROM record_heads h WHERE h.ledger_id = l.ledger_id)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for id in ledgers {
        let ledger = LedgerId::new(&id).map_err(|_| LedgerError::Storage(format!("corrupt ledger id {id:?}")))?;
        let linked = write::chain_unlinked(&mut SqliteWriter(&mut *conn), &ledger).await?;
        tracing::info!(ledger = %id, linked, "record chain: chained versions written before it existed");
    }
    Ok(())
}

/// Inserts the index rows the catalogue derives from a record version.
async fn insert_index_rows(
    conn: &mut SqliteConnection,
    ledger: &str,
    record: &StoredRecord,
) -> Result<(), LedgerError> {
    for (name, key) in index::index_rows(&record.kind, &record.body) {
        sqlx::query(
            "INSERT INTO record_index (ledger_id, kind, index_name, index_key, id, version) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(ledger)
        .bind(&record.kind)
        .bind(name)
        .bind(&key)
        .bind(&record.id)
        .bind(record.version)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Rebuilds every index row from the latest record versions when they were
/// built under another catalogue version, or none (a database written
/// before the index existed); run on open, in one write transaction.
pub(crate) async fn rebuild_index_if_stale(conn: &mut SqliteConnection) -> Result<(), LedgerError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    let built: Option<String> = sqlx::query_scalar("SELECT catalogue FROM record_index_meta WHERE singleton = 1")
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if built.as_deref() == Some(index::CATALOGUE_VERSION) {
        return tx.rollback().await.map_err(db);
    }
    sqlx::query("DELETE FROM record_index").execute(&mut *tx).await.map_err(db)?;
    let mut indexed = 0u64;
    for kind in index::indexed_kinds() {
        let mut after = (String::new(), String::new());
        loop {
            let sql = format!(
                "SELECT ledger_id, {COLUMNS} FROM records r WHERE kind = ? AND (ledger_id, id) > (?, ?) \
                 AND version = (SELECT MAX(version) FROM records m \
                                WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind AND m.id = r.id) \
                 ORDER BY ledger_id, id LIMIT ?"
            );
            let rows = sqlx::query(&sql)
                .bind(kind)
                .bind(&after.0)
                .bind(&after.1)
                .bind(i64::from(REBUILD_PAGE))
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            let Some(last) = rows.last() else { break };
            after = (last.text("ledger_id")?, last.text("id")?);
            for row in &rows {
                insert_index_rows(&mut tx, &row.text("ledger_id")?, &decode::stored_record(row)?).await?;
                indexed += 1;
            }
        }
    }
    sqlx::query(
        "INSERT INTO record_index_meta (singleton, catalogue) VALUES (1, ?) \
         ON CONFLICT (singleton) DO UPDATE SET catalogue = excluded.catalogue",
    )
    .bind(index::CATALOGUE_VERSION)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(indexed, catalogue = index::CATALOGUE_VERSION, "record index: rebuilt from the records");
    Ok(())
}

/// Records read per statement while rebuilding the index.
const REBUILD_PAGE: u32 = 1000;
