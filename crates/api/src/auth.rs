//! Authentication (`Authorization: Bearer <api key>`) and the principal
//! every `/v1` handler receives.
//!
//! Authorization rules, in one place:
//! * `admin` may do everything;
//! * `auditor` may read everything and write nothing (enforced here, for
//!   every route: an auditor's non-GET request is `403`);
//! * `brand`, `maker` and `lender` see only objects of their own party; an
//!   object of another party answers `404`, exactly as a missing one, so
//!   ids cannot be enumerated ([`Principal::can_see`]);
//! * the raw ledger (accounts, entries, transfers, chain) is for `admin`
//!   (read and write) and `auditor` (read): a party's view of its money goes
//!   through the domain endpoints that know which accounts are its own.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_keys::{authenticate, key_id_of, verify, ApiKeyRecord};
pub use crate::api_keys::{bootstrap_admin, IssuedKey};
use crate::error::ApiError;
pub use crate::parties::{PartyId, Role};
use crate::state::AppState;

/// Who is calling: the party and role of the presented API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub party_id: PartyId,
    pub role: Role,
    pub key_id: String,
}

impl Principal {
    /// The command line's principal: whoever runs `offtake` holds the
    /// database itself, so it acts as the operator (an admin, seeing every
    /// party's objects) when it reads the API's lists.
    pub fn command_line() -> Principal {
        Principal { party_id: PartyId::operator(), role: Role::Admin, key_id: "command-line".to_owned() }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins and auditors see every party's objects.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
    }

    /// May this principal see an object that belongs to `owners`?
    /// Admins and auditors see everything; a party sees what it is party to.
    pub fn can_see<'a>(&self, owners: impl IntoIterator<Item = &'a str>) -> bool {
        self.sees_everything() || owners.into_iter().any(|owner| owner == self.party_id.as_str())
    }

    /// Refuses anyone but an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this operation needs an admin key"))
        }
    }

    /// Refuses anyone but an admin or an auditor (raw ledger reads).
    pub fn require_ledger_reader(&self) -> Result<(), ApiError> {
        if matches!(self.role, Role::Admin | Role::Auditor) {
            Ok(())
        } else {
            Err(ApiError::forbidden("the raw ledger is readable by admin and auditor keys only"))
        }
    }

    /// Refuses anyone but the listed roles (admins are always allowed).
    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.is_admin() || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this operation is not available to {:?} keys", self.role)))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or(ApiError::Unauthenticated("missing API key"))
    }
}

/// Middleware on `/v1`: authenticates the bearer key, takes the request
/// from the key's rate limit, and stores the [`Principal`] in the request;
/// refuses auditors' writes.
pub async fn require_api_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    let principal = match principal_of(&state, authorization).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Err(retry_after_ms) = state.rate_limiter().take(&principal.key_id) {
        return ApiError::RateLimited { retry_after_ms }.into_response();
    }
    let read_only = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if principal.role == Role::Auditor && !read_only {
        return ApiError::forbidden("auditor keys are read-only").into_response();
    }
    tracing::Span::current().record("party", principal.party_id.as_str());
    req.extensions_mut().insert(principal);
    next.run(req).await
}

async fn principal_of(state: &AppState, authorization: Option<HeaderValue>) -> Result<Principal, ApiError> {
    let value = authorization.ok_or(ApiError::Unauthenticated("missing `Authorization: Bearer <api key>` header"))?;
    let text = value.to_str().map_err(|_| ApiError::Unauthenticated("malformed Authorization header"))?;
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(ApiError::Unauthenticated("the Authorization scheme must be Bearer")),
    };
    let record =
        authenticate_cached(state, token).await?.ok_or(ApiError::Unauthenticated("unknown or revoked API key"))?;
    Ok(Principal { party_id: record.party_id, role: record.role, key_id: record.key_id })
}

/// [`authenticate`], answered from the server's key cache when the key's
/// record was read less than `api_key_cache_ttl_ms` ago (the presented
/// secret is still hashed and compared on every request). Unknown and
/// revoked keys are never cached: they are read again each time.
async fn authenticate_cached(state: &AppState, token: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
    if let Some(cached) = key_id_of(token).and_then(|key_id| state.cached_key(key_id)) {
        return Ok(verify(cached, token));
    }
    let record = authenticate(state.store(), state.ledger(), token).await?;
    if let Some(record) = &record {
        state.cache_key(record);
    }
    Ok(record)
}
