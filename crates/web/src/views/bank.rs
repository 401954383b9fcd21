//! The lender's bank panels: the reconciliation queue (credits from its
//! collection accounts that no rule matched, with what a hand match takes)
//! and the cash reconciliation (each statement day's opening and closing
//! balances against the ledger's cash account, differences flagged with
//! the items that explain them). Read from `/v1/bank-queue` and
//! `/v1/cash-reconciliation`, which answer a lender only for the accounts
//! of its own facilities; a server without them shows neither panel.

use maud::{html, Markup, Render};
use time::Date;

use super::section;
use crate::client::{encode, Client, WebError};
use crate::html::{money, Table};
use crate::model::{day, BankQueueItem, CashReconDay, Invoice};

/// The table-of-contents entries of the panels.
pub const CONTENTS: [(&str, &str); 2] = [("bank-queue", "Bank queue"), ("cash-reconciliation", "Cash reconciliation")];

/// Both panels, or nothing when the server has no bank routes.
pub async fn panels(client: &Client, invoices: &[Invoice], today: Date) -> Result<Markup, WebError> {
    let queue: Option<Vec<BankQueueItem>> = client.get_opt("/v1/bank-queue").await?;
    let recon: Option<Vec<CashReconDay>> =
        client.get_opt(&format!("/v1/cash-reconciliation?through={}", encode(&day(today)))).await?;
    Ok(html! {
        @if let Some(q) = queue {
            (section("bank-queue", "Reconciliation queue: credits to match by hand", queue_panel(&q, invoices)))
        }
        @if let Some(r) = recon {
            (section("cash-reconciliation", "Cash reconciliation: bank statements against the ledger", recon_panel(&r)))
        }
    })
}

/// The open invoice of exactly a credit's amount: the likely one it pays.
fn same_amount<'a>(q: &BankQueueItem, invoices: &'a [Invoice]) -> Option<&'a Invoice> {
    invoices.iter().find(|i| {
        i.status.as_str() == "open"
            && i.open.amount_minor == q.money.amount_minor
            && i.open.currency == q.money.currency
    })
}

fn queue_panel(items: &[BankQueueItem], invoices: &[Invoice]) -> Markup {
    let rows = items
        .iter()
        .map(|q| {
            vec![
                q.reference.render(),
                q.booking_date.render(),
                q.account.render(),
                q.counterparty_name.as_deref().unwrap_or("\u{2014}").render(),
                q.remittance.join(" / ").render(),
                money(q.money.amount_minor, &q.money.currency),
                q.reason.render(),
            ]
        })
        .collect();
    let table = Table {
        id: "bank-queue-table",
        caption: "Credits on your collection accounts that no rule matched",
        headers: &["Bank reference", "Booked", "Account", "From", "Remittance", "Amount", "Why it waits"],
        numeric: &[5],
        rows,
        empty: "No credit waits: every imported credit was matched.",
    }
    .render();
    if items.is_empty() {
        return table;
    }
    html! {
        (table)
        p class="help" {
            "A hand match names the brand that paid, the facility and the invoices it pays \
             (none: the brand's open invoices, oldest due first); the credit is then settled through the waterfall like any payment."
        }
        ul class="commands" id="bank-queue-commands" { @for q in items { (match_commands(q, invoices)) } }
        @for (n, q) in items.iter().enumerate() { (hand_match_form(n, q, invoices)) }
        (open_invoices_table(invoices))
    }
}

/// The CLI command and the API call that match one credit by hand; when
/// no open invoice has its amount, placeholders the operator fills in
/// from the open invoices below.
fn match_commands(q: &BankQueueItem, invoices: &[Invoice]) -> Markup {
    let (brand, facility, invoice) = same_amount(q, invoices)
        .map_or(("BRAND", "FACILITY", "INVOICE"), |i| (i.brand.as_str(), i.facility.as_str(), i.id.as_str()));
    let cli =
        format!("offtake bank match {} --brand {brand} --facility {facility} --invoice {invoice} --by YOU", q.key);
    let path = format!("POST /v1/bank-queue/{}/match", encode(&q.key));
    let body = format!(r#"{{"brand": "{brand}", "facility": "{facility}", "invoices": ["{invoice}"]}}"#);
    html! {
        li data-queue-key=(q.key) {
            strong { (q.reference) } ": " code { (breakable(&cli)) } " or " code { (breakable(&path)) }
            " with " code { (breakable(&body)) }
        }
    }
}

fn open_invoices_table(invoices: &[Invoice]) -> Markup {
    let rows = invoices
        .iter()
        .filter(|i| i.status.as_str() == "open" && i.open.amount_minor > 0)
        .map(|i| {
            vec![
                i.id.render(),
                i.brand.render(),
                i.facility.render(),
                money(i.open.amount_minor, &i.open.currency),
                day(i.due_on).render(),
            ]
        })
        .collect();
    Table {
        id: "bank-queue-invoices",
        caption: "Open invoices a credit may pay",
        headers: &["Invoice", "Brand", "Facility", "Open", "Due"],
        numeric: &[3],
        rows,
        empty: "No open invoice.",
    }
    .render()
}

/// The form that matches one queued credit by hand from the page: it
/// posts `POST /v1/bank-queue/{key}/match` with the visitor's key (the API
/// decides whether that key may), prefilled with the open invoice of the
/// same amount when there is one.
fn hand_match_form(n: usize, q: &BankQueueItem, invoices: &[Invoice]) -> Markup {
    let (brand, facility, invoice) =
        same_amount(q, invoices).map_or(("", "", ""), |i| (i.brand.as_str(), i.facility.as_str(), i.id.as_str()));
    let field = |name: &str, label: Markup, value: &str, max_len: u32, required: bool| {
        let id = format!("hm-{name}-{n}");
        html! {
            div class="field" {
                label for=(id) { (label) }
                input id=(id) name=(name) type="text" required[required]
                    maxlength=(max_len) autocomplete="off" value=(value);
            }
        }
    };
    html! {
        form class="hand-match" id={ "hand-match-" (n) } data-key=(q.key) novalidate {
            fieldset {
                legend { "Match " (q.reference) " (" (money(q.money.amount_minor, &q.money.currency)) ") by hand" }
                (field("brand", html! { "Brand" }, brand, 200, true))
                (field("facility", html! { "Facility" }, facility, 200, true))
                (field("invoices", html! {
                    "Invoices " span class="opt" { "(comma-separated; none: the brand's open invoices, oldest due first)" }
                }, invoice, 2000, false))
                button type="submit" { "Match and settle" }
                p class="form-status" role="status" aria-live="polite" {}
            }
        }
    }
}

/// Text that may wrap after `/`, `:` and `,` (long paths and keys on a
/// phone's width); every character is escaped.
fn breakable(text: &str) -> Markup {
    html! { @for c in text.chars() { (c) @if matches!(c, '/' | ':' | ',') { wbr; } } }
}

fn recon_panel(days: &[CashReconDay]) -> Markup {
    let rows = days
        .iter()
        .map(|d| {
            let ccy = d.statement_closing.currency.as_str();
            let (class, word) =
                if d.clean { ("badge badge-ok", "clean") } else { ("badge badge-broken", "difference") };
            vec![
                d.date.render(),
                d.account.render(),
                d.ledger_account.render(),
                d.statement_opening.as_ref().map_or("\u{2014}".render(), |m| money(m.amount_minor, ccy)),
                money(d.ledger_opening.amount_minor, ccy),
                money(d.statement_closing.amount_minor, ccy),
                money(d.ledger_closing.amount_minor, ccy),
                money(d.difference.amount_minor, ccy),
                html! { span data-recon-status={ (d.account) ":" (d.date) } { span class=(class) { (word) } } },
            ]
        })
        .collect();
    let table = Table {
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
    html! { (table) @for d in days.iter().filter(|d| !d.clean) { (recon_items(d)) } }
}

/// What explains one day's difference, item by item.
fn recon_items(d: &CashReconDay) -> Markup {
    let ccy = d.difference.currency.as_str();
    html! {
        div class="recon-items" id={ "recon-items-" (d.account) "-" (d.date) } {
            h3 { (d.account) " on " (d.date) ": " (money(d.difference.amount_minor, ccy)) " explained by" }
            ul {
                @for i in &d.items {
                    li { strong { (i.kind.replace('_', " ")) } " " (money(i.amount_minor, ccy)) ": " (i.detail) }
                }
                @if d.unexplained_minor != 0 {
                    li { strong { "unexplained" } " " (money(d.unexplained_minor, ccy)) }
                }
            }
        }
    }
}
