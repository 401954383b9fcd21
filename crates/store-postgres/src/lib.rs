//! offtake ledger store on PostgreSQL: the production store for a lender's
//! platform. Migrations are embedded and applied on connect.
//!
//! This crate holds SQL only; every ledger rule lives in
//! `offtake_ledger::plan`. Each ledger's appends are serialised by the row
//! lock on its head (see `commit`); reads never take locks.

#![forbid(unsafe_code)]

mod commit;
mod conn;
mod entries;
mod error;
mod records;

use std::time::Duration;

use offtake_ledger::date::now_us;
use offtake_ledger::hash::genesis_hash;
use offtake_ledger::record_chain::record_genesis_hash;
use offtake_ledger::write;
use offtake_ledger::{Account, AccountCode, AsOf, Balance, Command, Committed, LedgerError, LedgerId, NewAccount};
use offtake_store_sql as sql;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::commit::PgWriter;
use crate::conn::Pg;
use crate::error::db;

/// Connections in the pool. Writers of one ledger queue on its head lock;
/// more connections serve readers and other ledgers.
const POOL_MAX_CONNECTIONS: u32 = 16;
const CONNECT_TIMEOUT_MS: u64 = 5_000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, LedgerError> {
        Self::connect_in_schema(url, None).await
    }

    /// Connects with every table in `schema` (created if missing). One
    /// schema per tenant, or per test so tests run in parallel.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self, LedgerError> {
        let mut options: PgConnectOptions = url.parse().map_err(db)?;
        if let Some(schema) = schema {
            if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(LedgerError::InvalidInput { field: "schema", reason: "a-z, 0-9 and _ only".into() });
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
                .connect_with(options.clone())
                .await
                .map_err(db)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&admin).await.map_err(db)?;
            admin.close().await;
            options = options.options([("search_path", schema)]);
        }
        // No ping when a connection is taken from the pool: sqlx already
        // pings each one as it is returned (and drops it if that fails), so
        // a second ping on the way out cost every read a round trip of its
        // own (measured: an event page's two look-ups took more time in
        // pings than in their statements). A connection the server drops
        // while it sits idle fails the one operation that takes it next,
        // with a storage error its caller retries under its idempotency key.
        let pool = PgPoolOptions::new()
            .max_connections(POOL_MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(db)?;
        MIGRATOR.run(&pool).await.map_err(|e| LedgerError::Storage(format!("migration: {e}")))?;
        records::chain_unlinked(&pool).await?;
        records::rebuild_index_if_stale(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// The underlying pool, for crates that keep their own tables in the
    /// same database (and for tests that play the insider).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Where write transactions begin: a connection of the pool each.
    async fn sql_writer(&self) -> PgWriter<'_> {
        PgWriter(&self.pool)
    }
}

offtake_store_sql::sql_store! {
    PostgresStore,
    backend: "postgres",
    reads: Pg,
    ledger {
        async fn ensure_ledger(&self, ledger: &LedgerId) -> Result<(), LedgerError> {
            // The ledger and the head of its record chain, in one statement
            // (the foreign key is checked at its end).
            sqlx::query(
                "WITH l AS (INSERT INTO ledgers (ledger_id, created_at_us, head_hash) VALUES ($1, $2, $3) \
                            ON CONFLICT DO NOTHING) \
                 INSERT INTO record_heads (ledger_id, head_seq, head_hash) VALUES ($1, 0, $4) ON CONFLICT DO NOTHING",
            )
            .bind(ledger.as_str())
            .bind(now_us())
            .bind(genesis_hash(ledger).as_slice())
            .bind(record_genesis_hash(ledger).as_slice())
            .execute(&self.pool)
            .await
            .map_err(db)?;
            Ok(())
        }

        async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
            let mut tx = self.pool.begin().await.map_err(db)?;
            let account = sql::accounts::create(&mut Pg(&mut *tx), ledger, spec, now_us()).await?;
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
            let mut tx = self.pool.begin().await.map_err(db)?;
            let sets: Vec<&[NewAccount]> = sets.iter().map(Vec::as_slice).collect();
            let outcomes = sql::accounts::create_sets(&mut Pg(&mut *tx), ledger, &sets, now_us()).await?;
            tx.commit().await.map_err(db)?;
            Ok(outcomes)
        }

        async fn commit_batch(
            &self,
            ledger: &LedgerId,
            commands: &[Command],
        ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
            write::commit_batch(&mut self.sql_writer().await, ledger, commands, now_us).await
        }

        async fn balances(
            &self,
            ledger: &LedgerId,
            accounts: &[AccountCode],
            as_of: AsOf,
        ) -> Result<Vec<Balance>, LedgerError> {
            // Accounts never change once created; REPEATABLE READ makes the
            // head and the legs one snapshot.
            let mut tx = self.pool.begin().await.map_err(db)?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let balances = sql::entries::balances(&mut Pg(&mut *tx), ledger, accounts, as_of).await?;
            tx.commit().await.map_err(db)?;
            Ok(balances)
        }
    }
}
