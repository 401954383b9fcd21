//! offtake wire objects: the one JSON contract of the HTTP API, the
//! dashboard and the CLI.
//!
//! Stored records (finance, settlement, signing, ledger) keep their own
//! versioned format; these types are what leaves the process. Each has a
//! `ToSchema` so the OpenAPI document describes exactly what is sent, and a
//! conversion *from* the domain type, so a domain change that matters to
//! clients fails to compile here rather than silently changing the wire.
//!
//! Conventions, everywhere:
//! * every amount is a [`Money`]: `{"amount": "123.45", "amount_minor":
//!   12345, "currency": "USD"}` — the decimal string for people and
//!   spreadsheets, the exact integer for programs;
//! * dates are `YYYY-MM-DD` strings (`format: date`), instants RFC 3339 UTC
//!   (`format: date-time`);
//! * rates are integers in basis points, named `…_bps`;
//! * lists are pages: `items` and an opaque `next_cursor`.

#![forbid(unsafe_code)]

#[macro_use]
mod macros;

pub mod advance;
pub mod bank;
pub mod bank_files;
pub mod certificate;
pub mod commitment;
pub mod error;
pub mod event;
pub mod facility;
pub mod invoice;
pub mod ledger;
pub mod money;
pub mod page;
pub mod party;
pub mod payment;
pub mod signing;
pub mod statement;
pub mod webhook;

pub use advance::{Advance, AdvanceStatus};
pub use bank::{BankQueueItem, CashReconDay, CashReconItem, MatchRule, MatchedInvoice, PaymentMatched};
pub use bank_files::{
    AccountPurpose, BankAccount, BankImport, Direction, HandMatched, ImportStatus, ImportedLine, ImportedStatement,
    LineDecision, LineDetail, PayerMap, Payout, PayoutBatch, PayoutKind, PayoutResult, PayoutStatus,
    PayoutStatusImport,
};
pub use certificate::{CertificateSignature, SignatureAct};
pub use commitment::{Commitment, CommitmentStatus, Tranche, TrancheStatus};
pub use error::WireError;
pub use event::{
    AvailabilityChanged, CovenantChanged, CovenantState, Event, EventPage, EventPayload, InvoiceOverdue,
    TrancheDelivered, TrancheMissed, EVENT_TYPES,
};
pub use facility::{
    AccrualReport, Availability, BrandLine, DayCount, Eligibility, Facility, FacilityStatus, FacilityTerms, Rounding,
    TrancheLine,
};
pub use invoice::{Invoice, InvoiceKind, InvoicePayment, InvoiceStatus};
pub use ledger::{Account, Balance, ChainHead, ChainReport, Entry, Leg};
pub use money::{instant_of_us, Money};
pub use page::*;
pub use party::{
    key_id_of, ApiKey, IssuedApiKey, Party, PartyKind, Role, API_KEY_ID_BYTES, API_KEY_PREFIX, API_KEY_SECRET_BYTES,
};
pub use payment::{
    Allocation, DebtPart, InvoiceApplied, PartPaid, Payment, PaymentSource, PaymentStatus, Rejection, Remittance,
    RemittanceLine, RemittanceStatement, RunReport, Waterfall,
};
pub use signing::{Revocation, SigningKey, SigningRole};
pub use statement::{
    BrandCommitmentLine, BrandStatement, BrandTotals, DueLine, ExposureLine, IncomeLine, LenderStatement,
    MakerFacilityLine, MakerStatement, PartyStatement,
};
pub use webhook::{
    FailedDelivery, NewWebhookEndpoint, WebhookAttempt, WebhookAttemptList, WebhookEndpoint, WebhookEndpointList,
};
