//! SQLite's primitives of the write path (the steps themselves are
//! `offtake_ledger::commit`): one `BEGIN IMMEDIATE` transaction per batch.
//!
//! SQLite has one writer at a time; `BEGIN IMMEDIATE` takes the write lock
//! up front so two processes never deadlock on a read-to-write upgrade, and
//! the in-process mutex keeps this process's tasks from spinning on
//! `SQLITE_BUSY`. Within the transaction the planner sees a stable state.

use std::ops::DerefMut;

use async_trait::async_trait;
use offtake_ledger::commit::BatchTx;
use offtake_ledger::record_chain::RecordTx;
use offtake_ledger::write::{WriteTx, Writer};
use offtake_ledger::LedgerError;
use offtake_store_sql::entries::SqlBatch;
use offtake_store_sql::records::SqlRecordTx;
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};

use crate::conn::Lite;
use crate::error::db;

/// Write transactions on the process's one writer connection (its mutex
/// held: a guard, or the connection itself before the store exists), each
/// begun with `BEGIN IMMEDIATE`.
pub(crate) struct SqliteWriter<C>(pub(crate) C);

#[async_trait]
impl<C: DerefMut<Target = SqliteConnection> + Send> Writer for SqliteWriter<C> {
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>, LedgerError> {
        Ok(Box::new(SqliteWrite(self.0.begin_with("BEGIN IMMEDIATE").await.map_err(db)?)))
    }
}

/// One begun write transaction.
struct SqliteWrite<'c>(Transaction<'c, Sqlite>);

#[async_trait]
impl WriteTx for SqliteWrite<'_> {
    fn entries(&mut self) -> Box<dyn BatchTx + '_> {
        Box::new(SqlBatch(Lite(&mut *self.0)))
    }

    fn records(&mut self) -> Box<dyn RecordTx + '_> {
        Box::new(SqlRecordTx(Lite(&mut *self.0)))
    }

    async fn commit(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.commit().await.map_err(db)
    }

    async fn rollback(self: Box<Self>) -> Result<(), LedgerError> {
        self.0.rollback().await.map_err(db)
    }
}
