//! `/v1/events`: what changed, in ledger order — a page to poll and a
//! Server-Sent Events stream. A party sees only the events of its own
//! objects; another party's event does not exist for it (it is skipped, as
//! in every list). Derivation and reading live in `offtake-events`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use offtake_events::{parse_types, read, EventError, Filter, Position};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use offtake_wire as wire;

/// How often an idle stream looks for new events. Polling the store (not
/// an in-process signal) also sees changes other processes commit.
const STREAM_POLL_MS: u64 = 500;
/// Events a stream reads per store round trip.
const STREAM_BATCH: usize = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events)).routes(routes!(stream_events))
}

/// Where to start and which events (`GET /v1/events`).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Opaque: a `next_cursor`, or an event id to resume after; `now` for
    /// the ledger's current end (only what happens from now on); absent
    /// for the ledger's first event.
    #[param(pattern = "^[!#-\\[\\]-~]{0,200}$")]
    pub after: Option<String>,
    /// Comma-separated event types (e.g. `advance.funded,invoice.paid`);
    /// absent for all.
    #[param(pattern = "^[a-z._,]{0,1000}$")]
    pub types: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Where to start and which events (`GET /v1/events/stream`).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Opaque: a `next_cursor`, or an event id to resume after; `now` for
    /// the ledger's current end. The `Last-Event-ID` header, when sent,
    /// wins.
    #[param(pattern = "^[!#-\\[\\]-~]{0,200}$")]
    pub after: Option<String>,
    /// Comma-separated event types; absent for all.
    #[param(pattern = "^[a-z._,]{0,1000}$")]
    pub types: Option<String>,
}

fn query_error(e: EventError) -> ApiError {
    match e {
        EventError::Ledger(inner) => ApiError::Ledger(inner),
        other => ApiError::InvalidQuery(other.to_string()),
    }
}

/// `after=now`: the ledger's current end.
const NOW: &str = "now";

async fn position(state: &AppState, after: Option<&str>) -> Result<Position, ApiError> {
    match after {
        None | Some("") => Ok(Position::START),
        Some(NOW) => {
            let head = state.store().record_head(state.ledger()).await.map_err(ApiError::Ledger)?;
            Ok(Position { seq: head.seq, after_n: None })
        }
        Some(text) => Position::parse(state.ledger(), text).map_err(query_error),
    }
}

fn types(text: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    text.map(|t| parse_types(t).map_err(query_error)).transpose()
}

fn visible_to(principal: &Principal) -> impl Fn(&[String]) -> bool + Send + Sync + '_ {
    move |parties: &[String]| principal.can_see(parties.iter().map(String::as_str))
}

/// The events the caller may see after a cursor, oldest first. Poll with
/// `next_cursor` (always present) to get only what happened since.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery),
    responses((status = 200, body = wire::EventPage)))]
async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<wire::EventPage>, ApiError> {
    let limit = crate::routes::PageQuery { cursor: None, limit: q.limit }.limit()?;
    let from = position(&state, q.after.as_deref()).await?;
    let types = types(q.types.as_deref())?;
    let visible = visible_to(&principal);
    let filter = Filter { types: types.as_deref(), visible: &visible };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let r = read(state.store(), state.ledger(), from, &filter, limit).await.map_err(query_error)?;
    Ok(Json(wire::EventPage { items: r.events, next_cursor: r.next.encode() }))
}

/// A live stream of the events the caller may see (`text/event-stream`):
/// each message's `id` is the event id, its `event` the type, its `data`
/// the event object. Reconnecting with `Last-Event-ID` resumes after that
/// event; nothing is lost or reordered.
#[utoipa::path(get, path = "/events/stream", tag = "events", params(StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses((status = 200, content_type = "text/event-stream",
        description = "Server-Sent Events; each `data` is an `Event` object", body = String)))]
async fn stream_events(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let from = position(&state, last_id.as_deref().or(q.after.as_deref())).await?;
    let types = types(q.types.as_deref())?;
    let events = stream::unfold((state, principal, types, from), |(state, principal, types, at)| async move {
        let mut at = at;
        loop {
            let found = {
                let visible = visible_to(&principal);
                let filter = Filter { types: types.as_deref(), visible: &visible };
                read(state.store(), state.ledger(), at, &filter, STREAM_BATCH).await
            };
            match found {
                Ok(r) if !r.events.is_empty() => {
                    let out: Vec<Result<SseEvent, Infallible>> = r.events.iter().map(|e| Ok(sse_event(e))).collect();
                    let next = r.next;
                    return Some((stream::iter(out), (state, principal, types, next)));
                }
                Ok(r) => at = r.next,
                Err(e) => tracing::warn!(error = %e, "event stream read failed; retrying"),
            }
            tokio::time::sleep(Duration::from_millis(STREAM_POLL_MS)).await;
        }
    });
    use futures_util::StreamExt;
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::default()))
}

fn sse_event(e: &wire::Event) -> SseEvent {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned());
    SseEvent::default().id(e.id.clone()).event(e.payload.type_name()).data(data)
}
