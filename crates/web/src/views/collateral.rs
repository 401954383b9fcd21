//! Collateral over time on the dashboards (issue 18): what the maker owes
//! in total with the next due date, and per facility the day's
//! certificate — aging buckets (delinquency), covenant states, overdue
//! invoices and missed tranches flagged. Every figure is the API's
//! point-in-time certificate of today.

use maud::{html, Markup, Render};
use offtake_wire::certificate::CertificateDoc;
use time::Date;

use crate::client::{encode, Client, WebError};
use crate::html::{badge, money, Table};
use crate::model::{day, MakerFacilityLine};

/// The certificate of `as_of` of a facility the caller may see.
pub async fn certificate(client: &Client, facility: &str, as_of: Date) -> Result<CertificateDoc, WebError> {
    client.get(&format!("/v1/facilities/{}/certificate?as_of={}", encode(facility), day(as_of))).await
}

/// What the maker owes on a facility in total (principal, interest, fees,
/// penalties) and when the next brand invoice that repays it falls due:
/// `(term, value, element id)` for the availability figures.
pub fn owed_figures(line: &MakerFacilityLine) -> Vec<(&'static str, Markup, String)> {
    let ccy = line.currency.as_str();
    let fid = &line.facility;
    let total = line.drawn.amount_minor
        + line.interest_due.amount_minor
        + line.fees_due.amount_minor
        + line.penalty_due.amount_minor;
    let next = line.next_due.first().map_or(html! { "none" }, |d| {
        let on = day(d.due_on);
        html! { time datetime=(on) { (on) } }
    });
    vec![("Owed in total", money(total, ccy), format!("owed-{fid}")), ("Next due", next, format!("next-due-on-{fid}"))]
}

/// The parts of what is owed, and the next invoice due, in a line.
pub fn owed_parts(line: &MakerFacilityLine) -> Markup {
    let ccy = line.currency.as_str();
    html! {
        p class="calc" {
            "Owed: principal " (money(line.drawn.amount_minor, ccy)) ", interest " (money(line.interest_due.amount_minor, ccy))
            ", fees " (money(line.fees_due.amount_minor, ccy)) ", penalties " (money(line.penalty_due.amount_minor, ccy)) "."
            @if let Some(d) = line.next_due.first() {
                " Next due: " (day(d.due_on)) " (" (d.invoice) ", " (money(d.open.amount_minor, ccy)) ")."
            }
        }
    }
}

/// Overdue invoices and missed tranches of the day, flagged.
pub fn flags(c: &CertificateDoc) -> Markup {
    html! {
        @for i in &c.overdue_invoices {
            p class="flag" data-flag="overdue" { "Overdue invoice " strong { (i) } }
        }
        @for t in &c.missed_tranches {
            p class="flag" data-flag="missed" { "Missed tranche " strong { (t) } }
        }
        @if c.overadvanced {
            p class="flag" data-flag="overadvanced" {
                "Facility " (c.facility) " is overadvanced by " (money(c.overadvance.amount_minor, &c.currency))
            }
        }
    }
}

/// Per facility: receivables by days past due, covenant states and flags.
pub fn delinquency(certificates: &[CertificateDoc]) -> Markup {
    let rows = certificates
        .iter()
        .map(|c| {
            let r = &c.receivables;
            let ccy = c.currency.as_str();
            let covenants = html! {
                @for (n, k) in c.covenants.iter().enumerate() {
                    @if n > 0 { br; }
                    (k.name.replace('_', " ")) " " (badge(&k.state))
                }
                @if c.covenants.is_empty() { "none set" }
            };
            vec![
                html! { (c.facility) " (" (c.maker) ")" },
                money(r.current.amount_minor, ccy),
                money(r.days_1_30.amount_minor, ccy),
                money(r.days_31_60.amount_minor, ccy),
                money(r.days_61_90.amount_minor, ccy),
                money(r.days_over_90.amount_minor, ccy),
                covenants,
                (c.overdue_invoices.len() + c.missed_tranches.len()).render(),
            ]
        })
        .collect();
    let table = Table {
        id: "delinquency-table",
        caption: "Receivables by days past due, covenant states and flags, per facility",
        headers: &["Facility", "Current", "1\u{2013}30", "31\u{2013}60", "61\u{2013}90", "90+", "Covenants", "Flags"],
        numeric: &[1, 2, 3, 4, 5, 7],
        rows,
        empty: "No facilities.",
    }
    .render();
    html! { (table) @for c in certificates { (flags(c)) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usd(minor: i64) -> serde_json::Value {
        json!({ "amount": format!("{}.{:02}", minor / 100, minor % 100), "amount_minor": minor, "currency": "USD" })
    }

    /// A certificate with an aged receivable, an overdue invoice, a missed
    /// tranche and a covenant near breach.
    fn certificate() -> CertificateDoc {
        let buckets = json!({ "current": usd(0), "days_1_30": usd(0), "days_31_60": usd(0),
            "days_61_90": usd(5_000_000), "days_over_90": usd(0) });
        serde_json::from_value(json!({
            "facility": "f1", "lender": "bank", "maker": "loom", "currency": "USD", "as_of": "2026-05-01",
            "commitments_in_window": usd(0), "commitments_scheduled": usd(0), "receivables": buckets,
            "ineligible": [], "concentration": [], "advance_rate_bps": 8000, "receivable_advance_rate_bps": 8000,
            "eligible": usd(0), "counted": usd(0), "base": usd(0), "reserves": [], "reserves_total": usd(0),
            "net_base": usd(0), "limit": usd(0), "capacity": usd(0), "drawn": usd(100), "pending": usd(0),
            "available": usd(-100), "overadvance": usd(100), "overadvanced": true,
            "covenants": [{ "name": "max_days_past_due", "value": 70, "limit": 60, "state": "near_breach", "since": "2026-04-30" }],
            "overdue_invoices": ["po-1--t1"], "missed_tranches": ["po-1/t2"],
            "certificate_hash": "0".repeat(64), "signatures": [],
        }))
        .expect("a certificate")
    }

    #[test]
    fn overdue_invoices_missed_tranches_and_overadvance_are_flagged() {
        let html = flags(&certificate()).into_string();
        assert!(html.contains(r#"data-flag="overdue">Overdue invoice <strong>po-1--t1</strong>"#), "{html}");
        assert!(html.contains(r#"data-flag="missed">Missed tranche <strong>po-1/t2</strong>"#), "{html}");
        assert!(html.contains(r#"data-flag="overadvanced""#), "{html}");
    }

    #[test]
    fn delinquency_shows_buckets_covenants_and_flags_per_facility() {
        let html = delinquency(&[certificate()]).into_string();
        assert!(html.contains("f1 (loom)"), "{html}");
        assert!(html.contains(r#"data-amount="50000.00""#), "the 61–90 bucket: {html}");
        assert!(html.contains("max days past due") && html.contains("badge-near_breach"), "{html}");
        assert!(html.contains("Overdue invoice"), "{html}");
    }
}
