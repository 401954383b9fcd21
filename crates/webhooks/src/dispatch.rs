//! The dispatcher: one task per endpoint, each delivering that endpoint's
//! events in ledger order, one at a time, until each is delivered or given
//! up. An endpoint's state is saved after an event is handed over, so a
//! crash at any point re-sends at most the event in flight (at least once,
//! never lost).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use offtake_events::{read, Filter, Position};
use offtake_ledger::date::now_us;
use offtake_ledger::{LedgerError, LedgerId, Store};
use offtake_wire as wire;
use tokio::task::JoinSet;

use crate::endpoint::{self, DeliveryState, EndpointRecord, Failed};
use crate::error::WebhookError;
use crate::policy::{unit_random, RetryPolicy};

/// Attempts kept per endpoint for `GET …/attempts`.
const ATTEMPTS_KEPT: usize = 200;
/// How often the dispatcher looks for new endpoints.
const SCAN_MS: u64 = 1_000;
/// Versions an idle endpoint may scan past before its cursor is saved.
const SAVE_IDLE_CURSOR_AFTER: i64 = 1_000;

/// Recent attempts per endpoint, in memory (shared with the API).
#[derive(Debug, Default)]
pub struct AttemptLog(Mutex<HashMap<String, VecDeque<wire::WebhookAttempt>>>);

impl AttemptLog {
    fn push(&self, endpoint: &str, a: wire::WebhookAttempt) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.entry(endpoint.to_owned()).or_default();
        if q.len() == ATTEMPTS_KEPT {
            q.pop_front();
        }
        q.push_back(a);
    }

    /// An endpoint's recent attempts, oldest first.
    pub fn of(&self, endpoint: &str) -> Vec<wire::WebhookAttempt> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(endpoint).map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    ledger: LedgerId,
    policy: RetryPolicy,
    client: reqwest::Client,
    log: Arc<AttemptLog>,
}

/// Stops the dispatcher and every endpoint task when dropped.
pub struct DispatcherHandle(tokio::task::JoinHandle<()>);

impl Drop for DispatcherHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum Outcome {
    Delivered,
    GaveUp(Failed),
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, ledger: LedgerId, policy: RetryPolicy, log: Arc<AttemptLog>) -> Self {
        // Names resolve through a filter that drops what `reach` excludes;
        // IP literals skip resolution and are checked before each post.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(policy.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(crate::network::FilteringResolver(policy.reach)))
            .build()
            .unwrap_or_default();
        Dispatcher { store, ledger, policy, client, log }
    }

    /// Runs in the background until the handle is dropped.
    pub fn spawn(self) -> DispatcherHandle {
        DispatcherHandle(tokio::spawn(Arc::new(self).supervise()))
    }

    /// Starts a task for each endpoint as it appears.
    async fn supervise(self: Arc<Self>) {
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut running: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
        loop {
            match endpoint::all(self.store.as_ref(), &self.ledger).await {
                Ok(endpoints) => {
                    for e in endpoints {
                        if running.get(&e.id).is_none_or(|h| h.is_finished()) {
                            let me = self.clone();
                            let id = e.id.clone();
                            running.insert(e.id.clone(), tasks.spawn(async move { me.serve_endpoint(id).await }));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "webhooks: listing endpoints failed"),
            }
            while tasks.try_join_next().is_some() {}
            tokio::time::sleep(Duration::from_millis(SCAN_MS)).await;
        }
    }

    async fn serve_endpoint(self: Arc<Self>, id: String) {
        loop {
            match self.step(&id).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(Duration::from_millis(self.policy.poll_ms)).await,
                Err(e) => {
                    tracing::warn!(endpoint = %id, error = %e, "webhooks: delivery step failed; retrying");
                    tokio::time::sleep(Duration::from_millis(self.policy.poll_ms.max(1_000))).await;
                }
            }
        }
    }

    /// Hands over one event (a replay first, else the next new one);
    /// `false` when there was nothing to send.
    async fn step(&self, id: &str) -> Result<bool, WebhookError> {
        let store = self.store.as_ref();
        let Some(ep) = endpoint::load(store, &self.ledger, id).await? else { return Ok(false) };
        let (mut state, version) = endpoint::load_state(store, &self.ledger, id).await?;
        if let Some(event_id) = state.replay.first().cloned() {
            let outcome = match self.event_by_id(&event_id).await? {
                Some(e) => self.deliver(&ep, &e).await,
                None => Outcome::Delivered,
            };
            state.replay.remove(0);
            if let Outcome::GaveUp(f) = outcome {
                state.failed.push(f);
            }
            self.save(id, version, &state).await?;
            return Ok(true);
        }
        let from = Position::parse(&self.ledger, &state.cursor)?;
        let wants = |parties: &[String]| ep.sees_all || parties.contains(&ep.party);
        let types = (!ep.types.is_empty()).then(|| ep.types.clone());
        let filter = Filter { types: types.as_deref(), visible: &wants };
        let r = read(store, &self.ledger, from, &filter, 1).await?;
        let Some(event) = r.events.first() else {
            if r.next.seq - from.seq >= SAVE_IDLE_CURSOR_AFTER {
                state.cursor = r.next.encode();
                self.save(id, version, &state).await?;
            }
            return Ok(false);
        };
        if let Outcome::GaveUp(f) = self.deliver(&ep, event).await {
            state.failed.push(f);
        }
        state.cursor = r.next.encode();
        self.save(id, version, &state).await?;
        Ok(true)
    }

    async fn save(&self, id: &str, version: i64, state: &DeliveryState) -> Result<(), WebhookError> {
        match endpoint::save_state(self.store.as_ref(), &self.ledger, id, version, state).await {
            // A replay request queued more meanwhile: the next step re-reads.
            Ok(_) | Err(WebhookError::Ledger(LedgerError::VersionConflict { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The event with this id (re-derived from its record version).
    async fn event_by_id(&self, event_id: &str) -> Result<Option<wire::Event>, WebhookError> {
        let at = Position::parse(&self.ledger, event_id)?;
        let from = match at.after_n {
            Some(0) | None => Position { seq: at.seq - 1, after_n: None },
            Some(n) => Position { seq: at.seq, after_n: Some(n - 1) },
        };
        let everything = |_: &[String]| true;
        let filter = Filter { types: None, visible: &everything };
        let r = read(self.store.as_ref(), &self.ledger, from, &filter, 1).await?;
        Ok(r.events.into_iter().next().filter(|e| e.id == event_id))
    }

    /// Posts one event until it is accepted (2xx) or the retry window has
    /// passed since the first attempt.
    async fn deliver(&self, ep: &EndpointRecord, event: &wire::Event) -> Outcome {
        let body = serde_json::to_vec(event).unwrap_or_default();
        let first = Instant::now();
        let first_us = now_us();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = self.post(ep, &event.id, &body).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (status, error) = match &result {
                Ok(s) if (200..300).contains(s) => (Some(*s), None),
                Ok(s) => (Some(*s), Some(format!("HTTP {s}"))),
                Err(e) => (None, Some(e.clone())),
            };
            let at = wire::instant_of_us(now_us());
            let record = wire::WebhookAttempt {
                event_id: event.id.clone(),
                attempt,
                status,
                error: error.clone(),
                latency_ms,
                at,
            };
            self.log.push(&ep.id, record);
            let Some(error) = error else { return Outcome::Delivered };
            if first.elapsed() >= Duration::from_millis(self.policy.window_ms) {
                return Outcome::GaveUp(Failed {
                    event_id: event.id.clone(),
                    attempts: attempt,
                    last_error: error,
                    first_attempt_at_us: first_us,
                    last_attempt_at_us: now_us(),
                });
            }
            tokio::time::sleep(self.policy.delay(attempt, unit_random())).await;
        }
    }

    async fn post(&self, ep: &EndpointRecord, msg_id: &str, body: &[u8]) -> Result<u16, String> {
        let ts = offtake_ledger::date::now().unix_timestamp();
        let url = reqwest::Url::parse(&ep.url).map_err(|_| "invalid url".to_owned())?;
        self.policy.reach.check_host(&url).map_err(|_| "address not allowed".to_owned())?;
        let headers = crate::sign::headers(&ep.secret, msg_id, ts, body).map_err(|e| e.to_string())?;
        let mut req = self.client.post(&ep.url).header("content-type", "application/json").body(body.to_vec());
        for (name, value) in headers {
            req = req.header(name, value);
        }
        match req.send().await {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// What an endpoint's owner is told about a failed attempt: the kind of
/// failure and its root cause (`connect: invalid peer certificate:
/// UnknownIssuer`), so a TLS or DNS problem on their side can be fixed.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timeout".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text: String = cause.to_string().chars().take(200).collect();
    if e.is_connect() {
        format!("connect: {text}")
    } else {
        format!("request failed: {text}")
    }
}
