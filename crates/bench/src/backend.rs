//! The stores under test: a fresh SQLite file or a fresh PostgreSQL schema
//! per run, checked for durable settings, removed afterwards unless kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use offtake_ledger::LedgerStore;
use offtake_store_postgres::PostgresStore;
use offtake_store_sqlite::SqliteStore;

use crate::error::BenchError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

enum Place {
    SqliteFile(PathBuf),
    PostgresSchema { url: String, schema: String },
}

/// An open store and where it lives.
pub struct Backend {
    pub kind: BackendKind,
    pub store: Arc<dyn LedgerStore>,
    sqlite: Option<Arc<SqliteStore>>,
    postgres: Option<Arc<PostgresStore>>,
    place: Place,
    keep: bool,
}

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed))
}

impl Backend {
    /// A new SQLite file in `dir` (WAL, `synchronous=FULL`: the store's
    /// only configuration).
    pub async fn sqlite(dir: &Path, keep: bool) -> Result<Backend, BenchError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("offtake-bench-{}.db", unique_suffix()));
        let store = Arc::new(SqliteStore::open(&path).await?);
        Ok(Backend {
            kind: BackendKind::Sqlite,
            store: store.clone(),
            sqlite: Some(store),
            postgres: None,
            place: Place::SqliteFile(path),
            keep,
        })
    }

    /// A new schema `offtake_bench_…` in the database at `url`.
    pub async fn postgres(url: &str, keep: bool) -> Result<Backend, BenchError> {
        let schema = format!("offtake_bench_{}", unique_suffix());
        let store = Arc::new(PostgresStore::connect_in_schema(url, Some(&schema)).await?);
        Ok(Backend {
            kind: BackendKind::Postgres,
            store: store.clone(),
            sqlite: None,
            postgres: Some(store),
            place: Place::PostgresSchema { url: url.to_owned(), schema },
            keep,
        })
    }

    /// The whole store (ledger and records), for the domain services.
    pub fn full_store(&self) -> Option<Arc<dyn offtake_ledger::Store>> {
        match (&self.sqlite, &self.postgres) {
            (Some(s), _) => Some(s.clone()),
            (_, Some(p)) => Some(p.clone()),
            _ => None,
        }
    }

    /// Where the data lives (file or schema), for the report.
    pub fn location(&self) -> String {
        match &self.place {
            Place::SqliteFile(p) => p.display().to_string(),
            Place::PostgresSchema { schema, .. } => format!("schema {schema}"),
        }
    }

    /// The durability settings in force, read back from the database.
    /// Errors with `not_durable` when an acknowledged commit could be lost
    /// on power failure: SQLite `synchronous` below FULL (in WAL mode NORMAL
    /// does not fsync on commit), PostgreSQL `fsync=off` or
    /// `synchronous_commit=off`.
    pub async fn durability(&self) -> Result<String, BenchError> {
        if let Some(s) = &self.sqlite {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(s.pool()).await?;
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(s.pool()).await?;
            let sync_name = match sync {
                0 => "OFF",
                1 => "NORMAL",
                2 => "FULL",
                3 => "EXTRA",
                _ => "unknown",
            };
            let text = format!("sqlite journal_mode={journal} synchronous={sync_name}");
            // NORMAL in WAL mode does not fsync on commit: a power cut can
            // lose the last commits. Only FULL/EXTRA make every ack durable.
            if sync < 2 {
                return Err(BenchError::NotDurable(text));
            }
            return Ok(text);
        }
        if let Some(p) = &self.postgres {
            let mut parts = Vec::new();
            for name in ["fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "shared_buffers"] {
                let v: String = sqlx::query_scalar(&format!("SHOW {name}")).fetch_one(p.pool()).await?;
                if (name == "fsync" || name == "synchronous_commit") && v == "off" {
                    return Err(BenchError::NotDurable(format!("postgres {name}={v}")));
                }
                parts.push(format!("{name}={v}"));
            }
            let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(p.pool()).await?;
            return Ok(format!("postgres {version} {}", parts.join(" ")));
        }
        Err(BenchError::InvalidConfig("backend without a store".into()))
    }

    /// Refreshes the planner's statistics after bulk setup, as autovacuum
    /// would on a live PostgreSQL within a minute: without them a fresh
    /// schema plans `code = ANY(…)` as a scan of every account of the ledger.
    /// SQLite needs nothing (its store names its indexes).
    pub async fn analyze(&self) -> Result<(), BenchError> {
        if let Some(p) = &self.postgres {
            analyze_schema(p.pool()).await?;
        }
        Ok(())
    }

    /// VACUUM and ANALYZE every table of the schema, then CHECKPOINT: the
    /// steady state autovacuum keeps a live server in, after a load that
    /// rewrote index rows by the hundred thousand (each record version replaces its
    /// index rows; their dead copies stay until vacuumed and slow every
    /// index read that meets them).
    pub async fn vacuum_analyze(&self) -> Result<(), BenchError> {
        if let Some(p) = &self.postgres {
            let tables = schema_tables(p.pool()).await?;
            if !tables.is_empty() {
                sqlx::query(&format!("VACUUM (ANALYZE) {}", tables.join(", "))).execute(p.pool()).await?;
            }
            // Flush what loading dirtied now, not during the samples: the
            // checkpoint after gigabytes of loading held commits' fsyncs
            // for seconds (draw p99 136 ms against a 12.9 ms median),
            // which measures the load, not the program's size.
            sqlx::query("CHECKPOINT").execute(p.pool()).await?;
        }
        Ok(())
    }

    /// Runs [`Backend::analyze`] every `every` until the returned guard is
    /// stopped: what autovacuum does on a live PostgreSQL while a program
    /// is loaded (see [`analyze_schema`]). Without it, the statistics of a
    /// ledger that had no rows when they were taken send its lookups (`seq = ANY`, `code = ANY`,
    /// idempotency keys) through whichever index starts with `ledger_id`,
    /// a scan of the whole ledger each: loading slows with its own size.
    pub fn analyze_every(&self, every: std::time::Duration) -> Analyzer {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let pool = self.postgres.as_ref().map(|p| p.pool().clone());
        let task = tokio::spawn(async move {
            let Some(pool) = pool else { return };
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(e) = analyze_schema(&pool).await {
                    tracing::warn!(error = %e, "periodic ANALYZE failed");
                }
            }
        });
        Analyzer { stop, task }
    }

    /// Removes the database file or schema (unless kept).
    pub async fn cleanup(self) -> Result<(), BenchError> {
        let Backend { store, sqlite, postgres, place, keep, .. } = self;
        drop(store);
        if let Some(s) = sqlite {
            s.pool().close().await;
        }
        if let Some(p) = postgres {
            p.pool().close().await;
        }
        if keep {
            return Ok(());
        }
        match place {
            Place::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            Place::PostgresSchema { url, schema } => {
                let pool = sqlx::PgPool::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&pool).await?;
                pool.close().await;
            }
        }
        Ok(())
    }
}

/// Every table of the current schema ANALYZEd, and the two one-row-per-
/// ledger tables VACUUMed. One table left out of ANALYZE (record_index
/// was) keeps the statistics of a nearly empty table, and its reads go
/// through the wrong index (6 ms instead of 0.1 ms at 10,000 invoices).
/// The ledger's row is updated by every commit and account creation and
/// read by every insert's foreign-key check: unvacuumed, its dead versions
/// pile up (5,196 after 25 minutes of loading) and every check walks them
/// — queuing notices fell from thousands to 200 a second, and rose from
/// 200 to 3,600 a second after one VACUUM. This machine's PostgreSQL runs
/// without autovacuum.
async fn analyze_schema(pool: &sqlx::PgPool) -> Result<(), BenchError> {
    sqlx::query("VACUUM ledgers, record_heads").execute(pool).await?;
    let tables = schema_tables(pool).await?;
    if !tables.is_empty() {
        sqlx::query(&format!("ANALYZE {}", tables.join(", "))).execute(pool).await?;
    }
    Ok(())
}

/// A periodic ANALYZE ([`Backend::analyze_every`]) running until stopped.
pub struct Analyzer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Analyzer {
    /// Stops after the ANALYZE in flight, if any, has finished.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The tables of the current schema, quoted.
async fn schema_tables(pool: &sqlx::PgPool) -> Result<Vec<String>, BenchError> {
    Ok(sqlx::query_scalar("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
        .fetch_all(pool)
        .await?)
}
