//! Finance errors, each with a stable machine code.

use offtake_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum FinanceError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("unknown {kind} {id:?}")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {id:?} already exists with other attributes")]
    AlreadyExists { kind: &'static str, id: String },
    #[error("party {party:?} is a {actual}, not a {expected}")]
    WrongRole { party: String, expected: &'static str, actual: String },
    #[error("insufficient availability: requested {requested}, available {available} {currency}")]
    InsufficientAvailability { requested: String, available: String, currency: &'static str },
    #[error("facility {facility:?} is overadvanced by {shortfall} {currency}: no new draw until collateral or repayments cover it")]
    Overadvanced { facility: String, shortfall: String, currency: &'static str },
    #[error("facility {facility:?} is not accepted by its maker yet: it cannot be drawn before the maker signs a facility_acceptance")]
    NotAccepted { facility: String },
    #[error("{field} {date} is after today ({today}): it has not happened yet")]
    FutureDate { field: &'static str, date: String, today: String },
    #[error("currency mismatch: expected {expected}, got {got}")]
    CurrencyMismatch { expected: String, got: String },
    #[error("{what} is {state}, cannot {action}")]
    InvalidState { what: String, state: String, action: &'static str },
    #[error("document signer mismatch: {0}")]
    SignerMismatch(String),
    #[error("amount overflow")]
    AmountOverflow,
    #[error("gave up after {attempts} attempts: the facility kept changing")]
    Contention { attempts: u32 },
    #[error("signed document refused [{code}]: {message}")]
    Document { code: &'static str, message: String },
}

impl FinanceError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        use FinanceError::*;
        match self {
            Ledger(e) => e.code(),
            Invalid { .. } => "invalid_input",
            NotFound { .. } => "not_found",
            AlreadyExists { .. } => "already_exists",
            WrongRole { .. } => "wrong_role",
            InsufficientAvailability { .. } => "insufficient_availability",
            Overadvanced { .. } => "overadvanced",
            NotAccepted { .. } => "facility_not_accepted",
            FutureDate { .. } => "future_date",
            CurrencyMismatch { .. } => "currency_mismatch",
            InvalidState { .. } => "invalid_state",
            SignerMismatch(_) => "signer_mismatch",
            AmountOverflow => "amount_out_of_range",
            Contention { .. } => "contention",
            Document { code, .. } => code,
        }
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FinanceError::Invalid { field, reason: reason.into() }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        FinanceError::NotFound { kind, id: id.into() }
    }
}
