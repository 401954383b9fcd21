//! Errors of reading events.

use offtake_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The store failed, or a record did not decode.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A cursor or `Last-Event-ID` that this ledger never handed out.
    #[error("invalid cursor {0:?}: pass a next_cursor or an event id of this ledger")]
    InvalidCursor(String),
    /// A `types` filter naming no event type.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
}

impl EventError {
    /// Stable code (see docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Ledger(e) => e.code(),
            EventError::InvalidCursor(_) => "invalid_cursor",
            EventError::UnknownType(_) => "unknown_event_type",
        }
    }
}
