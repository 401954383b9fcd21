//! What the bank says about payouts: pain.002 status reports and returns
//! seen on statements. A rejected or returned payout's ledger entry is
//! reversed (linked to it), so the money is back in the account it left
//! and what it paid is owed again (a maker's payable, a lender's cash).

use offtake_ledger::{Action, Command, LedgerError};
use serde::Serialize;

use crate::error::BankError;
use crate::import::LineState;
use crate::pain002::{self, PaymentStatus};
use crate::payouts::{Payout, PayoutStatus, PAYOUT_KIND};
use crate::service::Bank;
use crate::statement::Line;

/// What a status report did to one payout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusResult {
    Accepted,
    /// Rejected: the payout's entry is reversed, what it paid owed again.
    Rejected,
    Pending,
    /// Already in that state from an earlier report.
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusOutcome {
    pub end_to_end_id: String,
    pub result: StatusResult,
    pub reversal_seq: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusImport {
    pub report: String,
    pub batch: String,
    pub payments: Vec<StatusOutcome>,
}

impl Bank {
    /// Applies a pain.002 report to the payouts of the batch it answers.
    /// Checked whole first: a report for an unknown batch, or naming a
    /// payment the batch does not hold, writes nothing.
    pub async fn import_status(&self, bytes: &[u8]) -> Result<StatusImport, BankError> {
        let report = pain002::parse(bytes)?;
        let batch = self.batch(&report.original_msg_id).await?;
        let mut decided: Vec<(String, PaymentStatus)> = Vec::new();
        for (e2e, st) in &report.payments {
            if !batch.payouts.contains(e2e) {
                return Err(BankError::NotFound { kind: "payment in batch", id: e2e.clone() });
            }
            decided.push((e2e.clone(), st.clone()));
        }
        for (n, e2e) in batch.payouts.iter().enumerate() {
            if decided.iter().any(|(e, _)| e == e2e) {
                continue;
            }
            let block_id = self.block_of(&batch, n).await?;
            let block = report.blocks.iter().find(|(b, _)| *b == block_id).map(|(_, s)| s.clone());
            if let Some(st) = block.or_else(|| report.group.clone()) {
                decided.push((e2e.clone(), st));
            }
        }
        let mut payments = Vec::new();
        for (e2e, st) in decided {
            payments.push(self.apply_status(&e2e, st).await?);
        }
        Ok(StatusImport { report: report.id, batch: batch.id, payments })
    }

    /// The `PmtInfId` that payout `n` of a batch went out in (blocks are
    /// numbered per debtor account and currency, in order of appearance).
    async fn block_of(&self, batch: &crate::payouts::PayoutBatch, n: usize) -> Result<String, BankError> {
        let root = crate::xml::parse(batch.xml.as_bytes(), "pain.001")?;
        let body =
            root.child("CstmrCdtTrfInitn").ok_or_else(|| BankError::invalid("batch", "stored file has no body"))?;
        let e2e = &batch.payouts[n];
        for block in body.children("PmtInf") {
            if block.children("CdtTrfTxInf").any(|t| t.text_at("PmtId/EndToEndId").as_deref() == Some(e2e.as_str())) {
                return Ok(block.text_at("PmtInfId").unwrap_or_default());
            }
        }
        Ok(String::new())
    }

    async fn apply_status(&self, e2e: &str, st: PaymentStatus) -> Result<StatusOutcome, BankError> {
        let rec = self
            .store()
            .get_record(self.ledger(), PAYOUT_KIND, e2e)
            .await?
            .ok_or_else(|| BankError::NotFound { kind: "payout", id: e2e.to_owned() })?;
        let version = rec.version;
        let mut p: Payout = rec.decode()?;
        let outcome = |result, reversal_seq| StatusOutcome { end_to_end_id: e2e.to_owned(), result, reversal_seq };
        match (&p.status, st) {
            (_, PaymentStatus::Pending) => Ok(outcome(StatusResult::Pending, None)),
            (PayoutStatus::Sent, PaymentStatus::Accepted) => {
                p.status = PayoutStatus::Accepted;
                self.save_payout(&p, version).await?;
                Ok(outcome(StatusResult::Accepted, None))
            }
            (PayoutStatus::Sent | PayoutStatus::Accepted, PaymentStatus::Rejected { reason }) => {
                let seq = self.reverse_payout(&p, reason.as_deref()).await?;
                p.status = PayoutStatus::Rejected { reason, reversal_seq: seq };
                self.save_payout(&p, version).await?;
                Ok(outcome(StatusResult::Rejected, Some(seq)))
            }
            (PayoutStatus::Rejected { reversal_seq, .. }, _) => {
                Ok(outcome(StatusResult::Unchanged, Some(*reversal_seq)))
            }
            (PayoutStatus::Accepted, PaymentStatus::Accepted) => Ok(outcome(StatusResult::Unchanged, None)),
        }
    }

    async fn save_payout(&self, p: &Payout, version: i64) -> Result<(), BankError> {
        let body = serde_json::to_value(p).map_err(|e| BankError::invalid("payout", e.to_string()))?;
        self.store().put_record(self.ledger(), PAYOUT_KIND, &p.end_to_end_id, version, &body).await?;
        Ok(())
    }

    /// Reverses the payout's entry (idempotent by key; an entry already
    /// reversed by this key answers with the first reversal).
    async fn reverse_payout(&self, p: &Payout, reason: Option<&str>) -> Result<i64, BankError> {
        let cmd = Command {
            idempotency_key: format!("payout:{}:reversal", p.end_to_end_id),
            kind: "payout_rejected".into(),
            effective_date: p.on,
            metadata: serde_json::json!({ "end_to_end_id": p.end_to_end_id, "batch": p.batch, "reason": reason.unwrap_or("") }),
            source_hash: None,
            action: Action::Reverse { entry_seq: p.seq },
        };
        match self.store().commit(self.ledger(), cmd).await {
            Ok(c) => Ok(c.seq),
            Err(LedgerError::AlreadyReversed(seq)) => Err(BankError::InvalidState {
                what: format!("entry {seq}"),
                state: "reversed".into(),
                action: "reverse the payout",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// A statement line returning money: the payout it names is reversed
    /// like a rejection; a return naming nothing we sent waits in the queue.
    pub(crate) async fn returned(
        &self,
        e2e: Option<&str>,
        reason: Option<String>,
        line: &Line,
    ) -> Result<LineState, BankError> {
        let payout = match e2e {
            Some(id) => self
                .store()
                .get_record(self.ledger(), PAYOUT_KIND, id)
                .await?
                .map(|r| r.decode::<Payout>())
                .transpose()?,
            None => None,
        };
        match payout {
            Some(p) if p.amount_minor == line.amount_minor && p.currency == line.currency => {
                self.apply_status(&p.end_to_end_id, PaymentStatus::Rejected { reason: reason.clone() }).await?;
                Ok(LineState::Returned { payout: Some(p.end_to_end_id), reason })
            }
            _ => Ok(LineState::Queued {
                reason: format!(
                    "return ({}) of a payment offtake did not send: {}",
                    reason.as_deref().unwrap_or("no reason"),
                    e2e.unwrap_or("no end-to-end id")
                ),
            }),
        }
    }
}
