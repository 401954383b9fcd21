//! What the SQLite and PostgreSQL stores share: the statements whose SQL is
//! the same on both (`accounts`, `entries`, `records`, run through a backend's `SqlConn` with its
//! `Dialect`), decoding rows into ledger types, written once over
//! `sqlx::Row`, and the mapping of database errors to ledger errors. The
//! ledger core stays free of sqlx; the stores keep only their dialect
//! (queries that differ, locks, bulk inserts).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod conn;
pub mod decode;
pub mod entries;
pub mod error;
pub mod index;
pub mod records;
pub mod store;

pub use conn::{Arg, Dialect, SqlConn};
pub use decode::SqlRow;
pub use error::db;
