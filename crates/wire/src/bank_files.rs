//! What the bank endpoints and `offtake bank` answer: a statement
//! import's report (each line's decision and why), registered bank
//! accounts and payer mappings, a hand match, payouts owed and payout
//! batches, and a status report's outcome. One shape for the API, the
//! CLI's JSON and generated clients.

use offtake_bank::import::{ImportReport, ImportStatus as DomainImportStatus, LineOutcome, StatementOutcome};
use offtake_bank::matching::Decision;
use offtake_bank::payouts::{Owed, PayoutBatch as DomainBatch, PayoutKind as DomainKind};
use offtake_bank::status::{StatusImport, StatusResult};
use offtake_bank::{
    BankAccount as DomainAccount, Direction as DomainDirection, LineRecord, LineState, PayerMapping, Purpose,
};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::bank::{MatchRule, MatchedInvoice};
use crate::money::Money;

wire_enum! {
    /// Whether a statement or line is new, or was imported before (then
    /// nothing changes).
    ImportStatus from DomainImportStatus {
        New = "new" <= New,
        AlreadyImported = "already_imported" <= AlreadyImported,
    }
}

wire_enum! {
    /// Money into the account (`credit`) or out of it (`debit`).
    Direction from DomainDirection {
        Credit = "credit" <= Credit,
        Debit = "debit" <= Debit,
    }
}

/// What became of a statement line (docs/bank.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineDecision {
    /// A brand's payment, queued for settlement.
    Payment,
    /// No rule matched: it waits in the reconciliation queue.
    Unmatched,
    /// Money going out: reconciled against payouts.
    Outgoing,
    /// A payout coming back.
    Return,
}

/// Why a statement line got its decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineDetail {
    /// The brand a matched credit pays for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Invoices a matched credit pays, with what each gets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<MatchedInvoice>,
    /// The matching rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<MatchRule>,
    /// The statement fields the rule read (`remittance.structured[0]`, `end_to_end_id`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// In words: what matched, or why nothing did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A return's end-to-end id (the payout it sends back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_id: Option<String>,
}

/// One statement line and its decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedLine {
    /// `{account}:{reference}`: what `POST /v1/bank-queue/{key}/match` takes.
    pub key: String,
    /// The bank's reference for the movement.
    pub reference: String,
    pub status: ImportStatus,
    pub direction: Direction,
    pub money: Money,
    pub booking_date: Date,
    pub value_date: Date,
    pub decision: LineDecision,
    pub detail: LineDetail,
}

/// One statement of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedStatement {
    pub key: String,
    /// The bank's statement id.
    pub id: String,
    pub account: String,
    /// `camt.053`, `camt.054`, `MT940` or `BAI2`.
    pub format: String,
    pub status: ImportStatus,
    pub lines: Vec<ImportedLine>,
}

/// What a statement import did, or for a dry run would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BankImport {
    pub dry_run: bool,
    /// Credits matched to a brand's invoices (queued for settlement).
    pub matched: u64,
    /// Credits for the reconciliation queue.
    pub queued: u64,
    pub already_imported: u64,
    pub statements: Vec<ImportedStatement>,
}

fn detail_of(d: &Decision, currency: offtake_ledger::Currency) -> (LineDecision, LineDetail) {
    match d {
        Decision::Payment(p) => (
            LineDecision::Payment,
            LineDetail {
                brand: Some(p.brand.clone()),
                facility: Some(p.facility.clone()),
                allocations: p
                    .allocations
                    .iter()
                    .map(|a| MatchedInvoice {
                        invoice: a.invoice.clone(),
                        amount: Money::new(a.amount_minor, currency),
                    })
                    .collect(),
                rule: Some(p.explanation.rule.into()),
                fields: p.explanation.fields.clone(),
                reason: Some(p.explanation.detail.clone()),
                end_to_end_id: None,
            },
        ),
        Decision::Unmatched { reason } => {
            (LineDecision::Unmatched, LineDetail { reason: Some(reason.clone()), ..LineDetail::default() })
        }
        Decision::Outgoing => (LineDecision::Outgoing, LineDetail::default()),
        Decision::Return { end_to_end_id, reason } => (
            LineDecision::Return,
            LineDetail { end_to_end_id: end_to_end_id.clone(), reason: reason.clone(), ..LineDetail::default() },
        ),
    }
}

impl From<&LineOutcome> for ImportedLine {
    fn from(l: &LineOutcome) -> Self {
        let (decision, detail) = detail_of(&l.decision, l.line.currency);
        ImportedLine {
            key: l.key.clone(),
            reference: l.reference.clone(),
            status: l.status.into(),
            direction: l.line.direction.into(),
            money: Money::new(l.line.amount_minor, l.line.currency),
            booking_date: l.line.booking_date,
            value_date: l.line.value_date,
            decision,
            detail,
        }
    }
}

impl From<&StatementOutcome> for ImportedStatement {
    fn from(s: &StatementOutcome) -> Self {
        ImportedStatement {
            key: s.key.clone(),
            id: s.id.clone(),
            account: s.account.clone(),
            format: s.format.as_str().to_owned(),
            status: s.status.into(),
            lines: s.lines.iter().map(ImportedLine::from).collect(),
        }
    }
}

impl From<&ImportReport> for BankImport {
    fn from(r: &ImportReport) -> Self {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        BankImport {
            dry_run: r.dry_run,
            matched: count(r.matched),
            queued: count(r.queued),
            already_imported: count(r.already_imported),
            statements: r.statements.iter().map(ImportedStatement::from).collect(),
        }
    }
}

/// What a registered bank account is for; it says which ledger cash
/// account mirrors it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountPurpose {
    /// A facility's: brands pay into it, remittances leave from it.
    Collection,
    /// A lender's: advances leave from it.
    Disbursement,
    /// A party's account that payouts go to.
    Payee,
}

/// A registered bank account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BankAccount {
    /// IBAN or account number.
    pub account: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub holder: String,
    pub bic: Option<String>,
    pub purpose: AccountPurpose,
    /// The facility, lender or party the purpose names.
    pub owner: String,
}

impl From<&DomainAccount> for BankAccount {
    fn from(a: &DomainAccount) -> Self {
        let (purpose, owner) = match &a.purpose {
            Purpose::Collection { facility } => (AccountPurpose::Collection, facility),
            Purpose::Disbursement { lender } => (AccountPurpose::Disbursement, lender),
            Purpose::Payee { party } => (AccountPurpose::Payee, party),
        };
        BankAccount {
            account: a.account.clone(),
            currency: a.currency.code().to_owned(),
            holder: a.holder.clone(),
            bic: a.bic.clone(),
            purpose,
            owner: owner.clone(),
        }
    }
}

/// A payer's bank account or name mapped to the brand it pays for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayerMap {
    pub brand: String,
    pub account: Option<String>,
    pub name: Option<String>,
}

impl From<&PayerMapping> for PayerMap {
    fn from(m: &PayerMapping) -> Self {
        PayerMap { brand: m.brand.clone(), account: m.account.clone(), name: m.name.clone() }
    }
}

/// A queued credit matched by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HandMatched {
    /// The statement line.
    pub key: String,
    /// The payment notice queued for settlement.
    pub payment: String,
    /// Who matched it.
    pub by: String,
}

impl HandMatched {
    /// The hand match a line version records, if it records one.
    pub fn of(line: &LineRecord) -> Option<Self> {
        match &line.state {
            LineState::MatchedByHand { notice, by, .. } => {
                Some(HandMatched { key: line.key.clone(), payment: notice.clone(), by: by.clone() })
            }
            _ => None,
        }
    }
}

wire_enum! {
    /// What a payout pays.
    PayoutKind from DomainKind {
        /// A funded advance, to the maker.
        Advance = "advance" <= Advance,
        /// A maker's remittance from the waterfall.
        Remittance = "remittance" <= Remittance,
    }
}

/// A payout owed and not yet in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub end_to_end_id: String,
    pub kind: PayoutKind,
    pub party: String,
    pub money: Money,
    /// When it became owed.
    pub on: Date,
    /// Why it cannot go out yet, if so.
    pub blocked: Option<String>,
}

impl From<&Owed> for Payout {
    fn from(o: &Owed) -> Self {
        Payout {
            end_to_end_id: o.end_to_end_id.clone(),
            kind: o.kind.into(),
            party: o.party.clone(),
            money: Money::new(o.amount_minor, o.currency),
            on: o.on,
            blocked: o.blocked.clone(),
        }
    }
}

/// A pain.001 batch of payouts, its file and the ledger entry holding the
/// file's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayoutBatch {
    /// The file's MsgId.
    pub id: String,
    pub execution_date: Date,
    /// The payouts' end-to-end ids.
    pub payouts: Vec<String>,
    pub file_sha256: String,
    /// The ledger entry recording the file's hash.
    pub ledger_seq: i64,
    /// The pain.001.001.09 file.
    pub xml: String,
}

impl From<DomainBatch> for PayoutBatch {
    fn from(b: DomainBatch) -> Self {
        PayoutBatch {
            id: b.id,
            execution_date: b.execution_date,
            payouts: b.payouts,
            file_sha256: b.file_sha256,
            ledger_seq: b.ledger_seq,
            xml: b.xml,
        }
    }
}

wire_enum! {
    /// What a status report said of one payout, and what it changed.
    PayoutResult from StatusResult {
        Accepted = "accepted" <= Accepted,
        /// Rejected: the payout is reversed in the ledger and owed again.
        Rejected = "rejected" <= Rejected,
        Pending = "pending" <= Pending,
        /// Already known from an earlier report.
        Unchanged = "unchanged" <= Unchanged,
    }
}

/// One payout in a status report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayoutStatus {
    pub end_to_end_id: String,
    pub result: PayoutResult,
    /// The reversal of a rejected payout.
    pub reversal_seq: Option<i64>,
}

/// A pain.002 status report's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayoutStatusImport {
    /// The report's message id.
    pub report: String,
    /// The batch it reports on.
    pub batch: String,
    pub payments: Vec<PayoutStatus>,
}

impl From<&StatusImport> for PayoutStatusImport {
    fn from(s: &StatusImport) -> Self {
        PayoutStatusImport {
            report: s.report.clone(),
            batch: s.batch.clone(),
            payments: s
                .payments
                .iter()
                .map(|p| PayoutStatus {
                    end_to_end_id: p.end_to_end_id.clone(),
                    result: p.result.into(),
                    reversal_seq: p.reversal_seq,
                })
                .collect(),
        }
    }
}
