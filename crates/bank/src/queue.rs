//! The reconciliation queue: credits no rule matched (and returns of
//! payments offtake does not know), worked by hand.

use offtake_finance::{FinanceError, PartyRole};
use serde::Serialize;

use crate::error::BankError;
use crate::import::{LineRecord, LineState, LINE_KIND, QUEUED_LINES};
use crate::matching::{Allocation, Explanation, PaymentMatch, Rule};
use crate::service::Bank;
use crate::statement::{Direction, Line};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    pub key: String,
    pub account: String,
    pub statement: String,
    pub reason: String,
    pub line: Line,
}

/// A hand match: the brand, and the invoices it pays (empty: the brand's
/// open invoices on the facility, oldest due first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandMatch {
    pub brand: String,
    pub facility: String,
    pub invoices: Vec<String>,
    pub by: String,
}

impl Bank {
    /// Lines waiting for an operator, oldest booking first: read through
    /// the `bank_line.queued` index, so the cost is the queue's length,
    /// not every line ever imported (a hand match takes a line out).
    pub async fn queue(&self) -> Result<Vec<QueueItem>, BankError> {
        let recs = self.store().all_by_index(self.ledger(), LINE_KIND, QUEUED_LINES, "").await?;
        let lines: Vec<LineRecord> = recs.iter().map(|r| r.decode()).collect::<Result<_, _>>()?;
        let mut items: Vec<QueueItem> = lines
            .into_iter()
            .filter_map(|r| match r.state {
                LineState::Queued { reason } => {
                    Some(QueueItem { key: r.key, account: r.account, statement: r.statement, reason, line: r.line })
                }
                _ => None,
            })
            .collect();
        items.sort_by(|a, b| (a.line.booking_date, &a.key).cmp(&(b.line.booking_date, &b.key)));
        Ok(items)
    }

    /// One imported line, by key.
    pub async fn line(&self, key: &str) -> Result<Option<LineRecord>, BankError> {
        let rec = self.store().get_record(self.ledger(), LINE_KIND, key).await?;
        Ok(rec.map(|r| r.decode()).transpose()?)
    }

    /// Matches a queued credit by hand: validated like an automatic match,
    /// then queued for settlement. Only a queued line can be matched; a
    /// line someone else matched first is `invalid_state`.
    pub async fn match_by_hand(&self, key: &str, m: HandMatch) -> Result<LineRecord, BankError> {
        let rec = self
            .store()
            .get_record(self.ledger(), LINE_KIND, key)
            .await?
            .ok_or_else(|| BankError::NotFound { kind: "statement line", id: key.to_owned() })?;
        let version = rec.version;
        let mut line: LineRecord = rec.decode()?;
        if !matches!(line.state, LineState::Queued { .. }) || line.line.direction != Direction::Credit {
            return Err(BankError::InvalidState {
                what: format!("line {key}"),
                state: state_name(&line.state).into(),
                action: "match it by hand",
            });
        }
        let matched = self.check_hand_match(&line.line, &m).await?;
        let notice = self.notice_for(&line.key, &line.line, &matched);
        let reference = notice.external_ref.clone();
        self.settlement().enqueue(notice).await?;
        line.state = LineState::MatchedByHand { notice: reference, matched, by: m.by };
        let body = serde_json::to_value(&line).map_err(|e| BankError::invalid("line", e.to_string()))?;
        self.store().put_record(self.ledger(), LINE_KIND, key, version, &body).await?;
        Ok(line)
    }

    async fn check_hand_match(&self, line: &Line, m: &HandMatch) -> Result<PaymentMatch, BankError> {
        let fin = self.finance();
        let brand = fin.party(&m.brand).await?;
        if brand.role != PartyRole::Brand {
            return Err(FinanceError::not_found("brand", &m.brand).into());
        }
        let facility = fin.facility(&m.facility).await?;
        if facility.terms.currency != line.currency {
            return Err(BankError::invalid(
                "facility",
                format!("{} is in {}, the credit in {}", facility.id, facility.terms.currency, line.currency),
            ));
        }
        let mut allocations = Vec::new();
        let mut left = line.amount_minor;
        for (n, id) in m.invoices.iter().enumerate() {
            let inv = fin.invoice(id).await?;
            // Another brand's invoice answers like a missing one.
            if inv.brand != brand.id || inv.facility != facility.id {
                return Err(FinanceError::not_found("invoice", id).into());
            }
            let take = if n + 1 == m.invoices.len() { left } else { left.min(inv.open_minor()) };
            if take > 0 {
                allocations.push(Allocation { invoice: inv.id, amount_minor: take });
            }
            left -= take;
        }
        if m.by.trim().is_empty() {
            return Err(BankError::invalid("by", "say who matched it"));
        }
        Ok(PaymentMatch {
            brand: brand.id,
            facility: facility.id,
            allocations,
            explanation: Explanation {
                rule: Rule::Manual,
                fields: vec![],
                detail: format!("matched by hand by {}", m.by),
            },
        })
    }
}

pub(crate) fn state_name(s: &LineState) -> &'static str {
    match s {
        LineState::Matched { .. } => "matched",
        LineState::Queued { .. } => "queued",
        LineState::MatchedByHand { .. } => "matched_by_hand",
        LineState::Outgoing => "outgoing",
        LineState::Returned { .. } => "returned",
    }
}
