//! offtake bank files: money in and out through the bank.
//!
//! * parsing (pure): ISO 20022 camt.053/camt.054, SWIFT MT940, BAI2 into
//!   one [`Statement`] shape; pain.002 status reports;
//! * matching (pure): which invoice or brand a credit pays, explained;
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
pub mod matching;
pub mod mt940;
pub mod statement;
pub mod xml;

pub use detect::parse_statements;
pub use error::BankError;
pub use statement::{Balance, Direction, Format, Line, Remittance, Statement, MAX_FILE_BYTES};
