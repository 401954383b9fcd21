//! Payment notices in the settlement queue, the waterfall that applied
//! them, settlement runs and remittances to makers.

use offtake_finance::chart::FacilityPart;
use offtake_ledger::Currency;
use offtake_settlement::notice::NoticeState;
use offtake_settlement::{
    Breakdown, NoticeRecord, Remittance as DomainRemittance, RemittanceStatement as DomainStatement,
    RunReport as DomainRunReport, Source,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::error::WireError;
use crate::money::{instant_of_us, Money};

wire_enum! {
    /// Where the money comes from.
    PaymentSource from Source {
        /// Cash received from the brand (a bank notification).
        Cash = "cash" <= Cash,
        /// The brand's credit from earlier overpayments.
        BrandCredit = "brand_credit" <= BrandCredit,
    }
}

wire_enum! {
    /// A part of the maker's debt, in waterfall order.
    DebtPart from FacilityPart {
        Penalty = "penalty" <= Penalty,
        Fees = "fees" <= Fees,
        Interest = "interest" <= Interest,
        Principal = "principal" <= Principal,
    }
}

/// Where a payment is in the settlement queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Queued,
    /// A worker is applying it.
    Processing,
    /// Applied through the waterfall (`waterfall`, `entry_seq`).
    Applied,
    /// Matched nothing; held in suspense (`suspense_reason`, `entry_seq`).
    Suspense,
    /// Refused without booking anything (`rejection`).
    Rejected,
}

/// An explicit allocation to one invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Allocation {
    pub invoice: String,
    /// At most this much; absent = up to the invoice's open amount.
    #[serde(default)]
    pub amount: Option<Money>,
}

/// What a payment paid on one invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceApplied {
    pub invoice: String,
    pub amount: Money,
}

/// What a payment paid on one part of the maker's debt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartPaid {
    pub part: DebtPart,
    pub amount: Money,
}

/// How a payment was applied: invoices first, then the maker's debt to
/// the lender (penalty → fees → interest → principal), the rest to the
/// maker; anything beyond every invoice is the brand's credit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Waterfall {
    pub amount: Money,
    pub invoices: Vec<InvoiceApplied>,
    /// Sum of `invoices`.
    pub applied: Money,
    /// Paid to the lender, in waterfall order.
    pub debt: Vec<PartPaid>,
    pub debt_paid: Money,
    /// Applied but not owed to the lender: payable to the maker.
    pub remainder: Money,
    /// Beyond every invoice: credit owed to the brand.
    pub overpayment: Money,
}

impl Waterfall {
    pub fn of(b: Breakdown, c: Currency) -> Self {
        let m = |minor| Money::new(minor, c);
        Waterfall {
            amount: m(b.amount_minor),
            invoices: b
                .invoices
                .into_iter()
                .map(|i| InvoiceApplied { invoice: i.invoice, amount: m(i.amount_minor) })
                .collect(),
            applied: m(b.applied_minor),
            debt: b.debt.into_iter().map(|p| PartPaid { part: p.part.into(), amount: m(p.amount_minor) }).collect(),
            debt_paid: m(b.debt_paid_minor),
            remainder: m(b.remainder_minor),
            overpayment: m(b.overpayment_minor),
        }
    }

    /// What was paid on one part of the debt.
    pub fn paid_minor(&self, part: DebtPart) -> i64 {
        self.debt.iter().filter(|p| p.part == part).map(|p| p.amount.amount_minor).sum()
    }
}

/// Why a payment was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejection {
    #[schema(example = "currency_mismatch")]
    pub code: String,
    pub message: String,
}

/// A brand's payment notice and its state in the settlement queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    /// The bank's reference, unique per payment: a replay carries the same.
    #[schema(example = "wire-20260405-001")]
    pub external_ref: String,
    #[schema(example = "brand-acme")]
    pub brand: String,
    #[schema(example = "f1")]
    pub facility: String,
    pub amount: Money,
    pub value_date: Date,
    /// Empty: the brand's open invoices on the facility, oldest due first.
    pub allocations: Vec<Allocation>,
    pub source: PaymentSource,
    /// SHA-256 (hex) of the signed notice, when the brand signed one.
    #[serde(default)]
    pub source_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub status: PaymentStatus,
    /// The ledger entry that booked it (applied or suspense).
    #[serde(default)]
    pub entry_seq: Option<i64>,
    /// How it was applied (applied only).
    #[serde(default)]
    pub waterfall: Option<Waterfall>,
    /// Why it is in suspense (suspense only).
    #[serde(default)]
    pub suspense_reason: Option<String>,
    /// Why it was refused (rejected only).
    #[serde(default)]
    pub rejection: Option<Rejection>,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Queued => "queued",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Applied => "applied",
            PaymentStatus::Suspense => "suspense",
            PaymentStatus::Rejected => "rejected",
        }
    }
}

impl Payment {
    /// The wire status of a queue state.
    pub fn status_of(state: &NoticeState) -> PaymentStatus {
        match state {
            NoticeState::Queued => PaymentStatus::Queued,
            NoticeState::Processing { .. } => PaymentStatus::Processing,
            NoticeState::Applied { .. } => PaymentStatus::Applied,
            NoticeState::Suspense { .. } => PaymentStatus::Suspense,
            NoticeState::Rejected { .. } => PaymentStatus::Rejected,
        }
    }
}

impl From<NoticeRecord> for Payment {
    fn from(r: NoticeRecord) -> Self {
        let n = r.notice;
        let c = n.currency;
        let mut p = Payment {
            external_ref: n.external_ref,
            brand: n.brand,
            facility: n.facility,
            amount: Money::new(n.amount_minor, c),
            value_date: n.value_date,
            allocations: n
                .allocations
                .into_iter()
                .map(|a| Allocation { invoice: a.invoice, amount: a.amount_minor.map(|m| Money::new(m, c)) })
                .collect(),
            source: n.source.into(),
            source_hash: n.source_hash,
            received_at: instant_of_us(r.received_at_us),
            status: Payment::status_of(&r.state),
            entry_seq: None,
            waterfall: None,
            suspense_reason: None,
            rejection: None,
        };
        match r.state {
            NoticeState::Queued | NoticeState::Processing { .. } => {}
            NoticeState::Applied { seq, breakdown } => {
                p.entry_seq = Some(seq);
                p.waterfall = Some(Waterfall::of(breakdown, c));
            }
            NoticeState::Suspense { seq, reason } => {
                p.entry_seq = Some(seq);
                p.suspense_reason = Some(reason);
            }
            NoticeState::Rejected { code, message } => {
                p.rejection = Some(Rejection { code, message });
            }
        }
        p
    }
}

/// What one settlement run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunReport {
    pub applied: u64,
    pub suspense: u64,
    pub rejected: u64,
    /// Claimed by another worker (or lost a race to one).
    pub skipped: u64,
}

impl From<DomainRunReport> for RunReport {
    fn from(r: DomainRunReport) -> Self {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        RunReport { applied: n(r.applied), suspense: n(r.suspense), rejected: n(r.rejected), skipped: n(r.skipped) }
    }
}

/// A payout to a maker of what the waterfall left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Remittance {
    pub facility: String,
    pub maker: String,
    #[schema(example = "remit-0001")]
    pub reference: String,
    pub on: Date,
    /// Zero when nothing was owed.
    pub amount: Money,
    /// The ledger entry, absent when nothing was paid.
    #[serde(default)]
    pub entry_seq: Option<i64>,
}

impl Remittance {
    pub fn of(r: DomainRemittance, c: Currency) -> Self {
        Remittance {
            amount: Money::new(r.amount_minor, c),
            facility: r.facility,
            maker: r.maker,
            reference: r.reference,
            on: r.on,
            entry_seq: r.seq,
        }
    }
}

/// What a maker was left by one payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemittanceLine {
    pub external_ref: String,
    pub value_date: Date,
    pub entry_seq: i64,
    pub applied: Money,
    pub debt_paid: Money,
    pub remainder: Money,
}

/// A maker's remittance statement for one facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemittanceStatement {
    pub facility: String,
    pub maker: String,
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub lines: Vec<RemittanceLine>,
    pub remittances: Vec<Remittance>,
    pub remainder_total: Money,
    pub remitted: Money,
    /// Still to pay the maker.
    pub payable: Money,
}

impl TryFrom<DomainStatement> for RemittanceStatement {
    type Error = WireError;

    fn try_from(s: DomainStatement) -> Result<Self, WireError> {
        let c = Currency::from_code(&s.currency)?;
        let m = |minor| Money::new(minor, c);
        Ok(RemittanceStatement {
            lines: s
                .lines
                .into_iter()
                .map(|l| RemittanceLine {
                    external_ref: l.external_ref,
                    value_date: l.value_date,
                    entry_seq: l.seq,
                    applied: m(l.applied_minor),
                    debt_paid: m(l.debt_paid_minor),
                    remainder: m(l.remainder_minor),
                })
                .collect(),
            remittances: s.remittances.into_iter().map(|r| Remittance::of(r, c)).collect(),
            remainder_total: m(s.remainder_total_minor),
            remitted: m(s.remitted_minor),
            payable: m(s.payable_minor),
            facility: s.facility,
            maker: s.maker,
            currency: s.currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use offtake_settlement::{NoticeRecord, PaymentNotice};

    use super::*;

    fn record(state: NoticeState) -> NoticeRecord {
        NoticeRecord {
            notice: PaymentNotice {
                external_ref: "bank-1".into(),
                brand: "acme".into(),
                facility: "f1".into(),
                currency: Currency::from_code("USD").unwrap(),
                amount_minor: 5_000_000,
                value_date: time::macros::date!(2026 - 04 - 05),
                allocations: vec![],
                source: Source::Cash,
                source_hash: None,
            },
            state,
            received_at_us: 1_775_347_200_000_000,
        }
    }

    #[test]
    fn an_applied_payment_shows_its_waterfall_and_no_plan() {
        let breakdown = Breakdown {
            amount_minor: 5_000_000,
            invoices: vec![],
            applied_minor: 5_000_000,
            debt: vec![offtake_settlement::waterfall::PartPaid { part: FacilityPart::Fees, amount_minor: 80_000 }],
            debt_paid_minor: 80_000,
            remainder_minor: 4_920_000,
            overpayment_minor: 0,
        };
        let p = Payment::from(record(NoticeState::Applied { seq: 99, breakdown }));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["status"], "applied");
        assert_eq!(json["entry_seq"], 99);
        assert_eq!(json["value_date"], "2026-04-05");
        assert_eq!(json["received_at"], "2026-04-05T00:00:00Z");
        assert_eq!(
            json["waterfall"]["debt"][0],
            serde_json::json!({"part": "fees", "amount": {"amount": "800.00", "amount_minor": 80_000, "currency": "USD"}})
        );
        assert_eq!(p.waterfall.unwrap().paid_minor(DebtPart::Fees), 80_000);
        let processing =
            Payment::from(record(NoticeState::Processing { worker: "w".into(), claimed_at_us: 0, plan: None }));
        assert_eq!(processing.status, PaymentStatus::Processing);
        let json = serde_json::to_value(&processing).unwrap();
        assert!(json.get("plan").is_none() && json.get("worker").is_none(), "queue internals stay inside: {json}");
        let rejected =
            Payment::from(record(NoticeState::Rejected { code: "currency_mismatch".into(), message: "m".into() }));
        assert_eq!(rejected.rejection.map(|r| r.code), Some("currency_mismatch".to_owned()));
    }
}
