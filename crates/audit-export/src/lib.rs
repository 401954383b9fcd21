//! offtake audit export: hands auditors and lenders the books in forms they
//! can check without trusting offtake.
//!
//! * [`bundle`] writes a signed bundle (entries, accounts with opening and
//!   closing balances, source documents, a manifest with counts, control
//!   totals, chain heads and a Merkle checkpoint); [`verify`] checks one
//!   offline and reports the first problem with its file and line.
//! * [`merkle`] is the RFC 6962 / 9162 tree with inclusion and consistency
//!   proofs; [`checkpoint`] signs tree heads and builds proofs from a store.
//! * [`csv_export`] (one row per leg) and [`beancount`] (for `bean-check`
//!   and plain-text accounting tools).
//!
//! It reads the ledger only through the `LedgerStore` trait, a page at a
//! time, and never holds the ledger in memory. It must never write to the
//! ledger, and never need a database to verify.

#![forbid(unsafe_code)]

pub mod beancount;
pub mod bundle;
pub mod checkpoint;
pub mod csv_export;
pub mod documents;
pub mod error;
pub mod format;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod published;
pub mod source;
pub mod verify;
pub mod witness;

pub use bundle::{export_bundle, BundleOptions};
pub use error::{AuditError, Loc};
pub use keys::LedgerKey;
pub use source::PeriodSpec;
pub use verify::{verify_bundle, VerifyReport};
