//! Bank files on the wire: the reconciliation queue (credits no rule
//! matched) and the cash reconciliation of statement balances against the
//! ledger. Shared by the API, the CLI's JSON and the lender dashboard.

use offtake_bank::reconcile::{ReconDay, ReconItem};
use offtake_bank::QueueItem;
use offtake_ledger::Currency;
use serde::{Deserialize, Serialize};
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
            kind: i.kind.to_owned(),
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
