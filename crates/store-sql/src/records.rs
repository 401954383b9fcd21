//! The records' SQL, once for both stores: `RecordStore` and `RecordChain`
//! reads, the `RecordTx` of the record write path ([`SqlRecordTx`]), the
//! one-time chaining of versions written before the chain existed, and the
//! rebuild of the secondary index. What differs between the backends is
//! their [`Dialect`] and, for batches, their `SqlConn` statements.

use async_trait::async_trait;
use offtake_ledger::record::check_record_key;
use offtake_ledger::record_chain::{genesis_head, ChainedRecord, RecordHead, RecordTx};
use offtake_ledger::store::MAX_PAGE_LIMIT;
use offtake_ledger::write::{self, Writer};
use offtake_ledger::{LedgerError, LedgerId, Page, StoredRecord};

use crate::conn::{record_columns, Arg, SqlConn};
use crate::decode::{self, SqlRow};
use crate::index;

/// Records read per statement while rebuilding the index.
const REBUILD_PAGE: u32 = 1000;

/// A kind or id that `put_record` would refuse names no record (and
/// PostgreSQL cannot even compare text holding a NUL byte).
fn names_no_record(kind: &str, id: &str) -> bool {
    check_record_key("kind", kind).is_err() || check_record_key("id", id).is_err()
}

/// A page of records from `limit + 1` rows.
fn record_page<R: SqlRow>(rows: &[R], limit: u32) -> Result<Page<StoredRecord>, LedgerError> {
    let items = rows.iter().map(decode::stored_record).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(items, limit, |r| r.id.clone()))
}

pub async fn get_record<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    kind: &str,
    id: &str,
) -> Result<Option<StoredRecord>, LedgerError> {
    if names_no_record(kind, id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {} FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 ORDER BY version DESC LIMIT 1",
        record_columns(&C::DIALECT, "")
    );
    let row = conn.fetch_optional(&sql, &[Arg::Text(ledger.as_str()), Arg::Text(kind), Arg::Text(id)]).await?;
    row.as_ref().map(decode::stored_record).transpose()
}

/// The latest versions of the records of `kind` that `ids` name (see
/// `RecordStore::get_records`): ids that cannot name a record are left
/// out before the backend's statement sees them.
pub async fn get_records<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    kind: &str,
    ids: &[String],
) -> Result<Vec<StoredRecord>, LedgerError> {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).filter(|id| !names_no_record(kind, id)).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.latest_versions(ledger, kind, &ids).await
}

/// One version of a record, if it was written.
pub async fn record_version<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    (kind, id): (&str, &str),
    version: i64,
) -> Result<Option<StoredRecord>, LedgerError> {
    if names_no_record(kind, id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {} FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 AND version = $4",
        record_columns(&C::DIALECT, "")
    );
    let args = [Arg::Text(ledger.as_str()), Arg::Text(kind), Arg::Text(id), Arg::Int(version)];
    let row = conn.fetch_optional(&sql, &args).await?;
    row.as_ref().map(decode::stored_record).transpose()
}

pub async fn list_records<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    kind: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<StoredRecord>, LedgerError> {
    if let Some(c) = cursor {
        check_record_key("cursor", c)?;
    }
    let limit = limit.clamp(1, MAX_PAGE_LIMIT);
    let args =
        [Arg::Text(ledger.as_str()), Arg::Text(kind), Arg::Text(cursor.unwrap_or("")), Arg::Int(i64::from(limit) + 1)];
    record_page(&conn.fetch_all(C::DIALECT.latest_records, &args).await?, limit)
}

pub async fn list_by_index<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    (kind, index_name, key): (&str, &str, &str),
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<StoredRecord>, LedgerError> {
    if let Some(c) = cursor {
        check_record_key("cursor", c)?;
    }
    // Text holding a NUL byte cannot even be compared: it names nothing.
    if [kind, index_name, key].iter().any(|t| t.contains('\0')) {
        return Ok(Page { items: Vec::new(), next_cursor: None });
    }
    let limit = limit.clamp(1, MAX_PAGE_LIMIT);
    let sql = format!(
        "SELECT {} FROM record_index x \
         JOIN records r ON r.ledger_id = x.ledger_id AND r.kind = x.kind AND r.id = x.id AND r.version = x.version \
         WHERE x.ledger_id = $1 AND x.kind = $2 AND x.index_name = $3 AND x.index_key = $4 AND x.id > $5 \
         ORDER BY x.id LIMIT $6",
        record_columns(&C::DIALECT, "r.")
    );
    let args = [
        Arg::Text(ledger.as_str()),
        Arg::Text(kind),
        Arg::Text(index_name),
        Arg::Text(key),
        Arg::Text(cursor.unwrap_or("")),
        Arg::Int(i64::from(limit) + 1),
    ];
    record_page(&conn.fetch_all(&sql, &args).await?, limit)
}

pub async fn record_history<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    kind: &str,
    id: &str,
) -> Result<Vec<StoredRecord>, LedgerError> {
    if names_no_record(kind, id) {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {} FROM records WHERE ledger_id = $1 AND kind = $2 AND id = $3 ORDER BY version",
        record_columns(&C::DIALECT, "")
    );
    let rows = conn.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Text(kind), Arg::Text(id)]).await?;
    rows.iter().map(decode::stored_record).collect()
}

/// The stored record head, or the genesis head of a ledger without one.
pub async fn record_head<C: SqlConn + ?Sized>(conn: &mut C, ledger: &LedgerId) -> Result<RecordHead, LedgerError> {
    let sql = "SELECT head_seq, head_hash FROM record_heads WHERE ledger_id = $1";
    let row = conn.fetch_optional(sql, &[Arg::Text(ledger.as_str())]).await?;
    row.as_ref().map(decode::record_head).unwrap_or_else(|| Ok(genesis_head(ledger)))
}

pub async fn chained_records<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<ChainedRecord>, LedgerError> {
    let sql = format!(
        "SELECT {}, chain_seq, prev_hash, hash FROM {} WHERE ledger_id = $1 AND chain_seq > $2 \
         ORDER BY chain_seq LIMIT $3",
        record_columns(&C::DIALECT, ""),
        C::DIALECT.records_by_chain
    );
    let rows =
        conn.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Int(after_seq), Arg::Int(i64::from(limit))]).await?;
    rows.iter().map(decode::chained_record).collect()
}

pub async fn record_rows<C: SqlConn + ?Sized>(conn: &mut C, ledger: &LedgerId) -> Result<i64, LedgerError> {
    let sql = "SELECT count(*) AS n FROM records WHERE ledger_id = $1";
    match conn.fetch_optional(sql, &[Arg::Text(ledger.as_str())]).await? {
        Some(row) => row.int("n"),
        None => Ok(0),
    }
}

/// See `RecordTx::lock_for_write`; the statement is the dialect's.
pub async fn lock_for_write<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    kind: &str,
    id: &str,
) -> Result<Option<(RecordHead, i64)>, LedgerError> {
    let args = [Arg::Text(ledger.as_str()), Arg::Text(kind), Arg::Text(id)];
    let row = conn.fetch_optional(C::DIALECT.lock_for_write, &args).await?;
    row.map(|r| Ok((decode::record_head(&r)?, r.int("current")?))).transpose()
}

/// See `RecordTx::insert_version`.
pub async fn insert_version<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    v: &ChainedRecord,
) -> Result<bool, LedgerError> {
    let sql = "INSERT INTO records (ledger_id, kind, id, version, body, recorded_at_us, chain_seq, prev_hash, hash) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";
    let args = [
        Arg::Text(ledger.as_str()),
        Arg::Text(&v.record.kind),
        Arg::Text(&v.record.id),
        Arg::Int(v.record.version),
        Arg::Json(&v.record.body),
        Arg::Int(v.record.recorded_at_us),
        Arg::Int(v.seq),
        Arg::Bytes(v.prev_hash.as_slice()),
        Arg::Bytes(v.hash.as_slice()),
    ];
    Ok(conn.execute(sql, &args).await? == 1)
}

/// Inserts the index rows the catalogue derives from a record version.
async fn insert_index_rows<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &str,
    record: &StoredRecord,
) -> Result<(), LedgerError> {
    let sql = "INSERT INTO record_index (ledger_id, kind, index_name, index_key, id, version) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    for (name, key) in index::index_rows(&record.kind, &record.body) {
        let args = [
            Arg::Text(ledger),
            Arg::Text(&record.kind),
            Arg::Text(name),
            Arg::Text(&key),
            Arg::Text(&record.id),
            Arg::Int(record.version),
        ];
        conn.execute(sql, &args).await?;
    }
    Ok(())
}

/// Replaces the index rows of one record with those of `record` (two
/// statements: delete, then insert each row).
pub async fn replace_index<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    record: &StoredRecord,
) -> Result<(), LedgerError> {
    let sql = "DELETE FROM record_index WHERE ledger_id = $1 AND kind = $2 AND id = $3";
    conn.execute(sql, &[Arg::Text(ledger.as_str()), Arg::Text(&record.kind), Arg::Text(&record.id)]).await?;
    insert_index_rows(conn, ledger.as_str(), record).await
}

/// The record side of a write transaction on a backend's connection: the
/// `RecordTx` of `offtake_ledger::record_chain`, in SQL.
pub struct SqlRecordTx<C>(pub C);

#[async_trait]
impl<C: SqlConn> RecordTx for SqlRecordTx<C> {
    /// One round trip: the head row is locked (where the backend locks
    /// rows), and the latest version is read in the same statement. Should
    /// another writer of the same record commit while this one waits for
    /// the lock, the version read may be stale; the insert then meets that
    /// version's primary key and answers `version_conflict`, the truth.
    async fn lock_for_write(
        &mut self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
    ) -> Result<Option<(RecordHead, i64)>, LedgerError> {
        lock_for_write(&mut self.0, ledger, kind, id).await
    }

    async fn lock_head(&mut self, ledger: &LedgerId) -> Result<Option<RecordHead>, LedgerError> {
        let sql =
            format!("SELECT head_seq, head_hash FROM record_heads WHERE ledger_id = $1{}", C::DIALECT.lock_record_head);
        let row = self.0.fetch_optional(&sql, &[Arg::Text(ledger.as_str())]).await?;
        row.as_ref().map(decode::record_head).transpose()
    }

    async fn insert_version(&mut self, ledger: &LedgerId, v: &ChainedRecord) -> Result<bool, LedgerError> {
        insert_version(&mut self.0, ledger, v).await
    }

    async fn current_versions(
        &mut self,
        ledger: &LedgerId,
        keys: &[(String, String)],
    ) -> Result<std::collections::HashMap<(String, String), i64>, LedgerError> {
        self.0.current_versions(ledger, keys).await
    }

    async fn insert_versions(&mut self, ledger: &LedgerId, versions: &[ChainedRecord]) -> Result<bool, LedgerError> {
        self.0.insert_versions(ledger, versions).await
    }

    async fn replace_index(&mut self, ledger: &LedgerId, record: &StoredRecord) -> Result<(), LedgerError> {
        replace_index(&mut self.0, ledger, record).await
    }

    async fn replace_indexes(&mut self, ledger: &LedgerId, records: &[&StoredRecord]) -> Result<(), LedgerError> {
        self.0.replace_indexes(ledger, records).await
    }

    async fn save_head(&mut self, ledger: &LedgerId, head: &RecordHead) -> Result<(), LedgerError> {
        let sql = "INSERT INTO record_heads (ledger_id, head_seq, head_hash) VALUES ($1, $2, $3) \
                   ON CONFLICT (ledger_id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash";
        self.0
            .execute(sql, &[Arg::Text(ledger.as_str()), Arg::Int(head.seq), Arg::Bytes(head.hash.as_slice())])
            .await?;
        Ok(())
    }

    async fn unlinked(&mut self, ledger: &LedgerId, limit: u32) -> Result<Vec<StoredRecord>, LedgerError> {
        let sql = format!(
            "SELECT {} FROM records WHERE ledger_id = $1 AND chain_seq IS NULL \
             ORDER BY recorded_at_us, kind, id, version LIMIT $2",
            record_columns(&C::DIALECT, "")
        );
        let rows = self.0.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Int(i64::from(limit))]).await?;
        rows.iter().map(decode::stored_record).collect()
    }

    async fn set_link(&mut self, ledger: &LedgerId, v: &ChainedRecord) -> Result<(), LedgerError> {
        let sql = "UPDATE records SET chain_seq = $1, prev_hash = $2, hash = $3 \
                   WHERE ledger_id = $4 AND kind = $5 AND id = $6 AND version = $7 AND chain_seq IS NULL";
        let args = [
            Arg::Int(v.seq),
            Arg::Bytes(v.prev_hash.as_slice()),
            Arg::Bytes(v.hash.as_slice()),
            Arg::Text(ledger.as_str()),
            Arg::Text(&v.record.kind),
            Arg::Text(&v.record.id),
            Arg::Int(v.record.version),
        ];
        self.0.execute(sql, &args).await?;
        Ok(())
    }
}

/// The ledgers without a record head: written before the record chain
/// existed, their versions are still to be chained ([`chain_ledgers`]).
pub async fn unchained_ledgers<C: SqlConn + ?Sized>(conn: &mut C) -> Result<Vec<LedgerId>, LedgerError> {
    let sql = "SELECT ledger_id FROM ledgers l \
               WHERE NOT EXISTS (SELECT 1 FROM record_heads h WHERE h.ledger_id = l.ledger_id)";
    let rows = conn.fetch_all(sql, &[]).await?;
    rows.iter()
        .map(|row| {
            let id = row.text("ledger_id")?;
            LedgerId::new(&id).map_err(|_| LedgerError::Storage(format!("corrupt ledger id {id:?}")))
        })
        .collect()
}

/// Chains, once, the versions of `ledgers` written before the record
/// chain existed, and gives each ledger a record head (run on open).
pub async fn chain_ledgers<W: Writer + ?Sized>(writer: &mut W, ledgers: &[LedgerId]) -> Result<(), LedgerError> {
    for ledger in ledgers {
        let linked = write::chain_unlinked(writer, ledger).await?;
        tracing::info!(ledger = %ledger.as_str(), linked, "record chain: chained versions written before it existed");
    }
    Ok(())
}

/// Whether the index rows were built under this catalogue version.
pub async fn index_is_current<C: SqlConn + ?Sized>(conn: &mut C) -> Result<bool, LedgerError> {
    let sql = "SELECT catalogue FROM record_index_meta WHERE singleton = 1";
    match conn.fetch_optional(sql, &[]).await? {
        Some(row) => Ok(row.text("catalogue")? == index::CATALOGUE_VERSION),
        None => Ok(false),
    }
}

/// Rebuilds every index row from the latest record versions and records
/// the catalogue version, inside the caller's write transaction (which
/// keeps record writers out meanwhile).
pub async fn rebuild_index<C: SqlConn + ?Sized>(conn: &mut C) -> Result<(), LedgerError> {
    conn.execute("DELETE FROM record_index", &[]).await?;
    let mut indexed = 0u64;
    for kind in index::indexed_kinds() {
        let mut after = (String::new(), String::new());
        loop {
            let args = [Arg::Text(kind), Arg::Text(&after.0), Arg::Text(&after.1), Arg::Int(i64::from(REBUILD_PAGE))];
            let rows = conn.fetch_all(C::DIALECT.latest_records_all_ledgers, &args).await?;
            let Some(last) = rows.last() else { break };
            after = (last.text("ledger_id")?, last.text("id")?);
            for row in &rows {
                insert_index_rows(conn, &row.text("ledger_id")?, &decode::stored_record(row)?).await?;
                indexed += 1;
            }
        }
    }
    let sql = "INSERT INTO record_index_meta (singleton, catalogue) VALUES (1, $1) \
               ON CONFLICT (singleton) DO UPDATE SET catalogue = excluded.catalogue";
    conn.execute(sql, &[Arg::Text(index::CATALOGUE_VERSION)]).await?;
    tracing::info!(indexed, catalogue = index::CATALOGUE_VERSION, "record index: rebuilt from the records");
    Ok(())
}
