//! Why a domain object could not be shown on the wire.

use offtake_ledger::LedgerError;

/// A domain object that cannot be converted: only possible for data the
/// domain itself stored malformed (e.g. an unknown currency code in a
/// statement line), so callers treat it as an internal error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

impl WireError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            WireError::Ledger(e) => e.code(),
            WireError::Malformed { .. } => "malformed_object",
        }
    }
}
