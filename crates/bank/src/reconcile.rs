//! Cash reconciliation: for each registered bank account and each day a
//! statement closed, the bank's closing balance against the ledger's cash
//! account as of that day (entries with an effective date up to it). A
//! difference is broken down into the statement lines and ledger entries
//! that explain it: money the bank shows that the ledger has not booked
//! (a credit in the queue), money the ledger moved that the bank has not
//! (a payment's share swept to the lender, a payout not yet executed), and
//! pairs booked on different days. What the items do not explain is
//! reported as `unexplained_minor`.

use std::collections::BTreeMap;

use offtake_ledger::{AccountCode, EntryRecord, Layer, Side};
use serde::Serialize;
use time::Date;

use crate::error::BankError;
use crate::import::{LineRecord, LineState};
use crate::registry::BankAccount;
use crate::service::Bank;

/// Which side of a reconciliation an item is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconKind {
    /// Money the bank shows that the ledger has not booked by the day.
    BankOnly,
    /// Money the ledger moved that the bank has not.
    LedgerOnly,
    /// A pair whose amounts differ on the account (e.g. a payment whose
    /// debt share went to the lender).
    Partial,
}

impl ReconKind {
    /// The name reports print (`bank_only`, `ledger_only`, `partial`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReconKind::BankOnly => "bank_only",
            ReconKind::LedgerOnly => "ledger_only",
            ReconKind::Partial => "partial",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconItem {
    pub kind: ReconKind,
    /// Its part of the difference (bank − ledger), signed.
    pub amount_minor: i64,
    pub line: Option<String>,
    pub entry_seq: Option<i64>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconDay {
    pub account: String,
    pub ledger_account: String,
    pub statement: String,
    pub date: Date,
    /// The statement's opening balance (`None` when the file gave none)
    /// and the ledger account's balance at the end of the day before.
    pub statement_opening_minor: Option<i64>,
    pub ledger_opening_minor: i64,
    pub statement_closing_minor: i64,
    pub ledger_closing_minor: i64,
    pub difference_minor: i64,
    pub items: Vec<ReconItem>,
    pub unexplained_minor: i64,
}

impl ReconDay {
    pub fn is_clean(&self) -> bool {
        self.difference_minor == 0
    }
}

/// A ledger entry's net movement on one account (debit positive).
fn net_on(e: &EntryRecord, code: &AccountCode) -> i64 {
    e.legs
        .iter()
        .filter(|l| &l.account == code && l.layer == Layer::Posted)
        .map(|l| if l.side == Side::Debit { l.amount_minor } else { -l.amount_minor })
        .fold(0i64, i64::saturating_add)
}

/// The ledger entry key a line's money was booked under, if any.
fn counterpart_key(l: &LineRecord) -> Option<String> {
    match &l.state {
        LineState::Matched { notice, .. } | LineState::MatchedByHand { notice, .. } => {
            Some(format!("payment:{notice}"))
        }
        LineState::Returned { payout: Some(p), .. } => Some(format!("payout:{p}:reversal")),
        LineState::Outgoing => l.line.end_to_end_id.clone(),
        _ => None,
    }
}

impl Bank {
    /// Every statement day up to `through`, per registered account.
    pub async fn reconcile(&self, through: Date) -> Result<Vec<ReconDay>, BankError> {
        let mut out = Vec::new();
        for acct in self.accounts().await? {
            let Some(code) = acct.ledger_account()? else { continue };
            let statements = self.statements_of_account(&acct.account).await?;
            let mut days: Vec<(Date, i64, String, Option<i64>)> = statements
                .iter()
                .filter_map(|s| {
                    let opening = s.opening.as_ref().map(|o| o.amount_minor);
                    s.closing.as_ref().map(|c| (c.date, c.amount_minor, s.id.clone(), opening))
                })
                .filter(|(d, _, _, _)| *d <= through)
                .collect();
            if days.is_empty() {
                continue;
            }
            days.sort();
            let mut entries = self.account_entries_all(&code).await?;
            let lines = self.lines_of_account(&acct.account).await?;
            let mine: Vec<&LineRecord> = lines.iter().collect();
            self.add_payment_entries(&mine, &mut entries).await?;
            for (date, closing, id, opening) in days {
                let mut d = day(&acct, &code, &id, date, closing, &entries, &mine);
                d.statement_opening_minor = opening;
                d.ledger_opening_minor = entries
                    .iter()
                    .filter(|e| e.effective_date < date)
                    .map(|e| net_on(e, &code))
                    .fold(0i64, i64::saturating_add);
                out.push(d);
            }
        }
        Ok(out)
    }

    /// A payment whose whole amount went on to the lender nets to zero on
    /// the collection account and so has no leg there: its entry is found
    /// through the payment notice instead.
    async fn add_payment_entries(
        &self,
        lines: &[&LineRecord],
        entries: &mut Vec<EntryRecord>,
    ) -> Result<(), BankError> {
        for l in lines {
            let notice = match &l.state {
                LineState::Matched { notice, .. } | LineState::MatchedByHand { notice, .. } => notice,
                _ => continue,
            };
            let seq = match self.settlement().notice(notice).await?.state {
                offtake_settlement::NoticeState::Applied { seq, .. }
                | offtake_settlement::NoticeState::Suspense { seq, .. } => seq,
                _ => continue,
            };
            if entries.iter().any(|e| e.seq == seq) {
                continue;
            }
            entries.extend(self.store().entries(self.ledger(), seq - 1, 1).await?);
        }
        Ok(())
    }

    async fn account_entries_all(&self, code: &AccountCode) -> Result<Vec<EntryRecord>, BankError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match self
                .store()
                .account_entries(self.ledger(), code, cursor.as_deref(), offtake_ledger::store::MAX_PAGE_LIMIT)
                .await
            {
                Ok(p) => p,
                Err(offtake_ledger::LedgerError::UnknownAccount(_)) => return Ok(all),
                Err(e) => return Err(e.into()),
            };
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}

fn day(
    acct: &BankAccount,
    code: &AccountCode,
    statement: &str,
    date: Date,
    closing: i64,
    entries: &[EntryRecord],
    lines: &[&LineRecord],
) -> ReconDay {
    let by_key: BTreeMap<&str, &EntryRecord> = entries.iter().map(|e| (e.idempotency_key.as_str(), e)).collect();
    let ledger_closing: i64 =
        entries.iter().filter(|e| e.effective_date <= date).map(|e| net_on(e, code)).fold(0i64, i64::saturating_add);
    let (groups, mut items) = group_lines(lines, date, &by_key);
    let mut paired: Vec<i64> = Vec::new();
    for (key, group) in groups {
        let Some(e) = by_key.get(key.as_str()).copied() else { continue };
        paired.push(e.seq);
        items.extend(group_item(&group, e, date, code));
    }
    items.extend(ledger_only(entries, &paired, date, code));
    let difference = closing.saturating_sub(ledger_closing);
    let explained: i64 = items.iter().map(|i| i.amount_minor).fold(0i64, i64::saturating_add);
    ReconDay {
        account: acct.account.clone(),
        ledger_account: code.to_string(),
        statement: statement.to_owned(),
        date,
        statement_opening_minor: None,
        ledger_opening_minor: 0,
        statement_closing_minor: closing,
        ledger_closing_minor: ledger_closing,
        difference_minor: difference,
        items: if difference == 0 { Vec::new() } else { items },
        unexplained_minor: difference.saturating_sub(explained),
    }
}

/// The day's statement lines grouped by the ledger entry they were booked
/// as: lines booked under one entry (a credit and the sweep of its debt
/// share, say) are compared with it together. A line with no entry is a
/// `bank_only` item.
fn group_lines<'a>(
    lines: &[&'a LineRecord],
    date: Date,
    by_key: &BTreeMap<&str, &EntryRecord>,
) -> (BTreeMap<String, Vec<&'a LineRecord>>, Vec<ReconItem>) {
    let mut groups: BTreeMap<String, Vec<&LineRecord>> = BTreeMap::new();
    let mut items = Vec::new();
    for l in lines.iter().copied().filter(|l| l.line.booking_date <= date) {
        match counterpart_key(l).filter(|k| by_key.contains_key(k.as_str())) {
            Some(k) => groups.entry(k).or_default().push(l),
            None => items.push(ReconItem {
                kind: ReconKind::BankOnly,
                amount_minor: l.line.signed_minor(),
                line: Some(l.key.clone()),
                entry_seq: None,
                detail: format!(
                    "line {} ({}) is not in the ledger: {}",
                    l.line.reference,
                    l.line.signed_minor(),
                    crate::queue::state_name(&l.state)
                ),
            }),
        }
    }
    (groups, items)
}

/// A group of lines against its entry: nothing if they agree; `partial`
/// if the entry moved a different amount; `bank_only` if the entry is
/// effective after this day.
fn group_item(group: &[&LineRecord], e: &EntryRecord, date: Date, code: &AccountCode) -> Option<ReconItem> {
    let booked = e.effective_date <= date;
    let net = if booked { net_on(e, code) } else { 0 };
    let bank: i64 = group.iter().map(|l| l.line.signed_minor()).fold(0i64, i64::saturating_add);
    if bank == net {
        return None;
    }
    let refs = group.iter().map(|l| l.line.reference.as_str()).collect::<Vec<_>>().join(", ");
    let (kind, detail) = if booked {
        (
            ReconKind::Partial,
            format!("lines {refs} ({bank}) booked as entry {} ({}), which moved {net} on {code}", e.seq, e.kind),
        )
    } else {
        (
            ReconKind::BankOnly,
            format!(
                "lines {refs} ({bank}) are in the ledger on {} (entry {}), after this day",
                e.effective_date, e.seq
            ),
        )
    };
    Some(ReconItem {
        kind,
        amount_minor: bank.saturating_sub(net),
        line: group.first().map(|l| l.key.clone()),
        entry_seq: Some(e.seq),
        detail,
    })
}

/// Entries up to this day that moved the account with no statement line.
fn ledger_only(entries: &[EntryRecord], paired: &[i64], date: Date, code: &AccountCode) -> Vec<ReconItem> {
    let mut items = Vec::new();
    for e in entries.iter().filter(|e| e.effective_date <= date && !paired.contains(&e.seq)) {
        let net = net_on(e, code);
        if net != 0 {
            items.push(ReconItem {
                kind: ReconKind::LedgerOnly,
                amount_minor: 0i64.saturating_sub(net),
                line: None,
                entry_seq: Some(e.seq),
                detail: format!(
                    "entry {} ({}, {}) moved {net} on {code}; no statement line",
                    e.seq, e.kind, e.effective_date
                ),
            });
        }
    }
    items
}
