//! [`Lite`]: a SQLite connection as the shared statements of
//! `offtake_store_sql` run them — its dialect (index hints where SQLite,
//! without statistics, would scan; no row locks: the writer's `BEGIN
//! IMMEDIATE` already holds the write lock), its statements over lists of
//! ids and its bulk inserts. Record batches use the row-at-a-time
//! defaults.

use std::collections::HashMap;
use std::ops::DerefMut;

use async_trait::async_trait;
use offtake_ledger::plan::KeyUse;
use offtake_ledger::{Account, AccountCode, BalanceTotals, EntryRecord, LedgerError, LedgerId};
use offtake_store_sql::conn::bind;
use offtake_store_sql::{Arg, Dialect, SqlConn};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use crate::entries::ENTRY_COLUMNS;
use crate::error::db;
use crate::{accounts, commit, entries};

/// A connection for the shared statements: borrowed (a transaction's) or
/// owned (one from the pool, for a read).
pub(crate) struct Lite<C>(pub(crate) C);

#[async_trait]
impl<C: DerefMut<Target = SqliteConnection> + Send> SqlConn for Lite<C> {
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
        entry_columns: ENTRY_COLUMNS,
        // The writer's `BEGIN IMMEDIATE` holds the write lock already.
        lock_ledger_head: "",
        lock_account_numbering: None,
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

    async fn accounts_by_code(
        &mut self,
        ledger: &LedgerId,
        codes: &[AccountCode],
    ) -> Result<Vec<Account>, LedgerError> {
        accounts::by_codes(&mut self.0, ledger, codes).await
    }

    async fn entries_by_seqs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<EntryRecord>, LedgerError> {
        entries::by_seqs(&mut self.0, ledger, seqs).await
    }

    async fn referrers(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<(i64, String)>, LedgerError> {
        entries::referrers(&mut self.0, ledger, seqs).await
    }

    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
        commit::current_totals(&mut self.0, ledger, account_nos).await
    }

    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError> {
        entries::key_uses(&mut self.0, ledger, keys).await
    }

    async fn insert_entries(&mut self, ledger: &LedgerId, records: &[EntryRecord]) -> Result<(), LedgerError> {
        commit::insert_entries(&mut self.0, ledger, records).await
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
