//! Webhook errors.

use offtake_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Events(#[from] offtake_events::EventError),
    /// A URL that is not absolute `http(s)://`, or a bad types list.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("webhook endpoint {0:?} not found")]
    NotFound(String),
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Ledger(e) => e.code(),
            WebhookError::Events(e) => e.code(),
            WebhookError::Invalid { .. } => "invalid_input",
            WebhookError::NotFound(_) => "not_found",
        }
    }
}
