//! Mapping of database errors to ledger errors, in one place.

use offtake_ledger::LedgerError;

pub(crate) fn db(e: sqlx::Error) -> LedgerError {
    if let sqlx::Error::Database(d) = &e {
        let msg = d.message();
        if let Some(rest) = msg.strip_prefix("append_only: ") {
            return LedgerError::AppendOnly(rest.to_owned());
        }
    }
    tracing::error!(error = %e, "sqlite error");
    LedgerError::Storage(e.to_string())
}
