//! The brand's dashboard: what it committed to buy (tranche by tranche,
//! with delivery status), the invoices it owes, and its payments and
//! credits.

use std::collections::BTreeMap;

use maud::{html, Markup, Render};
use time::Date;

use super::{contents, note, party_statement, payments, section, Viewer};
use crate::client::{Client, WebError};
use crate::html::{badge, figures, money, Table};
use crate::model::{day, BrandStatement, Commitment, Invoice, Payment};

pub async fn render(client: &Client, viewer: &Viewer, today: Date) -> Result<Markup, WebError> {
    let commitments: Vec<Commitment> = client.list("/v1/commitments").await?;
    let invoices: Vec<Invoice> = client.list("/v1/invoices").await?;
    let payments = payments(client).await?;
    let ledger: Option<BrandStatement> =
        if viewer.role == "brand" { party_statement(client, &viewer.party).await? } else { None };

    let pay = match &payments {
        Some(p) => payments_html(p, ledger.as_ref()),
        None => note("Payments are not available on this server."),
    };
    Ok(html! {
        (contents(&[("commitments", "Commitments"), ("invoices", "Invoices due"), ("payments", "Payments and credits")]))
        (section("commitments", "Commitments", commitments_html(&commitments)))
        (section("invoices", "Invoices due", invoices_html(&invoices, today)))
        (section("payments", "Payments and credits", pay))
    })
}

fn commitments_html(commitments: &[Commitment]) -> Markup {
    if commitments.is_empty() {
        return note("No signed commitments yet.");
    }
    html! { @for c in commitments { (commitment_table(c)) } }
}

/// One commitment, tranche by tranche.
fn commitment_table(c: &Commitment) -> Markup {
    let total: i64 = c.tranches.iter().map(|t| t.value.amount_minor).sum();
    let delivered: i64 = c
        .tranches
        .iter()
        .filter(|t| t.status.as_str() != "scheduled" && t.status.as_str() != "cancelled")
        .map(|t| t.value.amount_minor)
        .sum();
    let rows = c
        .tranches
        .iter()
        .map(|t| {
            vec![
                t.id.render(),
                t.quantity.render(),
                html! { (t.unit_price) " " (c.currency) },
                money(t.value.amount_minor, &c.currency),
                html! { (day(t.delivery_start)) " to " (day(t.delivery_end)) },
                badge(t.status.as_str()),
                t.invoice_id.as_deref().unwrap_or_default().render(),
            ]
        })
        .collect();
    Table {
        id: &format!("commitment-{}", c.doc_id),
        caption: &format!(
            "Commitment {} with {} (version {}, {}): {} of {} delivered; invoices due {} days after delivery",
            c.doc_id,
            c.maker,
            c.doc_version,
            c.status,
            crate::html::grouped(delivered, crate::html::scale_of(&c.currency)),
            crate::html::grouped(total, crate::html::scale_of(&c.currency)),
            c.payment_days
        ),
        headers: &["Tranche", "Quantity", "Unit price", "Value", "Delivery window", "Status", "Invoice"],
        numeric: &[1, 2, 3],
        rows,
        empty: "No tranches.",
    }
    .render()
}

fn invoices_html(invoices: &[Invoice], today: Date) -> Markup {
    let mut sorted: Vec<&Invoice> = invoices.iter().collect();
    sorted.sort_by_key(|i| (i.status.as_str() != "open", i.due_on, i.id.clone()));
    let mut due: BTreeMap<&str, i64> = BTreeMap::new();
    for i in invoices.iter().filter(|i| i.status.as_str() == "open") {
        *due.entry(i.amount.currency.as_str()).or_default() += i.open.amount_minor;
    }
    let rows = sorted
        .iter()
        .map(|i| {
            let status = if i.status.as_str() == "open" && i.due_on < today { "overdue" } else { i.status.as_str() };
            vec![
                i.id.render(),
                html! { (i.commitment) " / " (i.tranche.as_deref().unwrap_or(i.kind.as_str())) },
                i.maker.render(),
                day(i.issued_on).render(),
                day(i.due_on).render(),
                money(i.amount.amount_minor, &i.amount.currency),
                money(i.open.amount_minor, &i.amount.currency),
                badge(status),
            ]
        })
        .collect();
    let totals = by_currency("Open invoices", "open", &due);
    let totals = if totals.is_empty() { note("Nothing is due.") } else { figures("Invoices due", &totals) };
    let table = Table {
        id: "invoices-table",
        caption: "Your invoices, open first by due date",
        headers: &["Invoice", "Commitment / tranche", "Maker", "Issued", "Due", "Amount", "Open", "Status"],
        numeric: &[5, 6],
        rows,
        empty: "No invoices yet.",
    }
    .render();
    html! { (totals) (table) }
}

/// One figure per currency: `{term} (USD)`, the sum, id `{id_prefix}-usd`.
fn by_currency(term: &str, id_prefix: &str, sums: &BTreeMap<&str, i64>) -> Vec<(String, Markup, String)> {
    sums.iter()
        .map(|(ccy, minor)| {
            (format!("{term} ({ccy})"), money(*minor, ccy), format!("{id_prefix}-{}", ccy.to_lowercase()))
        })
        .collect()
}

fn payments_html(payments: &[Payment], ledger: Option<&BrandStatement>) -> Markup {
    let mut credit: BTreeMap<&str, i64> = BTreeMap::new();
    if let Some(l) = ledger {
        // The ledger's own balance of what is owed back to the brand.
        credit.extend(l.credit.iter().map(|m| (m.currency.as_str(), m.amount_minor)));
    }
    for p in payments.iter().filter(|_| ledger.is_none()) {
        let Some(b) = p.waterfall.as_ref() else { continue };
        let e = credit.entry(p.amount.currency.as_str()).or_default();
        *e += b.overpayment.amount_minor;
        if p.source.as_str() == "brand_credit" {
            *e -= p.amount.amount_minor - b.overpayment.amount_minor;
        }
    }
    let rows = payments
        .iter()
        .map(|p| {
            let ccy = p.amount.currency.as_str();
            let (applied, over) =
                p.waterfall.as_ref().map_or((0, 0), |b| (b.applied.amount_minor, b.overpayment.amount_minor));
            let source = if p.source.as_str() == "brand_credit" { "from credit" } else { "cash" };
            vec![
                p.external_ref.render(),
                p.facility.render(),
                day(p.value_date).render(),
                money(p.amount.amount_minor, ccy),
                source.render(),
                badge(p.status.as_str()),
                money(applied, ccy),
                money(over, ccy),
            ]
        })
        .collect();
    let figs = by_currency("Credit with the program", "credit", &credit);
    let credits = if figs.is_empty() {
        html! {}
    } else {
        figures("Credits", &figs)
    };
    let table = Table {
        id: "payments-table",
        caption: "Your payments (an overpayment becomes a credit)",
        headers: &["Reference", "Facility", "Value date", "Amount", "Source", "State", "Applied to invoices", "Credit"],
        numeric: &[3, 6, 7],
        rows,
        empty: "No payments yet.",
    }
    .render();
    html! { (credits) (table) }
}
