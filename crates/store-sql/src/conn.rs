//! A statement run the same way on both backends: [`SqlConn`] is one
//! backend's connection, seen only as "run this SQL with these parameters",
//! and [`Dialect`] is what its SQL text must say differently.
//!
//! Why parameters as values ([`Arg`]) rather than statements generic over
//! `sqlx::Database`: generic sqlx code needs a where-clause per bound type
//! and per executor lifetime on every function, which drowns the
//! statements. Here those bounds are stated once ([`SqlDb`]), and a
//! statement reads as its SQL and its list of values. Both backends take
//! `$1`-style numbered parameters (SQLite reads `$N` as the N-th value, a
//! test in the SQLite store pins it), so a statement's text is shared whole
//! when its SQL is the same; a dialect's own statements may also use `?`,
//! the values then bound in the order listed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use offtake_ledger::plan::KeyUse;
use offtake_ledger::{
    Account, AccountCode, BalanceTotals, ChainedRecord, EntryRecord, LedgerError, LedgerId, StoredRecord,
};
use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::decode::SqlRow;
use crate::error::db;
use crate::records;

/// One parameter of a statement.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
    Bytes(&'a [u8]),
    /// A JSON document (PostgreSQL: `jsonb`; SQLite: its text).
    Json(&'a serde_json::Value),
}

/// The SQL of the shared statements that differs between the backends.
#[derive(Debug)]
pub struct Dialect {
    /// The record body as JSON text (PostgreSQL keeps `jsonb`).
    pub body_text: &'static str,
    /// The latest version of each record of a kind, `id` ascending: the
    /// record columns of [`record_columns`] for `$1` ledger, `$2` kind,
    /// ids after `$3`, at most `$4`.
    pub latest_records: &'static str,
    /// The same over every ledger, `(ledger_id, id)` ascending, with
    /// `ledger_id`: `$1` kind, after `($2, $3)`, at most `$4` (the index
    /// rebuild).
    pub latest_records_all_ledgers: &'static str,
    /// The `records` table as the chain-order read names it.
    pub records_by_chain: &'static str,
    /// The entry columns [`crate::decode::entry_row`] reads
    /// (`effective_date` as `YYYY-MM-DD` text).
    pub entry_columns: &'static str,
    /// What a read of the ledger's chain head appends to lock it (the lock
    /// that serialises a ledger's appends).
    pub lock_ledger_head: &'static str,
    /// Locks the ledger row before an account is numbered (`$1` ledger;
    /// `None`: the backend's write transaction already excludes others).
    pub lock_account_numbering: Option<&'static str>,
    /// The record head locked, with the latest version of a record as
    /// `current`: `$1` ledger, `$2` kind, `$3` id.
    pub lock_for_write: &'static str,
    /// What a read of the record head appends to lock it.
    pub lock_record_head: &'static str,
}

/// The record columns [`crate::decode::stored_record`] reads, of the table
/// named `alias` (`""` or e.g. `"r."`).
pub fn record_columns(dialect: &Dialect, alias: &str) -> String {
    let body = dialect.body_text;
    format!("{alias}kind, {alias}id, {alias}version, {alias}{body} AS body, {alias}recorded_at_us")
}

/// One backend's connection (inside a transaction or not). A store
/// hands over the connection, names its dialect and writes the statements
/// whose shape differs (lists of ids: arrays on PostgreSQL, chunked `IN`
/// lists or JSON on SQLite; bulk inserts); the record batch statements
/// have row-at-a-time defaults that a backend with array parameters
/// replaces by one statement.
#[async_trait]
pub trait SqlConn: Send {
    /// The backend.
    type Db: SqlDb;

    /// The backend's SQL where it differs.
    const DIALECT: Dialect;

    /// The connection the statements run on.
    fn raw(&mut self) -> &mut <Self::Db as Database>::Connection;

    /// Every row the statement answers.
    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row<Self>>, LedgerError> {
        Self::Db::fetch_all(self.raw(), sql, args).await.map_err(db)
    }

    /// Runs the statement; the number of rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, LedgerError> {
        Ok(Self::Db::execute(self.raw(), sql, args).await.map_err(db)?.rows_affected())
    }

    /// The first row the statement answers, if any (for statements that
    /// answer one row at most).
    async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row<Self>>, LedgerError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    /// The accounts among `codes` that exist (in no particular order).
    async fn accounts_by_code(&mut self, ledger: &LedgerId, codes: &[AccountCode])
        -> Result<Vec<Account>, LedgerError>;

    /// Entries with the given sequence numbers (ascending, missing ones
    /// skipped).
    async fn entries_by_seqs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<EntryRecord>, LedgerError>;

    /// `(ref_seq, entry_type)` of every entry that refers to one of `seqs`.
    async fn referrers(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<Vec<(i64, String)>, LedgerError>;

    /// Totals of an account after its last leg with `seq <= at_seq`, and
    /// that leg's sequence number (0: never touched by then).
    async fn totals_at(
        &mut self,
        ledger: &LedgerId,
        account_no: i64,
        at_seq: i64,
    ) -> Result<(BalanceTotals, i64), LedgerError>;

    /// See `BatchTx::current_totals`.
    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError>;

    /// See `BatchTx::key_uses`.
    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError>;

    /// See `BatchTx::insert_entries`.
    async fn insert_entries(&mut self, ledger: &LedgerId, records: &[EntryRecord]) -> Result<(), LedgerError>;

    /// See `RecordStore::get_records` (`ids` valid, sorted, distinct): one
    /// statement per record here.
    async fn latest_versions(
        &mut self,
        ledger: &LedgerId,
        kind: &str,
        ids: &[&str],
    ) -> Result<Vec<StoredRecord>, LedgerError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(records::get_record(self, ledger, kind, id).await?);
        }
        Ok(out)
    }

    /// See `RecordTx::current_versions`: one statement per record here.
    async fn current_versions(
        &mut self,
        ledger: &LedgerId,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), i64>, LedgerError> {
        let mut out = HashMap::new();
        for (kind, id) in keys {
            if let Some((_, current)) = records::lock_for_write(self, ledger, kind, id).await? {
                out.insert((kind.clone(), id.clone()), current);
            }
        }
        Ok(out)
    }

    /// See `RecordTx::replace_indexes`: two statements per record here.
    async fn replace_indexes(&mut self, ledger: &LedgerId, records: &[&StoredRecord]) -> Result<(), LedgerError> {
        for record in records {
            records::replace_index(self, ledger, record).await?;
        }
        Ok(())
    }

    /// See `RecordTx::insert_versions`: one statement per version here.
    async fn insert_versions(&mut self, ledger: &LedgerId, versions: &[ChainedRecord]) -> Result<bool, LedgerError> {
        for v in versions {
            if !records::insert_version(self, ledger, v).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A row of `C`'s backend.
pub type Row<C> = <<C as SqlConn>::Db as Database>::Row;

/// A future of a statement's run, as sqlx answers it.
pub type Run<'e, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'e>>;

/// A sqlx backend the shared statements run on: what binding [`Arg`]s and
/// running a statement need of it, stated once here rather than as
/// where-clauses on every statement. Implemented for every backend that
/// has it (PostgreSQL and SQLite).
pub trait SqlDb: Database<Row: SqlRow + Send + Sync, QueryResult: RowsAffected> {
    fn fetch_all<'e>(conn: &'e mut Self::Connection, sql: &'e str, args: &'e [Arg<'e>]) -> Run<'e, Vec<Self::Row>>;
    fn execute<'e>(conn: &'e mut Self::Connection, sql: &'e str, args: &'e [Arg<'e>]) -> Run<'e, Self::QueryResult>;
}

impl<DB> SqlDb for DB
where
    DB: Database<Row: SqlRow + Send + Sync, QueryResult: RowsAffected>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> &'q serde_json::Value: Encode<'q, DB> + Type<DB>,
{
    fn fetch_all<'e>(conn: &'e mut DB::Connection, sql: &'e str, args: &'e [Arg<'e>]) -> Run<'e, Vec<DB::Row>> {
        Box::pin(bind(sqlx::query(sql), args).fetch_all(conn))
    }

    fn execute<'e>(conn: &'e mut DB::Connection, sql: &'e str, args: &'e [Arg<'e>]) -> Run<'e, DB::QueryResult> {
        Box::pin(bind(sqlx::query(sql), args).execute(conn))
    }
}

/// The number of rows a statement changed (each backend's result type has
/// it, though not through a sqlx trait).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// Binds `args` in order: the one place that turns [`Arg`]s into a
/// backend's parameters.
fn bind<'q, DB>(
    mut query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    args: &[Arg<'q>],
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    &'q serde_json::Value: Encode<'q, DB> + Type<DB>,
{
    for arg in args {
        query = match *arg {
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
            Arg::Json(v) => query.bind(v),
        };
    }
    query
}
