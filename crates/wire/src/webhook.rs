//! Webhook endpoints and their deliveries.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// An event that could not be delivered within the retry window; replay
/// it with `POST /v1/webhook-endpoints/{id}/replay`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedDelivery {
    #[schema(example = "evt_main_42_0")]
    pub event_id: String,
    pub attempts: u32,
    /// The last attempt's outcome (`HTTP 500`, `timeout`, …).
    pub last_error: String,
    #[serde(with = "time::serde::rfc3339")]
    pub first_attempt_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_attempt_at: OffsetDateTime,
}

/// Where a party's events are posted, signed (Standard Webhooks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = "whk_5f0c2a9e1b7d4c3a8e6f1d20")]
    pub id: String,
    /// The party whose events it receives.
    pub party: String,
    #[schema(example = "https://erp.example.com/offtake/events")]
    pub url: String,
    /// Event types it receives (empty: all).
    pub types: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last event handed over (delivered or given up): a cursor.
    pub delivered_through: String,
    /// Events given up on after the retry window.
    pub failed: Vec<FailedDelivery>,
    /// Event ids queued for another delivery (replay).
    pub replaying: Vec<String>,
}

/// A new endpoint, with its signing secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…` (base64): verify deliveries with it. Shown only now.
    pub secret: String,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttempt {
    pub event_id: String,
    /// 1 for the first attempt of this event, 2 for its first retry, …
    pub attempt: u32,
    /// The endpoint's HTTP status, absent when there was no answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// Why it failed (absent on success).
    #[serde(default)]
    pub error: Option<String>,
    pub latency_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A list of webhook endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpointList {
    pub items: Vec<WebhookEndpoint>,
}

/// An endpoint's recent delivery attempts, newest last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttemptList {
    pub items: Vec<WebhookAttempt>,
}
