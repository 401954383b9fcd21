//! offtake settlement: brand payments applied through the waterfall
//! (penalties → fees → interest → principal → remainder to the maker),
//! exactly once, from a queue that several workers may drain at once.

#![forbid(unsafe_code)]

pub mod error;
pub mod notice;
pub mod service;
pub mod waterfall;

pub use error::SettlementError;
pub use notice::{Allocation, NoticeRecord, NoticeState, PaymentNotice, Source};
pub use service::{Remittance, RemittanceStatement, RunReport, Settlement};
pub use waterfall::{split, Breakdown};
