//! API errors and their one mapping to HTTP.
//!
//! Every error answers `application/problem+json` (RFC 9457) with `type`,
//! `title`, `status`, `detail` and a stable machine `code`. Domain errors
//! keep their own codes (`LedgerError::code()`); [`ledger_status`] is the one
//! table that gives each a status, written as an exhaustive `match` so that
//! a new ledger error cannot ship without a decision.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use offtake_finance::FinanceError;
use offtake_ledger::LedgerError;
use offtake_signing::SigningError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Prefix of the `type` URI of every problem; the code completes it.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:offtake:problem:";

/// An RFC 9457 problem details object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// URI naming the problem type: `urn:offtake:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type (the same for every occurrence).
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Stable machine code; clients match on it, never on `detail`.
    pub code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Finance(FinanceError),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("expected a request with `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("the request body is larger than this server accepts{0}")]
    PayloadTooLarge(String),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    #[error("this request creates something and needs an `Idempotency-Key` header")]
    IdempotencyKeyMissing,
    #[error("invalid `Idempotency-Key`: {0}")]
    IdempotencyKeyInvalid(&'static str),
    #[error("this `Idempotency-Key` was already used with a different request")]
    IdempotencyConflict,
    #[error("a request with this `Idempotency-Key` is still being processed; retry later")]
    IdempotencyInFlight,
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A conflict with the current state of a resource (409).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A well-formed request the domain refuses (422).
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    #[error("too many requests with this API key; retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    #[error("the request took longer than the server allows")]
    Timeout,
    #[error("the service is not ready: {0}")]
    NotReady(String),
    /// A status with no more specific error (405, unknown route …).
    #[error("{detail}")]
    Status { status: StatusCode, code: &'static str, detail: String },
    /// Something broke on our side; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        ApiError::Forbidden(why.into())
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Unprocessable { code, detail: detail.into() }
    }

    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Ledger(e) => e.code(),
            ApiError::Finance(e) => e.code(),
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::IdempotencyKeyMissing => "idempotency_key_missing",
            ApiError::IdempotencyKeyInvalid(_) => "idempotency_key_invalid",
            ApiError::IdempotencyConflict => "idempotency_conflict",
            ApiError::IdempotencyInFlight => "idempotency_in_flight",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { code, .. } | ApiError::Unprocessable { code, .. } => code,
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Timeout => "timeout",
            ApiError::NotReady(_) => "not_ready",
            ApiError::Status { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Ledger(e) => ledger_status(e),
            ApiError::Finance(e) => finance_status(e),
            ApiError::MalformedJson(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidPath(_)
            | ApiError::IdempotencyKeyMissing
            | ApiError::IdempotencyKeyInvalid(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_) | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::IdempotencyConflict | ApiError::IdempotencyInFlight | ApiError::Conflict { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Status { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The detail sent to the client: the message, except for server-side
    /// failures, whose text may name internals and is only logged.
    fn public_detail(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error; see the server log for the request id".to_owned(),
            ApiError::Ledger(e) if !e.is_client_error() => {
                "internal error; see the server log for the request id".to_owned()
            }
            other => other.to_string(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        problem(status, self.code(), self.public_detail())
    }
}

/// Builds a problem object for a status and code.
pub fn problem(status: StatusCode, code: &str, detail: String) -> Problem {
    Problem {
        type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
    }
}

/// Serialises a problem into a response.
pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request refused");
        }
        let mut response = problem_response(&self.to_problem());
        if let ApiError::RateLimited { retry_after_ms } = self {
            let seconds = retry_after_ms.div_ceil(1_000).max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// The HTTP status of every ledger error. Exhaustive on purpose.
pub fn ledger_status(e: &LedgerError) -> StatusCode {
    use LedgerError::*;
    match e {
        // Well-formed requests the ledger's rules refuse.
        UnknownCurrency(_)
        | InvalidAmount(_)
        | AmountScale { .. }
        | AmountOutOfRange
        | NonPositiveAmount(_)
        | InvalidInput { .. }
        | DateOutOfRange(_)
        | UnknownAccount(_)
        | LegCount { .. }
        | UnbalancedEntry { .. }
        | CurrencyMismatch { .. }
        | MixedBooks(_)
        | InsufficientFunds { .. }
        | PostExceedsPending { .. }
        | PartialPostUnsupported
        | NothingToReverse(_)
        | BatchTooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        // The thing named by the URL does not exist.
        UnknownLedger(_) | UnknownEntry(_) | UnknownRecord { .. } => StatusCode::NOT_FOUND,
        // Conflicts with the current state; re-read, then decide.
        AccountExists(_)
        | IdempotencyConflict(_)
        | NotPending(_)
        | PendingAlreadyPosted(_)
        | PendingAlreadyVoided(_)
        | AlreadyReversed(_)
        | PreconditionFailed { .. }
        | VersionConflict { .. } => StatusCode::CONFLICT,
        // Our fault, never the caller's.
        AppendOnly(_) | ChainBroken { .. } | RecordChainBroken { .. } | Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The HTTP status of every finance error. Exhaustive on purpose.
pub fn finance_status(e: &FinanceError) -> StatusCode {
    use FinanceError::*;
    match e {
        Ledger(inner) => ledger_status(inner),
        Invalid { .. }
        | WrongRole { .. }
        | InsufficientAvailability { .. }
        | Overadvanced { .. }
        | FutureDate { .. }
        | CurrencyMismatch { .. }
        | SignerMismatch(_)
        | AmountOverflow => StatusCode::UNPROCESSABLE_ENTITY,
        NotFound { .. } => StatusCode::NOT_FOUND,
        AlreadyExists { .. } | InvalidState { .. } | NotAccepted { .. } | Contention { .. } => StatusCode::CONFLICT,
        Document { code, .. } => signing_status(code),
    }
}

/// Signed documents refused by the signing crate: a replayed nonce or an
/// already registered key conflicts with what was accepted before; the
/// rest (bad signature, unknown or revoked key, expired, schema…) is a
/// document the server understood and refuses.
fn signing_status(code: &str) -> StatusCode {
    match code {
        "replayed_nonce" | "key_exists" | "not_attested" | "already_signed" => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A stored object the wire cannot show is the server's fault, never the
/// caller's: `500 internal`, with the reason in the log.
impl From<offtake_wire::WireError> for ApiError {
    fn from(e: offtake_wire::WireError) -> Self {
        ApiError::Internal(format!("[{}] {e}", e.code()))
    }
}

impl From<FinanceError> for ApiError {
    fn from(e: FinanceError) -> Self {
        match e {
            FinanceError::Ledger(inner) => ApiError::Ledger(inner),
            other => ApiError::Finance(other),
        }
    }
}

impl From<offtake_settlement::SettlementError> for ApiError {
    fn from(e: offtake_settlement::SettlementError) -> Self {
        use offtake_settlement::SettlementError::*;
        match e {
            Finance(inner) => inner.into(),
            Invalid { .. } => ApiError::Unprocessable { code: "invalid_input", detail: e.to_string() },
            NotFound { .. } => ApiError::NotFound(e.to_string()),
            DuplicateReference(_) => ApiError::Conflict { code: "duplicate_reference", detail: e.to_string() },
        }
    }
}

impl From<offtake_audit_export::AuditError> for ApiError {
    fn from(e: offtake_audit_export::AuditError) -> Self {
        use offtake_audit_export::AuditError;
        match e {
            AuditError::Ledger(inner) => ApiError::Ledger(inner),
            AuditError::InvalidInput { .. }
            | AuditError::OutOfRange { .. }
            | AuditError::Note { .. }
            | AuditError::Proof { .. } => ApiError::Unprocessable { code: e.code(), detail: e.to_string() },
            // Anything else while exporting is ours (I/O, a broken chain).
            other => ApiError::Internal(format!("[{}] {other}", other.code())),
        }
    }
}

impl From<SigningError> for ApiError {
    fn from(e: SigningError) -> Self {
        FinanceError::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(String::new()),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidBody(rejection_detail(&r.body_text())),
            StatusCode::BAD_REQUEST => ApiError::MalformedJson(rejection_detail(&r.body_text())),
            status => ApiError::Status { status, code: "bad_request_body", detail: r.body_text() },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::InvalidQuery(rejection_detail(&r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::InvalidPath(rejection_detail(&r.body_text()))
    }
}

/// axum prefixes its messages with a generic sentence ("Failed to parse the
/// request body as JSON: …"); keep the specific part.
fn rejection_detail(text: &str) -> String {
    match text.split_once(": ") {
        Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_do_not_leak_their_text() {
        let p = ApiError::Ledger(LedgerError::Storage("password=hunter2".into())).to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("hunter2"));
        assert_eq!(p.code, "storage");
    }

    #[test]
    fn semantic_ledger_errors_are_422() {
        let e = LedgerError::AmountScale { amount: "1.001".into(), currency: offtake_ledger::Currency::USD, scale: 2 };
        assert_eq!(ApiError::from(e).status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
