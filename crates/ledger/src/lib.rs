//! offtake ledger core: an append-only, double-entry, hash-chained ledger.
//!
//! This crate holds the types and every rule — money and scale, balanced
//! legs, two-phase holds, idempotency, balance constraints, the hash chain —
//! and the [`LedgerStore`] trait that storage crates implement.
//!
//! It must never do IO, know SQL or HTTP, or know about commitments and
//! facilities: the finance domain sits above it, the stores below.

#![forbid(unsafe_code)]

pub mod account;
pub mod balance;
pub mod commit;
pub mod currency;
pub mod date;
pub mod entry;
pub mod error;
pub mod forward;
pub mod hash;
pub mod money;
pub mod plan;
pub mod record;
pub mod record_chain;
pub mod routing;
pub mod row;
pub mod store;
pub mod verify;
pub mod write;

pub use account::{Account, AccountCode, Book, LedgerId, NewAccount, Side};
pub use balance::{AsOf, Balance, BalanceTotals};
pub use currency::Currency;
pub use entry::{Action, ChainHead, Command, Committed, EntryRecord, EntryType, Hash32, Layer, LegRecord, NewLeg};
pub use error::LedgerError;
pub use money::{AmountMinor, Money};
pub use record::{RecordStore, RecordWrite, Store, StoredRecord};
pub use record_chain::{verify_records, ChainedRecord, RecordChain, RecordChainReport, RecordHead};
pub use routing::RoutingStore;
pub use store::{LedgerStore, Page};
pub use verify::{verify_chain, verify_history, ChainReport, ChainVerifier, HistoryReport};
