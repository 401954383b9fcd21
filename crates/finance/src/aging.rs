//! Invoice aging and delinquency for any date: the state of an invoice and
//! the buckets its open amount falls in. Pure; payments count from their
//! value date, invoices from their issue date.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::model::Invoice;

/// Where an invoice stands at the end of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Not yet past `due_on + grace_days`.
    Open,
    /// From the day after `due_on + grace_days`.
    Overdue,
    /// More than `default_days_past_due` past due.
    Defaulted,
    /// Nothing left open.
    Paid,
}

impl InvoiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceState::Open => "open",
            InvoiceState::Overdue => "overdue",
            InvoiceState::Defaulted => "defaulted",
            InvoiceState::Paid => "paid",
        }
    }
}

/// Days after `due_on` (0 on or before it).
pub fn days_past_due(inv: &Invoice, as_of: Date) -> i64 {
    (as_of - inv.due_on).whole_days().max(0)
}

/// The invoice's state at the end of `as_of`.
pub fn invoice_state(inv: &Invoice, as_of: Date, grace_days: u32, default_days: u32) -> InvoiceState {
    if inv.open_on(as_of) <= 0 {
        return InvoiceState::Paid;
    }
    let dpd = days_past_due(inv, as_of);
    if dpd > i64::from(default_days) {
        InvoiceState::Defaulted
    } else if dpd > i64::from(grace_days) {
        InvoiceState::Overdue
    } else {
        InvoiceState::Open
    }
}

/// Open amounts by days past due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AgingBuckets {
    pub current_minor: i64,
    pub days_1_30_minor: i64,
    pub days_31_60_minor: i64,
    pub days_61_90_minor: i64,
    pub days_over_90_minor: i64,
}

impl AgingBuckets {
    pub fn add(&mut self, days_past_due: i64, open_minor: i64) {
        let slot = match days_past_due {
            i64::MIN..=0 => &mut self.current_minor,
            1..=30 => &mut self.days_1_30_minor,
            31..=60 => &mut self.days_31_60_minor,
            61..=90 => &mut self.days_61_90_minor,
            _ => &mut self.days_over_90_minor,
        };
        *slot = slot.saturating_add(open_minor);
    }

    pub fn total_minor(&self) -> i64 {
        [
            self.current_minor,
            self.days_1_30_minor,
            self.days_31_60_minor,
            self.days_61_90_minor,
            self.days_over_90_minor,
        ]
        .iter()
        .fold(0i64, |a, v| a.saturating_add(*v))
    }

    /// Bucket names in order, for tables and certificates.
    pub fn named(&self) -> [(&'static str, i64); 5] {
        [
            ("current", self.current_minor),
            ("1-30", self.days_1_30_minor),
            ("31-60", self.days_31_60_minor),
            ("61-90", self.days_61_90_minor),
            ("90+", self.days_over_90_minor),
        ]
    }
}

/// One invoice open on the date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingLine {
    pub invoice: String,
    pub brand: String,
    pub due_on: Date,
    pub open_minor: i64,
    pub days_past_due: i64,
    pub state: InvoiceState,
}

/// Aging of a facility's invoices on a date, per brand and in total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingReport {
    pub facility: String,
    pub as_of: Date,
    pub total: AgingBuckets,
    pub brands: BTreeMap<String, AgingBuckets>,
    /// Invoices issued by the date and still open on it, oldest due first.
    pub invoices: Vec<AgingLine>,
    /// Invoices paid by the date (count), for completeness.
    pub paid: usize,
}

/// Ages `invoices` (already those of one facility) at the end of `as_of`.
pub fn aging(facility: &str, invoices: &[Invoice], as_of: Date, grace_days: u32, default_days: u32) -> AgingReport {
    let mut report = AgingReport {
        facility: facility.to_owned(),
        as_of,
        total: AgingBuckets::default(),
        brands: BTreeMap::new(),
        invoices: Vec::new(),
        paid: 0,
    };
    for inv in invoices.iter().filter(|i| i.issued_on <= as_of) {
        let state = invoice_state(inv, as_of, grace_days, default_days);
        if state == InvoiceState::Paid {
            report.paid += 1;
            continue;
        }
        let open_minor = inv.open_on(as_of);
        let dpd = days_past_due(inv, as_of);
        report.total.add(dpd, open_minor);
        report.brands.entry(inv.brand.clone()).or_default().add(dpd, open_minor);
        report.invoices.push(AgingLine {
            invoice: inv.id.clone(),
            brand: inv.brand.clone(),
            due_on: inv.due_on,
            open_minor,
            days_past_due: dpd,
            state,
        });
    }
    report.invoices.sort_by(|a, b| (a.due_on, &a.invoice).cmp(&(b.due_on, &b.invoice)));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InvoiceKind, InvoicePayment, InvoiceStatus};
    use offtake_ledger::Currency;
    use time::macros::date;

    fn invoice(id: &str, brand: &str, due_on: Date, amount_minor: i64) -> Invoice {
        Invoice {
            id: id.into(),
            kind: InvoiceKind::Delivery,
            brand: brand.into(),
            maker: "m".into(),
            facility: "f".into(),
            commitment: "c".into(),
            tranche: None,
            currency: Currency::USD,
            amount_minor,
            issued_on: due_on - time::Duration::days(30),
            due_on,
            status: InvoiceStatus::Open,
            payments: vec![],
            late_fee_booked: false,
        }
    }

    #[test]
    fn states_on_the_edges() {
        let inv = invoice("i", "b", date!(2026 - 03 - 31), 1_000);
        let at = |d| invoice_state(&inv, d, 5, 90);
        assert_eq!(at(date!(2026 - 04 - 05)), InvoiceState::Open); // due + 5 grace days
        assert_eq!(at(date!(2026 - 04 - 06)), InvoiceState::Overdue);
        assert_eq!(at(date!(2026 - 06 - 29)), InvoiceState::Overdue); // 90 days past due
        assert_eq!(at(date!(2026 - 06 - 30)), InvoiceState::Defaulted); // 91
    }

    #[test]
    fn buckets_per_brand_and_payments_by_value_date() {
        let as_of = date!(2026 - 06 - 30);
        let mut paid_late = invoice("p", "a", date!(2026 - 05 - 01), 5_000);
        paid_late.payments.push(InvoicePayment {
            value_date: date!(2026 - 07 - 02),
            amount_minor: 5_000,
            reference: "r".into(),
        });
        let invoices = vec![
            invoice("cur", "a", date!(2026 - 07 - 15), 100),
            invoice("d30", "a", date!(2026 - 05 - 31), 200), // 30 days
            invoice("d31", "b", date!(2026 - 05 - 30), 300), // 31 days
            invoice("d91", "b", date!(2026 - 03 - 31), 400), // 91 days
            paid_late,                                       // 60 days, paid only after the date
        ];
        let r = aging("f", &invoices, as_of, 5, 90);
        assert_eq!(r.total.current_minor, 100);
        assert_eq!(r.total.days_1_30_minor, 200);
        assert_eq!(r.total.days_31_60_minor, 300 + 5_000);
        assert_eq!(r.total.days_61_90_minor, 0);
        assert_eq!(r.total.days_over_90_minor, 400);
        assert_eq!(r.brands["b"].total_minor(), 700);
        assert_eq!(r.invoices.iter().find(|l| l.invoice == "d91").unwrap().state, InvoiceState::Defaulted);
        // Two days later the late payment has landed.
        let r = aging("f", &invoices, date!(2026 - 07 - 02), 5, 90);
        assert_eq!((r.paid, r.total.total_minor()), (1, 1_000));
    }
}
