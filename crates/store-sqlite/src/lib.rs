//! offtake ledger store on embedded SQLite: the zero-setup default for a
//! single lending program (`offtake demo`, a laptop, a small servicer).
//!
//! Durability: WAL journal with `synchronous=FULL` — every acknowledged
//! commit is fsynced. This crate holds SQL only; every ledger rule lives in
//! `offtake_ledger::plan`, so this store cannot disagree with Postgres.

#![forbid(unsafe_code)]

mod commit;
mod conn;
mod error;
mod records;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use offtake_ledger::date::now_us;
use offtake_ledger::hash::genesis_hash;
use offtake_ledger::record_chain::record_genesis_hash;
use offtake_ledger::write;
use offtake_ledger::{Account, AccountCode, AsOf, Balance, Command, Committed, LedgerError, LedgerId, NewAccount};
use offtake_store_sql as sql;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, MutexGuard};

use crate::commit::SqliteWriter;
use crate::conn::Lite;
use crate::error::db;

/// How long a writer waits for another process's write lock.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Reader connections (writers are serialised anyway).
const POOL_MAX_CONNECTIONS: u32 = 8;
/// Page cache of the writer connection, in KiB. The writer is the only
/// connection that changes the file, so its cache stays valid between its
/// transactions (a pooled connection finds the file changed by another
/// connection and must drop its whole cache).
const WRITER_CACHE_KIB: u32 = 64 * 1024;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A ledger store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection this process writes through; its mutex serialises
    /// this process's writers, `BEGIN IMMEDIATE` serialises processes.
    writer: Mutex<SqliteConnection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, LedgerError> {
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        Self::open_with(options).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite:offtake.db`).
    pub async fn connect(url: &str) -> Result<Self, LedgerError> {
        let options = SqliteConnectOptions::from_str(url).map_err(db)?.create_if_missing(true);
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> Result<Self, LedgerError> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS));
        // An embedded database's connections do not drop while idle; the
        // ping on taking one was a hop to its worker thread and back.
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_MAX_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        MIGRATOR.run(&pool).await.map_err(|e| LedgerError::Storage(format!("migration: {e}")))?;
        // The writer's statement journals (one per multi-row statement in a
        // batch) go to memory, not a temp file: they only matter until the
        // statement ends, and the temp-file writes were 6 % of a profile.
        let mut writer = options
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .pragma("temp_store", "memory")
            .connect()
            .await
            .map_err(db)?;
        records::chain_unlinked(&mut writer).await?;
        records::rebuild_index_if_stale(&mut writer).await?;
        Ok(SqliteStore { pool, writer: Mutex::new(writer) })
    }

    /// The underlying pool, for crates that keep their own tables in the
    /// same database (and for tests that play the insider).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Where write transactions begin: the writer connection, its mutex
    /// held until the writer is dropped.
    async fn sql_writer(&self) -> SqliteWriter<MutexGuard<'_, SqliteConnection>> {
        SqliteWriter(self.writer.lock().await)
    }
}

offtake_store_sql::sql_store! {
    SqliteStore,
    backend: "sqlite",
    reads: Lite,
    ledger {
        async fn ensure_ledger(&self, ledger: &LedgerId) -> Result<(), LedgerError> {
            // The ledger and the head of its record chain, together.
            let mut writer = self.writer.lock().await;
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
            sqlx::query("INSERT OR IGNORE INTO ledgers (ledger_id, created_at_us, head_hash) VALUES (?, ?, ?)")
                .bind(ledger.as_str())
                .bind(now_us())
                .bind(genesis_hash(ledger).as_slice())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let head = record_genesis_hash(ledger);
            sqlx::query("INSERT OR IGNORE INTO record_heads (ledger_id, head_seq, head_hash) VALUES (?, 0, ?)")
                .bind(ledger.as_str())
                .bind(head.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(())
        }

        async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
            let mut writer = self.writer.lock().await;
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
            let account = sql::accounts::create(&mut Lite(&mut *tx), ledger, spec, now_us()).await?;
            tx.commit().await.map_err(db)?;
            Ok(account)
        }

        async fn create_accounts(&self, ledger: &LedgerId, specs: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
            self.create_account_sets(ledger, &[specs.to_vec()]).await?.pop().unwrap_or_else(|| Ok(Vec::new()))
        }

        async fn create_account_sets(
            &self,
            ledger: &LedgerId,
            sets: &[Vec<NewAccount>],
        ) -> Result<Vec<Result<Vec<Account>, LedgerError>>, LedgerError> {
            let mut writer = self.writer.lock().await;
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
            let sets: Vec<&[NewAccount]> = sets.iter().map(Vec::as_slice).collect();
            let outcomes = sql::accounts::create_sets(&mut Lite(&mut *tx), ledger, &sets, now_us()).await?;
            tx.commit().await.map_err(db)?;
            Ok(outcomes)
        }

        async fn commit_batch(
            &self,
            ledger: &LedgerId,
            commands: &[Command],
        ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
            if commands.is_empty() {
                return Ok(Vec::new());
            }
            write::commit_batch(&mut self.sql_writer().await, ledger, commands, now_us).await
        }

        async fn balances(
            &self,
            ledger: &LedgerId,
            accounts: &[AccountCode],
            as_of: AsOf,
        ) -> Result<Vec<Balance>, LedgerError> {
            // Accounts never change once created; the head and the legs are
            // read in one transaction, so they are one snapshot.
            let mut tx = self.pool.begin().await.map_err(db)?;
            let balances = sql::entries::balances(&mut Lite(&mut *tx), ledger, accounts, as_of).await?;
            tx.commit().await.map_err(db)?;
            Ok(balances)
        }
    }
}
