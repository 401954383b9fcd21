//! The accrual job: books each day's interest (and default interest and
//! late fees while invoices are overdue) up to a date. Idempotent: each day
//! is keyed by facility and date, and a run resumes after the last day
//! booked, so running it twice books nothing more and a missed week is
//! caught up day by day.

use std::collections::BTreeMap;

use offtake_ledger::{Action, Command, Layer, LedgerError, Side};
use serde::Serialize;
use time::Date;

use crate::chart::{self, FacilityPart};
use crate::error::FinanceError;
use crate::interest::{accrue, AccrualInput, DailyAccrual};
use crate::model::{kind, Facility, Invoice};
use crate::rate::apply_bps;

use super::{command, pair, Finance, IndexWalk, MAX_ATTEMPTS};

/// Commands per ledger transaction when catching up.
const ACCRUAL_BATCH: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccrualReport {
    pub facility: String,
    pub through: Date,
    pub days_booked: usize,
    pub interest_minor: i64,
    pub default_interest_minor: i64,
    pub late_fees_minor: i64,
    pub interest_total_minor: i64,
}

impl Finance {
    /// Accrues every open facility through `through`, in facility id
    /// order, reading them a page at a time (the `open` index): closed and
    /// offered facilities are never read (an offered one accrues from its
    /// opening day once accepted).
    pub async fn accrue_all(&self, through: Date) -> Result<Vec<AccrualReport>, FinanceError> {
        let mut out = Vec::new();
        let mut walk = IndexWalk::open_facilities();
        while let Some(page) = self.next_page::<Facility>(&mut walk).await? {
            for f in page {
                out.push(self.accrue(&f.id, through).await?);
            }
        }
        Ok(out)
    }

    /// Accrues one facility through `through` (inclusive).
    ///
    /// Through a day already accrued there is nothing to do, and nothing is
    /// read: settlement calls this once per payment notice. The one charge
    /// that could still be due then, the late fee of an invoice issued
    /// back-dated after the accrual, is booked when that invoice is issued
    /// (see `issue_invoice`).
    pub async fn accrue(&self, facility_id: &str, through: Date) -> Result<AccrualReport, FinanceError> {
        self.accrue_with(facility_id, through, false).await
    }

    /// [`Finance::accrue`]; `scan_late_fees` looks for unbooked late fees
    /// even when the days are already accrued.
    pub(crate) async fn accrue_with(
        &self,
        facility_id: &str,
        through: Date,
        scan_late_fees: bool,
    ) -> Result<AccrualReport, FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Facility>(kind::FACILITY, facility_id).await?;
            let f = cur.value;
            let days_done = f.accrued_through.is_some_and(|done| done >= through);
            if days_done && !scan_late_fees {
                return Ok(AccrualReport {
                    facility: f.id,
                    through,
                    days_booked: 0,
                    interest_minor: 0,
                    default_interest_minor: 0,
                    late_fees_minor: 0,
                    interest_total_minor: f.interest_booked_minor,
                });
            }
            let invoices: Vec<Invoice> = self.invoices_of_facility(&f.id).await?;
            // With every day booked, `accrue` never reads the principal's
            // history, so it is not fetched.
            let deltas = if days_done { BTreeMap::new() } else { self.principal_deltas(&f).await? };
            let input = AccrualInput {
                principal_deltas: &deltas,
                start: f.opened_on,
                accrued_through: f.accrued_through,
                through,
                rate_bps: f.terms.rate_bps,
                default_margin_bps: f.terms.default_margin_bps,
                day_count: f.terms.day_count,
                rounding: f.terms.rounding,
                interest_booked_minor: f.interest_booked_minor,
                default_booked_minor: f.default_interest_booked_minor,
            };
            let grace = f.terms.grace_days;
            let run = accrue(&input, |day| invoices.iter().any(|i| i.overdue_on(day, grace)))?;
            let mut report = AccrualReport {
                facility: f.id.clone(),
                through,
                days_booked: 0,
                interest_minor: 0,
                default_interest_minor: 0,
                late_fees_minor: 0,
                interest_total_minor: run.interest_total_minor,
            };
            let mut commands = self.day_charges(&f, &run.days, &mut report)?;
            let late = self.late_fee_charges(&f, &invoices, through, &mut commands, &mut report)?;
            for chunk in commands.chunks(ACCRUAL_BATCH) {
                self.commit_all(chunk.to_vec()).await?;
            }
            for id in &late {
                self.mark_late_fee_booked(id).await?;
            }
            if run.days.is_empty() {
                return Ok(report);
            }
            let mut next = f.clone();
            next.accrued_through = Some(through.max(f.accrued_through.unwrap_or(through)));
            next.interest_booked_minor = run.interest_total_minor;
            next.default_interest_booked_minor = run.default_total_minor;
            match self.save(kind::FACILITY, &f.id, cur.version, &next).await {
                Ok(_) => return Ok(report),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// Each accrued day's interest and default interest, as commands, added
    /// to the report.
    fn day_charges(
        &self,
        f: &Facility,
        days: &[DailyAccrual],
        report: &mut AccrualReport,
    ) -> Result<Vec<Command>, FinanceError> {
        let mut commands = Vec::new();
        for day in days {
            if let Some(c) = self.charge(f, FacilityPart::Interest, "interest", day.day, day.interest_minor)? {
                commands.push(c);
            }
            if let Some(c) = self.charge(f, FacilityPart::Penalty, "default_interest", day.day, day.default_minor)? {
                commands.push(c);
            }
            report.interest_minor += day.interest_minor;
            report.default_interest_minor += day.default_minor;
            report.days_booked += 1;
        }
        Ok(commands)
    }

    /// The late fee of each invoice first overdue by `through` whose fee is
    /// not booked yet, charged on its first overdue day (keyed by invoice,
    /// so it is booked once); answers the invoices to mark as charged,
    /// including those whose fee rounds to zero.
    fn late_fee_charges(
        &self,
        f: &Facility,
        invoices: &[Invoice],
        through: Date,
        commands: &mut Vec<Command>,
        report: &mut AccrualReport,
    ) -> Result<Vec<String>, FinanceError> {
        let grace = f.terms.grace_days;
        let mut late = Vec::new();
        for inv in invoices.iter().filter(|i| !i.late_fee_booked) {
            let first_overdue = offtake_ledger::date::add_days_saturating(inv.due_on, i64::from(grace) + 1);
            if first_overdue > through || !inv.overdue_on(first_overdue, grace) {
                continue;
            }
            let fee = f.terms.rounding.round_minor(apply_bps(inv.open_on(first_overdue), f.terms.late_fee_bps))?;
            if fee > 0 {
                let mut c = self
                    .charge(f, FacilityPart::Penalty, "late_fee", first_overdue, fee)?
                    .ok_or(FinanceError::AmountOverflow)?;
                c.idempotency_key = format!("late_fee:{}", inv.id);
                c.metadata =
                    serde_json::json!({ "facility": f.id, "invoice": inv.id, "late_fee_bps": f.terms.late_fee_bps });
                commands.push(c);
                report.late_fees_minor += fee;
            }
            late.push(inv.id.clone());
        }
        Ok(late)
    }

    /// One day's charge (negative = a correction in the other direction).
    pub(crate) fn charge(
        &self,
        f: &Facility,
        part: FacilityPart,
        what: &str,
        day: Date,
        amount_minor: i64,
    ) -> Result<Option<Command>, FinanceError> {
        if amount_minor == 0 {
            return Ok(None);
        }
        let c = f.terms.currency;
        let owed = chart::facility(&f.id, part, c)?;
        let income = chart::income(&f.lender, part, c)?;
        let legs =
            if amount_minor > 0 { pair(&owed, &income, amount_minor) } else { pair(&income, &owed, -amount_minor) };
        Ok(Some(command(
            format!("{what}:{}:{day}", f.id),
            what,
            day,
            serde_json::json!({ "facility": f.id, "rate_bps": f.terms.rate_bps, "day_count": f.terms.day_count }),
            None,
            Action::Record { legs, pending: false },
        )))
    }

    /// Posted principal movements by effective date.
    pub(crate) async fn principal_deltas(&self, f: &Facility) -> Result<BTreeMap<Date, i64>, FinanceError> {
        let principal = chart::facility(&f.id, FacilityPart::Principal, f.terms.currency)?;
        let mut deltas: BTreeMap<Date, i64> = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .account_entries(
                    &self.ledger,
                    &principal.code,
                    cursor.as_deref(),
                    offtake_ledger::store::MAX_PAGE_LIMIT,
                )
                .await?;
            for e in &page.items {
                for l in e.legs.iter().filter(|l| l.account == principal.code && l.layer == Layer::Posted) {
                    let signed = if l.side == Side::Debit { l.amount_minor } else { -l.amount_minor };
                    *deltas.entry(e.effective_date).or_default() += signed;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(deltas),
            }
        }
    }

    async fn mark_late_fee_booked(&self, id: &str) -> Result<(), FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.invoice_versioned(id).await?;
            if cur.value.late_fee_booked {
                return Ok(());
            }
            let mut inv = cur.value;
            inv.late_fee_booked = true;
            match self.save(kind::INVOICE, id, cur.version, &inv).await {
                Ok(_) => return Ok(()),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }
}
