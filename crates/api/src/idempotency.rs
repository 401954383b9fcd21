//! The `Idempotency-Key` contract (IETF httpapi idempotency-key draft) of
//! every POST under `/v1`:
//!
//! * the header is required (`400 idempotency_key_missing`); its value is a
//!   structured-field string (`"k"`) or a bare token, 1-64 printable ASCII;
//! * keys are scoped to the calling party; the request fingerprint is the
//!   SHA-256 of method, path and query, and body bytes;
//! * the first **successful** (2xx) response is stored as a record (kind
//!   `idempotency`) and replayed, status and body, for the same key and
//!   fingerprint, with `Idempotent-Replayed: true`;
//! * the same key with another fingerprint is `409 idempotency_conflict`;
//! * while the first request with a key is running, a second one is
//!   `409 idempotency_in_flight` (retry later);
//! * an error response is not stored: the request wrote nothing, so a
//!   retry runs it again.
//!
//! Where the record is written: a request that appends one ledger entry
//! (`/v1/transfers`, `/v1/entries` and the post/void/reverse actions)
//! hands it to the group committer with the entry
//! ([`IdempotencyKey::record_with_entry`]), so both commit in one database
//! transaction or neither does, and the response is built from the entry
//! the commit returns. Every other POST is stored here, after its handler,
//! in a transaction of its own.
//!
//! Those entry routes also skip the look-up before the handler runs: the
//! commit enforces the key (see `commits_its_record`), and the look-up is
//! made only when the handler's answer is not a freshly appended entry.
//!
//! The in-flight guard is per process; across processes the ledger's own
//! idempotency (the same key reaches it, scoped by party, see
//! [`IdempotencyKey::ledger_key`]) and the records' optimistic versions keep
//! a duplicate from writing twice.

use axum::body::{to_bytes, Body, Bytes};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use offtake_ledger::commit::Attachment;
use offtake_ledger::{EntryRecord, LedgerError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use offtake_ledger::date::now_us;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Longest accepted key.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 64;
const RECORD_KIND: &str = "idempotency";
/// Largest response stored for replay; larger ones are not replayable
/// (no creating endpoint answers anything near this).
const MAX_STORED_RESPONSE_BYTES: usize = 1024 * 1024;

/// The validated key of the current request, for handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub party_id: String,
    pub key: String,
    /// SHA-256 of method, path and query, and body (hex).
    pub fingerprint: String,
}

/// Put on a response by a handler that already stored its idempotency
/// record in the transaction of its entry: the middleware stores nothing.
#[derive(Clone, Copy, Debug)]
pub struct StoredWithEntry;

/// Put on a response by a handler whose commit appended no entry because
/// the ledger already held one under the request's key (an idempotent
/// replay): the middleware answers the stored response, if there is one.
#[derive(Clone, Copy, Debug)]
pub struct ReplayedByLedger;

/// Routes that append exactly one ledger entry with their idempotency
/// record attached ([`IdempotencyKey::record_with_entry`]). For them the
/// key's uniqueness is enforced by the commit itself — a used key either
/// replays at the ledger (same ledger key, no entry appended) or makes the
/// attached record's `expected_version: 0` fail (the key was used on
/// another route), and a refused request wrote nothing — so the stored
/// response is looked up only after a response that is not a fresh 2xx,
/// saving one database round trip per request.
fn commits_its_record(parts: &Parts) -> bool {
    const PATHS: [&str; 5] = [
        "/v1/transfers",
        "/v1/entries",
        "/v1/entries/{seq}/post",
        "/v1/entries/{seq}/void",
        "/v1/entries/{seq}/reverse",
    ];
    parts.extensions.get::<MatchedPath>().is_some_and(|m| PATHS.contains(&m.as_str()))
}

/// The first response to a request that appends an entry, derived from that
/// entry: its status, `Location` and JSON body text.
pub struct EntryResponse {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

impl IdempotencyKey {
    /// The key handed to the ledger for entries this request appends:
    /// scoped by party so two parties' keys never collide.
    pub fn ledger_key(&self) -> String {
        format!("api:{}:{}", self.party_id, self.key)
    }

    /// This request's idempotency record, to commit with the entry it
    /// appends: `respond` derives the response from the entry (the same
    /// function answers the request, so the stored and the first response
    /// are the same bytes).
    pub fn record_with_entry(
        &self,
        respond: impl Fn(&EntryRecord) -> Result<EntryResponse, LedgerError> + Send + Sync + 'static,
    ) -> Attachment {
        let (party_id, key, fingerprint) = (self.party_id.clone(), self.key.clone(), self.fingerprint.clone());
        let body = move |entry: &EntryRecord| {
            let response = respond(entry)?;
            let stored = StoredResponse {
                party_id: party_id.clone(),
                key: key.clone(),
                fingerprint: fingerprint.clone(),
                status: response.status.as_u16(),
                body: response.body,
                location: Some(response.location),
                recorded_at_us: now_us(),
            };
            serde_json::to_value(&stored).map_err(|e| LedgerError::Storage(format!("idempotency record: {e}")))
        };
        Attachment {
            kind: RECORD_KIND.to_owned(),
            id: record_id(&self.party_id, &self.key),
            expected_version: 0,
            body: Arc::new(body),
        }
    }

    /// A derived key for the n-th of several entries one request appends.
    pub fn ledger_key_part(&self, part: &str) -> String {
        format!("api:{}:{}:{part}", self.party_id, self.key)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<IdempotencyKey>().cloned().ok_or(ApiError::IdempotencyKeyMissing)
    }
}

/// Put on a response by a handler whose body must not be stored as is
/// (an API key secret): replays answer this body instead.
#[derive(Clone, Debug)]
pub struct ReplayBody(pub serde_json::Value);

#[derive(Serialize, Deserialize)]
struct StoredResponse {
    party_id: String,
    key: String,
    fingerprint: String,
    status: u16,
    /// The response body exactly as first sent (JSON text).
    body: String,
    location: Option<String>,
    recorded_at_us: i64,
}

/// Whether the route this request matched has a POST operation (the
/// document lists every operation; this layer runs once the path matched,
/// whatever the method).
fn routes_a_post(req: &Request) -> bool {
    static POST_PATHS: OnceLock<HashSet<String>> = OnceLock::new();
    let Some(matched) = req.extensions().get::<MatchedPath>() else { return false };
    POST_PATHS
        .get_or_init(|| {
            let doc = crate::server::document();
            doc.paths.paths.iter().filter(|(_, item)| item.post.is_some()).map(|(path, _)| path.clone()).collect()
        })
        .contains(matched.as_str())
}

fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let text = value.to_str().map_err(|_| ApiError::IdempotencyKeyInvalid("not ASCII"))?.trim();
    let key = match text.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').ok_or(ApiError::IdempotencyKeyInvalid("unbalanced quotes"))?,
        None => text,
    };
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX_CHARS {
        return Err(ApiError::IdempotencyKeyInvalid("must be 1 to 64 characters"));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
        return Err(ApiError::IdempotencyKeyInvalid("printable ASCII without spaces, quotes or backslashes only"));
    }
    Ok(key.to_owned())
}

fn record_id(party_id: &str, key: &str) -> String {
    hex::encode(Sha256::digest(format!("{party_id}\n{key}").as_bytes()))
}

fn fingerprint(method: &Method, path_and_query: &str, body: &Bytes) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Middleware on `/v1` (inside authentication).
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !routes_a_post(&req) {
        // Not a POST, or a POST to a path without one: routing answers
        // (`405` with `Allow`, or `404`), not a demand for a key.
        return next.run(req).await;
    }
    match run(state, req, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, Response> {
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthenticated("missing API key").into_response())?;
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(v) => parse_key(v).map_err(IntoResponse::into_response)?,
        None => return Err(ApiError::IdempotencyKeyMissing.into_response()),
    };
    let (mut parts, body) = req.into_parts();
    let limit = state.config().body_limit_bytes;
    let bytes = to_bytes(body, limit).await.map_err(|e| body_error(e, limit).into_response())?;
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let fingerprint = fingerprint(&parts.method, &path, &bytes);
    let party_id = principal.party_id.as_str().to_owned();
    let id = record_id(&party_id, &key);

    // Claim first, then look the key up once: with the claim held nobody
    // else can be running this key, so a stored response is final. Without
    // it, someone is running or replaying the key: replay if it finished,
    // else it is in flight. A route whose commit enforces the key itself
    // (`commits_its_record`) skips the look-up and makes it only when the
    // commit did not append a new entry.
    let guard = state.claim(id.clone());
    let deferred = guard.is_some() && commits_its_record(&parts);
    if !deferred {
        if let Some(response) = replay(&state, &id, &fingerprint).await? {
            return Ok(response);
        }
    }
    let Some(_guard) = guard else {
        return Err(ApiError::IdempotencyInFlight.into_response());
    };

    parts.extensions.insert(IdempotencyKey {
        party_id: party_id.clone(),
        key: key.clone(),
        fingerprint: fingerprint.clone(),
    });
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if deferred && (!response.status().is_success() || response.extensions().get::<ReplayedByLedger>().is_some()) {
        // The key may have been used before: answer as the look-up would
        // have (the stored response, or a conflict for another request).
        if let Some(stored) = replay(&state, &id, &fingerprint).await? {
            return Ok(stored);
        }
    }
    if !response.status().is_success() || response.extensions().get::<StoredWithEntry>().is_some() {
        return Ok(response);
    }
    store_response(&state, &id, StoredKey { party_id, key, fingerprint }, response).await
}

/// Who used an idempotency key, and for which request.
struct StoredKey {
    party_id: String,
    key: String,
    fingerprint: String,
}

/// Keeps a successful response under its key so a retry replays it, and
/// answers it. Storing is best effort: the work is done and answered, and
/// a retry is still safe through the ledger's and the records' own guards.
async fn store_response(state: &AppState, id: &str, who: StoredKey, response: Response) -> Result<Response, Response> {
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_STORED_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(e) => return Err(ApiError::Internal(format!("buffering the response: {e}")).into_response()),
    };
    let stored_body = match parts.extensions.get::<ReplayBody>() {
        Some(ReplayBody(v)) => v.to_string(),
        None => String::from_utf8_lossy(&body).into_owned(),
    };
    let stored = StoredResponse {
        party_id: who.party_id,
        key: who.key,
        fingerprint: who.fingerprint,
        status: parts.status.as_u16(),
        body: stored_body,
        location: parts.headers.get(axum::http::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned),
        recorded_at_us: now_us(),
    };
    match serde_json::to_value(&stored) {
        Ok(value) => {
            if let Err(e) = state.store().put_record(state.ledger(), RECORD_KIND, id, 0, &value).await {
                tracing::warn!(error = %e, "could not store the idempotent response");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not encode the idempotent response"),
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The stored response for this key, if any; a conflict if the key was
/// used for another request.
async fn replay(state: &AppState, id: &str, fingerprint: &str) -> Result<Option<Response>, Response> {
    let stored = state
        .store()
        .get_record(state.ledger(), RECORD_KIND, id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let Some(stored) = stored else { return Ok(None) };
    let stored: StoredResponse = stored.decode().map_err(|e| ApiError::from(e).into_response())?;
    if stored.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyConflict.into_response());
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response =
        (status, [(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], stored.body)
            .into_response();
    response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    Ok(Some(response))
}

/// A body that could not be read: over the limit (413) or broken (400).
pub fn body_error(e: axum::Error, limit_bytes: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge(format!(" ({limit_bytes} bytes)"));
        }
        source = err.source();
    }
    ApiError::MalformedJson(format!("the request body could not be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_may_be_structured_field_strings() {
        assert_eq!(parse_key(&HeaderValue::from_static("\"abc-1\"")).unwrap(), "abc-1");
        assert_eq!(parse_key(&HeaderValue::from_static("abc-1")).unwrap(), "abc-1");
        for bad in ["", "\"\"", "\"abc", "a b", &"k".repeat(65)] {
            assert!(parse_key(&HeaderValue::from_str(bad).unwrap()).is_err(), "{bad:?}");
        }
    }
}
