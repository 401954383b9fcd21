//! The lender's dashboard: exposure per maker and per brand, draws waiting
//! for its decision (approved or rejected with a signature made in the
//! browser), concentration against the facility limits, and income.
//! An operator (admin key) sees the same over every facility.

use std::collections::BTreeMap;

use time::Date;

use super::collateral;
use super::maker::advances_table;
use super::{availability, contents, facility_chart, note, party_statement, payments, section, Viewer, MAX_CHARTS};
use crate::client::{Client, WebError};
use crate::html::{badge, esc, figures, money, pct_bps, share, Table};
use crate::model::{
    day, paid, Advance, Availability, DebtPart, ExposureLine, Facility, Invoice, LenderStatement, Payment,
};

const DASH: &str = "\u{2014}";

pub async fn render(client: &Client, viewer: &Viewer, today: Date) -> Result<String, WebError> {
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
    if !bank_panels.is_empty() {
        toc.extend(super::bank::CONTENTS);
    }
    toc.push(("activity", "Activity"));
    let mut out = contents(&toc);
    if facilities.is_empty() {
        out.push_str(&note("No facilities yet."));
    }

    let mut exposure = per_maker(&facilities, &avail, ledger.as_ref());
    exposure.push_str(&per_brand(&facilities, &avail, &invoices, ledger.as_ref()));
    out.push_str(&section("exposure", "Exposure", &exposure));
    let mut certificates = Vec::new();
    for f in &facilities {
        certificates.push(collateral::certificate(client, &f.id, today).await?);
    }
    out.push_str(&section("delinquency", "Delinquency and covenants", &collateral::delinquency(&certificates)));
    out.push_str(&section("approvals", "Pending approvals", &approvals(&facilities, &advances)));
    out.push_str(&section("concentration", "Concentration against limits", &concentration(&facilities, &avail)));
    let mut income_html = ledger.as_ref().map(income_booked).unwrap_or_default();
    income_html.push_str(&income(&facilities, &advances, &paid));
    if payments.is_none() {
        income_html.push_str(&note("Payments are not available on this server: collections are not shown."));
    }
    out.push_str(&section("income", "Income", &income_html));
    let mut charts = String::new();
    for f in facilities.iter().take(MAX_CHARTS) {
        charts.push_str(&facility_chart(client, f, &advances, &paid, today).await?);
    }
    out.push_str(&section("chart", "Borrowing base and drawn amount over time", &charts));
    out.push_str(&section(
        "all-advances",
        "Advances",
        &advances_table("advances-table", "Advances on your facilities", &advances),
    ));
    out.push_str(&bank_panels);
    out.push_str(&section("activity", "Activity (live)", &super::feed::panel(client).await?));
    Ok(out)
}

fn per_maker(facilities: &[Facility], avail: &[Availability], ledger: Option<&LenderStatement>) -> String {
    let rows = facilities
        .iter()
        .zip(avail)
        .map(|(f, a)| {
            let ccy = f.terms.currency.as_str();
            let name = format!("{} ({})", f.maker, f.id);
            let owed: Option<&ExposureLine> = ledger.and_then(|l| l.per_maker.iter().find(|e| e.name == name));
            let charges = owed.map_or(DASH.to_owned(), |e| {
                money(e.exposure.amount_minor - e.detail.get("principal").map_or(0, |m| m.amount_minor), ccy)
            });
            let total = owed.map_or(DASH.to_owned(), |e| money(e.exposure.amount_minor, ccy));
            vec![
                esc(&f.maker),
                esc(&f.id),
                money(a.limit.amount_minor, ccy),
                money(a.base.amount_minor, ccy),
                money(a.drawn.amount_minor, ccy),
                money(a.pending.amount_minor, ccy),
                money(a.available.amount_minor, ccy),
                share(a.drawn.amount_minor + a.pending.amount_minor, a.capacity.amount_minor),
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
) -> String {
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
            let undelivered = line.map_or(DASH.to_owned(), |e| {
                money(e.detail.get("undelivered_commitments").map_or(0, |m| m.amount_minor), ccy)
            });
            let exposure = line.map_or(DASH.to_owned(), |e| money(e.exposure.amount_minor, ccy));
            vec![
                esc(brand),
                money(*eligible, ccy),
                money(*counted, ccy),
                share(*counted, counted_total.get(ccy).copied().unwrap_or(0)),
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

fn approvals(facilities: &[Facility], advances: &[Advance]) -> String {
    let pending: Vec<&Advance> = advances.iter().filter(|a| a.status.as_str() == "pending").collect();
    let rows: Vec<Vec<String>> = pending
        .iter()
        .map(|a| {
            let lender = facilities.iter().find(|f| f.id == a.facility).map_or("", |f| f.lender.as_str());
            let data = format!(
                r#"data-advance="{}" data-facility="{}" data-lender="{}" data-request-hash="{}""#,
                esc(&a.id),
                esc(&a.facility),
                esc(lender),
                esc(&a.request_hash)
            );
            vec![
                esc(&a.id),
                esc(&a.maker),
                esc(&a.facility),
                money(a.amount.amount_minor, &a.amount.currency),
                day(a.requested_on),
                esc(a.expires_at.get(..10).unwrap_or(&a.expires_at)),
                format!(
                    r#"<div class="actions"><button type="button" class="approve" {data}>Approve<span class="visually-hidden"> advance {id}</span></button> <button type="button" class="reject secondary" {data}>Reject<span class="visually-hidden"> advance {id}</span></button></div>"#,
                    id = esc(&a.id)
                ),
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
    format!(
        r#"<form id="approve-form" class="sign-form" novalidate>
<fieldset><legend>Signature for your decision</legend>
<p class="help" id="approve-sign-help">Approving funds the draw and books its fee. Your decision is an advance approval signed in this browser with your Ed25519 key (never sent to the server), or one you signed with <code>offtake sign</code>.</p>
<div class="field"><label for="approve-key">Your signing key file</label><input id="approve-key" name="key" type="file" accept=".key,.json,application/json" aria-describedby="approve-sign-help"></div>
<div class="field"><label for="approve-envelope">Or a signed approval envelope</label><input id="approve-envelope" name="envelope" type="file" accept=".json,application/json"></div>
<div class="field"><label for="approve-reason">Reason <span class="opt">(optional)</span></label><input id="approve-reason" name="reason" type="text" maxlength="500" autocomplete="off"></div>
</fieldset>
{table}
<p class="form-status" id="approve-status" role="status" aria-live="polite"></p>
</form>"#
    )
}

fn concentration(facilities: &[Facility], avail: &[Availability]) -> String {
    let mut out = String::new();
    for (f, a) in facilities.iter().zip(avail) {
        let ccy = f.terms.currency.as_str();
        let rows = a
            .brands
            .iter()
            .map(|b| {
                let status = if b.excess.amount_minor > 0 { "over cap" } else { "within" };
                vec![
                    esc(&b.brand),
                    money(b.eligible.amount_minor, ccy),
                    share(b.eligible.amount_minor, a.eligible.amount_minor),
                    pct_bps(f.terms.concentration_bps),
                    money(b.cap.amount_minor, ccy),
                    money(b.excess.amount_minor, ccy),
                    badge(status),
                ]
            })
            .collect();
        out.push_str(
            &Table {
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
            .render(),
        );
    }
    out
}

/// Income the ledger holds for the lender, by kind and currency.
fn income_booked(ledger: &LenderStatement) -> String {
    let items: Vec<(String, String, String)> = ledger
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
    let items: Vec<(&str, String, &str)> =
        items.iter().map(|(t, v, id)| (t.as_str(), v.clone(), id.as_str())).collect();
    figures("Income booked", &items)
}

fn income(facilities: &[Facility], advances: &[Advance], payments: &[Payment]) -> String {
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
                esc(&f.id),
                money(f.interest_booked.amount_minor, ccy),
                money(fees, ccy),
                money(f.default_interest_booked.amount_minor, ccy),
                money(collected, ccy),
                f.accrued_through.map_or("\u{2014}".to_owned(), day),
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
