//! Events: what changed, in ledger order, as the same typed objects the API
//! answers. `offtake-events` derives them from the record chain; the API
//! lists and streams them, the CLI prints them.

use offtake_finance::CovenantState as DomainCovenantState;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::money::Money;
use crate::{Advance, CertificateSignature, Commitment, Invoice, Payment, PaymentMatched, Remittance, Tranche};

/// A tranche delivered (in whole or in part): the commitment's parties and
/// the tranche as it stands after the delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrancheDelivered {
    #[schema(example = "c-acme-2026")]
    pub commitment: String,
    pub brand: String,
    pub maker: String,
    /// 1, 2, … within the tranche.
    pub delivery_number: u32,
    pub delivered_on: Date,
    /// Decimal string, as delivered.
    pub quantity: String,
    pub value: Money,
    /// The invoice raised for this delivery.
    pub invoice: String,
    pub tranche: Tranche,
}

/// A tranche whose delivery window closed without delivery, as the end of
/// day of `on` found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrancheMissed {
    pub facility: String,
    pub commitment: String,
    pub tranche: String,
    pub on: Date,
}

/// An invoice past its due date and grace days with money still open, as
/// the end of day of `on` found it (`invoice.overdue`); the same object
/// says an invoice went past `default_days_past_due` (`invoice.defaulted`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceOverdue {
    pub facility: String,
    pub invoice: String,
    pub brand: String,
    pub on: Date,
}

/// A facility's availability at the end of `on`, against the day before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityChanged {
    pub facility: String,
    pub on: Date,
    /// Absent for a facility's first closed day.
    #[serde(default)]
    pub previous: Option<Money>,
    pub available: Money,
    pub drawn: Money,
    pub net_base: Money,
}

/// A covenant's state at the end of `on`, against the day before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CovenantChanged {
    pub facility: String,
    pub on: Date,
    /// `max_brand_concentration`, `no_overadvance`, `max_days_past_due`,
    /// `max_missed_delivery_share`, `min_eligible_collateral`.
    pub covenant: String,
    /// `met`, `near_breach` or `breached`; absent on a facility's first
    /// closed day.
    #[serde(default)]
    pub previous_state: Option<CovenantState>,
    pub state: CovenantState,
    /// The measured value (bps, days or minor units, as the name says).
    pub value: i64,
    pub limit: i64,
}

wire_enum! {
    CovenantState from DomainCovenantState {
        Met = "met" <= Met,
        NearBreach = "near_breach" <= NearBreach,
        Breached = "breached" <= Breached,
    }
}

/// What happened, with its payload: `type` names the event, `data` is the
/// object it is about (for lifecycle events, the object as the change left
/// it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum EventPayload {
    /// A maker's signed request for an advance was accepted (availability held).
    #[serde(rename = "advance.requested")]
    AdvanceRequested(Advance),
    /// The lender countersigned the request.
    #[serde(rename = "advance.approved")]
    AdvanceApproved(Advance),
    /// The advance was funded (in the same change as its approval).
    #[serde(rename = "advance.funded")]
    AdvanceFunded(Advance),
    /// The lender rejected the request; the hold was released.
    #[serde(rename = "advance.rejected")]
    AdvanceRejected(Advance),
    /// The request lapsed undecided; the hold was released.
    #[serde(rename = "advance.expired")]
    AdvanceExpired(Advance),
    #[serde(rename = "commitment.submitted")]
    CommitmentSubmitted(Commitment),
    /// A new signed version was accepted.
    #[serde(rename = "commitment.amended")]
    CommitmentAmended(Commitment),
    #[serde(rename = "commitment.cancelled")]
    CommitmentCancelled(Commitment),
    #[serde(rename = "tranche.delivered")]
    TrancheDelivered(TrancheDelivered),
    #[serde(rename = "tranche.missed")]
    TrancheMissed(TrancheMissed),
    #[serde(rename = "invoice.issued")]
    InvoiceIssued(Invoice),
    #[serde(rename = "invoice.overdue")]
    InvoiceOverdue(InvoiceOverdue),
    /// More than `default_days_past_due` past due with money still open.
    #[serde(rename = "invoice.defaulted")]
    InvoiceDefaulted(InvoiceOverdue),
    #[serde(rename = "invoice.paid")]
    InvoicePaid(Invoice),
    /// A payment notice was queued.
    #[serde(rename = "payment.received")]
    PaymentReceived(Payment),
    /// A bank statement credit was matched to a brand's invoices (by a
    /// rule at import, or by hand) and queued as a payment.
    #[serde(rename = "payment.matched")]
    PaymentMatched(PaymentMatched),
    /// The waterfall applied it.
    #[serde(rename = "payment.applied")]
    PaymentApplied(Payment),
    /// It matched nothing and is held in suspense.
    #[serde(rename = "payment.suspense")]
    PaymentSuspense(Payment),
    /// It was refused without booking anything.
    #[serde(rename = "payment.rejected")]
    PaymentRejected(Payment),
    #[serde(rename = "remittance.sent")]
    RemittanceSent(Remittance),
    #[serde(rename = "availability.changed")]
    AvailabilityChanged(AvailabilityChanged),
    #[serde(rename = "covenant.changed")]
    CovenantChanged(CovenantChanged),
    /// The maker attested, or the lender reviewed, a day's borrowing-base
    /// certificate.
    #[serde(rename = "certificate.signed")]
    CertificateSigned(CertificateSignature),
}

/// Every event type, as `type` spells it.
pub const EVENT_TYPES: &[&str] = &[
    "advance.requested",
    "advance.approved",
    "advance.funded",
    "advance.rejected",
    "advance.expired",
    "commitment.submitted",
    "commitment.amended",
    "commitment.cancelled",
    "tranche.delivered",
    "tranche.missed",
    "invoice.issued",
    "invoice.overdue",
    "invoice.defaulted",
    "invoice.paid",
    "payment.received",
    "payment.matched",
    "payment.applied",
    "payment.suspense",
    "payment.rejected",
    "remittance.sent",
    "availability.changed",
    "covenant.changed",
    "certificate.signed",
];

impl EventPayload {
    /// What an event is about, in a few words.
    pub fn subject(&self) -> String {
        use EventPayload as P;
        match self {
            P::AdvanceRequested(a)
            | P::AdvanceApproved(a)
            | P::AdvanceFunded(a)
            | P::AdvanceRejected(a)
            | P::AdvanceExpired(a) => {
                format!("{} {}", a.id, a.amount.amount)
            }
            P::CommitmentSubmitted(c) | P::CommitmentAmended(c) | P::CommitmentCancelled(c) => {
                format!("{} v{}", c.doc_id, c.doc_version)
            }
            P::TrancheDelivered(t) => format!("{}/{} #{}", t.commitment, t.tranche.id, t.delivery_number),
            P::TrancheMissed(t) => format!("{}/{} on {}", t.commitment, t.tranche, t.on),
            P::InvoiceIssued(i) | P::InvoicePaid(i) => format!("{} {}", i.id, i.amount.amount),
            P::InvoiceOverdue(i) | P::InvoiceDefaulted(i) => format!("{} on {}", i.invoice, i.on),
            P::PaymentMatched(m) => format!("{} {} ({})", m.reference, m.amount.amount, m.rule.as_str()),
            P::PaymentReceived(x) | P::PaymentApplied(x) | P::PaymentSuspense(x) | P::PaymentRejected(x) => {
                format!("{} {}", x.external_ref, x.amount.amount)
            }
            P::RemittanceSent(r) => format!("{} {}", r.reference, r.amount.amount),
            P::AvailabilityChanged(a) => format!("{} {} on {}", a.facility, a.available.amount, a.on),
            P::CovenantChanged(c) => format!("{} {} on {}", c.covenant, c.state, c.on),
            P::CertificateSigned(c) => format!("{} {} of {}", c.facility, c.act, c.as_of),
        }
    }

    /// The event's type, as `type` spells it.
    pub fn type_name(&self) -> &'static str {
        use EventPayload::*;
        match self {
            AdvanceRequested(_) => "advance.requested",
            AdvanceApproved(_) => "advance.approved",
            AdvanceFunded(_) => "advance.funded",
            AdvanceRejected(_) => "advance.rejected",
            AdvanceExpired(_) => "advance.expired",
            CommitmentSubmitted(_) => "commitment.submitted",
            CommitmentAmended(_) => "commitment.amended",
            CommitmentCancelled(_) => "commitment.cancelled",
            TrancheDelivered(_) => "tranche.delivered",
            TrancheMissed(_) => "tranche.missed",
            InvoiceIssued(_) => "invoice.issued",
            InvoiceOverdue(_) => "invoice.overdue",
            InvoiceDefaulted(_) => "invoice.defaulted",
            InvoicePaid(_) => "invoice.paid",
            PaymentReceived(_) => "payment.received",
            PaymentMatched(_) => "payment.matched",
            PaymentApplied(_) => "payment.applied",
            PaymentSuspense(_) => "payment.suspense",
            PaymentRejected(_) => "payment.rejected",
            RemittanceSent(_) => "remittance.sent",
            AvailabilityChanged(_) => "availability.changed",
            CovenantChanged(_) => "covenant.changed",
            CertificateSigned(_) => "certificate.signed",
        }
    }
}

/// One event. Delivered at least once, in ledger order; `id` is stable, so
/// a consumer deduplicates on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// `evt_{ledger}_{seq}_{n}`: the n-th event of record version `seq`.
    #[schema(example = "evt_main_42_0")]
    pub id: String,
    #[schema(example = "main")]
    pub ledger: String,
    /// Position of the change in the ledger's record chain (events of one
    /// ledger come in increasing `seq`, then `id`).
    pub seq: i64,
    /// When the change committed.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The parties allowed to see the event (besides admins and auditors).
    pub parties: Vec<String>,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// One page of events. Unlike other pages, `next_cursor` is always present:
/// it marks how far the ledger was read, so polling with it returns only
/// what happened since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<Event>,
    #[schema(example = "42")]
    pub next_cursor: String,
}
