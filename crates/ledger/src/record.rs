//! Versioned domain records: the state the finance domain, the key registry
//! and the settlement queue keep beside the ledger (commitments, facilities,
//! invoices, keys, nonces, payment notices).
//!
//! Why one generic table instead of a table per entity: the domain crates
//! stay free of SQL, both stores implement five small methods once, and
//! every record keeps its full history (rows are append-only; a change is a
//! new version). Writers use optimistic concurrency: `put_record` names the
//! version it read, and a concurrent writer's change makes it fail with
//! `version_conflict` instead of being silently overwritten.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::account::LedgerId;
use crate::error::LedgerError;
use crate::store::Page;

/// Longest record kind or id accepted.
pub const MAX_RECORD_KEY_LEN: usize = 200;

/// Separates the fields of a composite index key; record ids are printable
/// ASCII, so it cannot occur inside one.
pub const INDEX_KEY_SEPARATOR: char = '\u{1f}';

/// The key of a secondary index from its fields, in the index's order (see
/// `RecordStore::list_by_index`).
pub fn index_key(parts: &[&str]) -> String {
    parts.join(&INDEX_KEY_SEPARATOR.to_string())
}

/// One version of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub kind: String,
    pub id: String,
    /// 1 for the first version, +1 for every change.
    pub version: i64,
    pub body: serde_json::Value,
    pub recorded_at_us: i64,
}

impl StoredRecord {
    /// Deserialises the body into a domain type.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, LedgerError> {
        serde_json::from_value(self.body.clone())
            .map_err(|e| LedgerError::Storage(format!("record {}/{} does not decode: {e}", self.kind, self.id)))
    }
}

/// One record write of [`RecordStore::put_records`]: version
/// `expected_version + 1` of `(kind, id)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordWrite {
    pub kind: String,
    pub id: String,
    /// The latest version the writer read (0: the record must not exist).
    pub expected_version: i64,
    pub body: serde_json::Value,
}

/// Checks a record kind or id: non-empty, bounded, printable ASCII without
/// spaces (ids come from users; keep them boring).
pub fn check_record_key(field: &'static str, value: &str) -> Result<(), LedgerError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_RECORD_KEY_LEN
        && value.bytes().all(|b| b.is_ascii_graphic() && b != b'\'' && b != b'"' && b != b'\\');
    if ok {
        Ok(())
    } else {
        Err(LedgerError::invalid(field, "1-200 printable ASCII characters without quotes, spaces or backslashes"))
    }
}

/// Checks a record body: no string (nor key) holds a NUL character.
/// PostgreSQL's `jsonb` cannot store one, so both stores refuse it alike
/// (`invalid_input`) instead of one of them failing with a storage error.
pub fn check_record_body(body: &serde_json::Value) -> Result<(), LedgerError> {
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(body) {
        return Err(LedgerError::invalid("body", "text must not contain NUL characters"));
    }
    Ok(())
}

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The latest version of a record, if any.
    async fn get_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError>;

    /// Writes version `expected_version + 1` if the latest version is
    /// `expected_version` (0 = the record must not exist yet); otherwise
    /// `version_conflict` and nothing is written.
    async fn put_record(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        expected_version: i64,
        body: &serde_json::Value,
    ) -> Result<StoredRecord, LedgerError>;

    /// Writes several records in one transaction, all or nothing: each
    /// write's latest version must be its `expected_version`, otherwise
    /// `version_conflict` (for the first stale write, in order) and nothing
    /// is written. Two writes of one record are `invalid_input`. Answers
    /// the versions written, in order. For what must not be left half
    /// done, e.g. a record and the signature nonces that authorise it.
    async fn put_records(&self, ledger: &LedgerId, writes: &[RecordWrite]) -> Result<Vec<StoredRecord>, LedgerError>;

    /// Independent sets of writes, each all or nothing as [`put_records`]
    /// and answered on its own, checked as if the sets before it had been
    /// written first: what a record group committer sends, so that many
    /// writers' records share one durable transaction. The answer fails as
    /// a whole only when nothing could be written (a storage error). By
    /// default each set is its own transaction; the SQL stores write them
    /// all in one.
    ///
    /// [`put_records`]: RecordStore::put_records
    async fn put_record_sets(
        &self,
        ledger: &LedgerId,
        sets: &[Vec<RecordWrite>],
    ) -> Result<Vec<Result<Vec<StoredRecord>, LedgerError>>, LedgerError> {
        let mut out = Vec::with_capacity(sets.len());
        for set in sets {
            out.push(self.put_records(ledger, set).await);
        }
        Ok(out)
    }

    /// Latest versions of the records of a kind, ordered by id, after the
    /// cursor (an id returned as `next_cursor`).
    async fn list_records(
        &self,
        ledger: &LedgerId,
        kind: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError>;

    /// Latest versions of the records of a kind that a secondary index files
    /// under `key` (see [`index_key`]), ordered by id, after the cursor.
    /// The store keeps the index in the same transaction as every record
    /// write, so a page never shows a version older than the latest one;
    /// which indexes exist is the stores' catalogue
    /// (`offtake_store_sql::index`). Cost: the page, not the kind.
    async fn list_by_index(
        &self,
        ledger: &LedgerId,
        kind: &str,
        index_name: &str,
        key: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredRecord>, LedgerError>;

    /// Every record a secondary index files under `key`, following the
    /// cursor to the end: bounded by what the key selects (a facility's
    /// invoices), not by the kind.
    async fn all_by_index(
        &self,
        ledger: &LedgerId,
        kind: &str,
        index_name: &str,
        key: &str,
    ) -> Result<Vec<StoredRecord>, LedgerError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_by_index(ledger, kind, index_name, key, cursor.as_deref(), crate::store::MAX_PAGE_LIMIT)
                .await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The latest versions of the records of `kind` that `ids` name, those
    /// that exist, in no particular order: many records by id in one
    /// statement where the store can, for a reader whose cost must not
    /// grow with how many distinct records a page happens to name. By
    /// default one [`get_record`](RecordStore::get_record) each.
    async fn get_records(
        &self,
        ledger: &LedgerId,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<StoredRecord>, LedgerError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.get_record(ledger, kind, id).await?);
        }
        Ok(out)
    }

    /// Version `version` of a record, if it was written: one row, however
    /// long the record's history. By default read from the history.
    async fn record_version(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<StoredRecord>, LedgerError> {
        Ok(self.record_history(ledger, kind, id).await?.into_iter().find(|r| r.version == version))
    }

    /// Every version of a record, oldest first.
    async fn record_history(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Vec<StoredRecord>, LedgerError>;

    /// Every record of a kind (latest versions), following the cursor to the
    /// end. For small kinds (parties, facilities); large ones should page.
    async fn all_records(&self, ledger: &LedgerId, kind: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_records(ledger, kind, cursor.as_deref(), crate::store::MAX_PAGE_LIMIT).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Creates a record that must not exist yet; `Ok(false)` if it did
    /// (the basis of "accept once", e.g. signature nonces).
    async fn insert_once(
        &self,
        ledger: &LedgerId,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<bool, LedgerError> {
        match self.put_record(ledger, kind, id, 0, body).await {
            Ok(_) => Ok(true),
            Err(LedgerError::VersionConflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A store that holds both the ledger and the records, in one database,
/// each under its own hash chain.
pub trait Store: crate::store::LedgerStore + RecordStore + crate::record_chain::RecordChain {}
impl<T: crate::store::LedgerStore + RecordStore + crate::record_chain::RecordChain> Store for T {}
