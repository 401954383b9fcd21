//! [`Pg`]: a PostgreSQL connection as the shared statements of
//! `offtake_store_sql` run them — its dialect (row locks, `::bigint`,
//! `DISTINCT ON`, the date as text), its statements over lists of ids
//! (arrays) and its one-statement batches (`UNNEST` of column arrays).

use std::collections::HashMap;
use std::ops::DerefMut;

use async_trait::async_trait;
use offtake_ledger::plan::KeyUse;
use offtake_ledger::row::assemble;
use offtake_ledger::{
    Account, AccountCode, BalanceTotals, ChainedRecord, EntryRecord, LedgerError, LedgerId, StoredRecord,
};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS, LEG_COLUMNS};
use offtake_store_sql::{index, Dialect, SqlConn, SqlRow};
use sqlx::{PgConnection, Postgres};

use crate::commit::{insert_entry_rows, insert_leg_rows};
use crate::entries::{self, ENTRY_COLUMNS};
use crate::error::db;

/// A connection for the shared statements: borrowed (a transaction's) or
/// owned (one from the pool, for a read).
pub(crate) struct Pg<C>(pub(crate) C);

#[async_trait]
impl<C: DerefMut<Target = PgConnection> + Send> SqlConn for Pg<C> {
    type Db = Postgres;

    const DIALECT: Dialect = Dialect {
        body_text: "body::text",
        // Not `DISTINCT ON (id) … ORDER BY id, version DESC`: PostgreSQL
        // plans that as a parallel incremental sort whose cost grows with
        // the kind (6 ms for a page of 10 among 100,000 invoices); walking
        // the primary key in id order and keeping each id's latest version
        // reads only the page (0.1 ms), whatever the kind's size.
        latest_records: "SELECT kind, id, version, body::text AS body, recorded_at_us FROM records r \
                         WHERE ledger_id = $1 AND kind = $2 AND id > $3 \
                         AND version = (SELECT MAX(m.version) FROM records m \
                                        WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind AND m.id = r.id) \
                         ORDER BY id LIMIT $4",
        latest_records_all_ledgers: "SELECT ledger_id, kind, id, version, body::text AS body, recorded_at_us \
                                     FROM records r WHERE kind = $1 AND (ledger_id, id) > ($2, $3) \
                                     AND version = (SELECT MAX(m.version) FROM records m \
                                                    WHERE m.ledger_id = r.ledger_id AND m.kind = r.kind \
                                                      AND m.id = r.id) \
                                     ORDER BY ledger_id, id LIMIT $4",
        records_by_chain: "records",
        entry_columns: ENTRY_COLUMNS,
        // `FOR NO KEY UPDATE`, not `FOR UPDATE`: writers of a ledger still
        // queue on it, but the foreign-key checks of rows referring to the
        // ledger (records, record heads: `FOR KEY SHARE`) do not. With `FOR
        // UPDATE`, a record writer holding its record head would wait here
        // for an entry batch that waits for that record head (attached
        // records): a deadlock.
        lock_ledger_head: " FOR NO KEY UPDATE",
        lock_account_numbering: Some("SELECT account_count FROM ledgers WHERE ledger_id = $1 FOR NO KEY UPDATE"),
        // The head row is locked; the latest version is read in the same
        // statement.
        lock_for_write: "SELECT h.head_seq, h.head_hash, \
                                (SELECT COALESCE(MAX(version), 0)::bigint FROM records \
                                 WHERE ledger_id = $1 AND kind = $2 AND id = $3) AS current \
                         FROM record_heads h WHERE h.ledger_id = $1 FOR UPDATE OF h",
        // `FOR UPDATE` on the record head serialises the ledger's record
        // writers.
        lock_record_head: " FOR UPDATE",
    };

    fn raw(&mut self) -> &mut PgConnection {
        &mut self.0
    }

    /// The accounts among `codes` that exist, in one round trip (`= ANY`).
    async fn accounts_by_code(
        &mut self,
        ledger: &LedgerId,
        codes: &[AccountCode],
    ) -> Result<Vec<Account>, LedgerError> {
        let conn = self.raw();
        let codes: Vec<&str> = codes.iter().map(AccountCode::as_str).collect();
        let rows =
            sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ledger_id = $1 AND code = ANY($2)"))
                .bind(ledger.as_str())
                .bind(&codes)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
        rows.iter().map(decode::account).collect()
    }

    /// Entries with the given sequence numbers (ascending, missing ones skipped).
    async fn entries_by_seqs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<EntryRecord>, LedgerError> {
        let conn = self.raw();
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = $1 AND seq = ANY($2) ORDER BY seq");
        let entries = sqlx::query(&sql).bind(ledger.as_str()).bind(seqs).fetch_all(&mut *conn).await.map_err(db)?;
        let entries = entries.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
             WHERE l.ledger_id = $1 AND l.seq = ANY($2) ORDER BY l.seq, l.leg_no"
        );
        let legs = sqlx::query(&sql).bind(ledger.as_str()).bind(seqs).fetch_all(&mut *conn).await.map_err(db)?;
        let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
        assemble(entries, legs)
    }

    /// `(ref_seq, entry_type)` of the entries referring to `seqs`: one index
    /// probe per referenced entry. With statistics taken while no entry had a
    /// `ref_seq` (a fresh ledger's funding), the plain `ref_seq = ANY($2)` and a
    /// flattened LATERAL both became a walk over every referencing entry of the
    /// ledger (3–4 ms per batch at 40,000 entries, measured with auto_explain).
    /// `OFFSET 0` keeps the planner from pulling the subquery up, so it stays a
    /// parameterised index scan.
    async fn referrers(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<(i64, String)>, LedgerError> {
        let conn = self.raw();
        let rows = sqlx::query(
            "SELECT r.seq AS ref_seq, e.entry_type FROM unnest($2::bigint[]) AS r(seq) \
             CROSS JOIN LATERAL (SELECT entry_type FROM entries WHERE ledger_id = $1 AND ref_seq = r.seq OFFSET 0) e",
        )
        .bind(ledger.as_str())
        .bind(seqs)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        rows.iter().map(|row| Ok((row.int("ref_seq")?, row.text("entry_type")?))).collect()
    }

    async fn totals_at(
        &mut self,
        ledger: &LedgerId,
        account_no: i64,
        at_seq: i64,
    ) -> Result<(BalanceTotals, i64), LedgerError> {
        let mut totals = entries::totals_at(self.raw(), ledger, &[account_no], at_seq).await?;
        Ok(totals.remove(&account_no).unwrap_or_default())
    }

    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
        entries::totals_at(&mut self.0, ledger, account_nos, i64::MAX).await
    }

    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError> {
        let conn = self.raw();
        let rows = sqlx::query(
            "SELECT idempotency_key, seq, request_hash, hash, recorded_at_us FROM entries \
             WHERE ledger_id = $1 AND idempotency_key = ANY($2)",
        )
        .bind(ledger.as_str())
        .bind(keys)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        rows.iter().map(decode::key_use).collect()
    }

    /// Inserts all entries in one statement and all legs in another, as column
    /// arrays through `UNNEST`: two round trips for any batch size.
    async fn insert_entries(&mut self, ledger: &LedgerId, records: &[EntryRecord]) -> Result<(), LedgerError> {
        let conn = self.raw();
        insert_entry_rows(conn, ledger, records).await?;
        insert_leg_rows(conn, ledger, records).await
    }

    /// One statement: a primary-key probe per id (LATERAL with LIMIT, as
    /// in `current_versions`, so stale statistics cannot turn it into a
    /// scan of the kind).
    async fn latest_versions(
        &mut self,
        ledger: &LedgerId,
        kind: &str,
        ids: &[&str],
    ) -> Result<Vec<StoredRecord>, LedgerError> {
        let sql = format!(
            "SELECT {} FROM UNNEST($3::text[]) AS k (id) \
             CROSS JOIN LATERAL (SELECT * FROM records r \
               WHERE r.ledger_id = $1 AND r.kind = $2 AND r.id = k.id ORDER BY r.version DESC LIMIT 1) l",
            offtake_store_sql::conn::record_columns(&Self::DIALECT, "l.")
        );
        let rows =
            sqlx::query(&sql).bind(ledger.as_str()).bind(kind).bind(ids).fetch_all(&mut *self.0).await.map_err(db)?;
        rows.iter().map(decode::stored_record).collect()
    }

    async fn current_versions(
        &mut self,
        ledger: &LedgerId,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), i64>, LedgerError> {
        let (kinds, ids): (Vec<&str>, Vec<&str>) = keys.iter().map(|(k, i)| (k.as_str(), i.as_str())).unzip();
        // One probe of the primary key per record, newest version first.
        // The join form (`JOIN records … GROUP BY`) was planned, with
        // statistics taken while the ledger was small, as a scan of every
        // version of the ledger per write: loading a program slowed with
        // its size (measured: 10,000 facilities would have taken hours). A
        // LATERAL subquery with LIMIT cannot be flattened, so it stays an
        // index probe whatever the statistics say.
        let rows = sqlx::query(
            "SELECT k.kind, k.id, c.version AS current FROM UNNEST($2::text[], $3::text[]) AS k (kind, id) \
             CROSS JOIN LATERAL (SELECT r.version FROM records r \
               WHERE r.ledger_id = $1 AND r.kind = k.kind AND r.id = k.id ORDER BY r.version DESC LIMIT 1) c",
        )
        .bind(ledger.as_str())
        .bind(kinds)
        .bind(ids)
        .fetch_all(&mut *self.0)
        .await
        .map_err(db)?;
        rows.iter().map(|r| Ok(((r.text("kind")?, r.text("id")?), r.int("current")?))).collect()
    }

    /// One delete of every record's old rows and one `UNNEST` insert of
    /// every new row, whatever the batch's size (per record, these were
    /// the load's largest cost: two round trips for each record written).
    async fn replace_indexes(&mut self, ledger: &LedgerId, records: &[&StoredRecord]) -> Result<(), LedgerError> {
        let (kinds, ids): (Vec<&str>, Vec<&str>) = records.iter().map(|r| (r.kind.as_str(), r.id.as_str())).unzip();
        // A look-up per record (a LATERAL subquery with OFFSET 0 is not
        // flattened into a join that stale statistics could plan as a scan
        // of the whole index), then a delete by row id.
        sqlx::query(
            "DELETE FROM record_index WHERE ctid = ANY (ARRAY( \
               SELECT x.ctid FROM UNNEST($2::text[], $3::text[]) AS k (kind, id) \
               CROSS JOIN LATERAL (SELECT i.ctid FROM record_index i \
                 WHERE i.ledger_id = $1 AND i.kind = k.kind AND i.id = k.id OFFSET 0) x))",
        )
        .bind(ledger.as_str())
        .bind(&kinds)
        .bind(&ids)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        let (mut kind, mut name, mut key, mut id, mut version) = (vec![], vec![], vec![], vec![], vec![]);
        for record in records {
            for (index_name, index_key) in index::index_rows(&record.kind, &record.body) {
                kind.push(record.kind.as_str());
                name.push(index_name);
                key.push(index_key);
                id.push(record.id.as_str());
                version.push(record.version);
            }
        }
        if kind.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO record_index (ledger_id, kind, index_name, index_key, id, version) \
             SELECT $1, u.kind, u.name, u.key, u.id, u.version \
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS u (kind, name, key, id, version) \
             ON CONFLICT DO NOTHING",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(name)
        .bind(key)
        .bind(id)
        .bind(version)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// One `UNNEST` insert for the whole set.
    async fn insert_versions(&mut self, ledger: &LedgerId, versions: &[ChainedRecord]) -> Result<bool, LedgerError> {
        let n = versions.len();
        let (mut kind, mut id, mut version, mut body) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut at, mut seq, mut prev, mut hash) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for v in versions {
            kind.push(v.record.kind.as_str());
            id.push(v.record.id.as_str());
            version.push(v.record.version);
            body.push(serde_json::to_string(&v.record.body).map_err(|e| LedgerError::Storage(e.to_string()))?);
            at.push(v.record.recorded_at_us);
            seq.push(v.seq);
            prev.push(v.prev_hash.to_vec());
            hash.push(v.hash.to_vec());
        }
        let done = sqlx::query(
            "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us, chain_seq, prev_hash, hash)              SELECT $1, u.kind, u.id, u.version, u.body::jsonb, u.at, u.seq, u.prev, u.hash              FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[],                          $8::bytea[], $9::bytea[]) AS u (kind, id, version, body, at, seq, prev, hash)              ON CONFLICT DO NOTHING",
        )
        .bind(ledger.as_str())
        .bind(kind)
        .bind(id)
        .bind(version)
        .bind(body)
        .bind(at)
        .bind(seq)
        .bind(prev)
        .bind(hash)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == n as u64)
    }
}
