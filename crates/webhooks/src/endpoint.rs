//! Endpoint registrations and their delivery state, as records.
//!
//! An endpoint is a record of kind `webhook_endpoint`; its delivery state
//! (how far it has been delivered, what failed, what is queued for replay)
//! a record of kind `webhook_state`, written when an event is handed over
//! (delivered or given up) — not on every attempt.

use offtake_events::{parse_types, Position};
use offtake_ledger::date::now_us;
use offtake_ledger::{LedgerError, LedgerId, Store};
use offtake_wire as wire;
use serde::{Deserialize, Serialize};

use crate::error::WebhookError;
use crate::network::Reach;

pub const ENDPOINT_KIND: &str = "webhook_endpoint";
pub const STATE_KIND: &str = "webhook_state";
/// Longest endpoint URL.
const MAX_URL_CHARS: usize = 2_000;

/// An endpoint as stored (with its secret: the dispatcher signs with it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub id: String,
    pub party: String,
    /// Whether the owner sees every event (an admin's or auditor's key).
    pub sees_all: bool,
    pub url: String,
    pub types: Vec<String>,
    pub secret: String,
    pub created_at_us: i64,
}

/// How far an endpoint has been served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// Cursor of the last event handed over.
    pub cursor: String,
    pub failed: Vec<Failed>,
    pub replay: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub event_id: String,
    pub attempts: u32,
    pub last_error: String,
    pub first_attempt_at_us: i64,
    pub last_attempt_at_us: i64,
}

impl EndpointRecord {
    /// Whether this endpoint receives an event with these parties and type.
    pub fn wants(&self, parties: &[String], type_name: &str) -> bool {
        (self.sees_all || parties.contains(&self.party))
            && (self.types.is_empty() || self.types.iter().any(|t| t == type_name))
    }
}

fn random_id() -> Result<String, WebhookError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| LedgerError::Storage(format!("random: {e}")))?;
    Ok(format!("whk_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
}

fn check_url(url: &str, reach: Reach) -> Result<(), WebhookError> {
    let parsed = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    match parsed {
        Some(u) if url.len() <= MAX_URL_CHARS => reach.check_host(&u),
        _ => Err(WebhookError::Invalid { field: "url", reason: "an absolute http:// or https:// URL".into() }),
    }
}

/// Registers an endpoint for an address `reach` allows; answers it with
/// its secret (shown once). New
/// endpoints start after the ledger's current last event: they receive
/// what happens from now on (`replay` is for what failed).
pub async fn register(
    store: &dyn Store,
    ledger: &LedgerId,
    (party, sees_all): (&str, bool),
    url: &str,
    types: &[String],
    reach: Reach,
) -> Result<wire::NewWebhookEndpoint, WebhookError> {
    check_url(url, reach)?;
    let types = parse_types(&types.join(","))?;
    let record = EndpointRecord {
        id: random_id()?,
        party: party.to_owned(),
        sees_all,
        url: url.to_owned(),
        types,
        secret: crate::sign::new_secret()?,
        created_at_us: now_us(),
    };
    let head = store.record_head(ledger).await?;
    let state = DeliveryState { cursor: Position { seq: head.seq, after_n: None }.encode(), ..Default::default() };
    store.put_record(ledger, STATE_KIND, &record.id, 0, &to_json(&state)?).await?;
    store.put_record(ledger, ENDPOINT_KIND, &record.id, 0, &to_json(&record)?).await?;
    let secret = record.secret.clone();
    Ok(wire::NewWebhookEndpoint { endpoint: wire_of(&record, &state), secret })
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, WebhookError> {
    serde_json::to_value(v).map_err(|e| LedgerError::Storage(format!("webhook record: {e}")).into())
}

/// The endpoint record, if any.
pub async fn load(store: &dyn Store, ledger: &LedgerId, id: &str) -> Result<Option<EndpointRecord>, WebhookError> {
    if offtake_ledger::record::check_record_key("id", id).is_err() {
        return Ok(None);
    }
    Ok(store.get_record(ledger, ENDPOINT_KIND, id).await?.map(|r| r.decode()).transpose()?)
}

/// An endpoint whose owner `visible` allows; any other, like a missing
/// one, is not found (so a caller cannot probe another party's ids).
async fn load_visible(
    store: &dyn Store,
    ledger: &LedgerId,
    id: &str,
    visible: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<EndpointRecord, WebhookError> {
    load(store, ledger, id).await?.filter(|r| visible(&r.party)).ok_or_else(|| WebhookError::NotFound(id.into()))
}

/// An endpoint's delivery state and its version.
pub async fn load_state(store: &dyn Store, ledger: &LedgerId, id: &str) -> Result<(DeliveryState, i64), WebhookError> {
    match store.get_record(ledger, STATE_KIND, id).await? {
        Some(r) => Ok((r.decode()?, r.version)),
        None => Ok((DeliveryState { cursor: "0".into(), ..Default::default() }, 0)),
    }
}

/// Saves a delivery state read at `version`.
pub async fn save_state(
    store: &dyn Store,
    ledger: &LedgerId,
    id: &str,
    version: i64,
    state: &DeliveryState,
) -> Result<i64, WebhookError> {
    Ok(store.put_record(ledger, STATE_KIND, id, version, &to_json(state)?).await?.version)
}

/// Every endpoint record. Reads the whole kind on purpose: endpoints are
/// configuration (a few per party), not records that grow with the
/// program's business (issue 21).
pub async fn all(store: &dyn Store, ledger: &LedgerId) -> Result<Vec<EndpointRecord>, WebhookError> {
    let records = store.all_records(ledger, ENDPOINT_KIND).await?;
    Ok(records.iter().map(|r| r.decode()).collect::<Result<_, _>>()?)
}

fn instant(us: i64) -> time::OffsetDateTime {
    wire::instant_of_us(us)
}

fn wire_of(r: &EndpointRecord, s: &DeliveryState) -> wire::WebhookEndpoint {
    wire::WebhookEndpoint {
        id: r.id.clone(),
        party: r.party.clone(),
        url: r.url.clone(),
        types: r.types.clone(),
        created_at: instant(r.created_at_us),
        delivered_through: s.cursor.clone(),
        failed: s
            .failed
            .iter()
            .map(|f| wire::FailedDelivery {
                event_id: f.event_id.clone(),
                attempts: f.attempts,
                last_error: f.last_error.clone(),
                first_attempt_at: instant(f.first_attempt_at_us),
                last_attempt_at: instant(f.last_attempt_at_us),
            })
            .collect(),
        replaying: s.replay.clone(),
    }
}

/// The endpoints `visible` allows (by owner party), by id.
pub async fn list(
    store: &dyn Store,
    ledger: &LedgerId,
    visible: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<Vec<wire::WebhookEndpoint>, WebhookError> {
    let mut out = Vec::new();
    for r in all(store, ledger).await?.into_iter().filter(|r| visible(&r.party)) {
        let (s, _) = load_state(store, ledger, &r.id).await?;
        out.push(wire_of(&r, &s));
    }
    Ok(out)
}

/// One endpoint, if `visible` allows its owner (otherwise: not found).
pub async fn get(
    store: &dyn Store,
    ledger: &LedgerId,
    id: &str,
    visible: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<wire::WebhookEndpoint, WebhookError> {
    let r = load_visible(store, ledger, id, visible).await?;
    let (s, _) = load_state(store, ledger, &r.id).await?;
    Ok(wire_of(&r, &s))
}

/// Queues every failed event of an endpoint for another delivery (in
/// ledger order, before new events).
pub async fn replay(
    store: &dyn Store,
    ledger: &LedgerId,
    id: &str,
    visible: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<wire::WebhookEndpoint, WebhookError> {
    let r = load_visible(store, ledger, id, visible).await?;
    loop {
        let (mut s, version) = load_state(store, ledger, id).await?;
        let failed: Vec<String> = s.failed.drain(..).map(|f| f.event_id).collect();
        s.replay.extend(failed);
        match save_state(store, ledger, id, version, &s).await {
            Ok(_) => return Ok(wire_of(&r, &s)),
            Err(WebhookError::Ledger(LedgerError::VersionConflict { .. })) => continue,
            Err(e) => return Err(e),
        }
    }
}
