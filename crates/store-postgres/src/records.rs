//! `RecordStore` on PostgreSQL: versioned, append-only rows. Concurrent
//! writers of one record race on the primary key; the loser gets
//! `version_conflict`.

use async_trait::async_trait;
use offtake_ledger::record::{check_record_body, check_record_key};
use offtake_ledger::{LedgerError, LedgerId, Page, RecordStore, StoredRecord};
use offtake_store_sql::decode;

use crate::error::db;
use crate::{now_us, PostgresStore};

/// `body` as JSON text, so one decoder serves both stores.
const COLUMNS: &str = "kind, id, version, body::text AS body, recorded_at_us";

#[async_trait]
impl RecordStore for PostgresStore {
    async fn get_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError> {
        // A kind or id that `put_record` would refuse names no record (and
        // PostgreSQL cannot even compare text holding a NUL byte).
        if check_record_key("kind", kind).is_err() || check_record_key("id", id).is_err() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 \
             ORDER BY version DESC LIMIT 1"
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
        let conflict = |current| LedgerError::VersionConflict {
            kind: kind.to_owned(),
            id: id.to_owned(),
            expected: expected_version,
            current,
        };
        let mut tx = self.pool().begin().await.map_err(db)?;
        let current: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if current != expected_version {
            // Roll back now: a dropped transaction only rolls back when its
            // connection is next used, and would hold its locks until then.
            tx.rollback().await.map_err(db)?;
            return Err(conflict(current));
        }
        let recorded_at_us = now_us();
        // ON CONFLICT DO NOTHING: a concurrent writer that inserted the same
        // version first wins; we report the conflict instead of an error.
        let inserted = sqlx::query(
            "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .bind(current + 1)
        .bind(body)
        .bind(recorded_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => {
                LedgerError::UnknownLedger(ledger.as_str().to_owned())
            }
            _ => db(e),
        })?;
        if inserted.rows_affected() != 1 {
            tx.rollback().await.map_err(db)?;
            return Err(conflict(current + 1));
        }
        tx.commit().await.map_err(db)?;
        Ok(StoredRecord {
            kind: kind.to_owned(),
            id: id.to_owned(),
            version: current + 1,
            body: body.clone(),
            recorded_at_us,
        })
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
            "SELECT DISTINCT ON (id) {COLUMNS} FROM records WHERE ledger_id = $1 AND kind = $2 AND id > $3 \
             ORDER BY id, version DESC LIMIT $4"
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
        let sql =
            format!("SELECT {COLUMNS} FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 ORDER BY version");
        let rows =
            sqlx::query(&sql).bind(ledger.as_str()).bind(kind).bind(id).fetch_all(self.pool()).await.map_err(db)?;
        rows.iter().map(decode::stored_record).collect()
    }
}
