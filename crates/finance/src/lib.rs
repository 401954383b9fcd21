//! offtake financing domain: parties, signed purchase commitments,
//! facilities, borrowing base and availability, advances, interest,
//! deliveries and invoices.
//!
//! No SQL and no HTTP: state lives in the ledger (`LedgerStore`) and in
//! versioned records (`RecordStore`), through traits both stores implement.

#![forbid(unsafe_code)]

pub mod aging;
pub mod base;
pub mod certificate;
pub mod chart;
pub mod covenants;
pub mod error;
pub mod interest;
pub mod lifecycle;
pub mod model;
pub mod rate;
pub mod reserves;
pub mod service;
pub mod terms;

pub use aging::{AgingBuckets, AgingReport, InvoiceState};
pub use base::{availability, borrowing_base, Availability, BaseInput, Eligibility};
pub use certificate::{certificate_hash, Certificate, DiffLine};
pub use covenants::{CovenantResult, CovenantState, CovenantTerms};
pub use error::FinanceError;
pub use lifecycle::{TrancheState, TrancheView};
pub use model::*;
pub use rate::{DayCount, Rounding};
pub use reserves::{Reserve, ReserveAmount, ReserveLine};
pub use service::{
    delivery_invoice_id, invoice_id, invoice_payment_attachment_of, not_after_today, AccrualReport,
    CertificateSignature, DocSigner, Finance, Reaccrual, SignatureAct, SignedDocument,
};
pub use terms::{CollateralTerms, FacilityTerms};
