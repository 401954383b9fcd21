//! The lender's bank panels: the reconciliation queue (credits from its
//! collection accounts that no rule matched, with what a hand match takes)
//! and the cash reconciliation (each statement day's opening and closing
//! balances against the ledger's cash account, differences flagged with
//! the items that explain them). Read from `/v1/bank-queue` and
//! `/v1/cash-reconciliation`, which answer a lender only for the accounts
//! of its own facilities; a server without them shows neither panel.

use time::Date;

use super::section;
use crate::client::{encode, Client, WebError};
use crate::html::{esc, money, Table};
use crate::model::{day, BankQueueItem, CashReconDay, Invoice};

/// The table-of-contents entries of the panels.
pub const CONTENTS: [(&str, &str); 2] = [("bank-queue", "Bank queue"), ("cash-reconciliation", "Cash reconciliation")];

/// Both panels, or nothing when the server has no bank routes.
pub async fn panels(client: &Client, invoices: &[Invoice], today: Date) -> Result<String, WebError> {
    let queue: Option<Vec<BankQueueItem>> = client.get_opt("/v1/bank-queue").await?;
    let recon: Option<Vec<CashReconDay>> =
        client.get_opt(&format!("/v1/cash-reconciliation?through={}", encode(&day(today)))).await?;
    let mut out = String::new();
    if let Some(q) = queue {
        out.push_str(&section(
            "bank-queue",
            "Reconciliation queue: credits to match by hand",
            &queue_panel(&q, invoices),
        ));
    }
    if let Some(r) = recon {
        out.push_str(&section(
            "cash-reconciliation",
            "Cash reconciliation: bank statements against the ledger",
            &recon_panel(&r),
        ));
    }
    Ok(out)
}

fn queue_panel(items: &[BankQueueItem], invoices: &[Invoice]) -> String {
    let rows = items
        .iter()
        .map(|q| {
            vec![
                esc(&q.reference),
                esc(&q.booking_date),
                esc(&q.account),
                esc(q.counterparty_name.as_deref().unwrap_or("\u{2014}")),
                esc(&q.remittance.join(" / ")),
                money(q.money.amount_minor, &q.money.currency),
                esc(&q.reason),
            ]
        })
        .collect();
    let mut out = Table {
        id: "bank-queue-table",
        caption: "Credits on your collection accounts that no rule matched",
        headers: &["Bank reference", "Booked", "Account", "From", "Remittance", "Amount", "Why it waits"],
        numeric: &[5],
        rows,
        empty: "No credit waits: every imported credit was matched.",
    }
    .render();
    if items.is_empty() {
        return out;
    }
    out.push_str(
        "<p class=\"help\">A hand match names the brand that paid, the facility and the invoices it pays \
(none: the brand's open invoices, oldest due first); the credit is then settled through the waterfall like any payment.</p>\
<ul class=\"commands\" id=\"bank-queue-commands\">",
    );
    for q in items {
        // An open invoice of exactly this amount is the likely one; else
        // the operator fills in what the open invoices below suggest.
        let suggestion = invoices.iter().find(|i| {
            i.status.as_str() == "open"
                && i.open.amount_minor == q.money.amount_minor
                && i.open.currency == q.money.currency
        });
        let (brand, facility, invoice) = suggestion
            .map_or(("BRAND", "FACILITY", "INVOICE"), |i| (i.brand.as_str(), i.facility.as_str(), i.id.as_str()));
        let cli =
            format!("offtake bank match {} --brand {brand} --facility {facility} --invoice {invoice} --by YOU", q.key);
        let path = format!("POST /v1/bank-queue/{}/match", encode(&q.key));
        let body = format!(r#"{{"brand": "{brand}", "facility": "{facility}", "invoices": ["{invoice}"]}}"#);
        out.push_str(&format!(
            "<li data-queue-key=\"{}\"><strong>{}</strong>: <code>{}</code> or <code>{}</code> with <code>{}</code></li>",
            esc(&q.key),
            esc(&q.reference),
            breakable(&cli),
            breakable(&path),
            breakable(&body),
        ));
    }
    out.push_str("</ul>");
    for (n, q) in items.iter().enumerate() {
        out.push_str(&hand_match_form(n, q, invoices));
    }
    let open: Vec<Vec<String>> = invoices
        .iter()
        .filter(|i| i.status.as_str() == "open" && i.open.amount_minor > 0)
        .map(|i| {
            vec![
                esc(&i.id),
                esc(&i.brand),
                esc(&i.facility),
                money(i.open.amount_minor, &i.open.currency),
                day(i.due_on),
            ]
        })
        .collect();
    out.push_str(
        &Table {
            id: "bank-queue-invoices",
            caption: "Open invoices a credit may pay",
            headers: &["Invoice", "Brand", "Facility", "Open", "Due"],
            numeric: &[3],
            rows: open,
            empty: "No open invoice.",
        }
        .render(),
    );
    out
}

/// The form that matches one queued credit by hand from the page: it
/// posts `POST /v1/bank-queue/{key}/match` with the visitor's key (the API
/// decides whether that key may), prefilled with the open invoice of the
/// same amount when there is one.
fn hand_match_form(n: usize, q: &BankQueueItem, invoices: &[Invoice]) -> String {
    let same_amount = invoices.iter().find(|i| {
        i.status.as_str() == "open"
            && i.open.amount_minor == q.money.amount_minor
            && i.open.currency == q.money.currency
    });
    let (brand, facility, invoice) =
        same_amount.map_or(("", "", ""), |i| (i.brand.as_str(), i.facility.as_str(), i.id.as_str()));
    format!(
        r#"<form class="hand-match" id="hand-match-{n}" data-key="{key}" novalidate>
<fieldset><legend>Match {reference} ({amount}) by hand</legend>
<div class="field"><label for="hm-brand-{n}">Brand</label><input id="hm-brand-{n}" name="brand" type="text" required maxlength="200" autocomplete="off" value="{brand}"></div>
<div class="field"><label for="hm-facility-{n}">Facility</label><input id="hm-facility-{n}" name="facility" type="text" required maxlength="200" autocomplete="off" value="{facility}"></div>
<div class="field"><label for="hm-invoices-{n}">Invoices <span class="opt">(comma-separated; none: the brand's open invoices, oldest due first)</span></label><input id="hm-invoices-{n}" name="invoices" type="text" maxlength="2000" autocomplete="off" value="{invoice}"></div>
<button type="submit">Match and settle</button>
<p class="form-status" role="status" aria-live="polite"></p>
</fieldset></form>"#,
        key = esc(&q.key),
        reference = esc(&q.reference),
        amount = money(q.money.amount_minor, &q.money.currency),
        brand = esc(brand),
        facility = esc(facility),
        invoice = esc(invoice),
    )
}

/// Escaped text that may wrap after `/`, `:` and `,` (long paths and
/// keys on a phone's width).
fn breakable(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        out.push_str(&esc(&c.to_string()));
        if matches!(c, '/' | ':' | ',') {
            out.push_str("<wbr>");
        }
    }
    out
}

fn recon_panel(days: &[CashReconDay]) -> String {
    let rows = days
        .iter()
        .map(|d| {
            let ccy = d.statement_closing.currency.as_str();
            let status = if d.clean {
                r#"<span class="badge badge-ok">clean</span>"#.to_owned()
            } else {
                r#"<span class="badge badge-broken">difference</span>"#.to_owned()
            };
            vec![
                esc(&d.date),
                esc(&d.account),
                esc(&d.ledger_account),
                d.statement_opening.as_ref().map_or("\u{2014}".to_owned(), |m| money(m.amount_minor, ccy)),
                money(d.ledger_opening.amount_minor, ccy),
                money(d.statement_closing.amount_minor, ccy),
                money(d.ledger_closing.amount_minor, ccy),
                money(d.difference.amount_minor, ccy),
                format!(r#"<span data-recon-status="{}">{status}</span>"#, esc(&format!("{}:{}", d.account, d.date))),
            ]
        })
        .collect();
    let mut out = Table {
        id: "cash-recon-table",
        caption: "Per bank account and statement day: the bank's balances and the ledger's cash account",
        headers: &[
            "Day",
            "Bank account",
            "Ledger account",
            "Statement opening",
            "Ledger opening",
            "Statement closing",
            "Ledger closing",
            "Difference",
            "Status",
        ],
        numeric: &[3, 4, 5, 6, 7],
        rows,
        empty: "No statement imported for your accounts yet.",
    }
    .render();
    for d in days.iter().filter(|d| !d.clean) {
        let ccy = d.difference.currency.as_str();
        out.push_str(&format!(
            "<div class=\"recon-items\" id=\"recon-items-{}\"><h3>{} on {}: {} explained by</h3><ul>",
            esc(&format!("{}-{}", d.account, d.date)),
            esc(&d.account),
            esc(&d.date),
            money(d.difference.amount_minor, ccy)
        ));
        for i in &d.items {
            out.push_str(&format!(
                "<li><strong>{}</strong> {}: {}</li>",
                esc(&i.kind.replace('_', " ")),
                money(i.amount_minor, ccy),
                esc(&i.detail)
            ));
        }
        if d.unexplained_minor != 0 {
            out.push_str(&format!("<li><strong>unexplained</strong> {}</li>", money(d.unexplained_minor, ccy)));
        }
        out.push_str("</ul></div>");
    }
    out
}
