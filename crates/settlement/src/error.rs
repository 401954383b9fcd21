//! Settlement errors with stable codes.

use offtake_finance::FinanceError;
use offtake_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error(transparent)]
    Finance(#[from] FinanceError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("unknown {kind} {id:?}")]
    NotFound { kind: &'static str, id: String },
    #[error("external reference {0:?} was already used for a different payment")]
    DuplicateReference(String),
}

impl From<LedgerError> for SettlementError {
    fn from(e: LedgerError) -> Self {
        SettlementError::Finance(FinanceError::Ledger(e))
    }
}

impl From<offtake_signing::SigningError> for SettlementError {
    fn from(e: offtake_signing::SigningError) -> Self {
        SettlementError::Finance(e.into())
    }
}

impl SettlementError {
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::Finance(e) => e.code(),
            SettlementError::Invalid { .. } => "invalid_input",
            SettlementError::NotFound { .. } => "not_found",
            SettlementError::DuplicateReference(_) => "duplicate_reference",
        }
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        SettlementError::Invalid { field, reason: reason.into() }
    }
}
