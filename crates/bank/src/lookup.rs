//! What a statement import reads to decide a line: not every invoice (a
//! program may hold 100,000), only those the line can be about.
//!
//! The rules of [`crate::matching`] look at three sets of invoices: the
//! invoices a text names by id, the invoices of a commitment a text names,
//! and, for a mapped payer, the brand's open invoices. [`lookups`] says
//! which keys select them; the import reads each through a secondary index
//! (`invoice.reference`: id and commitment lower-cased;
//! `invoice.open_by_brand`) into one [`WorkingSet`] per import.
//!
//! The invariant (proved by the property test in
//! `tests/working_set.rs`): for every line, deciding over the working set
//! gives the same [`Decision`] as deciding over all invoices, with open
//! amounts reduced by the earlier lines of the same import in both. It
//! holds because
//! * [`references`] is a superset of what [`crate::matching`] can find a
//!   name in: every substring that starts and ends where a name may
//!   (the same predicates) and is made of characters a record id may hold;
//!   so every invoice named, and every invoice of every commitment named,
//!   is read;
//! * an invoice a mapped payer's rule can pay is open, so it is under
//!   its brand in `open_by_brand`;
//! * the working set keeps invoices in id order (the order the rules
//!   report fields in) and never replaces one it holds, whose open amount
//!   may already be reduced by an earlier line.
//!
//! Work per line is bounded: texts are short, and a line whose texts hold
//! more than [`MAX_REFERENCES_PER_LINE`] possible references is not
//! searched but queued for an operator (a decision all-invoices matching
//! would not make; no real remittance comes near it).

use std::collections::BTreeSet;

use offtake_ledger::record::MAX_RECORD_KEY_LEN;

use crate::matching::{
    ends_token, payer, reads_invoices, searchable, starts_token, Decision, OpenInvoice, PayerMapping,
};
use crate::statement::Line;

/// Most distinct references one line is looked up by (one index read
/// each). A camt remittance line is at most 140 characters; an ordinary
/// one ("INV-2026-0042 PO-7") yields a handful, ten invoices run together
/// ("inv-1/inv-2/.../inv-10") about a hundred.
pub const MAX_REFERENCES_PER_LINE: usize = 256;

/// The index keys that select what one line can be decided on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookups {
    /// Lower-cased strings that may be an invoice's or a commitment's id.
    pub references: Vec<String>,
    /// The brand a mapped payer pays, whose open invoices are read.
    pub brand: Option<String>,
}

/// A line whose texts hold more than [`MAX_REFERENCES_PER_LINE`] possible
/// references: not searched, queued for an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyReferences;

impl TooManyReferences {
    /// The line's decision: the reconciliation queue, saying why.
    pub fn decision(self) -> Decision {
        Decision::Unmatched {
            reason: format!(
                "the remittance holds more than {MAX_REFERENCES_PER_LINE} possible references; match it by hand"
            ),
        }
    }
}

/// The keys for one line (none for returns and money out).
pub fn lookups(line: &Line, payers: &[PayerMapping]) -> Result<Lookups, TooManyReferences> {
    if !reads_invoices(line) {
        return Ok(Lookups::default());
    }
    let references = references(line).ok_or(TooManyReferences)?;
    Ok(Lookups { references, brand: payer(line, payers).map(|(b, _)| b.to_owned()) })
}

/// Every string in the line's searchable texts (lower-cased) that
/// `names` could accept as an id: it starts and ends where a name may and
/// is at most [`MAX_RECORD_KEY_LEN`] characters a record id may hold. In
/// byte order, without repeats; `None` past [`MAX_REFERENCES_PER_LINE`].
pub fn references(line: &Line) -> Option<Vec<String>> {
    let mut found = BTreeSet::new();
    for (_, text) in searchable(line) {
        for (start, _) in text.char_indices().filter(|(i, _)| starts_token(&text, *i)) {
            let run = text[start..].bytes().take(MAX_RECORD_KEY_LEN).take_while(|b| id_byte(*b)).count();
            for end in (start + 1..=start + run).filter(|e| ends_token(&text, *e)) {
                found.insert(text[start..end].to_owned());
                if found.len() > MAX_REFERENCES_PER_LINE {
                    return None;
                }
            }
        }
    }
    Some(found.into_iter().collect())
}

/// A byte a record id may hold (`check_record_key`): printable ASCII
/// without quotes or backslashes. Every such byte is a whole character.
fn id_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'\'' && b != b'"' && b != b'\\'
}

/// The invoices one import has read, in id order, with open amounts as
/// the import's earlier lines left them.
#[derive(Clone, Debug, Default)]
pub struct WorkingSet {
    invoices: Vec<OpenInvoice>,
    references: BTreeSet<String>,
    brands: BTreeSet<String>,
}

impl WorkingSet {
    /// The keys of `l` not read yet (each is read once per import).
    pub fn unread(&self, l: &Lookups) -> Lookups {
        Lookups {
            references: l.references.iter().filter(|r| !self.references.contains(*r)).cloned().collect(),
            brand: l.brand.clone().filter(|b| !self.brands.contains(b)),
        }
    }

    /// Adds what `l`'s keys selected. An invoice already held is kept as
    /// it is: its open amount may be reduced by an earlier line.
    pub fn add(&mut self, l: &Lookups, found: impl IntoIterator<Item = OpenInvoice>) {
        self.references.extend(l.references.iter().cloned());
        self.brands.extend(l.brand.iter().cloned());
        for inv in found {
            if let Err(at) = self.invoices.binary_search_by(|i| i.id.cmp(&inv.id)) {
                self.invoices.insert(at, inv);
            }
        }
    }

    pub fn invoices(&self) -> &[OpenInvoice] {
        &self.invoices
    }

    pub fn invoices_mut(&mut self) -> &mut [OpenInvoice] {
        &mut self.invoices
    }
}
