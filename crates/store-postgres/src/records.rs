//! The records' upkeep when PostgreSQL opens: the one-time chaining of
//! versions written before the record chain existed, and the rebuild of the
//! secondary index under a changed catalogue (the statements are
//! `offtake_store_sql::records`; `RecordStore` and `RecordChain` are
//! implemented by `offtake_store_sql::sql_store!` in `lib.rs`). Record
//! writers of one ledger queue on the row lock of its record head (never on
//! the entry chain's).

use offtake_ledger::LedgerError;
use offtake_store_sql::records;

use crate::commit::PgWriter;
use crate::conn::Pg;
use crate::error::db;

/// Chains, once, the record versions written before the record chain
/// existed (ledgers without a record head), and gives them a record head
/// (run on connect).
pub(crate) async fn chain_unlinked(pool: &sqlx::PgPool) -> Result<(), LedgerError> {
    let ledgers = records::unchained_ledgers(&mut Pg(pool.acquire().await.map_err(db)?)).await?;
    records::chain_ledgers(&mut PgWriter(pool), &ledgers).await
}

/// Rebuilds every index row from the latest record versions when they were
/// built under another catalogue version, or none (a database written
/// before the index existed); run on connect, in one transaction that holds
/// the record heads' table lock, so no record writer runs meanwhile and two
/// processes connecting at once rebuild once.
pub(crate) async fn rebuild_index_if_stale(pool: &sqlx::PgPool) -> Result<(), LedgerError> {
    // Up to date (every connect but the first after a catalogue change):
    // no lock, so connecting never stalls the record writers.
    if records::index_is_current(&mut Pg(pool.acquire().await.map_err(db)?)).await? {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("LOCK TABLE record_heads IN EXCLUSIVE MODE").execute(&mut *tx).await.map_err(db)?;
    if records::index_is_current(&mut Pg(&mut *tx)).await? {
        return tx.rollback().await.map_err(db);
    }
    records::rebuild_index(&mut Pg(&mut *tx)).await?;
    tx.commit().await.map_err(db)
}
