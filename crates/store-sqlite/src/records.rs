//! `RecordStore` on SQLite: versioned, append-only rows.

use async_trait::async_trait;
use offtake_ledger::record::{check_record_body, check_record_key};
use offtake_ledger::{LedgerError, LedgerId, Page, RecordStore, StoredRecord};
use offtake_store_sql::decode;
use sqlx::Connection;

use crate::error::db;
use crate::{now_us, SqliteStore};

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
        check_record_key("kind", kind)?;
        check_record_key("id", id)?;
        check_record_body(body)?;
        let text = serde_json::to_string(body).map_err(|e| LedgerError::Storage(e.to_string()))?;
        let mut writer = self.writer.lock().await;
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM ledgers WHERE ledger_id = ?")
            .bind(ledger.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            tx.rollback().await.map_err(db)?;
            return Err(LedgerError::UnknownLedger(ledger.as_str().to_owned()));
        }
        let current: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM records WHERE ledger_id = ? AND kind = ? AND id = ?",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if current != expected_version {
            tx.rollback().await.map_err(db)?;
            return Err(LedgerError::VersionConflict {
                kind: kind.to_owned(),
                id: id.to_owned(),
                expected: expected_version,
                current,
            });
        }
        let record = StoredRecord {
            kind: kind.to_owned(),
            id: id.to_owned(),
            version: current + 1,
            body: body.clone(),
            recorded_at_us: now_us(),
        };
        sqlx::query(
            "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .bind(record.version)
        .bind(text)
        .bind(record.recorded_at_us)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(record)
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
