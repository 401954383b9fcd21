//! The brand's dashboard: what it committed to buy (tranche by tranche,
//! with delivery status), the invoices it owes, and its payments and
//! credits.

use std::collections::BTreeMap;

use time::Date;

use super::{contents, note, party_statement, payments, section, Viewer};
use crate::client::{Client, WebError};
use crate::html::{badge, esc, figures, money, Table};
use crate::model::{day, BrandStatement, Commitment, Invoice, Payment};

pub async fn render(client: &Client, viewer: &Viewer, today: Date) -> Result<String, WebError> {
    let commitments: Vec<Commitment> = client.list("/v1/commitments").await?;
    let invoices: Vec<Invoice> = client.list("/v1/invoices").await?;
    let payments = payments(client).await?;
    let ledger: Option<BrandStatement> =
        if viewer.role == "brand" { party_statement(client, &viewer.party).await? } else { None };

    let mut out =
        contents(&[("commitments", "Commitments"), ("invoices", "Invoices due"), ("payments", "Payments and credits")]);
    out.push_str(&section("commitments", "Commitments", &commitments_html(&commitments)));
    out.push_str(&section("invoices", "Invoices due", &invoices_html(&invoices, today)));
    let pay = match &payments {
        Some(p) => payments_html(p, ledger.as_ref()),
        None => note("Payments are not available on this server."),
    };
    out.push_str(&section("payments", "Payments and credits", &pay));
    Ok(out)
}

fn commitments_html(commitments: &[Commitment]) -> String {
    if commitments.is_empty() {
        return note("No signed commitments yet.");
    }
    let mut out = String::new();
    for c in commitments {
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
                    esc(&t.id),
                    esc(&t.quantity),
                    format!("{} {}", esc(&t.unit_price), esc(&c.currency)),
                    money(t.value.amount_minor, &c.currency),
                    format!("{} to {}", day(t.delivery_start), day(t.delivery_end)),
                    badge(t.status.as_str()),
                    t.invoice_id.as_deref().map(esc).unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(
            &Table {
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
            .render(),
        );
    }
    out
}

fn invoices_html(invoices: &[Invoice], today: Date) -> String {
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
                esc(&i.id),
                format!("{} / {}", esc(&i.commitment), esc(i.tranche.as_deref().unwrap_or(i.kind.as_str()))),
                esc(&i.maker),
                day(i.issued_on),
                day(i.due_on),
                money(i.amount.amount_minor, &i.amount.currency),
                money(i.open.amount_minor, &i.amount.currency),
                badge(status),
            ]
        })
        .collect();
    let totals: Vec<(String, String, String)> = due
        .iter()
        .map(|(ccy, minor)| {
            (format!("Open invoices ({ccy})"), money(*minor, ccy), format!("open-{}", ccy.to_lowercase()))
        })
        .collect();
    let items: Vec<(&str, String, &str)> =
        totals.iter().map(|(t, v, id)| (t.as_str(), v.clone(), id.as_str())).collect();
    let mut out = if items.is_empty() { note("Nothing is due.") } else { figures("Invoices due", &items) };
    out.push_str(
        &Table {
            id: "invoices-table",
            caption: "Your invoices, open first by due date",
            headers: &["Invoice", "Commitment / tranche", "Maker", "Issued", "Due", "Amount", "Open", "Status"],
            numeric: &[5, 6],
            rows,
            empty: "No invoices yet.",
        }
        .render(),
    );
    out
}

fn payments_html(payments: &[Payment], ledger: Option<&BrandStatement>) -> String {
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
                esc(&p.external_ref),
                esc(&p.facility),
                day(p.value_date),
                money(p.amount.amount_minor, ccy),
                esc(source),
                badge(p.status.as_str()),
                money(applied, ccy),
                money(over, ccy),
            ]
        })
        .collect();
    let figs: Vec<(String, String, String)> = credit
        .iter()
        .map(|(ccy, minor)| {
            (format!("Credit with the program ({ccy})"), money(*minor, ccy), format!("credit-{}", ccy.to_lowercase()))
        })
        .collect();
    let items: Vec<(&str, String, &str)> = figs.iter().map(|(t, v, id)| (t.as_str(), v.clone(), id.as_str())).collect();
    let mut out = if items.is_empty() { String::new() } else { figures("Credits", &items) };
    out.push_str(
        &Table {
            id: "payments-table",
            caption: "Your payments (an overpayment becomes a credit)",
            headers: &[
                "Reference",
                "Facility",
                "Value date",
                "Amount",
                "Source",
                "State",
                "Applied to invoices",
                "Credit",
            ],
            numeric: &[3, 6, 7],
            rows,
            empty: "No payments yet.",
        }
        .render(),
    );
    out
}
