//! The one rule that turns a committed record version into events: a pure
//! function of the version, the version it replaced (for an end-of-day
//! closing, the closing of the day before) and the parties of the
//! facilities and invoices it names. See docs/events.md.

use std::collections::HashMap;

use offtake_bank::LineRecord;
use offtake_finance::service::EodDay;
use offtake_finance::{
    kind, Advance, AdvanceStatus, CertificateSignature, Commitment, CommitmentStatus, CovenantResult, Invoice,
    InvoiceStatus,
};
use offtake_ledger::{Currency, LedgerId, StoredRecord};
use offtake_settlement::{NoticeRecord, NoticeState, Remittance};
use offtake_wire as wire;
use wire::EventPayload as P;

use crate::error::EventError;

/// Record kinds that can yield events (every other kind yields none).
pub const SOURCE_KINDS: &[&str] = &[
    kind::ADVANCE,
    kind::COMMITMENT,
    kind::INVOICE,
    offtake_settlement::notice::NOTICE_KIND,
    offtake_settlement::notice::REMITTANCE_KIND,
    offtake_finance::service::eod_kind::DAY,
    offtake_bank::import::LINE_KIND,
    kind::CERTIFICATE_SIGNATURE,
];

/// Who a facility belongs to (never changes once opened).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilityParties {
    pub lender: String,
    pub maker: String,
    pub currency: Currency,
}

/// What derivation needs to know beyond the versions themselves: the
/// parties of facilities (by id) and the brand of invoices (by id).
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub facilities: HashMap<String, FacilityParties>,
    pub invoice_brands: HashMap<String, String>,
}

impl Context {
    fn lender(&self, facility: &str) -> Option<String> {
        self.facilities.get(facility).map(|f| f.lender.clone())
    }

    fn maker(&self, facility: &str) -> Option<String> {
        self.facilities.get(facility).map(|f| f.maker.clone())
    }
}

/// One committed record version and what it replaced.
#[derive(Clone, Copy, Debug)]
pub struct Change<'a> {
    pub ledger: &'a LedgerId,
    /// The version's position in the record chain.
    pub seq: i64,
    pub record: &'a StoredRecord,
    /// The previous version of the same record; for an end-of-day closing,
    /// the facility's closing of the day before. `None` for a first one.
    pub previous: Option<&'a StoredRecord>,
}

/// An event before it gets its id: payload and parties.
type Draft = (P, Vec<String>);

/// The events a committed version yields, in their order within it.
pub fn derive(change: Change<'_>, ctx: &Context) -> Result<Vec<wire::Event>, EventError> {
    let drafts = match change.record.kind.as_str() {
        kind::ADVANCE => advance(change, ctx)?,
        kind::COMMITMENT => commitment(change)?,
        kind::INVOICE => invoice(change, ctx)?,
        k if k == offtake_settlement::notice::NOTICE_KIND => payment(change, ctx)?,
        k if k == offtake_settlement::notice::REMITTANCE_KIND => remittance(change, ctx)?,
        k if k == offtake_finance::service::eod_kind::DAY => eod_day(change, ctx)?,
        k if k == offtake_bank::import::LINE_KIND => bank_line(change, ctx)?,
        kind::CERTIFICATE_SIGNATURE => certificate_signed(change, ctx)?,
        _ => Vec::new(),
    };
    let occurred_at = wire::instant_of_us(change.record.recorded_at_us);
    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(n, (payload, mut parties))| {
            parties.sort();
            parties.dedup();
            wire::Event {
                id: event_id(change.ledger, change.seq, n),
                ledger: change.ledger.as_str().to_owned(),
                seq: change.seq,
                occurred_at,
                parties,
                payload,
            }
        })
        .collect())
}

/// `evt_{ledger}_{seq}_{n}`.
pub fn event_id(ledger: &LedgerId, seq: i64, n: usize) -> String {
    format!("evt_{}_{seq}_{n}", ledger.as_str())
}

fn decode_pair<T: serde::de::DeserializeOwned>(change: Change<'_>) -> Result<(T, Option<T>), EventError> {
    let cur = change.record.decode::<T>()?;
    let prev = change.previous.map(|p| p.decode::<T>()).transpose()?;
    Ok((cur, prev))
}

fn advance(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    let (a, prev) = decode_pair::<Advance>(change)?;
    let parties: Vec<String> = [Some(a.maker.clone()), ctx.lender(&a.facility)].into_iter().flatten().collect();
    let became = |s: AdvanceStatus| a.status == s && prev.as_ref().is_none_or(|p| p.status != s);
    let w = || wire::Advance::from(a.clone());
    let mut out = Vec::new();
    if prev.is_none() {
        out.push(P::AdvanceRequested(w()));
    }
    if became(AdvanceStatus::Funded) {
        // The lender's countersignature approves and funds in one change.
        out.push(P::AdvanceApproved(w()));
        out.push(P::AdvanceFunded(w()));
    }
    if became(AdvanceStatus::Rejected) {
        out.push(P::AdvanceRejected(w()));
    }
    if became(AdvanceStatus::Expired) {
        out.push(P::AdvanceExpired(w()));
    }
    Ok(out.into_iter().map(|p| (p, parties.clone())).collect())
}

fn commitment(change: Change<'_>) -> Result<Vec<Draft>, EventError> {
    let (c, prev) = decode_pair::<Commitment>(change)?;
    let parties = vec![c.brand.clone(), c.maker.clone()];
    let w = || wire::Commitment::from(c.clone());
    let mut out = Vec::new();
    let cancelled = |x: &Commitment| x.status == CommitmentStatus::Cancelled;
    match &prev {
        None => out.push(P::CommitmentSubmitted(w())),
        // A cancellation is a signed version too; it is reported as what it is.
        Some(p) if cancelled(&c) && !cancelled(p) => out.push(P::CommitmentCancelled(w())),
        Some(p) if c.doc_version > p.doc_version => out.push(P::CommitmentAmended(w())),
        Some(_) => {}
    }
    for t in &c.tranches {
        let before = prev.as_ref().and_then(|p| p.tranches.iter().find(|x| x.id == t.id));
        for d in &t.deliveries {
            if before.is_some_and(|b| b.deliveries.iter().any(|x| x.number == d.number)) {
                continue;
            }
            out.push(P::TrancheDelivered(wire::TrancheDelivered {
                commitment: c.doc_id.clone(),
                brand: c.brand.clone(),
                maker: c.maker.clone(),
                delivery_number: d.number,
                delivered_on: d.delivered_on,
                quantity: d.quantity.clone(),
                value: wire::Money::new(d.value_minor, c.currency),
                invoice: d.invoice.clone(),
                tranche: wire::Tranche::of(t.clone(), c.currency),
            }));
        }
    }
    Ok(out.into_iter().map(|p| (p, parties.clone())).collect())
}

fn invoice(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    let (i, prev) = decode_pair::<Invoice>(change)?;
    let parties: Vec<String> =
        [Some(i.brand.clone()), Some(i.maker.clone()), ctx.lender(&i.facility)].into_iter().flatten().collect();
    let w = || wire::Invoice::from(i.clone());
    let mut out = Vec::new();
    if prev.is_none() {
        out.push(P::InvoiceIssued(w()));
    }
    if i.status == InvoiceStatus::Paid && prev.as_ref().is_none_or(|p| p.status != InvoiceStatus::Paid) {
        out.push(P::InvoicePaid(w()));
    }
    Ok(out.into_iter().map(|p| (p, parties.clone())).collect())
}

fn payment(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    let (n, prev) = decode_pair::<NoticeRecord>(change)?;
    let facility = n.notice.facility.as_str();
    let parties: Vec<String> =
        [Some(n.notice.brand.clone()), ctx.lender(facility), ctx.maker(facility)].into_iter().flatten().collect();
    let was_final = prev.as_ref().is_some_and(NoticeRecord::is_final);
    let w = || wire::Payment::from(n.clone());
    let mut out = Vec::new();
    if prev.is_none() {
        out.push(P::PaymentReceived(w()));
    }
    if !was_final {
        match n.state {
            NoticeState::Applied { .. } => out.push(P::PaymentApplied(w())),
            NoticeState::Suspense { .. } => out.push(P::PaymentSuspense(w())),
            NoticeState::Rejected { .. } => out.push(P::PaymentRejected(w())),
            NoticeState::Queued | NoticeState::Processing { .. } => {}
        }
    }
    Ok(out.into_iter().map(|p| (p, parties.clone())).collect())
}

/// A statement line whose version records a match (at import, or by hand
/// from the queue) that the version before did not.
fn bank_line(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    let (line, prev) = decode_pair::<LineRecord>(change)?;
    let Some(m) = wire::PaymentMatched::of(&line) else { return Ok(Vec::new()) };
    if prev.as_ref().and_then(wire::PaymentMatched::of).is_some() {
        return Ok(Vec::new());
    }
    let parties: Vec<String> =
        [Some(m.brand.clone()), ctx.lender(&m.facility), ctx.maker(&m.facility)].into_iter().flatten().collect();
    Ok(vec![(P::PaymentMatched(m), parties)])
}

fn remittance(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    let (r, prev) = decode_pair::<Remittance>(change)?;
    // A remittance of nothing sent nothing; a later version changes nothing.
    let Some(f) = ctx.facilities.get(&r.facility) else { return Ok(Vec::new()) };
    if prev.is_some() || r.amount_minor <= 0 {
        return Ok(Vec::new());
    }
    let parties = vec![r.maker.clone(), f.lender.clone()];
    Ok(vec![(P::RemittanceSent(wire::Remittance::of(r, f.currency)), parties)])
}

/// A signature on a day's certificate: written once, so its first (and
/// only) version is the event; the facility's lender and maker see it.
fn certificate_signed(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    if change.record.version != 1 {
        return Ok(Vec::new());
    }
    let s = change.record.decode::<CertificateSignature>()?;
    let parties: Vec<String> = [ctx.lender(&s.facility), ctx.maker(&s.facility)].into_iter().flatten().collect();
    Ok(vec![(P::CertificateSigned(s.into()), parties)])
}

/// Time-driven events: what the end of day found that the day before had
/// not (a newly overdue invoice, a newly missed tranche, a covenant's new
/// state, a new availability).
fn eod_day(change: Change<'_>, ctx: &Context) -> Result<Vec<Draft>, EventError> {
    if change.record.version != 1 {
        return Ok(Vec::new());
    }
    let (day, prev) = decode_pair::<EodDay>(change)?;
    let c = &day.certificate;
    let Ok(currency) = Currency::from_code(&c.currency) else { return Ok(Vec::new()) };
    let lender_maker = vec![c.lender.clone(), c.maker.clone()];
    let before = prev.as_ref().map(|p| &p.certificate);
    let mut out: Vec<Draft> = Vec::new();
    let delinquent = |inv: &String| {
        let brand = ctx.invoice_brands.get(inv).cloned().unwrap_or_default();
        let mut parties = lender_maker.clone();
        if !brand.is_empty() {
            parties.push(brand.clone());
        }
        (wire::InvoiceOverdue { facility: day.facility.clone(), invoice: inv.clone(), brand, on: day.day }, parties)
    };
    for inv in c.overdue_invoices.iter().filter(|i| before.is_none_or(|b| !b.overdue_invoices.contains(i))) {
        let (payload, parties) = delinquent(inv);
        out.push((P::InvoiceOverdue(payload), parties));
    }
    let was_defaulted = |i: &String| prev.as_ref().is_some_and(|p| p.defaulted_invoices.contains(i));
    for inv in day.defaulted_invoices.iter().filter(|i| !was_defaulted(i)) {
        let (payload, parties) = delinquent(inv);
        out.push((P::InvoiceDefaulted(payload), parties));
    }
    for t in c.missed_tranches.iter().filter(|t| before.is_none_or(|b| !b.missed_tranches.contains(t))) {
        let (commitment, tranche) = t.split_once('/').unwrap_or((t.as_str(), ""));
        let payload = wire::TrancheMissed {
            facility: day.facility.clone(),
            commitment: commitment.to_owned(),
            tranche: tranche.to_owned(),
            on: day.day,
        };
        out.push((P::TrancheMissed(payload), lender_maker.clone()));
    }
    for cov in &c.covenants {
        let previous = before.and_then(|b| b.covenants.iter().find(|x| x.name == cov.name)).map(|x| x.state);
        if previous == Some(cov.state) || (previous.is_none() && cov.state == offtake_finance::CovenantState::Met) {
            continue;
        }
        out.push((P::CovenantChanged(covenant(&day, cov, previous)), lender_maker.clone()));
    }
    let previous = before.map(|b| b.available_minor);
    if previous != Some(c.available_minor) {
        let payload = wire::AvailabilityChanged {
            facility: day.facility.clone(),
            on: day.day,
            previous: previous.map(|m| wire::Money::new(m, currency)),
            available: wire::Money::new(c.available_minor, currency),
            drawn: wire::Money::new(c.drawn_minor, currency),
            net_base: wire::Money::new(c.net_base_minor, currency),
        };
        out.push((P::AvailabilityChanged(payload), lender_maker));
    }
    Ok(out)
}

fn covenant(
    day: &EodDay,
    cov: &CovenantResult,
    previous: Option<offtake_finance::CovenantState>,
) -> wire::CovenantChanged {
    wire::CovenantChanged {
        facility: day.facility.clone(),
        on: day.day,
        covenant: cov.name.clone(),
        previous_state: previous.map(Into::into),
        state: cov.state.into(),
        value: cov.value,
        limit: cov.limit,
    }
}
