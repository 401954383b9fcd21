//! The maker's dashboard: what it may draw today and why, its draws, the
//! form to request one (signed in the browser), what it owes in interest
//! and fees, and what was remitted to it.

use maud::{html, Markup, Render};
use time::Date;

use super::collateral;
use super::{
    availability, charts_section, contents, note, party_statement, payments, section, signing_fields, statement, Viewer,
};
use crate::client::{Client, WebError};
use crate::html::{badge, figures, money, pct_bps, plain, Table};
use crate::model::{day, paid, Advance, Availability, DebtPart, Facility, MakerFacilityLine, MakerStatement, Payment};

pub async fn render(client: &Client, viewer: &Viewer, today: Date) -> Result<Markup, WebError> {
    let facilities: Vec<Facility> = client.list("/v1/facilities").await?;
    let advances: Vec<Advance> = client.list("/v1/advances").await?;
    let payments = payments(client).await?;
    let paid = payments.clone().unwrap_or_default();

    let owed: Option<MakerStatement> =
        if viewer.role == "maker" { party_statement(client, &viewer.party).await? } else { None };
    let mut avail_blocks = Vec::new();
    let mut today_avail = Vec::new();
    for f in &facilities {
        let a = availability(client, &f.id, None).await?;
        // Above the fold: what can be drawn, what is owed, what is flagged.
        let line = owed.as_ref().and_then(|s| s.facilities.iter().find(|l| l.facility == f.id));
        let owed_figures = line.map(collateral::owed_figures).unwrap_or_default();
        let flags = collateral::flags(&collateral::certificate(client, &f.id, today).await?);
        let first_screen = html! { @if let Some(l) = line { (collateral::owed_parts(l)) } (flags) };
        avail_blocks.push(availability_block(f, &a, &owed_figures, first_screen));
        today_avail.push(a);
    }
    let charts = charts_section(client, &facilities, &advances, &paid, today).await?;
    let mut remit = Vec::new();
    for f in &facilities {
        remit.push(remittances(client, f).await?);
    }
    let charges = html! {
        @for f in &facilities {
            @match owed.as_ref().and_then(|s| s.facilities.iter().find(|l| l.facility == f.id)) {
                Some(line) => (dues_table(f, line)),
                None => (charges_table(f, &advances, &paid)),
            }
        }
        @if owed.is_none() && payments.is_none() {
            (note("Payments are not available on this server: amounts paid are not shown."))
        }
    };
    Ok(html! {
        (contents(&[
            ("availability", "Availability today"),
            ("chart", "Over time"),
            ("draw", "Request a draw"),
            ("advances", "Advances"),
            ("charges", "Interest and fees"),
            ("remittances", "Remittances"),
        ]))
        @if facilities.is_empty() { (note("No facility finances you yet: ask your lender to open one.")) }
        (section("availability", "Availability today", html! { @for b in &avail_blocks { (b) } }))
        (charts)
        (section("draw", "Request a draw", draw_form(viewer, &facilities, &today_avail)))
        (section("advances", "Advances", advances_table("advances-table", "Your advances", &advances)))
        (section("charges", "Interest and fees", charges))
        (section("remittances", "Remittances", html! { @for r in &remit { (r) } }))
    })
}

fn eligibility_text(e: &str, a: &Availability, eligibility_days: u32) -> String {
    match e {
        "eligible" => "Counts".to_owned(),
        "too_far_out" => format!(
            "Not yet: delivery starts after {}",
            day(a.as_of + time::Duration::days(i64::from(eligibility_days)))
        ),
        "delivered" => "Delivered (now an invoice)".to_owned(),
        "cancelled" => "Tranche cancelled".to_owned(),
        "commitment_cancelled" => "Commitment cancelled".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Availability of one facility with every step of the borrowing base.
/// `owed` (figures: what is owed in total, the next due date) follows what
/// is drawn; `first_screen` (the parts owed, the day's flags) comes right
/// after the figures, above the breakdown.
pub fn availability_block(
    f: &Facility,
    a: &Availability,
    owed: &[(&'static str, Markup, String)],
    first_screen: Markup,
) -> Markup {
    let fid = &f.id;
    html! {
        article class="facility" id={ "facility-" (fid) } aria-labelledby={ "facility-" (fid) "-h" } {
            h3 id={ "facility-" (fid) "-h" } {
                "Facility " (fid) " " span class="sub" { "from " (f.lender) " \u{b7} " (badge(f.status.as_str())) }
            }
            (availability_figures(f, a, owed))
            (first_screen)
            (calculation(a, &f.terms.currency))
            @if a.available.amount_minor < 0 {
                (note("Collateral has fallen below what is drawn: no further draw until it recovers."))
            }
            (tranches_table(f, a))
            (brands_table(f, a))
        }
    }
}

/// The headline figures of a facility's availability, what is owed among them.
fn availability_figures(f: &Facility, a: &Availability, owed: &[(&'static str, Markup, String)]) -> Markup {
    let ccy = f.terms.currency.as_str();
    let (available_id, outstanding_id) = (format!("available-{}", f.id), format!("outstanding-{}", f.id));
    let (base_id, pending_id) = (format!("base-{}", f.id), format!("pending-{}", f.id));
    let mut items: Vec<(&str, Markup, &str)> = vec![
        ("Available to draw", money(a.available.amount_minor, ccy), &available_id),
        ("Drawn (principal outstanding)", money(a.drawn.amount_minor, ccy), &outstanding_id),
    ];
    items.extend(owed.iter().map(|(term, value, id)| (*term, value.clone(), id.as_str())));
    items.extend([
        ("Borrowing base", money(a.base.amount_minor, ccy), base_id.as_str()),
        ("Limit", money(a.limit.amount_minor, ccy), ""),
        ("Pending draws", money(a.pending.amount_minor, ccy), pending_id.as_str()),
    ]);
    figures(&format!("Availability of facility {}", f.id), &items)
}

/// The borrowing base worked through, eligible collateral to available.
fn calculation(a: &Availability, ccy: &str) -> Markup {
    html! {
        p class="calc" {
            "Eligible collateral " (money(a.eligible.amount_minor, ccy)) " \u{2192} " (money(a.counted.amount_minor, ccy))
            " after brand caps \u{d7} advance rate " (pct_bps(a.advance_rate_bps)) " = base "
            (money(a.base.amount_minor, ccy)) ". The lesser of limit and base, " (money(a.capacity.amount_minor, ccy))
            ", less " (money(a.drawn.amount_minor, ccy)) " drawn and " (money(a.pending.amount_minor, ccy))
            " pending = " strong { (money(a.available.amount_minor, ccy)) } " available."
        }
    }
}

/// The tranches behind a facility, each with whether it counts today.
fn tranches_table(f: &Facility, a: &Availability) -> Markup {
    let ccy = f.terms.currency.as_str();
    let rows = a
        .tranches
        .iter()
        .map(|t| {
            vec![
                html! { (t.commitment) " / " (t.tranche) },
                t.brand.render(),
                day(t.delivery_start).render(),
                money(t.value.amount_minor, ccy),
                eligibility_text(t.eligibility.as_str(), a, f.terms.eligibility_days).render(),
                money(t.eligible.amount_minor, ccy),
            ]
        })
        .collect();
    Table {
        id: &format!("tranches-{}", f.id),
        caption: &format!(
            "Tranches behind facility {} on {} (eligible when delivery starts within {} days)",
            f.id,
            day(a.as_of),
            f.terms.eligibility_days
        ),
        headers: &["Commitment / tranche", "Brand", "Delivery starts", "Value", "Counts?", "Eligible value"],
        numeric: &[3, 5],
        rows,
        empty: "No signed commitments from your brands yet.",
    }
    .render()
}

/// Brand concentration: what each brand counts for after its cap.
fn brands_table(f: &Facility, a: &Availability) -> Markup {
    let ccy = f.terms.currency.as_str();
    let rows = a
        .brands
        .iter()
        .map(|b| {
            vec![
                b.brand.render(),
                money(b.eligible.amount_minor, ccy),
                money(b.cap.amount_minor, ccy),
                money(b.excess.amount_minor, ccy),
                money(b.counted.amount_minor, ccy),
            ]
        })
        .collect();
    Table {
        id: &format!("brands-{}", f.id),
        caption: &format!(
            "Brand concentration: one brand counts for at most {} of eligible value",
            pct_bps(f.terms.concentration_bps)
        ),
        headers: &["Brand", "Eligible", "Cap", "Above the cap (not counted)", "Counted"],
        numeric: &[1, 2, 3, 4],
        rows,
        empty: "No eligible collateral.",
    }
    .render()
}

fn draw_form(viewer: &Viewer, facilities: &[Facility], today: &[Availability]) -> Markup {
    let open: Vec<(&Facility, &Availability)> =
        facilities.iter().zip(today).filter(|(f, _)| f.status.as_str() == "open").collect();
    if open.is_empty() {
        return note("You have no open facility to draw on.");
    }
    html! {
        form id="draw-form" class="sign-form" data-maker=(viewer.party) novalidate {
            div class="field" {
                label for="draw-facility" { "Facility" }
                select id="draw-facility" name="facility" { @for (f, a) in &open {
                    @let (ccy, avail) = (&f.terms.currency, plain(a.available.amount_minor, &f.terms.currency));
                    option value=(f.id) data-currency=(ccy) data-available=(avail) {
                        (f.id) " (" (avail) " " (ccy) " available)"
                    }
                } }
            }
            div class="field" {
                label for="draw-amount" { "Amount" }
                input id="draw-amount" name="amount" type="text" inputmode="decimal" autocomplete="off" required
                    pattern="^(0|[1-9][0-9]{0,15})(\\.[0-9]{1,4})?$" aria-describedby="draw-amount-help";
                p class="help" id="draw-amount-help" { "A decimal in the facility's currency, at most what is available." }
            }
            div class="field" {
                label for="draw-purpose" { "Purpose " span class="opt" { "(optional)" } }
                input id="draw-purpose" name="purpose" type="text" maxlength="500" autocomplete="off";
            }
            fieldset {
                legend { "Signature" }
                p class="help" id="draw-sign-help" {
                    "The request is signed in this browser with your Ed25519 key: the private key is read by this page and never sent to the server. Or upload an advance request you signed with "
                    code { "offtake sign" } "."
                }
                (signing_fields("draw", "Or a signed envelope"))
            }
            button type="submit" id="draw-submit" { "Sign and request the draw" }
            p class="form-status" id="draw-status" role="status" aria-live="polite" {}
        }
    }
}

/// Advances as a table (the maker's own, or a lender's facilities').
pub fn advances_table(id: &str, caption: &str, advances: &[Advance]) -> Markup {
    let mut sorted: Vec<&Advance> = advances.iter().collect();
    sorted.sort_by(|a, b| b.requested_on.cmp(&a.requested_on).then_with(|| a.id.cmp(&b.id)));
    let rows = sorted
        .iter()
        .map(|a| {
            let status = if a.status.as_str() == "pending" { "pending approval" } else { a.status.as_str() };
            vec![
                a.id.render(),
                a.facility.render(),
                a.maker.render(),
                day(a.requested_on).render(),
                money(a.amount.amount_minor, &a.amount.currency),
                html! { span data-advance-status=(a.id) { (badge(status)) } },
                a.funded_on.map(day).unwrap_or_default().render(),
                if a.fee.amount_minor > 0 {
                    money(a.fee.amount_minor, &a.amount.currency)
                } else {
                    html! {}
                },
            ]
        })
        .collect();
    Table {
        id,
        caption,
        headers: &["Advance", "Facility", "Maker", "Requested", "Amount", "Status", "Funded on", "Fee"],
        numeric: &[4, 7],
        rows,
        empty: "No advances yet.",
    }
    .render()
}

/// Booked, paid and due by part of the debt, for one facility.
pub fn charges_table(f: &Facility, advances: &[Advance], payments: &[Payment]) -> Markup {
    let ccy = f.terms.currency.as_str();
    let fees_booked: i64 = advances
        .iter()
        .filter(|a| a.facility == f.id && a.status.as_str() == "funded")
        .map(|a| a.fee.amount_minor)
        .sum();
    let paid_on =
        |part: DebtPart| -> i64 { payments.iter().filter(|p| p.facility == f.id).map(|p| paid(p, part)).sum() };
    let parts = [
        ("Interest", f.interest_booked.amount_minor, paid_on(DebtPart::Interest)),
        ("Fees", fees_booked, paid_on(DebtPart::Fees)),
        ("Default interest and late charges", f.default_interest_booked.amount_minor, paid_on(DebtPart::Penalty)),
    ];
    let rows = parts
        .iter()
        .map(|(label, booked, paid)| {
            vec![label.render(), money(*booked, ccy), money(*paid, ccy), money((booked - paid).max(0), ccy)]
        })
        .collect();
    Table {
        id: &format!("charges-{}", f.id),
        caption: &format!("Facility {}: {}", f.id, terms_line(f)),
        headers: &["Charge", "Booked", "Paid", "Due"],
        numeric: &[1, 2, 3],
        rows,
        empty: "",
    }
    .render()
}

fn terms_line(f: &Facility) -> String {
    let through = f.accrued_through.map_or("not yet accrued".to_owned(), |d| format!("accrued through {}", day(d)));
    format!(
        "{} {}, fee {} per draw; interest {}",
        pct_bps(f.terms.rate_bps),
        f.terms.day_count.as_str().to_uppercase().replace("ACT", "ACT/").replace("_F", "F"),
        pct_bps(f.terms.fee_bps),
        through
    )
}

/// What the maker owes on a facility besides principal, as the ledger
/// holds it (its statement), and the brand invoices that will repay it.
fn dues_table(f: &Facility, line: &MakerFacilityLine) -> Markup {
    let ccy = line.currency.as_str();
    let parts = [
        ("Interest", line.interest_due.amount_minor),
        ("Fees", line.fees_due.amount_minor),
        ("Default interest and late charges", line.penalty_due.amount_minor),
        ("Total", line.interest_due.amount_minor + line.fees_due.amount_minor + line.penalty_due.amount_minor),
    ];
    let rows = parts.iter().map(|(label, minor)| vec![label.render(), money(*minor, ccy)]).collect();
    let charges = Table {
        id: &format!("charges-{}", f.id),
        caption: &format!("Facility {}: due now; {}", f.id, terms_line(f)),
        headers: &["Charge", "Due"],
        numeric: &[1],
        rows,
        empty: "",
    }
    .render();
    let rows = line
        .next_due
        .iter()
        .map(|d| vec![d.invoice.render(), d.brand.render(), day(d.due_on).render(), money(d.open.amount_minor, ccy)])
        .collect();
    let next_due = Table {
        id: &format!("next-due-{}", f.id),
        caption: "Brand invoices that repay this facility, next due first",
        headers: &["Invoice", "Brand", "Due", "Open"],
        numeric: &[3],
        rows,
        empty: "No open invoices.",
    }
    .render();
    html! { (charges) (next_due) }
}

async fn remittances(client: &Client, f: &Facility) -> Result<Markup, WebError> {
    let Some(s) = statement(client, &f.id).await? else {
        return Ok(note(&format!("No remittance statement for facility {} on this server.", f.id)));
    };
    let ccy = s.currency.as_str();
    let payable_id = format!("payable-{}", f.id);
    let totals = figures(
        &format!("Remittances on facility {}", f.id),
        &[
            ("Left to you by payments", money(s.remainder_total.amount_minor, ccy), ""),
            ("Remitted", money(s.remitted.amount_minor, ccy), ""),
            ("Payable to you", money(s.payable.amount_minor, ccy), &payable_id),
        ],
    );
    let rows = s
        .lines
        .iter()
        .map(|l| {
            vec![
                l.external_ref.render(),
                day(l.value_date).render(),
                money(l.applied.amount_minor, ccy),
                money(l.debt_paid.amount_minor, ccy),
                money(l.remainder.amount_minor, ccy),
            ]
        })
        .collect();
    let applied = Table {
        id: &format!("statement-{}", f.id),
        caption: "Brand payments through the waterfall",
        headers: &["Payment", "Value date", "Applied", "To the lender", "Left to you"],
        numeric: &[2, 3, 4],
        rows,
        empty: "No payments applied yet.",
    }
    .render();
    let rows = s
        .remittances
        .iter()
        .map(|r| vec![r.reference.render(), day(r.on).render(), money(r.amount.amount_minor, ccy)])
        .collect();
    let remitted = Table {
        id: &format!("remittances-{}", f.id),
        caption: "Remittances paid to you",
        headers: &["Reference", "Date", "Amount"],
        numeric: &[2],
        rows,
        empty: "Nothing remitted yet.",
    }
    .render();
    Ok(html! { h3 { "Facility " (f.id) } (totals) (applied) (remitted) })
}
