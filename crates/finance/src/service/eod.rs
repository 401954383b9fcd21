//! End of day: for every open facility and each day not yet closed, in
//! order — accrual, aging, eligibility and missed deliveries (the day's
//! point-in-time base), covenants (with the day each state began), and the
//! day's borrowing-base certificate, kept as a record per facility and day.
//!
//! Idempotent and catch-up safe: days are closed one at a time with the
//! same steps a daily run takes (accrual keyed per day, the day's record
//! written once), so one run over 30 days books exactly what 30 daily runs
//! do, and a second run finds nothing to do.

use serde::{Deserialize, Serialize};
use time::Date;

use offtake_ledger::LedgerError;

use crate::aging::{AgingReport, InvoiceState};
use crate::certificate::{certificate, diff, Certificate, DiffLine};
use crate::covenants::{evaluate, with_since, CovenantResult, CovenantTerms};
use crate::error::FinanceError;
use crate::model::{kind, Facility};

use super::{not_after_today, Finance, IndexWalk, MAX_ATTEMPTS};

/// Record kinds of the end-of-day run.
pub mod eod_kind {
    /// Per facility: the last day closed.
    pub const STATE: &str = "eod_state";
    /// Per facility and day (`{facility}:{YYYY-MM-DD}`): the day's closing.
    pub const DAY: &str = "eod_day";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct EodState {
    facility: String,
    closed_through: Date,
}

/// A closed day of one facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EodDay {
    pub facility: String,
    pub day: Date,
    pub interest_total_minor: i64,
    pub certificate: Certificate,
    /// Invoices defaulted at the end of the day (more than
    /// `default_days_past_due` past due, money still open): what the
    /// `invoice.defaulted` event compares with the day before. Absent in
    /// closings written before it was kept.
    #[serde(default)]
    pub defaulted_invoices: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EodFacilityReport {
    pub facility: String,
    pub days_closed: usize,
    pub closed_through: Option<Date>,
    /// The covenants of the last day closed.
    pub covenants: Vec<CovenantResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EodReport {
    pub through: Date,
    pub facilities: Vec<EodFacilityReport>,
}

fn day_id(facility: &str, day: Date) -> String {
    format!("{facility}:{day}")
}

impl Finance {
    /// Closes every open facility's days through `through` (not after
    /// `today`), in facility id order, calling `progress` after each closed
    /// day. Reads the open facilities a page at a time (the `open` index):
    /// closed and offered facilities are never read.
    pub async fn eod(
        &self,
        through: Date,
        today: Date,
        progress: &mut (dyn FnMut(&str, Date) + Send),
    ) -> Result<EodReport, FinanceError> {
        not_after_today("through", through, today)?;
        let mut report = EodReport { through, facilities: Vec::new() };
        let mut walk = IndexWalk::open_facilities();
        while let Some(page) = self.next_page::<Facility>(&mut walk).await? {
            for f in page {
                report.facilities.push(self.eod_facility(&f, through, progress).await?);
            }
        }
        Ok(report)
    }

    async fn eod_facility(
        &self,
        f: &Facility,
        through: Date,
        progress: &mut (dyn FnMut(&str, Date) + Send),
    ) -> Result<EodFacilityReport, FinanceError> {
        let state = self.load::<EodState>(eod_kind::STATE, &f.id).await?;
        let mut day = match &state {
            Some(s) => s.value.closed_through.next_day().unwrap_or(Date::MAX),
            None => f.opened_on,
        };
        let mut out = EodFacilityReport {
            facility: f.id.clone(),
            days_closed: 0,
            closed_through: state.as_ref().map(|s| s.value.closed_through),
            covenants: Vec::new(),
        };
        if day <= through {
            // Back-valued events since the last run re-accrue first.
            self.reaccrue(&f.id).await?;
        }
        while day <= through {
            let closed = self.close_day(&f.id, day).await?;
            self.save_closed_through(&f.id, day).await?;
            out.days_closed += 1;
            out.closed_through = Some(day);
            out.covenants = closed.certificate.covenants;
            progress(&f.id, day);
            day = match day.next_day() {
                Some(d) => d,
                None => break,
            };
        }
        if out.covenants.is_empty() {
            if let Some(last) = out.closed_through {
                if let Some(d) = self.closed_day(&f.id, last).await? {
                    out.covenants = d.certificate.covenants;
                }
            }
        }
        Ok(out)
    }

    /// One day's closing (written once; a re-run answers the record).
    async fn close_day(&self, facility: &str, day: Date) -> Result<EodDay, FinanceError> {
        if let Some(done) = self.closed_day(facility, day).await? {
            return Ok(done);
        }
        let accrual = self.accrue(facility, day).await?;
        let (certificate, aging) = self.computed_bbc(facility, day).await?;
        let defaulted_invoices =
            aging.invoices.into_iter().filter(|l| l.state == InvoiceState::Defaulted).map(|l| l.invoice).collect();
        let closed = EodDay {
            facility: facility.to_owned(),
            day,
            interest_total_minor: accrual.interest_total_minor,
            certificate,
            defaulted_invoices,
        };
        match self.save(eod_kind::DAY, &day_id(facility, day), 0, &closed).await {
            Ok(_) => Ok(closed),
            Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => self
                .closed_day(facility, day)
                .await?
                .ok_or_else(|| FinanceError::not_found("eod day", day_id(facility, day))),
            Err(e) => Err(e),
        }
    }

    async fn save_closed_through(&self, facility: &str, day: Date) -> Result<(), FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.load::<EodState>(eod_kind::STATE, facility).await?;
            let expected = cur.as_ref().map_or(0, |c| c.version);
            if cur.as_ref().is_some_and(|c| c.value.closed_through >= day) {
                return Ok(());
            }
            let next = EodState { facility: facility.to_owned(), closed_through: day };
            match self.save(eod_kind::STATE, facility, expected, &next).await {
                Ok(_) => return Ok(()),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }

    /// The closing of `day`, if the end-of-day run has closed it.
    pub async fn closed_day(&self, facility: &str, day: Date) -> Result<Option<EodDay>, FinanceError> {
        Ok(self.load::<EodDay>(eod_kind::DAY, &day_id(facility, day)).await?.map(|v| v.value))
    }

    /// The borrowing-base certificate of a facility for `as_of`: the one
    /// the end-of-day run kept if the day is closed, else computed now from
    /// the day's point-in-time figures (covenant start dates carried from
    /// the previous closed day).
    pub async fn bbc(&self, facility: &str, as_of: Date) -> Result<Certificate, FinanceError> {
        if let Some(done) = self.closed_day(facility, as_of).await? {
            return Ok(done.certificate);
        }
        Ok(self.computed_bbc(facility, as_of).await?.0)
    }

    /// The certificate of `as_of` computed from the day's point-in-time
    /// figures, with the aging it was computed from.
    async fn computed_bbc(&self, facility: &str, as_of: Date) -> Result<(Certificate, AgingReport), FinanceError> {
        let f = self.facility(facility).await?;
        let a = self.availability(facility, as_of).await?;
        let aging = self.aging(facility, as_of).await?;
        let previous = match as_of.previous_day() {
            Some(d) => self.closed_day(facility, d).await?.map(|d| d.certificate.covenants).unwrap_or_default(),
            None => Vec::new(),
        };
        let covenants = with_since(evaluate(&f.covenants, &a, &aging), &previous, as_of);
        Ok((certificate(&f, &a, &aging, covenants), aging))
    }

    /// Why availability moved between two days, line by line.
    pub async fn bbc_diff(&self, facility: &str, from: Date, to: Date) -> Result<Vec<DiffLine>, FinanceError> {
        let currency = self.facility(facility).await?.terms.currency;
        let before = self.availability(facility, from).await?;
        let after = self.availability(facility, to).await?;
        Ok(diff(&before, &after, currency))
    }

    /// Covenant states of every closed day in `from..=to`, oldest first.
    pub async fn covenant_history(
        &self,
        facility: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, Vec<CovenantResult>)>, FinanceError> {
        self.facility(facility).await?;
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            if let Some(d) = self.closed_day(facility, day).await? {
                out.push((day, d.certificate.covenants));
            }
            day = match day.next_day() {
                Some(d) => d,
                None => break,
            };
        }
        Ok(out)
    }

    /// Sets a facility's covenant limits (the lender's; the caller checks
    /// who asks). Days already closed keep the states they were closed with.
    pub async fn set_covenants(&self, facility: &str, covenants: CovenantTerms) -> Result<Facility, FinanceError> {
        if covenants.near_breach_margin_bps > crate::rate::BPS_PER_UNIT
            || covenants.max_brand_concentration_bps > crate::rate::BPS_PER_UNIT
            || covenants.max_missed_delivery_bps > crate::rate::BPS_PER_UNIT
            || covenants.min_eligible_minor < 0
        {
            return Err(FinanceError::invalid("covenants", "shares are 0 to 10000 bps, the minimum not negative"));
        }
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Facility>(kind::FACILITY, facility).await?;
            if cur.value.covenants == covenants {
                return Ok(cur.value);
            }
            let mut next = cur.value;
            next.covenants = covenants.clone();
            match self.save(kind::FACILITY, facility, cur.version, &next).await {
                Ok(_) => return Ok(next),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }
}
