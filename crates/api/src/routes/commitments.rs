//! `/v1/commitments`: signed purchase commitments (DSSE envelopes signed by
//! the brand and the maker), their versions, and deliveries of their
//! tranches (which invoice the brand). A commitment is visible to its brand
//! and its maker (and admins and auditors).

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_finance::model::{index, kind};
use offtake_finance::{Commitment, SignedDocument};
use offtake_signing::{Envelope, EnvelopeSignature};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{keep_if, scan_page, Source};
use super::{created, list_query};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_commitment, list_commitments))
        .routes(routes!(get_commitment))
        .routes(routes!(commitment_versions))
        .routes(routes!(deliver_tranche))
}

/// A DSSE envelope, as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopeInput {
    /// `application/vnd.offtake.<type>+json`.
    pub payload_type: String,
    /// Standard, padded base64 of the RFC 8785 canonical body.
    pub payload: String,
    pub signatures: Vec<SignatureInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureInput {
    pub keyid: String,
    /// Standard, padded base64 of the Ed25519 signature over the DSSE PAE.
    pub sig: String,
}

impl From<EnvelopeInput> for Envelope {
    fn from(e: EnvelopeInput) -> Self {
        Envelope {
            payload_type: e.payload_type,
            payload: e.payload,
            signatures: e.signatures.into_iter().map(|s| EnvelopeSignature { keyid: s.keyid, sig: s.sig }).collect(),
        }
    }
}

/// Verifies an envelope and checks that the caller signed it (admins may
/// submit anyone's documents).
pub(crate) async fn verified_by_caller(
    state: &AppState,
    principal: &Principal,
    envelope: &Envelope,
) -> Result<SignedDocument, ApiError> {
    let doc = state.finance().verify_envelope(envelope, offtake_ledger::date::now()).await?;
    if !principal.is_admin() && !doc.signers.iter().any(|s| s.party == principal.party_id.as_str()) {
        return Err(ApiError::forbidden("submit documents you signed"));
    }
    Ok(doc)
}

fn visible(principal: &Principal, c: &Commitment) -> bool {
    principal.can_see([c.brand.as_str(), c.maker.as_str()])
}

/// Submit a signed commitment, or a new version of one (brand, maker or admin).
#[utoipa::path(post, path = "/commitments", tag = "commitments", request_body = EnvelopeInput,
    responses((status = 201, description = "Accepted", body = wire::Commitment)))]
async fn submit_commitment(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    let c = state.finance().submit_commitment(&doc).await?;
    Ok(created(&format!("/v1/commitments/{}", c.doc_id), wire::Commitment::from(c)))
}

list_query! {
    /// Filters of `GET /v1/commitments` (all optional, combined with AND).
    CommitmentQuery {
        /// Only commitments in this status.
        status: Option<wire::CommitmentStatus>,
        /// Only this brand's commitments.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        brand: Option<String>,
        /// Only commitments to this maker.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        maker: Option<String>,
    }
}

/// List the commitments the caller is party to, by document id.
#[utoipa::path(get, path = "/commitments", tag = "commitments", params(CommitmentQuery),
    responses((status = 200, body = wire::CommitmentPage)))]
async fn list_commitments(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<CommitmentQuery>,
) -> Result<Json<wire::CommitmentPage>, ApiError> {
    Ok(Json(commitment_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/commitments`, read through the brand or maker index
/// when a filter or the caller names one (see [`scan_page`]): a party is
/// party to a commitment only as its brand or its maker.
pub async fn commitment_page(
    state: &AppState,
    principal: &Principal,
    q: &CommitmentQuery,
) -> Result<wire::CommitmentPage, ApiError> {
    let me = principal.party_id.as_str();
    let source = match (&q.brand, &q.maker) {
        (Some(b), _) => Source::index(kind::COMMITMENT, index::BRAND, b),
        (None, Some(m)) => Source::index(kind::COMMITMENT, index::MAKER, m),
        _ if principal.sees_everything() => Source::Kind(kind::COMMITMENT),
        _ if principal.role == Role::Brand => Source::index(kind::COMMITMENT, index::BRAND, me),
        _ => Source::index(kind::COMMITMENT, index::MAKER, me),
    };
    let wanted = |c: &Commitment| {
        q.status.is_none_or(|s| s == wire::CommitmentStatus::from(c.status))
            && q.brand.as_ref().is_none_or(|b| *b == c.brand)
            && q.maker.as_ref().is_none_or(|m| *m == c.maker)
    };
    let keep = |c: Commitment| {
        let yes = visible(principal, &c) && wanted(&c);
        keep_if(c, yes)
    };
    let (items, next_cursor) = scan_page(state, &source, &q.page(), keep).await?;
    Ok(wire::CommitmentPage::new(items.into_iter().map(wire::Commitment::from).collect(), next_cursor))
}

pub(crate) async fn visible_commitment(
    state: &AppState,
    principal: &Principal,
    doc_id: &str,
) -> Result<Commitment, ApiError> {
    let not_found = || ApiError::not_found(format!("commitment {doc_id:?}"));
    match state.finance().commitment(doc_id).await {
        Ok(c) if visible(principal, &c) => Ok(c),
        Ok(_) => Err(not_found()),
        Err(offtake_finance::FinanceError::NotFound { .. }) => Err(not_found()),
        Err(offtake_finance::FinanceError::Ledger(offtake_ledger::LedgerError::InvalidInput { .. })) => {
            Err(not_found())
        }
        Err(e) => Err(e.into()),
    }
}

/// One commitment (its latest version).
#[utoipa::path(get, path = "/commitments/{doc_id}", tag = "commitments",
    params(("doc_id" = String, Path, description = "Document id")),
    responses((status = 200, body = wire::Commitment)))]
async fn get_commitment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(doc_id): ApiPath<String>,
) -> Result<Json<wire::Commitment>, ApiError> {
    Ok(Json(visible_commitment(&state, &principal, &doc_id).await?.into()))
}

/// Every version of a commitment, oldest first.
#[utoipa::path(get, path = "/commitments/{doc_id}/versions", tag = "commitments",
    params(("doc_id" = String, Path, description = "Document id")),
    responses((status = 200, body = wire::CommitmentPage)))]
async fn commitment_versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(doc_id): ApiPath<String>,
) -> Result<Json<wire::CommitmentPage>, ApiError> {
    visible_commitment(&state, &principal, &doc_id).await?;
    let versions = state.finance().commitment_versions(&doc_id).await?;
    Ok(Json(wire::CommitmentPage::new(versions.into_iter().map(wire::Commitment::from).collect(), None)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// `YYYY-MM-DD` (default: today, UTC).
    pub delivered_on: Option<String>,
}

/// Record a tranche delivered and invoice the brand (the maker or admin).
#[utoipa::path(post, path = "/commitments/{doc_id}/tranches/{tranche}/deliver", tag = "commitments",
    params(("doc_id" = String, Path, description = "Document id"), ("tranche" = String, Path, description = "Tranche id")),
    request_body = Delivery,
    responses((status = 201, description = "The invoice", body = wire::Invoice)))]
async fn deliver_tranche(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((doc_id, tranche)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Delivery>,
) -> Result<Response, ApiError> {
    let c = visible_commitment(&state, &principal, &doc_id).await?;
    if !principal.is_admin() && principal.party_id.as_str() != c.maker {
        return Err(ApiError::forbidden("the maker records its deliveries"));
    }
    let on = offtake_ledger::date::date_or_today(body.delivered_on.as_deref())?;
    let invoice = state.finance().deliver(&doc_id, &tranche, on).await?;
    Ok(created(&format!("/v1/invoices/{}", invoice.id), wire::Invoice::from(invoice)))
}
