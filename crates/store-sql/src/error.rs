//! Mapping of database errors to ledger errors, in one place for both
//! stores.

use offtake_ledger::LedgerError;

/// Maps a database error: the append-only triggers' refusals keep their
/// stable code, anything else is a storage error (and is logged, since the
/// caller only sees a generic message).
pub fn db(e: sqlx::Error) -> LedgerError {
    if let sqlx::Error::Database(d) = &e {
        if let Some(rest) = d.message().strip_prefix("append_only: ") {
            return LedgerError::AppendOnly(rest.to_owned());
        }
    }
    tracing::error!(error = %e, "database error");
    LedgerError::Storage(e.to_string())
}
