//! The records' upkeep when SQLite opens, on the writer connection: the
//! one-time chaining of versions written before the record chain existed,
//! and the rebuild of the secondary index under a changed catalogue (the
//! statements are `offtake_store_sql::records`; `RecordStore` and
//! `RecordChain` are implemented by `offtake_store_sql::sql_store!` in
//! `lib.rs`).

use offtake_ledger::LedgerError;
use offtake_store_sql::records;
use sqlx::{Connection, SqliteConnection};

use crate::commit::SqliteWriter;
use crate::conn::Lite;
use crate::error::db;

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
