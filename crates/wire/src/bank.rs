//! Bank files on the wire: the reconciliation queue (credits no rule
//! matched) and the cash reconciliation of statement balances against the
//! ledger. Shared by the API, the CLI's JSON and the lender dashboard.

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
