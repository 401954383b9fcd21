//! Bank files on the wire: the reconciliation queue (credits no rule
//! matched), the cash reconciliation of statement balances against the
//! ledger, and what the `payment.matched` event says about a statement
//! credit that became a brand's payment. Shared by the API, the CLI's
//! JSON, the lender dashboard and events.

use offtake_bank::matching::{PaymentMatch, Rule};
use offtake_bank::reconcile::{ReconDay, ReconItem};
use offtake_bank::{LineRecord, LineState, QueueItem};
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

/// A credit waiting to be matched by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BankQueueItem {
    /// The line's key: what `offtake bank match` and
    /// `POST /v1/bank-queue/{key}/match` take.
    pub key: String,
    pub account: String,
    pub statement: String,
    /// The bank's reference for the movement.
    pub reference: String,
    /// Why no rule matched it.
    pub reason: String,
    pub money: Money,
    #[schema(format = Date)]
    pub booking_date: String,
    pub counterparty_name: Option<String>,
    /// Structured references, then free-text lines.
    pub remittance: Vec<String>,
}

/// One statement line or ledger entry that explains part of a difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CashReconItem {
    /// `bank_only`, `ledger_only` or `partial`.
    pub kind: String,
    /// Its part of the difference (bank − ledger), signed.
    pub amount_minor: i64,
    pub line: Option<String>,
    pub entry_seq: Option<i64>,
    pub detail: String,
}

/// One bank account on one statement day against its ledger cash account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CashReconDay {
    pub account: String,
    pub ledger_account: String,
    pub statement: String,
    #[schema(format = Date)]
    pub date: String,
    /// No difference at the close of the day.
    pub clean: bool,
    /// The statement's opening balance, when the file gave one.
    pub statement_opening: Option<Money>,
    /// The ledger account at the end of the day before.
    pub ledger_opening: Money,
    pub statement_closing: Money,
    pub ledger_closing: Money,
    /// Statement closing − ledger closing.
    pub difference: Money,
    pub items: Vec<CashReconItem>,
    /// What the items do not explain.
    pub unexplained_minor: i64,
}

impl From<&QueueItem> for BankQueueItem {
    fn from(q: &QueueItem) -> Self {
        BankQueueItem {
            key: q.key.clone(),
            account: q.account.clone(),
            statement: q.statement.clone(),
            reference: q.line.reference.clone(),
            reason: q.reason.clone(),
            money: Money::new(q.line.amount_minor, q.line.currency),
            booking_date: q.line.booking_date.to_string(),
            counterparty_name: q.line.counterparty_name.clone(),
            remittance: q.line.remittance.structured.iter().chain(&q.line.remittance.unstructured).cloned().collect(),
        }
    }
}

impl From<&ReconItem> for CashReconItem {
    fn from(i: &ReconItem) -> Self {
        CashReconItem {
            kind: i.kind.as_str().to_owned(),
            amount_minor: i.amount_minor,
            line: i.line.clone(),
            entry_seq: i.entry_seq,
            detail: i.detail.clone(),
        }
    }
}

impl CashReconDay {
    /// A reconciled day, its amounts in the bank account's currency.
    pub fn new(d: &ReconDay, currency: Currency) -> Self {
        let money = |minor: i64| Money::new(minor, currency);
        CashReconDay {
            account: d.account.clone(),
            ledger_account: d.ledger_account.clone(),
            statement: d.statement.clone(),
            date: d.date.to_string(),
            clean: d.is_clean(),
            statement_opening: d.statement_opening_minor.map(money),
            ledger_opening: money(d.ledger_opening_minor),
            statement_closing: money(d.statement_closing_minor),
            ledger_closing: money(d.ledger_closing_minor),
            difference: money(d.difference_minor),
            items: d.items.iter().map(CashReconItem::from).collect(),
            unexplained_minor: d.unexplained_minor,
        }
    }
}

/// Which matching rule decided (docs/bank.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Remittance information or the end-to-end id names the invoices.
    InvoiceReference,
    /// They name a commitment: its open invoices, oldest due first.
    CommitmentReference,
    /// The payer's account or name is mapped to the brand.
    PayerMapping,
    /// Matched by hand from the reconciliation queue.
    Manual,
}

impl MatchRule {
    /// As `rule` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::InvoiceReference => "invoice_reference",
            MatchRule::CommitmentReference => "commitment_reference",
            MatchRule::PayerMapping => "payer_mapping",
            MatchRule::Manual => "manual",
        }
    }
}

impl From<Rule> for MatchRule {
    fn from(r: Rule) -> Self {
        match r {
            Rule::InvoiceReference => MatchRule::InvoiceReference,
            Rule::CommitmentReference => MatchRule::CommitmentReference,
            Rule::PayerMapping => MatchRule::PayerMapping,
            Rule::Manual => MatchRule::Manual,
        }
    }
}

/// What a matched credit pays on one invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MatchedInvoice {
    pub invoice: String,
    pub amount: Money,
}

/// A credit on the lender's collection account matched to a brand's
/// invoices, by a rule at import or by hand from the reconciliation queue.
/// It was queued for settlement as payment `payment` just before the
/// match was recorded, so that payment's `payment.received` comes first
/// and its `payment.applied` later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentMatched {
    /// The statement line (`{account}:{reference}`).
    #[schema(example = "US00NORTHBANK0001:NB-20260410-0007")]
    pub line: String,
    pub statement: String,
    /// The bank account credited.
    pub account: String,
    /// The bank's reference for the movement.
    pub reference: String,
    /// The payment notice it became.
    pub payment: String,
    pub brand: String,
    pub facility: String,
    pub amount: Money,
    pub value_date: Date,
    pub invoices: Vec<MatchedInvoice>,
    pub rule: MatchRule,
    /// The statement fields the rule read (`remittance.structured[0]`, `end_to_end_id`, …).
    pub fields: Vec<String>,
    /// In words: what matched.
    pub detail: String,
    /// Who matched it by hand (absent for a rule's match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
}

impl PaymentMatched {
    /// The match a line version records, if it records one.
    pub fn of(r: &LineRecord) -> Option<Self> {
        let (notice, m, by): (&String, &PaymentMatch, Option<&String>) = match &r.state {
            LineState::Matched { notice, matched } => (notice, matched, None),
            LineState::MatchedByHand { notice, matched, by } => (notice, matched, Some(by)),
            _ => return None,
        };
        let currency = r.line.currency;
        Some(PaymentMatched {
            line: r.key.clone(),
            statement: r.statement.clone(),
            account: r.account.clone(),
            reference: r.line.reference.clone(),
            payment: notice.clone(),
            brand: m.brand.clone(),
            facility: m.facility.clone(),
            amount: Money::new(r.line.amount_minor, currency),
            value_date: r.line.value_date,
            invoices: m
                .allocations
                .iter()
                .map(|a| MatchedInvoice { invoice: a.invoice.clone(), amount: Money::new(a.amount_minor, currency) })
                .collect(),
            rule: m.explanation.rule.into(),
            fields: m.explanation.fields.clone(),
            detail: m.explanation.detail.clone(),
            matched_by: by.cloned(),
        })
    }
}
