//! offtake broker sink: publishes every event of a ledger to NATS
//! JetStream, so other services can subscribe instead of polling.
//!
//! Subject `offtake.{ledger}.events.{type}` (e.g.
//! `offtake.main.events.advance.funded`), in stream `OFFTAKE_{LEDGER}`;
//! the body is the `Event` object, header `Nats-Msg-Id` its id, so
//! JetStream drops a re-publish within its duplicate window and consumers
//! deduplicate on it after that. Events are published in ledger order and
//! each publish waits for the stream's acknowledgement; how far the sink
//! got is a record saved after each batch, so a crash re-publishes at most
//! one batch (at least once, never lost).

#![forbid(unsafe_code)]

use std::time::Duration;

use async_nats::jetstream;
use offtake_events::{read, Filter, Position};
use offtake_ledger::{LedgerError, LedgerId, Store};
use serde::{Deserialize, Serialize};

/// Record kind of the sink's cursor (id: `nats`).
pub const CURSOR_KIND: &str = "broker_cursor";
const CURSOR_ID: &str = "nats";
/// Events per batch (one cursor save each).
const BATCH: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Events(#[from] offtake_events::EventError),
    #[error("NATS: {0}")]
    Nats(String),
}

impl BrokerError {
    pub fn code(&self) -> &'static str {
        match self {
            BrokerError::Ledger(e) => e.code(),
            BrokerError::Events(e) => e.code(),
            BrokerError::Nats(_) => "broker_unavailable",
        }
    }
}

fn nats(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Nats(e.to_string())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    cursor: String,
}

/// The stream that holds a ledger's events.
pub fn stream_name(ledger: &LedgerId) -> String {
    let tail: String =
        ledger.as_str().chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("OFFTAKE_{tail}")
}

/// The subject prefix of a ledger's events (`offtake.{ledger}.events`).
pub fn subject_prefix(ledger: &LedgerId) -> String {
    format!("offtake.{}.events", ledger.as_str())
}

pub struct NatsSink {
    store: std::sync::Arc<dyn Store>,
    ledger: LedgerId,
    js: jetstream::Context,
}

impl NatsSink {
    /// Connects and makes sure the ledger's stream exists.
    pub async fn connect(url: &str, store: std::sync::Arc<dyn Store>, ledger: LedgerId) -> Result<Self, BrokerError> {
        let client = async_nats::connect(url).await.map_err(nats)?;
        let js = jetstream::new(client);
        let config = jetstream::stream::Config {
            name: stream_name(&ledger),
            subjects: vec![format!("{}.>", subject_prefix(&ledger))],
            ..Default::default()
        };
        js.get_or_create_stream(config).await.map_err(nats)?;
        Ok(NatsSink { store, ledger, js })
    }

    /// Publishes everything after the saved cursor; returns how many.
    pub async fn publish_pending(&self) -> Result<usize, BrokerError> {
        let store = self.store.as_ref();
        let mut published = 0;
        loop {
            let saved = store.get_record(&self.ledger, CURSOR_KIND, CURSOR_ID).await?;
            let version = saved.as_ref().map_or(0, |r| r.version);
            let cursor: Cursor = saved.map(|r| r.decode()).transpose()?.unwrap_or_default();
            let from =
                if cursor.cursor.is_empty() { Position::START } else { Position::parse(&self.ledger, &cursor.cursor)? };
            let everything = |_: &[String]| true;
            let filter = Filter { types: None, visible: &everything };
            let r = read(store, &self.ledger, from, &filter, BATCH).await?;
            for e in &r.events {
                self.publish(e).await?;
            }
            published += r.events.len();
            // Saving the cursor writes a record version (no event) itself:
            // save only after publishing, or the sink would feed itself.
            if r.events.is_empty() {
                return Ok(published);
            }
            let body = serde_json::to_value(Cursor { cursor: r.next.encode() })
                .map_err(|e| LedgerError::Storage(e.to_string()))?;
            store.put_record(&self.ledger, CURSOR_KIND, CURSOR_ID, version, &body).await?;
        }
    }

    async fn publish(&self, e: &offtake_wire::Event) -> Result<(), BrokerError> {
        let subject = format!("{}.{}", subject_prefix(&self.ledger), e.payload.type_name());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", e.id.as_str());
        let body = serde_json::to_vec(e).map_err(|e| LedgerError::Storage(e.to_string()))?;
        let ack = self.js.publish_with_headers(subject, headers, body.into()).await.map_err(nats)?;
        ack.await.map_err(nats)?;
        Ok(())
    }

    /// Publishes new events as they commit, until the task is dropped.
    pub async fn run(self, poll: Duration) {
        loop {
            match self.publish_pending().await {
                Ok(0) => tokio::time::sleep(poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "NATS sink: publishing failed; retrying");
                    tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
                }
            }
        }
    }
}
