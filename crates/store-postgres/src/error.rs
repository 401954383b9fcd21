//! Mapping of database errors to ledger errors, in one place.

use offtake_ledger::LedgerError;

pub(crate) fn db(e: sqlx::Error) -> LedgerError {
    if let sqlx::Error::Database(d) = &e {
        if let Some(rest) = d.message().strip_prefix("append_only: ") {
            return LedgerError::AppendOnly(rest.to_owned());
        }
    }
    tracing::error!(error = %e, "postgres error");
    LedgerError::Storage(e.to_string())
}
