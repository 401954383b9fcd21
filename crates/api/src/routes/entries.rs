//! `/v1/entries`: the ledger's entries, multi-leg writes and the two-phase
//! and correction actions on an entry (post, void, reverse). Admin writes;
//! admin and auditor read.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offtake_ledger::{AccountCode, Action, AmountMinor, Command, Currency, EntryRecord, LedgerError, NewLeg, Side};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, PageQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::idempotency::{EntryResponse, IdempotencyKey, ReplayedByLedger, StoredWithEntry};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_entry, list_entries))
        .routes(routes!(get_entry))
        .routes(routes!(post_pending))
        .routes(routes!(void_pending))
        .routes(routes!(reverse_entry))
}

/// The entry with sequence number `seq`, if it exists.
pub(crate) async fn load_entry(state: &AppState, seq: i64) -> Result<Option<EntryRecord>, ApiError> {
    match state.store().entry(state.ledger(), seq).await {
        Ok(entry) => Ok(Some(entry)),
        Err(LedgerError::UnknownEntry(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Answers `201` with the entry a command appended. The request's
/// idempotency record commits with the entry (one transaction, shared with
/// concurrent requests by the group committer) and the answer is built from
/// the entry the commit returns: nothing is read back. Only a command the
/// ledger itself replays (its key committed by another process since this
/// request looked for a stored response) reads its older entry.
pub(crate) async fn commit_and_show(
    state: &AppState,
    key: &IdempotencyKey,
    command: Command,
) -> Result<Response, ApiError> {
    let appended = state.commit_attached(command, key.record_with_entry(entry_response)).await?;
    match appended.entry {
        Some(entry) => {
            let first = entry_response(&entry)?;
            let mut response = (
                first.status,
                [(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"))],
                first.body,
            )
                .into_response();
            if let Ok(location) = axum::http::HeaderValue::from_str(&first.location) {
                response.headers_mut().insert(axum::http::header::LOCATION, location);
            }
            response.extensions_mut().insert(StoredWithEntry);
            Ok(response)
        }
        None => {
            let seq = appended.committed.seq;
            let entry = load_entry(state, seq)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("entry {seq} committed but not found")))?;
            let mut response = created(&format!("/v1/entries/{seq}"), wire::Entry::from(entry)).into_response();
            response.extensions_mut().insert(ReplayedByLedger);
            Ok(response)
        }
    }
}

/// The `201` an appended entry answers: its wire form at its location.
fn entry_response(entry: &EntryRecord) -> Result<EntryResponse, LedgerError> {
    let body = serde_json::to_string(&wire::Entry::from(entry.clone()))
        .map_err(|e| LedgerError::Storage(format!("encoding entry {}: {e}", entry.seq)))?;
    Ok(EntryResponse { status: StatusCode::CREATED, location: format!("/v1/entries/{}", entry.seq), body })
}

/// The descriptive fields every appended entry carries.
pub(crate) fn command(
    key: String,
    kind: Option<String>,
    effective_date: Option<String>,
    metadata: Option<serde_json::Value>,
    action: Action,
) -> Result<Command, ApiError> {
    let effective_date = offtake_ledger::date::date_or_today(effective_date.as_deref())?;
    Ok(Command {
        idempotency_key: key,
        kind: kind.unwrap_or_else(|| "transfer".to_owned()),
        effective_date,
        metadata: metadata.unwrap_or_else(|| serde_json::json!({})),
        source_hash: None,
        action,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegInput {
    #[schema(example = "cash:lender:l1", pattern = "^[a-z0-9_.:-]{1,128}$")]
    pub account: String,
    /// `debit` or `credit`.
    #[schema(pattern = "^(debit|credit)$")]
    pub side: String,
    /// Positive decimal string in the account's currency; more decimals than
    /// the currency has is `422 amount_scale`, never rounded.
    #[schema(example = "1200.50", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub amount: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntry {
    /// At least 2 legs; they must balance per currency.
    pub legs: Vec<LegInput>,
    /// Book the legs as two-phase holds (post or void them later).
    #[serde(default)]
    pub pending: bool,
    /// Free label for reports (default `transfer`).
    pub kind: Option<String>,
    /// `YYYY-MM-DD` (default: today, UTC).
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub effective_date: Option<String>,
    /// A JSON object; integers within ±2^53, otherwise strings.
    #[schema(schema_with = offtake_wire::ledger::metadata_schema)]
    pub metadata: Option<serde_json::Value>,
}

/// Resolves a leg's account to learn its currency, then parses the amount
/// in that currency.
async fn leg(state: &AppState, input: &LegInput) -> Result<NewLeg, ApiError> {
    let account = state.account(&AccountCode::new(&input.account)?).await?;
    let amount_minor = AmountMinor::parse(&input.amount, account.currency)?;
    if !amount_minor.is_positive() {
        return Err(LedgerError::NonPositiveAmount(amount_minor.get()).into());
    }
    Ok(NewLeg { account: account.code, side: Side::parse(&input.side)?, currency: account.currency, amount_minor })
}

/// Append a multi-leg entry (admin).
#[utoipa::path(post, path = "/entries", tag = "ledger", request_body = CreateEntry,
    responses((status = 201, description = "Created", body = wire::Entry)))]
async fn create_entry(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<CreateEntry>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    if body.legs.len() > offtake_ledger::entry::MAX_LEGS {
        return Err(LedgerError::LegCount { got: body.legs.len(), max: offtake_ledger::entry::MAX_LEGS }.into());
    }
    let mut legs = Vec::with_capacity(body.legs.len());
    for input in &body.legs {
        legs.push(leg(&state, input).await?);
    }
    let action = Action::Record { legs, pending: body.pending };
    let cmd = command(key.ledger_key(), body.kind, body.effective_date, body.metadata, action)?;
    commit_and_show(&state, &key, cmd).await
}

/// List the ledger's entries in sequence order (admin, auditor).
#[utoipa::path(get, path = "/entries", tag = "ledger", params(PageQuery),
    responses((status = 200, body = wire::EntryPage)))]
async fn list_entries(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<wire::EntryPage>, ApiError> {
    principal.require_ledger_reader()?;
    let after = offtake_ledger::store::parse_cursor(q.cursor()?)?;
    let limit = q.limit()?;
    let rows = state.store().entries(state.ledger(), after, limit.saturating_add(1)).await?;
    let page = offtake_ledger::Page::from_overfetch(rows, limit, |e| e.seq.to_string());
    Ok(Json(wire::EntryPage::from_page(page, wire::Entry::from)))
}

/// One entry (admin, auditor).
#[utoipa::path(get, path = "/entries/{seq}", tag = "ledger",
    params(("seq" = i64, Path, description = "Entry sequence number")),
    responses((status = 200, body = wire::Entry)))]
async fn get_entry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(seq): ApiPath<i64>,
) -> Result<Json<wire::Entry>, ApiError> {
    principal.require_ledger_reader()?;
    let entry = load_entry(&state, seq).await?.ok_or_else(|| ApiError::not_found(format!("entry {seq}")))?;
    Ok(Json(entry.into()))
}

/// Optional descriptive fields of an action on an entry.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryAction {
    /// For `post` only: post this smaller amount and release the rest
    /// (two-leg holds); absent posts the whole hold.
    #[schema(example = "500.00", pattern = r"^[0-9]{1,19}(\.[0-9]{1,12})?$", max_length = 32)]
    pub amount: Option<String>,
    pub kind: Option<String>,
    #[schema(format = Date, pattern = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub effective_date: Option<String>,
    #[schema(schema_with = offtake_wire::ledger::metadata_schema)]
    pub metadata: Option<serde_json::Value>,
}

/// An optional JSON body: empty is the default, anything else must be JSON.
fn optional_json<T: DeserializeOwned + Default>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    value.map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::InvalidBody(e.to_string()),
        _ => ApiError::MalformedJson(e.to_string()),
    })
}

/// Post a pending entry, in full or for a smaller amount (admin).
#[utoipa::path(post, path = "/entries/{seq}/post", tag = "ledger",
    params(("seq" = i64, Path, description = "The pending entry")),
    request_body(content = Option<EntryAction>, description = "Optional"),
    responses((status = 201, description = "The post entry", body = wire::Entry)))]
async fn post_pending(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    ApiPath(seq): ApiPath<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let body: EntryAction = optional_json(&headers, &bytes)?;
    let pending = existing_entry(&state, seq).await?;
    let amount_minor = match body.amount.as_deref() {
        None => None,
        Some(text) => {
            let currency: Currency = pending.legs.first().map(|l| l.currency).ok_or(LedgerError::NotPending(seq))?;
            Some(AmountMinor::parse(text, currency)?)
        }
    };
    let action = Action::PostPending { pending_seq: seq, amount_minor };
    let cmd = command(key.ledger_key(), body.kind, body.effective_date, body.metadata, action)?;
    commit_and_show(&state, &key, cmd).await
}

/// Void a pending entry, releasing its holds (admin).
#[utoipa::path(post, path = "/entries/{seq}/void", tag = "ledger",
    params(("seq" = i64, Path, description = "The pending entry")),
    request_body(content = Option<EntryAction>, description = "Optional; `amount` is refused"),
    responses((status = 201, description = "The void entry", body = wire::Entry)))]
async fn void_pending(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    ApiPath(seq): ApiPath<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    act_on_entry(&state, &key, seq, &headers, &bytes, Action::VoidPending { pending_seq: seq }).await
}

/// Reverse an entry's posted legs: a linked correction, nothing is edited (admin).
#[utoipa::path(post, path = "/entries/{seq}/reverse", tag = "ledger",
    params(("seq" = i64, Path, description = "The entry to reverse")),
    request_body(content = Option<EntryAction>, description = "Optional; `amount` is refused"),
    responses((status = 201, description = "The reversal entry", body = wire::Entry)))]
async fn reverse_entry(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    ApiPath(seq): ApiPath<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    act_on_entry(&state, &key, seq, &headers, &bytes, Action::Reverse { entry_seq: seq }).await
}

/// What void and reverse share: an optional body that must not carry an
/// `amount`, an entry that exists (`404` otherwise), then the action
/// committed with the body's kind, date and metadata.
async fn act_on_entry(
    state: &AppState,
    key: &IdempotencyKey,
    seq: i64,
    headers: &HeaderMap,
    bytes: &Bytes,
    action: Action,
) -> Result<Response, ApiError> {
    let body: EntryAction = optional_json(headers, bytes)?;
    refuse_amount(&body)?;
    existing_entry(state, seq).await?;
    let cmd = command(key.ledger_key(), body.kind, body.effective_date, body.metadata, action)?;
    commit_and_show(state, key, cmd).await
}

/// The entry `seq`, `404` when there is none.
async fn existing_entry(state: &AppState, seq: i64) -> Result<EntryRecord, ApiError> {
    load_entry(state, seq).await?.ok_or_else(|| ApiError::not_found(format!("entry {seq}")))
}

fn refuse_amount(body: &EntryAction) -> Result<(), ApiError> {
    match body.amount {
        Some(_) => Err(ApiError::InvalidBody("`amount` applies to post only".into())),
        None => Ok(()),
    }
}
