//! The borrowing-base certificate: one day's base of a facility as a
//! document (collateral by category, ineligibles by reason, concentration,
//! reserves, rates, base, limit, drawn, availability, covenants), and the
//! line-by-line explanation of why availability moved between two days.
//! Pure: built from the day's point-in-time figures. The JSON Schema is
//! `schemas/bbc.schema.json`.

use std::collections::{BTreeMap, BTreeSet};

use offtake_ledger::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::aging::{AgingBuckets, AgingReport, InvoiceState};
use crate::base::Availability;
use crate::covenants::CovenantResult;
use crate::lifecycle::TrancheState;
use crate::model::Facility;
use crate::reserves::ReserveLine;

pub const CERTIFICATE_TYPE: &str = "borrowing_base_certificate";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollateralByCategory {
    /// Open value of tranches in their delivery window (with grace).
    pub commitments_in_window_minor: i64,
    /// Open value of tranches not yet in their window.
    pub commitments_scheduled_minor: i64,
    /// Open receivables by days past due.
    pub receivables: AgingBuckets,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcentrationLine {
    pub brand: String,
    pub eligible_minor: i64,
    pub cap_minor: i64,
    pub excess_minor: i64,
    pub counted_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateReserve {
    pub name: String,
    pub reserve_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    #[serde(rename = "type")]
    pub doc_type: String,
    pub facility: String,
    pub lender: String,
    pub maker: String,
    pub currency: String,
    pub as_of: Date,
    pub collateral: CollateralByCategory,
    /// Ineligible value by reason code.
    pub ineligible: BTreeMap<String, i64>,
    pub concentration: Vec<ConcentrationLine>,
    pub advance_rate_bps: u32,
    pub receivable_advance_rate_bps: u32,
    pub eligible_minor: i64,
    pub counted_minor: i64,
    pub base_minor: i64,
    pub reserves: Vec<CertificateReserve>,
    pub reserves_minor: i64,
    pub net_base_minor: i64,
    pub limit_minor: i64,
    pub capacity_minor: i64,
    pub drawn_minor: i64,
    pub pending_minor: i64,
    pub available_minor: i64,
    pub overadvance_minor: i64,
    pub covenants: Vec<CovenantResult>,
    /// Invoices overdue or defaulted on the date (flagged).
    pub overdue_invoices: Vec<String>,
    /// Tranches missed on the date, as `commitment/tranche` (flagged).
    pub missed_tranches: Vec<String>,
}

/// The certificate of `f` for the day `a` was computed for.
pub fn certificate(f: &Facility, a: &Availability, aging: &AgingReport, covenants: Vec<CovenantResult>) -> Certificate {
    let open_in =
        |state: TrancheState| -> i64 { a.tranches.iter().filter(|t| t.state == state).map(|t| t.open_minor).sum() };
    let mut receivables = AgingBuckets::default();
    for r in &a.receivables {
        receivables.add(r.days_past_due, r.open_minor);
    }
    Certificate {
        doc_type: CERTIFICATE_TYPE.to_owned(),
        facility: f.id.clone(),
        lender: f.lender.clone(),
        maker: f.maker.clone(),
        currency: f.terms.currency.to_string(),
        as_of: a.as_of,
        collateral: CollateralByCategory {
            commitments_in_window_minor: open_in(TrancheState::InWindow),
            commitments_scheduled_minor: open_in(TrancheState::Scheduled),
            receivables,
        },
        ineligible: a.ineligible.clone(),
        concentration: a
            .brands
            .iter()
            .map(|b| ConcentrationLine {
                brand: b.brand.clone(),
                eligible_minor: b.eligible_minor,
                cap_minor: b.cap_minor,
                excess_minor: b.excess_minor,
                counted_minor: b.counted_minor,
            })
            .collect(),
        advance_rate_bps: a.advance_rate_bps,
        receivable_advance_rate_bps: a.receivable_advance_rate_bps,
        eligible_minor: a.eligible_minor,
        counted_minor: a.counted_minor,
        base_minor: a.base_minor,
        reserves: a
            .reserves
            .iter()
            .map(|r: &ReserveLine| CertificateReserve { name: r.name.clone(), reserve_minor: r.reserve_minor })
            .collect(),
        reserves_minor: a.reserves_minor,
        net_base_minor: a.net_base_minor,
        limit_minor: a.limit_minor,
        capacity_minor: a.capacity_minor,
        drawn_minor: a.outstanding_minor,
        pending_minor: a.pending_minor,
        available_minor: a.available_minor,
        overadvance_minor: a.overadvance_minor,
        covenants,
        overdue_invoices: aging
            .invoices
            .iter()
            .filter(|l| matches!(l.state, InvoiceState::Overdue | InvoiceState::Defaulted))
            .map(|l| l.invoice.clone())
            .collect(),
        missed_tranches: a
            .tranches
            .iter()
            .filter(|t| t.state == TrancheState::Missed)
            .map(|t| format!("{}/{}", t.commitment, t.tranche))
            .collect(),
    }
}

/// Hex SHA-256 of the certificate's RFC 8785 canonical JSON (the document
/// `offtake bbc show --json` prints): what a certificate signature names.
pub fn certificate_hash(c: &Certificate) -> Result<String, crate::error::FinanceError> {
    let value =
        serde_json::to_value(c).map_err(|e| crate::error::FinanceError::invalid("certificate", e.to_string()))?;
    Ok(hex::encode(offtake_signing::body_hash(&value)?))
}

/// One reason availability moved between two days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// `collateral`, `concentration`, `base`, `reserve`, `limit`, `drawn`,
    /// `pending`, `available`.
    pub step: String,
    pub item: String,
    pub from_minor: i64,
    pub to_minor: i64,
    pub change_minor: i64,
    pub why: String,
}

fn line(step: &str, item: String, from_minor: i64, to_minor: i64, why: String) -> DiffLine {
    DiffLine { step: step.into(), item, from_minor, to_minor, change_minor: to_minor - from_minor, why }
}

/// Why availability moved from `from` to `to`, line by line: each
/// collateral item whose eligible value changed (with its state or reason
/// on each day), concentration, the base, each reserve, the limit, drawn
/// and pending, and the availability itself. The lines of the last five
/// steps add up: Δavailable = Δcapacity − Δdrawn − Δpending.
pub fn diff(from: &Availability, to: &Availability, currency: Currency) -> Vec<DiffLine> {
    let mut out = tranche_lines(from, to);
    out.extend(receivable_lines(from, to));
    let excess = |a: &Availability| a.brands.iter().map(|b| (b.brand.clone(), b.excess_minor)).collect();
    for (brand, fm, tm) in changes(excess(from), excess(to)) {
        let why = "above the brand cap, not counted".into();
        out.push(line("concentration", format!("excess over cap, {brand}"), fm, tm, why));
    }
    out.push(base_line(from, to, currency));
    let reserves = |a: &Availability| a.reserves.iter().map(|r| (r.name.clone(), r.reserve_minor)).collect();
    for (name, fm, tm) in changes(reserves(from), reserves(to)) {
        out.push(line("reserve", name, fm, tm, "held back from the base".into()));
    }
    out.extend(total_lines(from, to));
    out
}

/// The keys whose amount differs between two days, with both amounts (a
/// key missing on one day counts as zero there).
fn changes(before: BTreeMap<String, i64>, after: BTreeMap<String, i64>) -> Vec<(String, i64, i64)> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .map(|k| (k.clone(), before.get(k).copied().unwrap_or(0), after.get(k).copied().unwrap_or(0)))
        .filter(|(_, fm, tm)| fm != tm)
        .collect()
}

/// Each committed tranche whose eligible value changed, with its state and
/// eligibility on both days.
fn tranche_lines(from: &Availability, to: &Availability) -> Vec<DiffLine> {
    let key = |t: &crate::base::TrancheLine| format!("{}/{}", t.commitment, t.tranche);
    let before: BTreeMap<String, _> = from.tranches.iter().map(|t| (key(t), t)).collect();
    let after: BTreeMap<String, _> = to.tranches.iter().map(|t| (key(t), t)).collect();
    let describe = |t: Option<&&crate::base::TrancheLine>| {
        t.map_or("not committed".to_owned(), |t| format!("{} ({})", t.state.as_str(), t.eligibility.as_str()))
    };
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let (fm, tm) = (b.map_or(0, |t| t.eligible_minor), a.map_or(0, |t| t.eligible_minor));
        if fm != tm {
            let why = format!("tranche {} → {}", describe(b), describe(a));
            out.push(line("collateral", format!("tranche {k}"), fm, tm, why));
        }
    }
    out
}

/// Each receivable whose eligible value changed, with its days past due
/// and eligibility on both days.
fn receivable_lines(from: &Availability, to: &Availability) -> Vec<DiffLine> {
    let before: BTreeMap<&str, _> = from.receivables.iter().map(|r| (r.invoice.as_str(), r)).collect();
    let after: BTreeMap<&str, _> = to.receivables.iter().map(|r| (r.invoice.as_str(), r)).collect();
    let describe = |r: Option<&&crate::base::ReceivableLine>| {
        r.map_or("not open".to_owned(), |r| format!("{} days past due ({})", r.days_past_due, r.eligibility.as_str()))
    };
    let keys: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let mut out = Vec::new();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let (fm, tm) = (b.map_or(0, |r| r.eligible_minor), a.map_or(0, |r| r.eligible_minor));
        if fm != tm {
            let why = format!("{} → {}", describe(b), describe(a));
            out.push(line("collateral", format!("receivable {k}"), fm, tm, why));
        }
    }
    out
}

/// The borrowing base, with what was counted on each day.
fn base_line(from: &Availability, to: &Availability, currency: Currency) -> DiffLine {
    let m = |minor: i64| AmountMinor::new(minor).format(currency);
    let why = format!(
        "counted commitments {} → {} at {} bps, receivables {} → {} at {} bps",
        m(from.counted_commitments_minor),
        m(to.counted_commitments_minor),
        to.advance_rate_bps,
        m(from.counted_receivables_minor),
        m(to.counted_receivables_minor),
        to.receivable_advance_rate_bps
    );
    line("base", "borrowing base".into(), from.base_minor, to.base_minor, why)
}

/// Capacity, drawn, pending and availability, which add up:
/// Δavailable = Δcapacity − Δdrawn − Δpending.
fn total_lines(from: &Availability, to: &Availability) -> [DiffLine; 4] {
    let limits = format!(
        "net base {} → {}, limit {} → {}",
        from.net_base_minor, to.net_base_minor, from.limit_minor, to.limit_minor
    );
    [
        line("limit", "capacity (net base capped by the limit)".into(), from.capacity_minor, to.capacity_minor, limits),
        line(
            "drawn",
            "principal outstanding".into(),
            from.outstanding_minor,
            to.outstanding_minor,
            "draws funded less repaid".into(),
        ),
        line(
            "pending",
            "advances awaiting a decision".into(),
            from.pending_minor,
            to.pending_minor,
            "holds on availability".into(),
        ),
        line(
            "available",
            "availability".into(),
            from.available_minor,
            to.available_minor,
            "capacity − drawn − pending".into(),
        ),
    ]
}
