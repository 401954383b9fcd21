//! Statement import: parse, check, match, then write — or, for a dry run,
//! only say what would be written. Idempotent per statement (account +
//! statement id) and per line (account + bank reference): the same file
//! twice, or overlapping statements, change nothing; the same id with
//! other content is refused whole before anything is written.
//!
//! Writes are ordered so that an import interrupted half way is finished
//! by running it again: line records and their payment notices first
//! (each idempotent), the statement record last.

use offtake_finance::{Invoice, InvoiceStatus};
use offtake_ledger::date::now_us;
use offtake_settlement::{Allocation as NoticeAllocation, PaymentNotice, Source};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BankError;
use crate::lookup::{lookups, Lookups, WorkingSet};
use crate::matching::{consume, decide, Decision, OpenInvoice, PayerMapping, PaymentMatch};
use crate::registry::record_id;
use crate::service::Bank;
use crate::statement::{Balance, Format, Line, Statement};

pub const STATEMENT_KIND: &str = "bank_statement";
pub const LINE_KIND: &str = "bank_line";
/// Indexes of the stores' catalogue (`offtake_store_sql::index`): lines
/// waiting in the reconciliation queue (empty key), and statements and
/// lines of one bank account (key: the account).
pub const QUEUED_LINES: &str = "queued";
pub const BY_ACCOUNT: &str = "account";

/// A statement as imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRecord {
    pub key: String,
    pub id: String,
    pub account: String,
    pub format: Format,
    /// SHA-256 (hex) of the parsed statement: what "same content" means
    /// (a re-sent file may differ in its creation time, not in this).
    pub content_sha256: String,
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub lines: Vec<String>,
    pub imported_at_us: i64,
}

/// What became of a statement line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LineState {
    /// Queued for settlement as payment notice `notice`.
    Matched {
        notice: String,
        #[serde(rename = "match")]
        matched: PaymentMatch,
    },
    /// Waiting in the reconciliation queue.
    Queued { reason: String },
    /// Matched by hand from the queue.
    MatchedByHand {
        notice: String,
        #[serde(rename = "match")]
        matched: PaymentMatch,
        by: String,
    },
    /// Money out (payouts, charges): kept for cash reconciliation.
    Outgoing,
    /// A payout came back; `payout` when its end-to-end id names one.
    Returned { payout: Option<String>, reason: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineRecord {
    pub key: String,
    pub account: String,
    pub statement: String,
    pub line: Line,
    #[serde(flatten)]
    pub state: LineState,
}

/// Whether a statement or line is new, or was imported before (then the
/// import changes nothing for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    New,
    AlreadyImported,
}

impl ImportStatus {
    /// The name reports print (`new`, `already_imported`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::New => "new",
            ImportStatus::AlreadyImported => "already_imported",
        }
    }
}

impl std::fmt::Display for ImportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineOutcome {
    pub key: String,
    pub reference: String,
    /// New, or already imported (nothing changes).
    pub status: ImportStatus,
    pub line: Line,
    pub decision: Decision,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatementOutcome {
    pub key: String,
    pub id: String,
    pub account: String,
    pub format: Format,
    pub status: ImportStatus,
    pub lines: Vec<LineOutcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub statements: Vec<StatementOutcome>,
    pub matched: usize,
    pub queued: usize,
    pub already_imported: usize,
}

fn content_hash(s: &Statement) -> Result<String, BankError> {
    let bytes = serde_json::to_vec(s).map_err(|e| BankError::invalid("statement", e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// The payment notice's external reference for a line.
pub fn notice_ref(line_key: &str) -> String {
    record_id("bank", line_key)
}

impl Bank {
    /// Imports a statement file (any supported format). With `dry_run`,
    /// returns the same report and writes nothing.
    pub async fn import(&self, bytes: &[u8], dry_run: bool) -> Result<ImportReport, BankError> {
        let statements = crate::parse_statements(bytes)?;
        // One working set for the whole file: a later line sees what the
        // earlier ones took off an invoice (see `lookup`).
        let mut working = WorkingSet::default();
        let payers = self.payers().await?;
        let mut plans: Vec<(StatementOutcome, Option<StatementRecord>)> = Vec::new();
        for s in &statements {
            let plan = self.plan_statement(s, &mut working, &payers).await?;
            // Two statements of one file sharing a line would be planned
            // (and matched) twice: the file is refused instead.
            for l in &plan.0.lines {
                if plans.iter().any(|(o, _)| o.lines.iter().any(|x| x.key == l.key)) {
                    return Err(BankError::malformed(
                        s.format.as_str(),
                        &l.reference,
                        "reference appears in two statements of one file",
                    ));
                }
            }
            plans.push(plan);
        }
        let mut report = ImportReport { dry_run, statements: Vec::new(), matched: 0, queued: 0, already_imported: 0 };
        for (s, (outcome, record)) in statements.iter().zip(plans) {
            for l in &outcome.lines {
                match (&l.status, &l.decision) {
                    (ImportStatus::AlreadyImported, _) => report.already_imported += 1,
                    (_, Decision::Payment(_)) => report.matched += 1,
                    (_, Decision::Unmatched { .. } | Decision::Return { .. }) => report.queued += 1,
                    _ => {}
                }
            }
            if !dry_run {
                self.write_statement(s, &outcome, record).await?;
            }
            report.statements.push(outcome);
        }
        Ok(report)
    }

    /// Decides a new line over the invoices it can be about, read into the
    /// import's working set first.
    async fn decide_line(
        &self,
        line: &Line,
        working: &mut WorkingSet,
        payers: &[PayerMapping],
    ) -> Result<Decision, BankError> {
        let decision = match lookups(line, payers) {
            Err(too_many) => too_many.decision(),
            Ok(keys) => {
                self.read_into(working, &keys).await?;
                decide(line, working.invoices(), payers, self.config())
            }
        };
        if let Decision::Payment(m) = &decision {
            consume(working.invoices_mut(), m);
        }
        Ok(decision)
    }

    /// Reads what the keys select and the working set does not hold yet:
    /// one index read per reference, one for the brand.
    async fn read_into(&self, working: &mut WorkingSet, keys: &Lookups) -> Result<(), BankError> {
        let unread = working.unread(keys);
        let mut found = Vec::new();
        for r in &unread.references {
            found.extend(self.finance().invoices_by_reference(r).await?);
        }
        if let Some(b) = &unread.brand {
            found.extend(self.finance().open_invoices_of_brand(b).await?);
        }
        working.add(&unread, found.into_iter().map(open_invoice));
        Ok(())
    }

    /// Checks one statement and decides every new line; reads only.
    async fn plan_statement(
        &self,
        s: &Statement,
        working: &mut WorkingSet,
        payers: &[PayerMapping],
    ) -> Result<(StatementOutcome, Option<StatementRecord>), BankError> {
        let acct = self.account(&s.account).await?.ok_or_else(|| BankError::UnknownAccount(s.account.clone()))?;
        if acct.currency != s.currency {
            return Err(BankError::invalid(
                "currency",
                format!("account {} is in {}, the statement in {}", s.account, acct.currency, s.currency),
            ));
        }
        let key = record_id(&s.account, &s.id);
        let hash = content_hash(s)?;
        let existing = self.store().get_record(self.ledger(), STATEMENT_KIND, &key).await?;
        let status = match existing {
            Some(rec) => {
                let rec: StatementRecord = rec.decode()?;
                if rec.content_sha256 != hash {
                    return Err(BankError::StatementConflict(s.id.clone()));
                }
                ImportStatus::AlreadyImported
            }
            None => ImportStatus::New,
        };
        let mut lines = Vec::new();
        for line in &s.lines {
            let lkey = record_id(&s.account, &line.reference);
            if lines.iter().any(|l: &LineOutcome| l.key == lkey) {
                return Err(BankError::malformed(
                    s.format.as_str(),
                    &line.reference,
                    "reference appears twice in one statement",
                ));
            }
            let seen = self.store().get_record(self.ledger(), LINE_KIND, &lkey).await?;
            let (status, decision) = match seen {
                Some(rec) => {
                    let rec: LineRecord = rec.decode()?;
                    if rec.line != *line {
                        return Err(BankError::EntryConflict(line.reference.clone()));
                    }
                    (ImportStatus::AlreadyImported, decision_of(&rec.state))
                }
                None => (ImportStatus::New, self.decide_line(line, working, payers).await?),
            };
            lines.push(LineOutcome {
                key: lkey,
                reference: line.reference.clone(),
                status,
                line: line.clone(),
                decision,
            });
        }
        let record = (status == ImportStatus::New).then(|| StatementRecord {
            key: key.clone(),
            id: s.id.clone(),
            account: s.account.clone(),
            format: s.format,
            content_sha256: hash,
            opening: s.opening.clone(),
            closing: s.closing.clone(),
            lines: lines.iter().map(|l| l.key.clone()).collect(),
            imported_at_us: now_us(),
        });
        Ok((
            StatementOutcome { key, id: s.id.clone(), account: s.account.clone(), format: s.format, status, lines },
            record,
        ))
    }

    async fn write_statement(
        &self,
        s: &Statement,
        outcome: &StatementOutcome,
        record: Option<StatementRecord>,
    ) -> Result<(), BankError> {
        for l in outcome.lines.iter().filter(|l| l.status == ImportStatus::New) {
            let state = match &l.decision {
                Decision::Payment(m) => {
                    let notice = self.notice_for(&l.key, &l.line, m);
                    let reference = notice.external_ref.clone();
                    self.settlement().enqueue(notice).await?;
                    LineState::Matched { notice: reference, matched: m.clone() }
                }
                Decision::Unmatched { reason } => LineState::Queued { reason: reason.clone() },
                Decision::Outgoing => LineState::Outgoing,
                Decision::Return { end_to_end_id, reason } => {
                    self.returned(end_to_end_id.as_deref(), reason.clone(), &l.line).await?
                }
            };
            let rec = LineRecord {
                key: l.key.clone(),
                account: s.account.clone(),
                statement: outcome.key.clone(),
                line: l.line.clone(),
                state,
            };
            let body = serde_json::to_value(&rec).map_err(|e| BankError::invalid("line", e.to_string()))?;
            self.store().insert_once(self.ledger(), LINE_KIND, &l.key, &body).await?;
        }
        if let Some(r) = record {
            let body = serde_json::to_value(&r).map_err(|e| BankError::invalid("statement", e.to_string()))?;
            self.store().insert_once(self.ledger(), STATEMENT_KIND, &r.key, &body).await?;
        }
        Ok(())
    }

    pub(crate) fn notice_for(&self, line_key: &str, line: &Line, m: &PaymentMatch) -> PaymentNotice {
        PaymentNotice {
            external_ref: notice_ref(line_key),
            brand: m.brand.clone(),
            facility: m.facility.clone(),
            currency: line.currency,
            amount_minor: line.amount_minor,
            value_date: line.value_date,
            allocations: m
                .allocations
                .iter()
                .map(|a| NoticeAllocation { invoice: a.invoice.clone(), amount_minor: Some(a.amount_minor) })
                .collect(),
            source: Source::Cash,
            source_hash: None,
        }
    }

    /// Every imported line (latest state): reads the whole kind, for tests
    /// and inspection, never on an operation's path;
    /// an account's are [`Bank::lines_of_account`], the queue's
    /// [`Bank::queue`].
    pub async fn lines(&self) -> Result<Vec<(i64, LineRecord)>, BankError> {
        let recs = self.store().all_records(self.ledger(), LINE_KIND).await?;
        recs.iter().map(|r| Ok((r.version, r.decode()?))).collect()
    }

    /// One imported statement, by the account and the bank's statement id.
    pub async fn statement(&self, account: &str, id: &str) -> Result<Option<StatementRecord>, BankError> {
        let rec = self.store().get_record(self.ledger(), STATEMENT_KIND, &record_id(account, id)).await?;
        Ok(rec.map(|r| r.decode()).transpose()?)
    }

    /// The statements imported for one bank account, by key.
    pub async fn statements_of_account(&self, account: &str) -> Result<Vec<StatementRecord>, BankError> {
        let key = offtake_ledger::record::index_key(&[account]);
        let recs = self.store().all_by_index(self.ledger(), STATEMENT_KIND, BY_ACCOUNT, &key).await?;
        let all: Vec<StatementRecord> = recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|s| s.account == account).collect())
    }

    /// The lines imported for one bank account (latest state), by key.
    pub async fn lines_of_account(&self, account: &str) -> Result<Vec<LineRecord>, BankError> {
        let key = offtake_ledger::record::index_key(&[account]);
        let recs = self.store().all_by_index(self.ledger(), LINE_KIND, BY_ACCOUNT, &key).await?;
        let all: Vec<LineRecord> = recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|l| l.account == account).collect())
    }
}

/// An invoice as the matcher sees it. Paid invoices count with nothing
/// open: a credit naming one is queued as "already paid" rather than
/// "names nothing".
fn open_invoice(i: Invoice) -> OpenInvoice {
    OpenInvoice {
        open_minor: if i.status == InvoiceStatus::Open { i.open_minor().max(0) } else { 0 },
        id: i.id,
        brand: i.brand,
        facility: i.facility,
        commitment: i.commitment,
        currency: i.currency,
        due_on: i.due_on,
    }
}

fn decision_of(state: &LineState) -> Decision {
    match state {
        LineState::Matched { matched, .. } | LineState::MatchedByHand { matched, .. } => {
            Decision::Payment(matched.clone())
        }
        LineState::Queued { reason } => Decision::Unmatched { reason: reason.clone() },
        LineState::Outgoing => Decision::Outgoing,
        LineState::Returned { payout, reason } => {
            Decision::Return { end_to_end_id: payout.clone(), reason: reason.clone() }
        }
    }
}
