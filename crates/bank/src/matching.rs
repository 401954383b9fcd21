//! Which invoice or brand a credit pays: pure rules over the statement
//! line, the open invoices and the maintained payer mapping. Every match
//! says which rule decided it and which fields it read; what no rule
//! decides goes to the reconciliation queue with the reason.
//!
//! Rules, first that applies wins:
//! 1. `invoice_reference` — remittance (structured or free text) or the
//!    end-to-end id names one or more open invoices;
//! 2. `commitment_reference` — they name a commitment: its open invoices,
//!    oldest due first;
//! 3. `payer_mapping` — the payer's account, else its name, is mapped to
//!    a brand: the brand's open invoice of that amount, else its open
//!    invoices oldest due first.
//!
//! In every rule the amount must be at most the targets' open total plus
//! the tolerance; several named invoices must be paid in full (within the
//! tolerance), since a part payment would not say which one it is for.

use serde::{Deserialize, Serialize};
use time::Date;

use offtake_ledger::Currency;

use crate::statement::{Direction, Line};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInvoice {
    pub id: String,
    pub brand: String,
    pub facility: String,
    pub commitment: String,
    pub currency: Currency,
    pub open_minor: i64,
    pub due_on: Date,
}

/// A payer the lender has mapped to a brand: by bank account, by name, or
/// both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerMapping {
    pub brand: String,
    pub account: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchConfig {
    /// A payment may exceed what it pays by this much (bank charges,
    /// rounding); the excess becomes the brand's credit.
    pub tolerance_minor: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    InvoiceReference,
    CommitmentReference,
    PayerMapping,
    Manual,
}

/// Why a line matched: the rule and the fields it read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule: Rule,
    /// e.g. `remittance.structured[0]`, `end_to_end_id`, `counterparty_account`.
    pub fields: Vec<String>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub invoice: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMatch {
    pub brand: String,
    pub facility: String,
    pub allocations: Vec<Allocation>,
    pub explanation: Explanation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Payment(PaymentMatch),
    /// For the reconciliation queue.
    Unmatched {
        reason: String,
    },
    /// Money going out, or coming back: reconciled against payouts, not a
    /// brand payment.
    Outgoing,
    Return {
        end_to_end_id: Option<String>,
        reason: Option<String>,
    },
}

/// The fields a reference may appear in, with their names, lower-cased.
pub(crate) fn searchable(line: &Line) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, s) in line.remittance.structured.iter().enumerate() {
        out.push((format!("remittance.structured[{i}]"), s.to_lowercase()));
    }
    for (i, s) in line.remittance.unstructured.iter().enumerate() {
        out.push((format!("remittance.unstructured[{i}]"), s.to_lowercase()));
    }
    if let Some(e) = &line.end_to_end_id {
        out.push(("end_to_end_id".into(), e.to_lowercase()));
    }
    out
}

/// Whether `text` holds `id` as a whole token (not inside a longer id).
fn names(text: &str, id: &str) -> bool {
    let id = id.to_lowercase();
    if id.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(p) = text[from..].find(&id) {
        let start = from + p;
        let end = start + id.len();
        if starts_token(text, start) && ends_token(text, end) {
            return true;
        }
        from = end;
    }
    false
}

/// Whether a reference may start at byte `start` of `text`: nothing
/// alphanumeric right before it.
pub(crate) fn starts_token(text: &str, start: usize) -> bool {
    text[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
}

/// Whether a reference may end at byte `end` of `text`: nothing
/// alphanumeric right after it, and no `-` (`po-1` is not named by
/// `po-1-t2`, an id that continues it).
pub(crate) fn ends_token(text: &str, end: usize) -> bool {
    text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '-')
}

/// Whether the line is a credit the rules decide over invoices (returns
/// and money out are decided by their direction alone).
pub(crate) fn reads_invoices(line: &Line) -> bool {
    !line.is_return && line.direction == Direction::Credit
}

/// A company name reduced for comparison: lower case, letters and digits,
/// without a trailing legal form.
pub fn normal_name(name: &str) -> String {
    let cleaned: String = name.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    while words.len() > 1
        && matches!(
            words.last(),
            Some(
                &("inc"
                    | "llc"
                    | "ltd"
                    | "corp"
                    | "corporation"
                    | "incorporated"
                    | "co"
                    | "company"
                    | "gmbh"
                    | "plc"
                    | "sa"
                    | "bv"
                    | "ag"
                    | "limited")
            )
        )
    {
        words.pop();
    }
    words.join(" ")
}

/// Decides what one statement line is. `invoices` are the open invoices
/// in id order (open amounts already reduced by earlier lines of the same
/// import): all of them, or the working set an import read for the line,
/// which decides the same (see [`crate::lookup`]).
pub fn decide(line: &Line, invoices: &[OpenInvoice], payers: &[PayerMapping], config: MatchConfig) -> Decision {
    if line.is_return {
        return Decision::Return { end_to_end_id: line.end_to_end_id.clone(), reason: line.return_reason.clone() };
    }
    if !reads_invoices(line) {
        return Decision::Outgoing;
    }
    let usable: Vec<&OpenInvoice> = invoices.iter().filter(|i| i.currency == line.currency).collect();
    let fields = searchable(line);
    let mut named: Vec<&OpenInvoice> = Vec::new();
    let mut named_fields: Vec<String> = Vec::new();
    for inv in &usable {
        if let Some((f, _)) = fields.iter().find(|(_, t)| names(t, &inv.id)) {
            named.push(inv);
            if !named_fields.contains(f) {
                named_fields.push(f.clone());
            }
        }
    }
    if !named.is_empty() {
        return settle_on(line, named, Rule::InvoiceReference, named_fields, true, config);
    }
    let mut commitments: Vec<&str> = usable.iter().map(|i| i.commitment.as_str()).collect();
    commitments.sort_unstable();
    commitments.dedup();
    for c in commitments {
        if let Some((f, _)) = fields.iter().find(|(_, t)| names(t, c)) {
            let targets: Vec<&OpenInvoice> =
                usable.iter().copied().filter(|i| i.commitment == c && i.open_minor > 0).collect();
            return settle_on(line, targets, Rule::CommitmentReference, vec![f.clone()], false, config);
        }
    }
    match payer(line, payers) {
        Some((brand, field)) => by_payer(line, &usable, brand, field, config),
        None => Decision::Unmatched {
            reason: "no invoice, commitment or known payer in the remittance, end-to-end id or payer".into(),
        },
    }
}

/// The brand the line's payer is mapped to, and the field that said so.
pub(crate) fn payer<'a>(line: &Line, payers: &'a [PayerMapping]) -> Option<(&'a str, &'static str)> {
    if let Some(acct) = &line.counterparty_account {
        if let Some(m) = payers.iter().find(|m| m.account.as_deref() == Some(acct.as_str())) {
            return Some((&m.brand, "counterparty_account"));
        }
    }
    let name = normal_name(line.counterparty_name.as_deref()?);
    payers
        .iter()
        .find(|m| m.name.as_deref().is_some_and(|n| normal_name(n) == name))
        .map(|m| (m.brand.as_str(), "counterparty_name"))
}

fn by_payer(line: &Line, usable: &[&OpenInvoice], brand: &str, field: &'static str, config: MatchConfig) -> Decision {
    let mut open: Vec<&OpenInvoice> = usable.iter().copied().filter(|i| i.brand == brand && i.open_minor > 0).collect();
    open.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    let exact = open.iter().find(|i| (line.amount_minor - i.open_minor).abs() <= config.tolerance_minor);
    let targets = match exact {
        Some(i) => vec![*i],
        None => open,
    };
    if targets.is_empty() {
        return Decision::Unmatched {
            reason: format!("payer is mapped to brand {brand}, which has no open invoice in {}", line.currency),
        };
    }
    settle_on(line, targets, Rule::PayerMapping, vec![field.to_owned()], false, config)
}

/// Checks the amount against `targets` and allocates it, oldest due first.
fn settle_on(
    line: &Line,
    mut targets: Vec<&OpenInvoice>,
    rule: Rule,
    fields: Vec<String>,
    named: bool,
    config: MatchConfig,
) -> Decision {
    targets.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    let Some(first) = targets.first() else {
        return Decision::Unmatched { reason: "the named commitment has no open invoice".into() };
    };
    if targets.iter().any(|i| i.brand != first.brand || i.facility != first.facility) {
        return Decision::Unmatched { reason: "names invoices of different brands or facilities".into() };
    }
    let open_total: i64 = targets.iter().fold(0i64, |s, i| s.saturating_add(i.open_minor));
    let amount = line.amount_minor;
    let ids: Vec<&str> = targets.iter().map(|i| i.id.as_str()).collect();
    if open_total == 0 {
        return Decision::Unmatched { reason: format!("{} already paid", ids.join(", ")) };
    }
    if amount > open_total.saturating_add(config.tolerance_minor) {
        return Decision::Unmatched {
            reason: format!(
                "pays {amount} but {} has only {open_total} open (tolerance {})",
                ids.join(", "),
                config.tolerance_minor
            ),
        };
    }
    if named && targets.len() > 1 && amount < open_total.saturating_sub(config.tolerance_minor) {
        return Decision::Unmatched {
            reason: format!(
                "pays {amount} of {open_total} open on {}: which invoice is short is not said",
                ids.join(", ")
            ),
        };
    }
    let mut left = amount;
    let mut allocations = Vec::new();
    for (n, inv) in targets.iter().enumerate() {
        let last = n + 1 == targets.len();
        let take = if last { left } else { left.min(inv.open_minor) };
        if take > 0 {
            allocations.push(Allocation { invoice: inv.id.clone(), amount_minor: take });
        }
        left -= take;
    }
    let detail = format!(
        "{} pays {} on {} ({} of {open_total} open{})",
        first.brand,
        amount,
        ids.join(", "),
        amount,
        if amount > open_total { format!(", {} over within tolerance", amount - open_total) } else { String::new() }
    );
    Decision::Payment(PaymentMatch {
        brand: first.brand.clone(),
        facility: first.facility.clone(),
        allocations,
        explanation: Explanation { rule, fields, detail },
    })
}

/// Takes a match's allocations off the open amounts, so the next line of
/// the same import sees what is left (several payments for one invoice).
pub fn consume(invoices: &mut [OpenInvoice], m: &PaymentMatch) {
    for a in &m.allocations {
        if let Some(i) = invoices.iter_mut().find(|i| i.id == a.invoice) {
            i.open_minor = (i.open_minor - a.amount_minor).max(0);
        }
    }
}
