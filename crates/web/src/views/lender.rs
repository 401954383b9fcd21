//! The lender's dashboard: exposure per maker and per brand, draws waiting
//! for its decision (approved or rejected with a signature made in the
//! browser), concentration against the facility limits, and income.
//! An operator (admin key) sees the same over every facility.

use std::collections::BTreeMap;

use maud::{html, Markup, Render};
use time::Date;

use super::collateral;
use super::maker::advances_table;
use super::{availability, charts_section, contents, note, party_statement, payments, section, signing_fields, Viewer};
use crate::client::{Client, WebError};
use crate::html::{badge, figures, money, pct_bps, share, Table};
use crate::model::{
    day, paid, Advance, Availability, DebtPart, ExposureLine, Facility, Invoice, LenderStatement, Payment,
};

const DASH: &str = "\u{2014}";

pub async fn render(client: &Client, viewer: &Viewer, today: Date) -> Result<Markup, WebError> {
    let facilities: Vec<Facility> = client.list("/v1/facilities").await?;
    let advances: Vec<Advance> = client.list("/v1/advances").await?;
    let invoices: Vec<Invoice> = client.list("/v1/invoices").await?;
    let payments = payments(client).await?;
    let paid = payments.clone().unwrap_or_default();
    let ledger: Option<LenderStatement> =
        if viewer.role == "lender" { party_statement(client, &viewer.party).await? } else { None };
    let mut avail = Vec::new();
    for f in &facilities {
        avail.push(availability(client, &f.id, None).await?);
    }

    let bank_panels = super::bank::panels(client, &invoices, today).await?;
    let mut toc = vec![
        ("exposure", "Exposure"),
        ("delinquency", "Delinquency and covenants"),
        ("approvals", "Pending approvals"),
        ("concentration", "Concentration"),
        ("income", "Income"),
        ("chart", "Over time"),
        ("all-advances", "Advances"),
    ];
    if !bank_panels.0.is_empty() {
        toc.extend(super::bank::CONTENTS);
    }
    toc.push(("activity", "Activity"));
    let mut certificates = Vec::new();
    for f in &facilities {
        certificates.push(collateral::certificate(client, &f.id, today).await?);
    }
    let charts = charts_section(client, &facilities, &advances, &paid, today).await?;
    let feed = super::feed::panel(client).await?;
    let exposure = html! { (per_maker(&facilities, &avail, ledger.as_ref())) (per_brand(&facilities, &avail, &invoices, ledger.as_ref())) };
    let income_html = html! {
        @if let Some(l) = &ledger { (income_booked(l)) }
        (income(&facilities, &advances, &paid))
        @if payments.is_none() { (note("Payments are not available on this server: collections are not shown.")) }
    };
    let all_advances = advances_table("advances-table", "Advances on your facilities", &advances);
    Ok(html! {
        (contents(&toc))
        @if facilities.is_empty() { (note("No facilities yet.")) }
        (section("exposure", "Exposure", exposure))
        (section("delinquency", "Delinquency and covenants", collateral::delinquency(&certificates)))
        (section("approvals", "Pending approvals", approvals(&facilities, &advances)))
        (section("concentration", "Concentration against limits", concentration(&facilities, &avail)))
        (section("income", "Income", income_html))
        (charts)
        (section("all-advances", "Advances", all_advances))
        (bank_panels)
        (section("activity", "Activity (live)", feed))
    })
}

fn per_maker(facilities: &[Facility], avail: &[Availability], ledger: Option<&LenderStatement>) -> Markup {
    let rows = facilities
        .iter()
        .zip(avail)
        .map(|(f, a)| {
            let ccy = f.terms.currency.as_str();
            let name = format!("{} ({})", f.maker, f.id);
            let owed: Option<&ExposureLine> = ledger.and_then(|l| l.per_maker.iter().find(|e| e.name == name));
            let charges = owed.map_or(DASH.render(), |e| {
                money(e.exposure.amount_minor - e.detail.get("principal").map_or(0, |m| m.amount_minor), ccy)
            });
            let total = owed.map_or(DASH.render(), |e| money(e.exposure.amount_minor, ccy));
            vec![
                f.maker.render(),
                f.id.render(),
                money(a.limit.amount_minor, ccy),
                money(a.base.amount_minor, ccy),
                money(a.drawn.amount_minor, ccy),
                money(a.pending.amount_minor, ccy),
                money(a.available.amount_minor, ccy),
                share(a.drawn.amount_minor + a.pending.amount_minor, a.capacity.amount_minor).render(),
                charges,
                total,
            ]
        })
        .collect();
    Table {
        id: "exposure-makers",
        caption: "Exposure per maker (one row per facility)",
        headers: &[
            "Maker",
            "Facility",
            "Limit",
            "Borrowing base",
            "Drawn",
            "Pending",
            "Available",
            "Used of capacity",
            "Interest, fees, penalties owed",
            "Total owed",
        ],
        numeric: &[2, 3, 4, 5, 6, 7, 8, 9],
        rows,
        empty: "No facilities.",
    }
    .render()
}

fn per_brand(
    facilities: &[Facility],
    avail: &[Availability],
    invoices: &[Invoice],
    ledger: Option<&LenderStatement>,
) -> Markup {
    // (brand, currency) → (eligible, counted, open invoices)
    let mut by_brand: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for (f, a) in facilities.iter().zip(avail) {
        for b in &a.brands {
            let e = by_brand.entry((b.brand.clone(), f.terms.currency.clone())).or_default();
            e.0 += b.eligible.amount_minor;
            e.1 += b.counted.amount_minor;
        }
    }
    for i in invoices.iter().filter(|i| i.status.as_str() == "open") {
        if facilities.iter().any(|f| f.id == i.facility) {
            by_brand.entry((i.brand.clone(), i.amount.currency.clone())).or_default().2 += i.open.amount_minor;
        }
    }
    let counted_total: BTreeMap<String, i64> = by_brand.iter().fold(BTreeMap::new(), |mut m, ((_, c), v)| {
        *m.entry(c.clone()).or_insert(0) += v.1;
        m
    });
    if let Some(l) = ledger {
        for e in &l.per_brand {
            by_brand.entry((e.name.clone(), e.currency.clone())).or_default();
        }
    }
    let rows = by_brand
        .iter()
        .map(|((brand, ccy), (eligible, counted, open))| {
            let line = ledger.and_then(|l| l.per_brand.iter().find(|e| &e.name == brand && &e.currency == ccy));
            let open = line.map_or(*open, |e| e.detail.get("open_invoices").map_or(0, |m| m.amount_minor));
            let undelivered = line.map_or(DASH.render(), |e| {
                money(e.detail.get("undelivered_commitments").map_or(0, |m| m.amount_minor), ccy)
            });
            let exposure = line.map_or(DASH.render(), |e| money(e.exposure.amount_minor, ccy));
            vec![
                brand.render(),
                money(*eligible, ccy),
                money(*counted, ccy),
                share(*counted, counted_total.get(ccy).copied().unwrap_or(0)).render(),
                money(open, ccy),
                undelivered,
                exposure,
            ]
        })
        .collect();
    Table {
        id: "exposure-brands",
        caption: "Exposure per brand: commitments behind your facilities and invoices they owe",
        headers: &[
            "Brand",
            "Eligible now",
            "Counted in the base",
            "Share of counted",
            "Open invoices",
            "Undelivered commitments",
            "Exposure",
        ],
        numeric: &[1, 2, 3, 4, 5, 6],
        rows,
        empty: "No brand backs your facilities yet.",
    }
    .render()
}

/// One decision button: the advance's data for the page's script, and
/// the advance's id for a screen reader.
fn decision_button(class: &str, label: &str, a: &Advance, lender: &str) -> Markup {
    html! {
        button type="button" class=(class) data-advance=(a.id) data-facility=(a.facility) data-lender=(lender)
            data-request-hash=(a.request_hash) {
            (label) span class="visually-hidden" { " advance " (a.id) }
        }
    }
}

fn approvals(facilities: &[Facility], advances: &[Advance]) -> Markup {
    let pending: Vec<&Advance> = advances.iter().filter(|a| a.status.as_str() == "pending").collect();
    let rows: Vec<Vec<Markup>> = pending
        .iter()
        .map(|a| {
            let lender = facilities.iter().find(|f| f.id == a.facility).map_or("", |f| f.lender.as_str());
            vec![
                a.id.render(),
                a.maker.render(),
                a.facility.render(),
                money(a.amount.amount_minor, &a.amount.currency),
                day(a.requested_on).render(),
                a.expires_at.get(..10).unwrap_or(&a.expires_at).render(),
                html! { div class="actions" {
                    (decision_button("approve", "Approve", a, lender)) " "
                    (decision_button("reject secondary", "Reject", a, lender))
                } },
            ]
        })
        .collect();
    let table = Table {
        id: "approvals-table",
        caption: "Draws waiting for your decision",
        headers: &["Advance", "Maker", "Facility", "Amount", "Requested", "Expires", "Decision"],
        numeric: &[3],
        rows,
        empty: "Nothing waits for your approval.",
    }
    .render();
    if pending.is_empty() {
        return table;
    }
    html! {
        form id="approve-form" class="sign-form" novalidate {
            fieldset {
                legend { "Signature for your decision" }
                p class="help" id="approve-sign-help" {
                    "Approving funds the draw and books its fee. Your decision is an advance approval signed in this browser with your Ed25519 key (never sent to the server), or one you signed with "
                    code { "offtake sign" } "."
                }
                (signing_fields("approve", "Or a signed approval envelope"))
                div class="field" {
                    label for="approve-reason" { "Reason " span class="opt" { "(optional)" } }
                    input id="approve-reason" name="reason" type="text" maxlength="500" autocomplete="off";
                }
            }
            (table)
            p class="form-status" id="approve-status" role="status" aria-live="polite" {}
        }
    }
}

fn concentration(facilities: &[Facility], avail: &[Availability]) -> Markup {
    html! { @for (f, a) in facilities.iter().zip(avail) { (concentration_table(f, a)) } }
}

fn concentration_table(f: &Facility, a: &Availability) -> Markup {
    let ccy = f.terms.currency.as_str();
    let rows = a
        .brands
        .iter()
        .map(|b| {
            let status = if b.excess.amount_minor > 0 { "over cap" } else { "within" };
            vec![
                b.brand.render(),
                money(b.eligible.amount_minor, ccy),
                share(b.eligible.amount_minor, a.eligible.amount_minor).render(),
                pct_bps(f.terms.concentration_bps).render(),
                money(b.cap.amount_minor, ccy),
                money(b.excess.amount_minor, ccy),
                badge(status),
            ]
        })
        .collect();
    Table {
        id: &format!("concentration-{}", f.id),
        caption: &format!(
            "Facility {} ({}): limit {} used {}; brand shares of eligible value",
            f.id,
            f.maker,
            crate::html::grouped(a.limit.amount_minor, crate::html::scale_of(ccy)),
            share(a.drawn.amount_minor + a.pending.amount_minor, a.limit.amount_minor)
        ),
        headers: &["Brand", "Eligible", "Share", "Limit", "Cap", "Excluded", "Status"],
        numeric: &[1, 2, 3, 4, 5],
        rows,
        empty: "No eligible collateral.",
    }
    .render()
}

/// Income the ledger holds for the lender, by kind and currency.
fn income_booked(ledger: &LenderStatement) -> Markup {
    let items: Vec<(String, Markup, String)> = ledger
        .income
        .iter()
        .map(|line| {
            let (kind, ccy) = (line.kind.as_str(), line.amount.currency.as_str());
            let label = match kind {
                "interest" => "Interest booked",
                "fees" => "Fees booked",
                "penalty" => "Penalties booked",
                other => other,
            };
            (
                format!("{label} ({ccy})"),
                money(line.amount.amount_minor, ccy),
                format!("income-{kind}-{}", ccy.to_lowercase()),
            )
        })
        .collect();
    figures("Income booked", &items)
}

fn income(facilities: &[Facility], advances: &[Advance], payments: &[Payment]) -> Markup {
    let rows = facilities
        .iter()
        .map(|f| {
            let ccy = f.terms.currency.as_str();
            let fees: i64 = advances
                .iter()
                .filter(|a| a.facility == f.id && a.status.as_str() == "funded")
                .map(|a| a.fee.amount_minor)
                .sum();
            let collected: i64 = payments
                .iter()
                .filter(|p| p.facility == f.id)
                .map(|p| paid(p, DebtPart::Interest) + paid(p, DebtPart::Fees) + paid(p, DebtPart::Penalty))
                .sum();
            vec![
                f.id.render(),
                money(f.interest_booked.amount_minor, ccy),
                money(fees, ccy),
                money(f.default_interest_booked.amount_minor, ccy),
                money(collected, ccy),
                f.accrued_through.map_or(DASH.render(), |d| day(d).render()),
            ]
        })
        .collect();
    Table {
        id: "income-table",
        caption: "Income booked and collected per facility",
        headers: &["Facility", "Interest", "Fees", "Default interest", "Collected", "Accrued through"],
        numeric: &[1, 2, 3, 4],
        rows,
        empty: "No facilities.",
    }
    .render()
}
