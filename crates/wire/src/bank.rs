//! Bank objects on the wire: what the `payment.matched` event says about a
//! statement credit that became a brand's payment.

use offtake_bank::matching::{PaymentMatch, Rule};
use offtake_bank::{LineRecord, LineState};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

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
