//! API keys: records of kind `api_key` holding the SHA-256 of the key,
//! never the key (shown once, when issued); issuing, listing, revoking,
//! authenticating, and the operator's first admin key.

use offtake_ledger::date::now_us;
use offtake_ledger::{LedgerId, RecordStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::parties::{find_party, Operator, Party, PartyId, PartyKind, Role, OPERATOR_KIND};

pub const API_KEY_KIND: &str = "api_key";
/// The key's format and its parser are the wire contract's (the
/// dashboard reads keys too).
pub use offtake_wire::{key_id_of, API_KEY_PREFIX as KEY_PREFIX};
use offtake_wire::{API_KEY_ID_BYTES as KEY_ID_BYTES, API_KEY_SECRET_BYTES as KEY_SECRET_BYTES};

/// An API key as stored (the secret's hash, never the secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub party_id: PartyId,
    pub role: Role,
    /// Lower-case hex SHA-256 of the whole key string.
    pub key_sha256: String,
    pub created_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

impl From<ApiKeyRecord> for offtake_wire::ApiKey {
    fn from(r: ApiKeyRecord) -> Self {
        offtake_wire::ApiKey {
            key_id: r.key_id,
            party_id: r.party_id.as_str().to_owned(),
            role: r.role,
            created_at: offtake_wire::instant_of_us(r.created_at_us),
            revoked_at: r.revoked_at_us.map(offtake_wire::instant_of_us),
        }
    }
}

/// A freshly issued key: the only time its secret exists outside the
/// client.
#[derive(Clone, Debug)]
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    /// `otk_<key id>_<secret>`.
    pub key: String,
}

fn random_hex(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Equality that takes the same time wherever the inputs differ (`subtle`,
/// which also keeps the optimiser from short-circuiting the comparison).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Issues a new key for a party. The key's role must be the party's role.
pub async fn issue_key(
    store: &dyn RecordStore,
    ledger: &LedgerId,
    party: &Party,
    role: Role,
) -> Result<IssuedKey, ApiError> {
    if role != party.kind.role() {
        return Err(ApiError::unprocessable(
            "role_mismatch",
            format!("a {:?} party's keys have role {:?}, not {:?}", party.kind, party.kind.role(), role),
        ));
    }
    let key_id = random_hex(KEY_ID_BYTES)?;
    let key = format!("{KEY_PREFIX}{key_id}_{}", random_hex(KEY_SECRET_BYTES)?);
    let record = ApiKeyRecord {
        key_id: key_id.clone(),
        party_id: PartyId::new(&party.id)?,
        role,
        key_sha256: sha256_hex(key.as_bytes()),
        created_at_us: now_us(),
        revoked_at_us: None,
    };
    let body = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    store.put_record(ledger, API_KEY_KIND, &key_id, 0, &body).await?;
    Ok(IssuedKey { record, key })
}

/// Issues a key for the party with this id: the party must exist
/// (`unknown_party`) and the role must be its role (`role_mismatch`). The
/// one rule behind `POST /v1/keys` and `offtake api-key issue`.
pub async fn issue_key_for(
    store: &dyn RecordStore,
    ledger: &LedgerId,
    party_id: &str,
    role: Role,
) -> Result<IssuedKey, ApiError> {
    let party = find_party(store, ledger, party_id)
        .await?
        .ok_or_else(|| ApiError::unprocessable("unknown_party", format!("no party {party_id:?}")))?;
    issue_key(store, ledger, &party, role).await
}

/// A page of API keys in key-id order, revoked ones included (`GET
/// /v1/keys` filters them by caller; `offtake api-key list` shows all).
pub async fn list_keys(
    store: &dyn RecordStore,
    ledger: &LedgerId,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<ApiKeyRecord>, Option<String>), ApiError> {
    let page = store.list_records(ledger, API_KEY_KIND, cursor, limit).await?;
    let items = page.items.iter().map(|r| r.decode()).collect::<Result<Vec<ApiKeyRecord>, _>>()?;
    Ok((items, page.next_cursor))
}

/// Marks a key revoked (a new version of its record). Revoking twice keeps
/// the first revocation time. A malformed key id is `not_found`, like an
/// unknown one. The one rule behind `DELETE /v1/keys/{id}` and `offtake
/// api-key revoke`.
pub async fn revoke_key(store: &dyn RecordStore, ledger: &LedgerId, key_id: &str) -> Result<ApiKeyRecord, ApiError> {
    if offtake_ledger::record::check_record_key("key_id", key_id).is_err() {
        return Err(ApiError::not_found(format!("api key {key_id:?}")));
    }
    let stored = store
        .get_record(ledger, API_KEY_KIND, key_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("api key {key_id:?}")))?;
    let mut record: ApiKeyRecord = stored.decode()?;
    if record.revoked_at_us.is_some() {
        return Ok(record);
    }
    record.revoked_at_us = Some(now_us());
    let body = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    store.put_record(ledger, API_KEY_KIND, key_id, stored.version, &body).await?;
    Ok(record)
}

/// Looks a presented key up: `Some` only for a well-formed, known,
/// unrevoked key whose hash matches.
pub async fn authenticate(
    store: &dyn RecordStore,
    ledger: &LedgerId,
    token: &str,
) -> Result<Option<ApiKeyRecord>, ApiError> {
    let Some(key_id) = key_id_of(token) else { return Ok(None) };
    let Some(stored) = store.get_record(ledger, API_KEY_KIND, key_id).await? else { return Ok(None) };
    Ok(verify(stored.decode()?, token))
}

/// `record` if `token` is its key (constant-time hash comparison) and it
/// is not revoked.
pub fn verify(record: ApiKeyRecord, token: &str) -> Option<ApiKeyRecord> {
    let presented = sha256_hex(token.as_bytes());
    let matches = constant_time_eq(presented.as_bytes(), record.key_sha256.as_bytes());
    (matches && record.revoked_at_us.is_none()).then_some(record)
}

/// Id of the operator party created by [`bootstrap_admin`].
pub const OPERATOR_PARTY_ID: &str = "operator";
const BOOTSTRAP_KIND: &str = "bootstrap";

/// Creates the operator party and its first admin key, once per ledger.
/// Returns the key the first time (to be printed once) and `None` ever
/// after; a lost one is replaced with another admin key or, on the
/// database, `offtake api-key issue --party operator --role admin`.
pub async fn bootstrap_admin(store: &dyn RecordStore, ledger: &LedgerId) -> Result<Option<IssuedKey>, ApiError> {
    let marker = serde_json::json!({ "at_us": now_us() });
    if !store.insert_once(ledger, BOOTSTRAP_KIND, "admin_key", &marker).await? {
        return Ok(None);
    }
    let operator = Operator { id: OPERATOR_PARTY_ID.to_owned(), name: "Operator".to_owned() };
    let body = serde_json::to_value(&operator).map_err(|e| ApiError::Internal(e.to_string()))?;
    store.insert_once(ledger, OPERATOR_KIND, OPERATOR_PARTY_ID, &body).await?;
    let party = find_party(store, ledger, OPERATOR_PARTY_ID)
        .await?
        .filter(|p| p.kind == PartyKind::Operator)
        .ok_or_else(|| ApiError::Internal("the operator party id is taken by another party".into()))?;
    issue_key(store, ledger, &party, Role::Admin).await.map(Some)
}
