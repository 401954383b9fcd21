//! `RecordStore` and `RecordChain` on SQLite: versioned, append-only rows,
//! each version linked into the ledger's record chain under the writer's
//! `BEGIN IMMEDIATE` lock (the steps are `offtake_ledger::record_chain`, the
//! SQL is `offtake_store_sql::records` in SQLite's dialect, `crate::conn`).

use async_trait::async_trait;
use offtake_ledger::date::now_us;
use offtake_ledger::record_chain::{ChainedRecord, RecordChain, RecordHead};
use offtake_ledger::write;
use offtake_ledger::{LedgerError, LedgerId, Page, RecordStore, RecordWrite, StoredRecord};
use offtake_store_sql::records;
use sqlx::{Connection, SqliteConnection};

use crate::commit::SqliteWriter;
use crate::conn::Lite;
use crate::error::db;
use crate::SqliteStore;

#[async_trait]
impl RecordStore for SqliteStore {
    async fn get_record(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Option<StoredRecord>, LedgerError> {
        records::get_record(&mut self.conn().await?, ledger, kind, id).await
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
        records::list_records(&mut self.conn().await?, ledger, kind, cursor, limit).await
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
        records::list_by_index(&mut self.conn().await?, ledger, (kind, index_name, key), cursor, limit).await
    }

    async fn record_history(&self, ledger: &LedgerId, kind: &str, id: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        records::record_history(&mut self.conn().await?, ledger, kind, id).await
    }
}

#[async_trait]
impl RecordChain for SqliteStore {
    async fn record_head(&self, ledger: &LedgerId) -> Result<RecordHead, LedgerError> {
        records::record_head(&mut self.conn().await?, ledger).await
    }

    async fn chained_records(
        &self,
        ledger: &LedgerId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChainedRecord>, LedgerError> {
        records::chained_records(&mut self.conn().await?, ledger, after_seq, limit).await
    }

    async fn record_rows(&self, ledger: &LedgerId) -> Result<i64, LedgerError> {
        records::record_rows(&mut self.conn().await?, ledger).await
    }
}

/// Chains, once, the record versions written before the record chain
/// existed (ledgers without a record head), and gives them a record head
/// (run on open, on the writer connection).
pub(crate) async fn chain_unlinked(conn: &mut SqliteConnection) -> Result<(), LedgerError> {
    let ledgers = records::unchained_ledgers(&mut Lite(&mut *conn)).await?;
    records::chain_ledgers(&mut SqliteWriter(conn), &ledgers).await
}

/// Rebuilds every index row from the latest record versions when they were
/// built under another catalogue version, or none (a database written
/// before the index existed); run on open, in one write transaction.
pub(crate) async fn rebuild_index_if_stale(conn: &mut SqliteConnection) -> Result<(), LedgerError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    if records::index_is_current(&mut Lite(&mut *tx)).await? {
        return tx.rollback().await.map_err(db);
    }
    records::rebuild_index(&mut Lite(&mut *tx)).await?;
    tx.commit().await.map_err(db)
}
