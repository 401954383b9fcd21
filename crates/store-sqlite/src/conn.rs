//! [`Lite`]: a SQLite connection as the shared statements of
//! `offtake_store_sql` run them — its dialect (index hints where SQLite,
//! without statistics, would scan; no row locks: the writer's `BEGIN
//! IMMEDIATE` already holds the write lock), its statements over lists of
//! ids (chunked `IN` lists, JSON arrays) and its bulk inserts (multi-row
//! `INSERT`s). Record batches use the row-at-a-time defaults.

use std::collections::HashMap;
use std::ops::DerefMut;

use async_trait::async_trait;
use offtake_ledger::plan::KeyUse;
use offtake_ledger::row::{assemble, format_date, metadata_text};
use offtake_ledger::{Account, AccountCode, BalanceTotals, EntryRecord, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS, LEG_COLUMNS};
use offtake_store_sql::{Dialect, SqlConn, SqlRow};
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::error::db;

/// The entry columns `decode::entry_row` reads.
const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, effective_date, \
                             recorded_at_us, metadata, source_hash, prev_hash, hash";

/// SQLite allows 32,766 bound parameters; stay well below for IN lists.
const IN_LIST_CHUNK: usize = 500;

/// Rows per multi-row INSERT (13 parameters a row, under SQLite's limit).
const INSERT_CHUNK_ROWS: usize = 1_000;

/// SQLite's name for the `UNIQUE (ledger_id, code)` index of `accounts`.
const ACCOUNTS_BY_CODE_INDEX: &str = "sqlite_autoindex_accounts_2";

/// A connection for the shared statements: borrowed (a transaction's) or
/// owned (one from the pool, for a read).
pub(crate) struct Lite<C>(pub(crate) C);

#[async_trait]
impl<C: DerefMut<Target = SqliteConnection> + Send> SqlConn for Lite<C> {
    type Db = Sqlite;

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

    fn raw(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }

    /// The accounts among `codes` that exist, by chunks of `IN` lists.
    async fn accounts_by_code(
        &mut self,
        ledger: &LedgerId,
        codes: &[AccountCode],
    ) -> Result<Vec<Account>, LedgerError> {
        let conn = self.raw();
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(IN_LIST_CHUNK) {
            // INDEXED BY: without statistics SQLite scans the whole ledger's
            // accounts by primary key for an IN list of codes.
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts INDEXED BY {ACCOUNTS_BY_CODE_INDEX} WHERE ledger_id = "
            ));
            qb.push_bind(ledger.as_str()).push(" AND code IN (");
            let mut sep = qb.separated(", ");
            for code in chunk {
                sep.push_bind(code.as_str());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut *conn).await.map_err(db)? {
                out.push(decode::account(&row)?);
            }
        }
        Ok(out)
    }

    /// Entries with the given sequence numbers (ascending, missing ones skipped).
    async fn entries_by_seqs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<EntryRecord>, LedgerError> {
        let conn = self.raw();
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(IN_LIST_CHUNK) {
            let list = in_list(chunk.len());
            let sql =
                format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = ? AND seq IN ({list}) ORDER BY seq");
            let mut q = sqlx::query(&sql).bind(ledger.as_str());
            for s in chunk {
                q = q.bind(*s);
            }
            let entries = q.fetch_all(&mut *conn).await.map_err(db)?;
            let entries = entries.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
            let sql = format!(
                "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
                 WHERE l.ledger_id = ? AND l.seq IN ({list}) ORDER BY l.seq, l.leg_no"
            );
            let mut q = sqlx::query(&sql).bind(ledger.as_str());
            for s in chunk {
                q = q.bind(*s);
            }
            let legs = q.fetch_all(&mut *conn).await.map_err(db)?;
            let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
            out.extend(assemble(entries, legs)?);
        }
        Ok(out)
    }

    /// `(ref_seq, entry_type)` of the entries referring to `seqs`.
    async fn referrers(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<(i64, String)>, LedgerError> {
        let conn = self.raw();
        let mut out = Vec::new();
        for chunk in seqs.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT ref_seq, entry_type FROM entries INDEXED BY entries_ref \
                 WHERE ledger_id = ? AND ref_seq IS NOT NULL AND ref_seq IN ({})",
                in_list(chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(ledger.as_str());
            for s in chunk {
                q = q.bind(*s);
            }
            for row in q.fetch_all(&mut *conn).await.map_err(db)? {
                out.push((row.int("ref_seq")?, row.text("entry_type")?));
            }
        }
        Ok(out)
    }

    /// Totals of an account after the last leg with `seq <= at_seq`, and the
    /// sequence number of that leg's entry (0 = never touched).
    async fn totals_at(
        &mut self,
        ledger: &LedgerId,
        account_no: i64,
        at_seq: i64,
    ) -> Result<(BalanceTotals, i64), LedgerError> {
        let conn = self.raw();
        let row = sqlx::query(
            // INDEXED BY: without statistics SQLite walks the primary key
            // backwards over every later leg of the ledger (O(ledger), not
            // O(log n)).
            "SELECT seq, posted_debit_after, posted_credit_after, pending_debit_after, pending_credit_after \
             FROM legs INDEXED BY legs_by_account \
             WHERE ledger_id = ? AND account_no = ? AND seq <= ? ORDER BY seq DESC, leg_no DESC LIMIT 1",
        )
        .bind(ledger.as_str())
        .bind(account_no)
        .bind(at_seq)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        match row {
            None => Ok((BalanceTotals::default(), 0)),
            Some(r) => Ok((decode::totals(&r)?, r.int("seq")?)),
        }
    }

    /// Current totals of each account in one statement (absent = never
    /// touched): the account list travels as one JSON array, so the SQL text is
    /// the same for every batch and stays prepared. `CROSS JOIN` fixes the join
    /// order (one index seek per account); each seek reads the account's latest
    /// leg through `legs_by_account` (`ORDER BY … LIMIT 1`, not `max()`: SQLite
    /// does not apply its min/max shortcut to the correlated subquery and would
    /// scan every leg of the account).
    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
        let conn = self.raw();
        let mut out = HashMap::with_capacity(account_nos.len());
        if account_nos.is_empty() {
            return Ok(out);
        }
        let list = serde_json::to_string(account_nos).map_err(|e| LedgerError::Storage(e.to_string()))?;
        let rows = sqlx::query(
            "SELECT l.account_no, l.seq, l.leg_no, l.posted_debit_after, l.posted_credit_after, l.pending_debit_after, \
                    l.pending_credit_after \
             FROM json_each(?2) AS w \
             CROSS JOIN legs AS l INDEXED BY legs_by_account \
                 ON l.ledger_id = ?1 AND l.account_no = w.value \
                AND l.seq = (SELECT m.seq FROM legs AS m INDEXED BY legs_by_account \
                             WHERE m.ledger_id = ?1 AND m.account_no = w.value ORDER BY m.seq DESC LIMIT 1) \
             ORDER BY l.account_no, l.leg_no",
        )
        .bind(ledger.as_str())
        .bind(list)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        // An entry may touch an account twice; the highest leg_no is the latest
        // (rows come in leg order, so the last insert wins).
        for row in &rows {
            let seq: i64 = row.try_get("seq").map_err(db)?;
            out.insert(row.try_get::<i64, _>("account_no").map_err(db)?, (decode::totals(row)?, seq));
        }
        Ok(out)
    }

    /// Idempotency keys of `keys` that are already used.
    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError> {
        let conn = self.raw();
        let mut out = HashMap::new();
        for chunk in keys.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                // INDEXED BY: for long IN lists SQLite (without statistics)
                // scans the ledger's entries by primary key instead.
                "SELECT idempotency_key, seq, request_hash, hash, recorded_at_us \
                 FROM entries INDEXED BY sqlite_autoindex_entries_2 \
                 WHERE ledger_id = ? AND idempotency_key IN ({})",
                in_list(chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(ledger.as_str());
            for k in chunk {
                q = q.bind(k.as_str());
            }
            for row in q.fetch_all(&mut *conn).await.map_err(db)? {
                let (key, used) = decode::key_use(&row)?;
                out.insert(key, used);
            }
        }
        Ok(out)
    }

    /// Inserts the entries and their legs, as multi-row `INSERT`s of
    /// [`INSERT_CHUNK_ROWS`] rows.
    async fn insert_entries(&mut self, ledger: &LedgerId, records: &[EntryRecord]) -> Result<(), LedgerError> {
        let conn = self.raw();
        for chunk in records.chunks(INSERT_CHUNK_ROWS) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO entries (ledger_id, seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
                 effective_date, recorded_at_us, metadata, source_hash, prev_hash, hash) ",
            );
            let mut metadata = Vec::with_capacity(chunk.len());
            for e in chunk {
                metadata.push(metadata_text(e)?);
            }
            qb.push_values(chunk.iter().zip(&metadata), |mut b, (e, meta)| {
                b.push_bind(ledger.as_str())
                    .push_bind(e.seq)
                    .push_bind(e.entry_type.as_str())
                    .push_bind(e.ref_seq)
                    .push_bind(e.idempotency_key.as_str())
                    .push_bind(e.request_hash.as_slice())
                    .push_bind(e.kind.as_str())
                    .push_bind(format_date(e.effective_date))
                    .push_bind(e.recorded_at_us)
                    .push_bind(meta.as_str())
                    .push_bind(e.source_hash.as_ref().map(|h| h.as_slice()))
                    .push_bind(e.prev_hash.as_slice())
                    .push_bind(e.hash.as_slice());
            });
            qb.build().execute(&mut *conn).await.map_err(db)?;
        }
        let legs: Vec<(i64, &offtake_ledger::LegRecord)> =
            records.iter().flat_map(|e| e.legs.iter().map(move |l| (e.seq, l))).collect();
        for chunk in legs.chunks(INSERT_CHUNK_ROWS) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO legs (ledger_id, seq, leg_no, account_no, side, layer, amount_minor, posted_debit_after, \
                 posted_credit_after, pending_debit_after, pending_credit_after) ",
            );
            qb.push_values(chunk, |mut b, (seq, l)| {
                b.push_bind(ledger.as_str())
                    .push_bind(*seq)
                    .push_bind(l.leg_no)
                    .push_bind(l.account_no)
                    .push_bind(l.side.as_str())
                    .push_bind(l.layer.as_str())
                    .push_bind(l.amount_minor)
                    .push_bind(l.totals_after.posted_debit_minor)
                    .push_bind(l.totals_after.posted_credit_minor)
                    .push_bind(l.totals_after.pending_debit_minor)
                    .push_bind(l.totals_after.pending_credit_minor);
            });
            qb.build().execute(&mut *conn).await.map_err(db)?;
        }
        Ok(())
    }
}

/// `?, ?, …`: the placeholders of an `IN` list of `n` values.
fn in_list(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

#[cfg(test)]
mod tests {
    use offtake_store_sql::{Arg, SqlRow};
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
