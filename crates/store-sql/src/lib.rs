//! What the SQLite and PostgreSQL stores share below the SQL text: decoding
//! rows into ledger types, written once over `sqlx::Row`, and the mapping of
//! database errors to ledger errors. The ledger core stays free of sqlx;
//! the stores keep only their dialect (queries, locks, bulk inserts).

#![forbid(unsafe_code)]

pub mod decode;
pub mod error;
pub mod index;

pub use decode::SqlRow;
pub use error::db;
