//! The printable borrowing-base certificate: one facility's certificate of
//! one day (the API's `CertificateDoc`), its signatures, and the chart of
//! the period before it, every point a certificate of its own day (the
//! point-in-time figures, never today's recomputed backwards).
//!
//! [`fragment`] is what the dashboard shows (`/app/certificate`); [`page`]
//! is a self-contained HTML document with print styles, for
//! `offtake bbc show --format html`. The PDF is [`crate::certificate_pdf`].

use std::fmt::Write;

use offtake_wire::certificate::CertificateDoc;
use time::{Date, Duration};

use crate::chart::{sample_dates, Chart, Point};
use crate::html::{esc, figures, money, pct_bps, Table};
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
pub fn fragment(c: &CertificateDoc, period: &[Point]) -> String {
    let ccy = c.currency.as_str();
    let m = |x: &offtake_wire::Money| money(x.amount_minor, ccy);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<article class="certificate" id="certificate" data-facility="{f}" data-as-of="{d}"><header><h2>Borrowing-base certificate</h2><p>Facility <strong>{f}</strong> &middot; lender {l} &middot; maker {mk} &middot; as of <time datetime="{d}">{d}</time> &middot; {ccy}</p></header>"#,
        f = esc(&c.facility),
        l = esc(&c.lender),
        mk = esc(&c.maker),
        d = esc(&c.as_of),
        ccy = esc(ccy),
    );
    out.push_str(&figures(
        "Headline figures",
        &[
            ("Borrowing base", m(&c.base), "cert-base"),
            ("Net of reserves", m(&c.net_base), "cert-net-base"),
            ("Limit", m(&c.limit), "cert-limit"),
            ("Drawn", m(&c.drawn), "cert-drawn"),
            ("Available", m(&c.available), "cert-available"),
        ],
    ));
    if c.overadvanced {
        let _ = write!(out, r#"<p class="flag" role="alert">Overadvanced by {}: no new draw.</p>"#, m(&c.overadvance));
    }
    out.push_str(&collateral_table(c));
    out.push_str(&covenants_table(c));
    for (what, items) in [("Overdue invoice", &c.overdue_invoices), ("Missed tranche", &c.missed_tranches)] {
        for item in items {
            let _ = write!(out, r#"<p class="flag">{what}: <strong>{}</strong></p>"#, esc(item));
        }
    }
    out.push_str(&signatures(c));
    if period.len() > 1 {
        let as_of = period.last().map_or(period[0].date, |p| p.date);
        let title = format!("Borrowing base and drawn principal, {} to {}", day(period[0].date), day(as_of));
        let id = format!("cert-chart-{}", c.facility);
        out.push_str(
            &Chart {
                id: &id,
                title: &title,
                currency: ccy,
                limit_minor: c.limit.amount_minor,
                today: as_of,
                points: period,
            }
            .render(),
        );
    }
    out.push_str("</article>");
    out
}

fn collateral_table(c: &CertificateDoc) -> String {
    let ccy = c.currency.as_str();
    let m = |x: &offtake_wire::Money| money(x.amount_minor, ccy);
    let r = &c.receivables;
    let mut rows = vec![
        vec!["Commitments in window".into(), m(&c.commitments_in_window)],
        vec!["Commitments scheduled".into(), m(&c.commitments_scheduled)],
        vec!["Receivables, current".into(), m(&r.current)],
        vec!["Receivables, 1–30 days past due".into(), m(&r.days_1_30)],
        vec!["Receivables, 31–60 days past due".into(), m(&r.days_31_60)],
        vec!["Receivables, 61–90 days past due".into(), m(&r.days_61_90)],
        vec!["Receivables, over 90 days past due".into(), m(&r.days_over_90)],
    ];
    for i in &c.ineligible {
        rows.push(vec![format!("Ineligible: {}", esc(&i.reason.replace('_', " "))), m(&i.amount)]);
    }
    for b in c.concentration.iter().filter(|b| b.excess.amount_minor > 0) {
        rows.push(vec![format!("Above the concentration cap: {}", esc(&b.brand)), m(&b.excess)]);
    }
    rows.push(vec!["Eligible".into(), m(&c.eligible)]);
    rows.push(vec![
        format!(
            "Base at {} (commitments) / {} (receivables)",
            pct_bps(c.advance_rate_bps),
            pct_bps(c.receivable_advance_rate_bps)
        ),
        m(&c.base),
    ]);
    for res in &c.reserves {
        rows.push(vec![format!("Reserve: {}", esc(&res.name)), m(&res.amount)]);
    }
    rows.push(vec!["Capacity (net base within the limit)".into(), m(&c.capacity)]);
    rows.push(vec!["Pending advances".into(), m(&c.pending)]);
    Table {
        id: "cert-collateral",
        caption: "Collateral, ineligibles, reserves",
        headers: &["Line", "Amount"],
        numeric: &[1],
        rows,
        empty: "",
    }
    .render()
}

fn covenants_table(c: &CertificateDoc) -> String {
    let rows = c
        .covenants
        .iter()
        .map(|k| {
            let since = k.since.as_deref().map_or(String::new(), |d| format!(" since {}", esc(d)));
            vec![
                esc(&k.name.replace('_', " ")),
                k.value.to_string(),
                k.limit.to_string(),
                format!("{}{since}", crate::html::badge(&k.state)),
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

fn signatures(c: &CertificateDoc) -> String {
    let rows = c
        .signatures
        .iter()
        .map(|s| {
            let at = s.signed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            vec![esc(s.act.as_str()), esc(&s.signed_by), esc(&s.key_id), esc(&at)]
        })
        .collect();
    let mut out = Table {
        id: "cert-signatures",
        caption: "Signatures",
        headers: &["Act", "Signed by", "Key", "Signed at"],
        numeric: &[],
        rows,
        empty: "Not signed yet: the maker attests, then the lender reviews.",
    }
    .render();
    let _ = write!(out, r#"<p class="note">Certificate SHA-256 <code>{}</code></p>"#, esc(&c.certificate_hash));
    out
}

/// Print rules of the standalone page: A4, no backgrounds, tables kept whole.
const PRINT_CSS: &str =
    "@page { size: A4; margin: 15mm; } body { background: #fff; margin: 0 auto; max-width: 48rem; padding: 1rem; } \
    @media print { .table-wrap { overflow: visible; } table, figure { break-inside: avoid; } }";

/// The certificate as a self-contained HTML document (styles inline), for
/// printing or archiving.
pub fn page(c: &CertificateDoc, period: &[Point]) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Borrowing-base certificate {} {}</title><style>{}\n{}</style></head><body><main>{}</main></body></html>\n",
        esc(&c.facility),
        esc(&c.as_of),
        crate::APP_CSS,
        PRINT_CSS,
        fragment(c, period)
    )
}
