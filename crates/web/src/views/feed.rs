//! The live activity feed: the caller's latest events, newest first.
//! The page renders it here from `GET /v1/events` (so it shows exactly the
//! events the API lets the caller see); the browser then follows
//! `GET /v1/events/stream` from the cursor the panel carries and, on each
//! new event, fetches this panel again (`/app/feed`) — one formatting, on
//! the server.

use maud::{html, Markup};
use offtake_wire::{Event, EventPage};

use super::note;
use crate::client::{Client, WebError};

/// Events the feed shows.
pub const SHOWN: usize = 12;
/// How many record versions back the feed looks for them: each version
/// yields a few events at most, so this finds the latest dozen on any
/// busy ledger without reading its history.
const LOOK_BACK_VERSIONS: i64 = 300;

/// The feed panel's inner HTML: the list and, in `data-after`, the cursor
/// the browser's stream resumes from.
pub async fn panel(client: &Client) -> Result<Markup, WebError> {
    let end: EventPage = client.get("/v1/events?after=now&limit=1").await?;
    let head = end.next_cursor.split('.').next().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let from = (head - LOOK_BACK_VERSIONS).max(0);
    let recent: EventPage = client.get(&format!("/v1/events?after={from}&limit=1000")).await?;
    let latest: Vec<&Event> = recent.items.iter().rev().take(SHOWN).collect();
    Ok(html! {
        div class="feed" data-feed-after=(recent.next_cursor) {
            p class="feed-status" role="status" aria-live="polite" { "Live: new events appear here as they happen." }
            @if latest.is_empty() { (note("No recent activity.")) }
            @else { ol class="feed-items" { @for e in latest { (item(e)) } } }
        }
    })
}

fn item(e: &Event) -> Markup {
    let at = e.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let hm = format!("{:02}:{:02}", e.occurred_at.hour(), e.occurred_at.minute());
    html! {
        li data-event-id=(e.id) {
            time datetime=(at) { (e.occurred_at.date()) " " (hm) } " " code { (e.payload.type_name()) } " "
            (e.payload.subject())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offtake_wire::{EventPayload, InvoiceOverdue};
    use time::macros::{date, datetime};

    #[test]
    fn an_item_says_when_what_and_about_what_escaped() {
        let e = Event {
            id: "evt_main_7_0".into(),
            ledger: "main".into(),
            seq: 7,
            occurred_at: datetime!(2026-06-03 08:05 UTC),
            parties: vec!["b".into()],
            payload: EventPayload::InvoiceDefaulted(InvoiceOverdue {
                facility: "f1".into(),
                invoice: "<po>--t2".into(),
                brand: "b".into(),
                on: date!(2026 - 06 - 03),
            }),
        };
        assert_eq!(
            item(&e).into_string(),
            r#"<li data-event-id="evt_main_7_0"><time datetime="2026-06-03T08:05:00Z">2026-06-03 08:05</time> <code>invoice.defaulted</code> &lt;po&gt;--t2 on 2026-06-03</li>"#
        );
    }
}
