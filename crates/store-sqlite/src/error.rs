//! Database errors map to ledger errors in one place for both stores.

pub(crate) use offtake_store_sql::db;
