//! The dashboards, one module per role. Each reads what it shows through
//! [`Client`] with the caller's key and renders an HTML fragment the
//! page's script puts into `<main>`.

use std::collections::BTreeMap;

use maud::{html, Markup};
use time::Date;

use crate::chart::{sample_dates, Chart, Point};
use crate::client::{encode, Client, WebError};
use crate::model::{day, Advance, ApiKey, Availability, Facility, Party, Payment, Statement};

pub mod auditor;
pub mod bank;
pub mod brand;
pub mod certificate;
pub mod collateral;
pub mod feed;
pub mod lender;
pub mod maker;

/// Facilities charted at most on one page (each costs a dozen
/// availability reads).
pub const MAX_CHARTS: usize = 6;
/// Intervals a chart samples.
const CHART_STEPS: i64 = 12;
/// How far a chart projects the borrowing base past today.
const PROJECTION_DAYS: i64 = 120;
/// How far back a chart reaches at most.
const HISTORY_DAYS: i64 = 730;

/// Who is signed in: the API key's party and role.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub party: String,
    pub role: String,
    pub name: String,
}

/// Finds the caller's own key in the keys the API lets it list.
pub async fn whoami(client: &Client, token: &str) -> Result<Viewer, WebError> {
    let unauthenticated =
        || WebError::new(axum::http::StatusCode::UNAUTHORIZED, "unauthenticated", "unknown or revoked API key");
    let key_id = offtake_wire::key_id_of(token).ok_or_else(unauthenticated)?;
    let keys: Vec<ApiKey> = client.list("/v1/keys").await?;
    let key = keys.into_iter().find(|k| k.key_id == key_id).ok_or_else(unauthenticated)?;
    let party: Option<Party> = client.get_opt(&format!("/v1/parties/{}", encode(&key.party_id))).await?;
    let name = party.map_or_else(|| key.party_id.clone(), |p| p.name);
    Ok(Viewer { party: key.party_id, role: key.role.as_str().to_owned(), name })
}

/// The dashboard for the viewer's role.
pub async fn dashboard(client: &Client, viewer: &Viewer, today: Date) -> Result<Markup, WebError> {
    let (title, body) = match viewer.role.as_str() {
        "maker" => ("Maker dashboard", maker::render(client, viewer, today).await?),
        "lender" => ("Lender dashboard", lender::render(client, viewer, today).await?),
        "brand" => ("Brand dashboard", brand::render(client, viewer, today).await?),
        "auditor" => ("Auditor dashboard", auditor::render(client, viewer, today).await?),
        "admin" => {
            let lender = lender::render(client, viewer, today).await?;
            let auditor = auditor::render(client, viewer, today).await?;
            ("Operator dashboard", html! { (lender) (auditor) })
        }
        other => ("Dashboard", html! { p { "No dashboard for the role " (other) "." } }),
    };
    let (role, party, today) = (&viewer.role, &viewer.party, day(today));
    Ok(html! {
        div id="dashboard" data-role=(role) data-party=(party) {
            header class="who" {
                h1 id="page-title" tabindex="-1" { (title) }
                p {
                    "Signed in as " strong id="who-name" { (viewer.name) }
                    " (" span id="who-party" { (party) } ", " (role) ") \u{b7} figures as of "
                    time datetime=(today) { (today) } " (UTC)"
                }
            }
            (body)
        }
    })
}

/// A section with a heading the table of contents links to.
pub fn section(id: &str, heading: &str, body: Markup) -> Markup {
    html! { section id=(id) aria-labelledby={ (id) "-h" } { h2 id={ (id) "-h" } { (heading) } (body) } }
}

/// The in-page navigation: `(section id, label)`.
pub fn contents(items: &[(&str, &str)]) -> Markup {
    html! {
        nav class="contents" aria-label="On this page" { ul { @for (id, label) in items {
            li { a href={ "#" (id) } { (label) } }
        } } }
    }
}

/// The two ways to sign in the browser, shared by the draw and the
/// approval forms: a key file the page's script reads (never uploaded), or
/// an envelope signed elsewhere. Ids start with `prefix`; the help text is
/// `{prefix}-sign-help`.
pub fn signing_fields(prefix: &str, envelope_label: &str) -> Markup {
    let (key_id, envelope_id) = (format!("{prefix}-key"), format!("{prefix}-envelope"));
    html! {
        div class="field" {
            label for=(key_id) { "Your signing key file" }
            input id=(key_id) name="key" type="file" accept=".key,.json,application/json"
                aria-describedby={ (prefix) "-sign-help" };
        }
        div class="field" {
            label for=(envelope_id) { (envelope_label) }
            input id=(envelope_id) name="envelope" type="file" accept=".json,application/json";
        }
    }
}

pub fn note(text: &str) -> Markup {
    html! { p class="note" { (text) } }
}

pub async fn availability(client: &Client, facility: &str, as_of: Option<Date>) -> Result<Availability, WebError> {
    let path = match as_of {
        Some(d) => format!("/v1/facilities/{}/availability?as_of={}", encode(facility), day(d)),
        None => format!("/v1/facilities/{}/availability", encode(facility)),
    };
    client.get(&path).await
}

/// Payments the caller may see; `None` when this server has no payments
/// endpoint yet.
pub async fn payments(client: &Client) -> Result<Option<Vec<Payment>>, WebError> {
    client.list_opt("/v1/payments").await
}

/// A party's own statement (`maker`, `lender`, `brand`); `None` when this
/// server has none.
pub async fn party_statement<T: serde::de::DeserializeOwned>(
    client: &Client,
    party: &str,
) -> Result<Option<T>, WebError> {
    client.get_opt(&format!("/v1/parties/{}/statement", encode(party))).await
}

pub async fn statement(client: &Client, facility: &str) -> Result<Option<Statement>, WebError> {
    client.get_opt(&format!("/v1/facilities/{}/statement", encode(facility))).await
}

/// The "over time" section of the maker's and the lender's pages: the
/// chart of each facility, the first [`MAX_CHARTS`] of them.
pub async fn charts_section(
    client: &Client,
    facilities: &[Facility],
    advances: &[Advance],
    payments: &[Payment],
    today: Date,
) -> Result<Markup, WebError> {
    let mut charts = Vec::new();
    for f in facilities.iter().take(MAX_CHARTS) {
        charts.push(facility_chart(client, f, advances, payments, today).await?);
    }
    Ok(section("chart", "Borrowing base and drawn amount over time", html! { @for c in &charts { (c) } }))
}

/// The chart of one facility: the base as the API computes it on each
/// sampled date (today's commitments; later dates are a projection), and
/// the principal drawn by each date (funded advances less principal the
/// waterfall repaid).
pub async fn facility_chart(
    client: &Client,
    facility: &Facility,
    advances: &[Advance],
    payments: &[Payment],
    today: Date,
) -> Result<Markup, WebError> {
    let start = facility.opened_on.max(today - time::Duration::days(HISTORY_DAYS)).min(today);
    let end = today + time::Duration::days(PROJECTION_DAYS);
    let mut points = Vec::new();
    for date in sample_dates(start, end, today, CHART_STEPS) {
        let a = availability(client, &facility.id, Some(date)).await?;
        let drawn = (date <= today).then(|| drawn_on(facility, advances, payments, date));
        points.push(Point { date, base_minor: a.base.amount_minor, drawn_minor: drawn });
    }
    let id = format!("chart-{}", facility.id);
    let title = format!("Borrowing base and drawn principal, facility {}", facility.id);
    Ok(Chart {
        id: &id,
        title: &title,
        currency: &facility.terms.currency,
        limit_minor: facility.terms.limit.amount_minor,
        today,
        points: &points,
    }
    .render())
}

/// Principal drawn on a facility and not yet repaid, at the end of `date`.
pub fn drawn_on(facility: &Facility, advances: &[Advance], payments: &[Payment], date: Date) -> i64 {
    let funded: i64 = advances
        .iter()
        .filter(|a| a.facility == facility.id && a.status.as_str() == "funded")
        .filter(|a| a.funded_on.is_some_and(|d| d <= date))
        .map(|a| a.amount.amount_minor)
        .sum();
    let repaid: i64 = payments
        .iter()
        .filter(|p| p.facility == facility.id && p.value_date <= date)
        .map(|p| crate::model::paid(p, crate::model::DebtPart::Principal))
        .sum();
    (funded - repaid).max(0)
}

/// Sums by key, in key order.
pub fn sum_by<K: Ord, T>(items: &[T], key: impl Fn(&T) -> K, value: impl Fn(&T) -> i64) -> BTreeMap<K, i64> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(key(item)).or_insert(0) += value(item);
    }
    out
}
