//! Harness errors, each with a stable machine code.

use offtake_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("database: {0}")]
    Database(String),
    #[error("refusing to benchmark a non-durable configuration: {0}")]
    NotDurable(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("invariant violated after the run: {0}")]
    Invariant(String),
    #[error("http: {0}")]
    Http(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl BenchError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            BenchError::Ledger(e) => e.code(),
            BenchError::Database(_) => "database",
            BenchError::NotDurable(_) => "not_durable",
            BenchError::InvalidConfig(_) => "invalid_config",
            BenchError::Invariant(_) => "invariant_violated",
            BenchError::Http(_) => "http",
            BenchError::Io(_) => "io",
        }
    }
}

impl From<sqlx::Error> for BenchError {
    fn from(e: sqlx::Error) -> Self {
        BenchError::Database(e.to_string())
    }
}
