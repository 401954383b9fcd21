//! [`Lite`]: a SQLite connection as the shared statements of
//! `offtake_store_sql` run them — its dialect (index hints where SQLite,
//! without statistics, would scan; no row locks: the writer's `BEGIN
//! IMMEDIATE` already holds the write lock). Record batches use the
//! row-at-a-time defaults.

use async_trait::async_trait;
use offtake_ledger::LedgerError;
use offtake_store_sql::conn::bind;
use offtake_store_sql::{Arg, Dialect, SqlConn};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use crate::error::db;

/// A connection (or a transaction's) for the shared statements.
pub(crate) struct Lite<'c>(pub(crate) &'c mut SqliteConnection);

#[async_trait]
impl SqlConn for Lite<'_> {
    type Row = SqliteRow;

    const DIALECT: Dialect = Dialect {
        body_text: "body",
        latest_records: "SELECT kind, id, version, body, recorded_at_us FROM records r \
                         WHERE ledger_id = ? AND kind = ? AND id > ? \
                         AND version = (SELECT MAX(version) FROM records m \
                                        WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind AND m.id = r.id) \
                         ORDER BY id LIMIT ?",
        latest_records_all_ledgers: "SELECT ledger_id, kind, id, version, body, recorded_at_us FROM records r \
                                     WHERE kind = ? AND (ledger_id, id) > (?, ?) \
                                     AND version = (SELECT MAX(version) FROM records m \
                                                    WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind \
                                                      AND m.id = r.id) \
                                     ORDER BY ledger_id, id LIMIT ?",
        records_by_chain: "records INDEXED BY records_chain",
        // Inside `BEGIN IMMEDIATE` the write lock is held: "locking" the
        // head is reading it.
        lock_for_write: "SELECT h.head_seq, h.head_hash, \
                                (SELECT COALESCE(MAX(version), 0) FROM records \
                                 WHERE ledger_id = ?1 AND kind = ?2 AND id = ?3) AS current \
                         FROM record_heads h WHERE h.ledger_id = ?1",
        lock_record_head: "",
    };

    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<SqliteRow>, LedgerError> {
        bind(sqlx::query(sql), args).fetch_all(&mut *self.0).await.map_err(db)
    }

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, LedgerError> {
        Ok(bind(sqlx::query(sql), args).execute(&mut *self.0).await.map_err(db)?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use offtake_store_sql::SqlRow;
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    /// The shared statements number their parameters `$1`, `$2`, …; SQLite
    /// must bind `$N` to the N-th value even where `$2` comes first in the
    /// text and `$1` is used twice.
    #[tokio::test]
    async fn numbered_parameters_bind_by_number() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.expect("in-memory database");
        let rows = Lite(&mut conn)
            .fetch_all("SELECT $2 AS second, $1 AS first, $1 || $2 AS both", &[Arg::Text("a"), Arg::Text("b")])
            .await
            .expect("runs");
        let row = rows.first().expect("one row");
        assert_eq!(
            (row.text("second").unwrap(), row.text("first").unwrap(), row.text("both").unwrap()),
            ("b".to_owned(), "a".to_owned(), "ab".to_owned())
        );
    }
}
