//! Bank errors with stable codes. A refused file or operation writes
//! nothing; the message names the line or element that failed.

use offtake_finance::FinanceError;
use offtake_ledger::LedgerError;
use offtake_settlement::SettlementError;

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// The file does not follow its format; `at` is a line (`line 12`) or
    /// an element path (`Stmt/Ntry[3]/Amt`).
    #[error("malformed {format} file at {at}: {reason}")]
    Malformed { format: &'static str, at: String, reason: String },
    #[error("file is {size_bytes} bytes; at most {limit_bytes} are accepted")]
    TooLarge { size_bytes: usize, limit_bytes: usize },
    #[error("XML with a DOCTYPE or entity declarations/references is refused ({0})")]
    XmlEntity(String),
    #[error("unknown currency {code:?} at {at}")]
    UnknownCurrency { code: String, at: String },
    #[error("amount {amount:?} at {at} has more decimals than {currency} allows ({scale})")]
    AmountScale { amount: String, currency: String, scale: u32, at: String },
    #[error("the file's format is not recognised (camt.053, camt.054, MT940, BAI2, pain.002)")]
    UnknownFormat,
    #[error("bank account {0:?} is not registered")]
    UnknownAccount(String),
    #[error("statement {0:?} was already imported with different content")]
    StatementConflict(String),
    #[error("entry {0:?} was already imported with different content")]
    EntryConflict(String),
    #[error("unknown {kind} {id:?}")]
    NotFound { kind: &'static str, id: String },
    #[error("{what} is {state}; cannot {action}")]
    InvalidState { what: String, state: String, action: &'static str },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Settlement(#[from] SettlementError),
}

impl From<FinanceError> for BankError {
    fn from(e: FinanceError) -> Self {
        BankError::Settlement(SettlementError::Finance(e))
    }
}

impl From<LedgerError> for BankError {
    fn from(e: LedgerError) -> Self {
        BankError::Settlement(SettlementError::from(e))
    }
}

impl BankError {
    pub fn code(&self) -> &'static str {
        match self {
            BankError::Malformed { .. } => "malformed_file",
            BankError::TooLarge { .. } => "file_too_large",
            BankError::XmlEntity(_) => "xml_entity_refused",
            BankError::UnknownCurrency { .. } => "unknown_currency",
            BankError::AmountScale { .. } => "amount_scale",
            BankError::UnknownFormat => "unknown_format",
            BankError::UnknownAccount(_) => "unknown_bank_account",
            BankError::StatementConflict(_) => "statement_conflict",
            BankError::EntryConflict(_) => "entry_conflict",
            BankError::NotFound { .. } => "not_found",
            BankError::InvalidState { .. } => "invalid_state",
            BankError::Invalid { .. } => "invalid_input",
            BankError::Settlement(e) => e.code(),
        }
    }

    pub fn malformed(format: &'static str, at: impl Into<String>, reason: impl Into<String>) -> Self {
        BankError::Malformed { format, at: at.into(), reason: reason.into() }
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        BankError::Invalid { field, reason: reason.into() }
    }
}
