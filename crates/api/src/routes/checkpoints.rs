//! `/v1/checkpoints`: the ledger's published checkpoints (C2SP signed
//! notes), consistency proofs between two tree sizes, and the cosignatures
//! witnesses send back. Any authenticated party may read them and act as a
//! witness: a checkpoint shows a tree size and a Merkle root, nothing of
//! anyone's books. Publishing (signing) is an operator's CLI command; this
//! server never holds the ledger key.

use axum::extract::State;
use axum::Json;
use base64::Engine;
use offtake_audit_export::checkpoint::prove_consistency;
use offtake_audit_export::published::{self, PublishedCheckpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest_checkpoint))
        .routes(routes!(consistency_proof))
        .routes(routes!(get_checkpoint))
        .routes(routes!(add_cosignatures))
}

/// A published checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The log's origin line, `offtake/<ledger>`.
    #[schema(example = "offtake/demo")]
    pub origin: String,
    /// Number of entries the tree covers.
    pub tree_size: u64,
    /// Merkle root, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    /// The whole signed note (C2SP tlog-checkpoint text, a blank line, the
    /// ledger's signature line and every witness cosignature line).
    pub note: String,
    /// How many witness cosignatures the server holds (unverified here:
    /// a verifier checks those of the witnesses it trusts).
    pub cosignatures: usize,
}

impl CheckpointView {
    fn of(p: &PublishedCheckpoint) -> Result<Self, ApiError> {
        Ok(CheckpointView {
            origin: p.origin.clone(),
            tree_size: p.size,
            root: p.root.clone(),
            note: p.note()?,
            cosignatures: p.cosignatures.len(),
        })
    }
}

fn not_published(what: impl std::fmt::Display) -> ApiError {
    ApiError::not_found(format!("no checkpoint {what} has been published"))
}

/// The latest published checkpoint.
#[utoipa::path(get, path = "/checkpoints/latest", tag = "ledger",
    responses((status = 200, body = CheckpointView), (status = 404, description = "Nothing published yet")))]
async fn latest_checkpoint(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<CheckpointView>, ApiError> {
    let p = published::latest(state.store(), state.ledger()).await?.ok_or_else(|| not_published("yet"))?;
    Ok(Json(CheckpointView::of(&p)?))
}

/// The checkpoint published at a tree size.
#[utoipa::path(get, path = "/checkpoints/{tree_size}", tag = "ledger",
    params(("tree_size" = u64, Path, description = "Entries the tree covers")),
    responses((status = 200, body = CheckpointView), (status = 404, description = "None at that size")))]
async fn get_checkpoint(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath(tree_size): ApiPath<u64>,
) -> Result<Json<CheckpointView>, ApiError> {
    let p = published::get(state.store(), state.ledger(), tree_size)
        .await?
        .ok_or_else(|| not_published(format!("of size {tree_size}")))?;
    Ok(Json(CheckpointView::of(&p)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The tree size the witness holds.
    #[param(minimum = 1)]
    pub old_size: u64,
    /// The tree size of the newer checkpoint.
    #[param(minimum = 1)]
    pub new_size: u64,
}

/// An RFC 9162 consistency proof between two tree sizes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProofView {
    pub old_size: u64,
    pub new_size: u64,
    /// Proof hashes, base64 (as in tlog-tiles and checkpoint notes).
    pub proof: Vec<String>,
}

/// A proof that the tree of `old_size` entries is a prefix of the tree of
/// `new_size` entries (both at most the current head).
#[utoipa::path(get, path = "/checkpoints/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProofView)))]
async fn consistency_proof(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    if q.old_size == 0 || q.old_size > q.new_size {
        return Err(ApiError::InvalidQuery("need 1 <= old_size <= new_size".into()));
    }
    let p = prove_consistency(state.store(), state.ledger(), q.old_size, Some(q.new_size)).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let proof = p
        .path
        .iter()
        .map(|h| hex::decode(h).map(|bytes| b64.encode(bytes)))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(format!("proof hash: {e}")))?;
    Ok(Json(ConsistencyProofView { old_size: q.old_size, new_size: q.new_size, proof }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cosignature {
    /// The checkpoint note with the witness's signature line added.
    #[schema(max_length = 65536)]
    pub note: String,
}

/// Store a witness's cosignature of a published checkpoint. The note's text
/// must be exactly a published checkpoint; a later signature by the same
/// witness key name replaces the earlier one.
#[utoipa::path(post, path = "/checkpoints/cosignatures", tag = "ledger", request_body = Cosignature,
    responses((status = 200, body = CheckpointView), (status = 404, description = "Not a published checkpoint")))]
async fn add_cosignatures(
    State(state): State<AppState>,
    _principal: Principal,
    ApiJson(b): ApiJson<Cosignature>,
) -> Result<Json<CheckpointView>, ApiError> {
    let p = published::add_cosignatures(state.store(), state.ledger(), &b.note)
        .await?
        .ok_or_else(|| not_published("with that text"))?;
    Ok(Json(CheckpointView::of(&p)?))
}
