//! offtake bank files: money in and out through the bank.
//!
//! * parsing (pure): ISO 20022 camt.053/camt.054, SWIFT MT940, BAI2 into
//!   one [`Statement`] shape; pain.002 status reports;
//! * matching (pure): which invoice or brand a credit pays, explained;
//!   lookup: which invoices an import reads to decide a line (by index,
//!   never the whole kind), with the same decision as over all of them;
//! * import (over the stores): idempotent per statement and per entry,
//!   matched credits queued for settlement, the rest in a reconciliation
//!   queue an operator works by hand;
//! * payouts: pain.001.001.09 credit-transfer batches for funded advances
//!   and maker remittances, their pain.002 status;
//! * cash reconciliation of statement balances against the ledger.

#![forbid(unsafe_code)]

pub mod bai2;
pub mod camt;
pub mod detect;
pub mod error;
pub mod import;
pub mod lookup;
pub mod matching;
pub mod mt940;
pub mod pain001;
pub mod pain002;
pub mod payouts;
pub mod queue;
pub mod reconcile;
pub mod registry;
pub mod service;
pub mod statement;
pub mod status;
pub mod xml;

pub use detect::parse_statements;
pub use error::BankError;
pub use import::{ImportReport, ImportStatus, LineRecord, LineState};
pub use matching::{Decision, MatchConfig, PayerMapping};
pub use queue::{HandMatch, QueueItem};
pub use registry::{BankAccount, Purpose};
pub use service::Bank;
pub use statement::{Balance, Direction, Format, Line, Remittance, Statement, MAX_FILE_BYTES};
pub use status::{StatusImport, StatusResult};
