//! The printable borrowing-base certificate: one facility's certificate of
//! one day (the API's `CertificateDoc`), its signatures, and the chart of
//! the period before it, every point a certificate of its own day (the
//! point-in-time figures, never today's recomputed backwards).
//!
//! [`fragment`] is what the dashboard shows (`/app/certificate`); [`page`]
//! is a self-contained HTML document with print styles, for
//! `offtake bbc show --format html`. The PDF is [`crate::certificate_pdf`].

use maud::{html, Markup, PreEscaped, Render};
use offtake_wire::certificate::CertificateDoc;
use time::{Date, Duration};

use crate::chart::{sample_dates, Chart, Point};
use crate::html::{badge, figures, money, pct_bps, Table};
use crate::model::day;

/// How far back the chart of the period reaches.
pub const PERIOD_DAYS: i64 = 90;
/// Intervals the period's chart samples.
const PERIOD_STEPS: i64 = 12;

/// The days whose certificates make the chart of the period ending on
/// `as_of`: from `PERIOD_DAYS` before (not before the facility opened) to
/// `as_of` itself.
pub fn period_dates(opened_on: Date, as_of: Date) -> Vec<Date> {
    let start = opened_on.max(as_of - Duration::days(PERIOD_DAYS)).min(as_of);
    sample_dates(start, as_of, as_of, PERIOD_STEPS)
}

/// A chart point from the certificate of its day.
pub fn point(c: &CertificateDoc, date: Date) -> Point {
    Point { date, base_minor: c.base.amount_minor, drawn_minor: Some(c.drawn.amount_minor) }
}

/// The certificate as an HTML fragment: headline figures, collateral,
/// ineligibles, reserves, covenants, flags, signatures and the chart.
pub fn fragment(c: &CertificateDoc, period: &[Point]) -> Markup {
    let m = |x: &offtake_wire::Money| money(x.amount_minor, &c.currency);
    let flagged = [("Overdue invoice", &c.overdue_invoices), ("Missed tranche", &c.missed_tranches)];
    html! {
        article class="certificate" id="certificate" data-facility=(c.facility) data-as-of=(c.as_of) {
            header {
                h2 { "Borrowing-base certificate" }
                p {
                    "Facility " strong { (c.facility) } " \u{b7} lender " (c.lender) " \u{b7} maker " (c.maker)
                    " \u{b7} as of " time datetime=(c.as_of) { (c.as_of) } " \u{b7} " (c.currency)
                }
            }
            (figures("Headline figures", &[
                ("Borrowing base", m(&c.base), "cert-base"),
                ("Net of reserves", m(&c.net_base), "cert-net-base"),
                ("Limit", m(&c.limit), "cert-limit"),
                ("Drawn", m(&c.drawn), "cert-drawn"),
                ("Available", m(&c.available), "cert-available"),
            ]))
            @if c.overadvanced {
                p class="flag" role="alert" { "Overadvanced by " (m(&c.overadvance)) ": no new draw." }
            }
            (collateral_table(c))
            (covenants_table(c))
            @for (what, items) in flagged { @for item in items { p class="flag" { (what) ": " strong { (item) } } } }
            (signatures(c))
            (period_chart(c, period))
        }
    }
}

/// The chart of the period, when it has two points or more.
fn period_chart(c: &CertificateDoc, period: &[Point]) -> Markup {
    let [first, .., last] = period else { return html! {} };
    let title = format!("Borrowing base and drawn principal, {} to {}", day(first.date), day(last.date));
    let id = format!("cert-chart-{}", c.facility);
    Chart {
        id: &id,
        title: &title,
        currency: &c.currency,
        limit_minor: c.limit.amount_minor,
        today: last.date,
        points: period,
    }
    .render()
}

fn collateral_table(c: &CertificateDoc) -> Markup {
    let ccy = c.currency.as_str();
    let m = |x: &offtake_wire::Money| money(x.amount_minor, ccy);
    let r = &c.receivables;
    let mut rows: Vec<(String, Markup)> = vec![
        ("Commitments in window".into(), m(&c.commitments_in_window)),
        ("Commitments scheduled".into(), m(&c.commitments_scheduled)),
        ("Receivables, current".into(), m(&r.current)),
        ("Receivables, 1\u{2013}30 days past due".into(), m(&r.days_1_30)),
        ("Receivables, 31\u{2013}60 days past due".into(), m(&r.days_31_60)),
        ("Receivables, 61\u{2013}90 days past due".into(), m(&r.days_61_90)),
        ("Receivables, over 90 days past due".into(), m(&r.days_over_90)),
    ];
    rows.extend(c.ineligible.iter().map(|i| (format!("Ineligible: {}", i.reason.replace('_', " ")), m(&i.amount))));
    let over_cap = c.concentration.iter().filter(|b| b.excess.amount_minor > 0);
    rows.extend(over_cap.map(|b| (format!("Above the concentration cap: {}", b.brand), m(&b.excess))));
    rows.push(("Eligible".into(), m(&c.eligible)));
    let rates = (pct_bps(c.advance_rate_bps), pct_bps(c.receivable_advance_rate_bps));
    rows.push((format!("Base at {} (commitments) / {} (receivables)", rates.0, rates.1), m(&c.base)));
    rows.extend(c.reserves.iter().map(|res| (format!("Reserve: {}", res.name), m(&res.amount))));
    rows.push(("Capacity (net base within the limit)".into(), m(&c.capacity)));
    rows.push(("Pending advances".into(), m(&c.pending)));
    Table {
        id: "cert-collateral",
        caption: "Collateral, ineligibles, reserves",
        headers: &["Line", "Amount"],
        numeric: &[1],
        rows: rows.into_iter().map(|(line, amount)| vec![line.render(), amount]).collect(),
        empty: "",
    }
    .render()
}

fn covenants_table(c: &CertificateDoc) -> Markup {
    let rows = c
        .covenants
        .iter()
        .map(|k| {
            vec![
                k.name.replace('_', " ").render(),
                k.value.render(),
                k.limit.render(),
                html! { (badge(&k.state)) @if let Some(d) = &k.since { " since " (d) } },
            ]
        })
        .collect();
    Table {
        id: "cert-covenants",
        caption: "Covenants",
        headers: &["Covenant", "Value", "Limit", "State"],
        numeric: &[1, 2],
        rows,
        empty: "No covenants on this facility.",
    }
    .render()
}

fn signatures(c: &CertificateDoc) -> Markup {
    let rows = c
        .signatures
        .iter()
        .map(|s| {
            let at = s.signed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            vec![s.act.as_str().render(), s.signed_by.render(), s.key_id.render(), at.render()]
        })
        .collect();
    let table = Table {
        id: "cert-signatures",
        caption: "Signatures",
        headers: &["Act", "Signed by", "Key", "Signed at"],
        numeric: &[],
        rows,
        empty: "Not signed yet: the maker attests, then the lender reviews.",
    }
    .render();
    html! { (table) p class="note" { "Certificate SHA-256 " code { (c.certificate_hash) } } }
}

/// Print rules of the standalone page: A4, no backgrounds, tables kept whole.
const PRINT_CSS: &str =
    "@page { size: A4; margin: 15mm; } body { background: #fff; margin: 0 auto; max-width: 48rem; padding: 1rem; } \
    @media print { .table-wrap { overflow: visible; } table, figure { break-inside: avoid; } }";

/// The certificate as a self-contained HTML document (styles inline), for
/// printing or archiving.
pub fn page(c: &CertificateDoc, period: &[Point]) -> String {
    let mut html = html! {
        // A trusted constant: the doctype as this page always wrote it
        // (maud's `DOCTYPE` is upper-case; HTML reads either).
        (PreEscaped("<!doctype html>"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Borrowing-base certificate " (c.facility) " " (c.as_of) }
                // Trusted constants of this crate (the dashboard's stylesheet
                // and the print rules): CSS is not text to escape.
                style { (PreEscaped(crate::APP_CSS)) "\n" (PreEscaped(PRINT_CSS)) }
            }
            body { main { (fragment(c, period)) } }
        }
    }
    .into_string();
    html.push('\n');
    html
}
