//! Dates bounded and back-valued payments: accrual refuses days after
//! today, and a payment (or draw) whose value date falls in days already
//! accrued re-accrues them, booking the difference as one adjustment entry
//! so booked interest always equals the exact interest on the true
//! principal path. `today` is always the caller's: the service never reads
//! the clock.

use offtake_ledger::{Action, AsOf, Command, LedgerError};
use serde::Serialize;
use time::Date;

use crate::chart::{self, FacilityPart};
use crate::error::FinanceError;
use crate::interest::{accrue, AccrualInput};
use crate::model::{kind, Facility, Invoice};

use super::{command, pair, AccrualReport, Finance, IndexWalk, MAX_ATTEMPTS};

/// What a re-accrual booked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reaccrual {
    pub facility: String,
    /// The last accrued day the figures were recomputed through.
    pub through: Option<Date>,
    /// Booked − exact before, in minor units (either sign) per kind.
    pub interest_adjustment_minor: i64,
    pub default_adjustment_minor: i64,
}

impl Finance {
    async fn posted_now(&self, f: &Facility, part: FacilityPart) -> Result<i64, FinanceError> {
        let code = chart::facility(&f.id, part, f.terms.currency)?.code;
        match self.store.balance(&self.ledger, &code, AsOf::Now).await {
            Ok(b) => Ok(b.posted_minor),
            Err(LedgerError::UnknownAccount(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Interest overpaid (booked for days a back-valued payment shortened)
    /// is given back: first by lowering principal (Dr interest income, Cr
    /// principal), any rest as a payable to the maker.
    fn interest_refund(
        &self,
        f: &Facility,
        on: Date,
        amount_minor: i64,
        principal_minor: i64,
        key: &str,
    ) -> Result<Vec<Command>, FinanceError> {
        let c = f.terms.currency;
        let income = chart::income(&f.lender, FacilityPart::Interest, c)?;
        let to_principal = amount_minor.min(principal_minor.max(0));
        let mut out = Vec::new();
        for (target, amount, what) in [
            (chart::facility(&f.id, FacilityPart::Principal, c)?, to_principal, "principal"),
            (chart::maker_payable(&f.maker, c)?, amount_minor - to_principal, "payable"),
        ] {
            if amount > 0 {
                out.push(command(
                    format!("interest_refund:{key}:{what}"),
                    "interest_refund",
                    on,
                    serde_json::json!({ "facility": f.id, "reason": "back_valued_payment" }),
                    None,
                    Action::Record { legs: pair(&income, &target, amount), pending: false },
                ));
            }
        }
        Ok(out)
    }
}

/// Refuses a day after `today` (UTC, given by the caller).
pub fn not_after_today(field: &'static str, date: Date, today: Date) -> Result<(), FinanceError> {
    if date > today {
        return Err(FinanceError::FutureDate { field, date: date.to_string(), today: today.to_string() });
    }
    Ok(())
}

impl Finance {
    /// [`Finance::accrue`], refusing `through` after `today` with
    /// `future_date` (nothing is written).
    pub async fn accrue_until(
        &self,
        facility: &str,
        through: Date,
        today: Date,
    ) -> Result<AccrualReport, FinanceError> {
        not_after_today("through", through, today)?;
        self.reaccrue(facility).await?;
        self.accrue(facility, through).await
    }

    /// [`Finance::accrue_all`] (open facilities, a page at a time), each
    /// re-accrued first as [`Finance::accrue_until`] does, bounded by `today`.
    pub async fn accrue_all_until(&self, through: Date, today: Date) -> Result<Vec<AccrualReport>, FinanceError> {
        not_after_today("through", through, today)?;
        let mut out = Vec::new();
        let mut walk = IndexWalk::open_facilities();
        while let Some(page) = self.next_page::<Facility>(&mut walk).await? {
            for f in page {
                out.push(self.accrue_until(&f.id, through, today).await?);
            }
        }
        Ok(out)
    }

    /// Recomputes the exact interest of every day already accrued on the
    /// principal path as the ledger now shows it, and books the difference
    /// (either sign) as an adjustment on the last accrued day. Keyed by the
    /// facility record's version and the totals it moves between, so a
    /// re-run after a crash replays and books nothing twice.
    pub async fn reaccrue(&self, facility_id: &str) -> Result<Reaccrual, FinanceError> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = self.require::<Facility>(kind::FACILITY, facility_id).await?;
            let f = cur.value;
            let mut out = Reaccrual {
                facility: f.id.clone(),
                through: f.accrued_through,
                interest_adjustment_minor: 0,
                default_adjustment_minor: 0,
            };
            let Some(done) = f.accrued_through else { return Ok(out) };
            let invoices: Vec<Invoice> = self.invoices_of_facility(&f.id).await?;
            let deltas = self.principal_deltas(&f).await?;
            let input = AccrualInput {
                principal_deltas: &deltas,
                start: f.opened_on,
                accrued_through: None,
                through: done,
                rate_bps: f.terms.rate_bps,
                default_margin_bps: f.terms.default_margin_bps,
                day_count: f.terms.day_count,
                rounding: f.terms.rounding,
                interest_booked_minor: 0,
                default_booked_minor: 0,
            };
            let grace = f.terms.grace_days;
            let exact = accrue(&input, |day| invoices.iter().any(|i| i.overdue_on(day, grace)))?;
            out.interest_adjustment_minor = exact.interest_total_minor - f.interest_booked_minor;
            out.default_adjustment_minor = exact.default_total_minor - f.default_interest_booked_minor;
            if out.interest_adjustment_minor == 0 && out.default_adjustment_minor == 0 {
                return Ok(out);
            }
            let key = format!("{}:v{}", f.id, cur.version);
            let mut spill_minor = 0;
            let mut commands = Vec::new();
            for (part, what, delta) in [
                (FacilityPart::Penalty, "default_interest_adjustment", out.default_adjustment_minor),
                (FacilityPart::Interest, "interest_adjustment", out.interest_adjustment_minor),
            ] {
                // A reduction beyond what is still owed (the payment already
                // paid the interest of days after its value date) comes off
                // principal the day after the last accrued day, so no
                // accrued day's principal changes.
                let owed_minor = self.posted_now(&f, part).await?;
                let on_part = if delta < 0 { delta.max(-owed_minor) } else { delta };
                spill_minor += on_part - delta;
                if let Some(mut c) = self.charge(&f, part, what, done, on_part)? {
                    c.idempotency_key = format!("{what}:{key}");
                    commands.push(c);
                }
            }
            if spill_minor > 0 {
                let next_day = done.next_day().ok_or_else(|| FinanceError::invalid("through", "out of range"))?;
                let principal_minor = self.posted_now(&f, FacilityPart::Principal).await?;
                commands.extend(self.interest_refund(&f, next_day, spill_minor, principal_minor, &key)?);
            }
            self.commit_all(commands).await?;
            let mut next = f.clone();
            next.interest_booked_minor = exact.interest_total_minor;
            next.default_interest_booked_minor = exact.default_total_minor;
            match self.save(kind::FACILITY, &f.id, cur.version, &next).await {
                Ok(_) => return Ok(out),
                Err(FinanceError::Ledger(LedgerError::VersionConflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_ATTEMPTS })
    }
}
