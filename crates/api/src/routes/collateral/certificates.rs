//! The borrowing-base certificate of a day: read it, sign it (maker's
//! attestation, then lender's review), and see why availability moved
//! between two days.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use offtake_signing::Envelope;
use offtake_wire as wire;
use serde::Serialize;
use utoipa::ToSchema;
use wire::certificate::CertificateDoc;

use super::{amount, Amount, AsOfQuery, FacilityAsOf, RangeQuery};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::commitments::{verified_by_caller, EnvelopeInput};
use crate::routes::facilities::visible_facility;
use crate::routes::{created, today};
use crate::state::AppState;

/// A facility's borrowing-base certificate for a day (the one the end of
/// day kept when the day is closed).
#[utoipa::path(get, path = "/facilities/{id}/certificate", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), AsOfQuery),
    responses((status = 200, body = CertificateDoc)))]
pub(super) async fn certificate(
    State(state): State<AppState>,
    FacilityAsOf { facility: f, as_of }: FacilityAsOf,
) -> Result<Json<CertificateDoc>, ApiError> {
    let (c, hash, signatures) = state.finance().signed_bbc(&f.id, as_of).await?;
    Ok(Json(CertificateDoc::of(&c, f.terms.currency, hash, signatures)))
}

/// Sign a day's certificate: the maker's `certificate_signature` with act
/// `attestation`, then the lender's with act `review` (`409 not_attested`
/// before the attestation). The document names the facility, the day (not
/// after today) and the certificate's hash, which the certificate
/// recomputed for that day must match (`422 certificate_mismatch`). A
/// second, different signature of an act is `409 already_signed`; the
/// same document again answers the signature as kept.
#[utoipa::path(post, path = "/facilities/{id}/certificate/signatures", tag = "collateral",
    params(("id" = String, Path, description = "Facility id")), request_body = EnvelopeInput,
    responses((status = 201, description = "Signed", body = wire::CertificateSignature)))]
pub(super) async fn sign_certificate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EnvelopeInput>,
) -> Result<Response, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let envelope = Envelope::from(body);
    let doc = verified_by_caller(&state, &principal, &envelope).await?;
    if doc.str_field("facility")? != f.id {
        // Checked before the domain sees it: the path names the facility.
        return Err(ApiError::unprocessable(
            "invalid_input",
            format!("the document signs another facility's certificate than {id:?}"),
        ));
    }
    let s = state.finance().sign_certificate(&doc, today()).await?;
    let location = format!("/v1/facilities/{}/certificate?as_of={}", s.facility, s.as_of);
    Ok(created(&location, wire::CertificateSignature::from(s)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffLineDoc {
    /// `collateral`, `concentration`, `base`, `reserve`, `limit`, `drawn`,
    /// `pending`, `available`.
    pub step: String,
    pub item: String,
    pub from: Amount,
    pub to: Amount,
    pub change: Amount,
    pub why: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffDoc {
    pub facility: String,
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub lines: Vec<DiffLineDoc>,
}

/// Why availability moved between two days, line by line.
#[utoipa::path(get, path = "/facilities/{id}/certificate-diff", tag = "collateral",
    params(("id" = String, Path, description = "Facility id"), RangeQuery),
    responses((status = 200, body = DiffDoc)))]
pub(super) async fn certificate_diff(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<DiffDoc>, ApiError> {
    let f = visible_facility(&state, &principal, &id).await?;
    let from = q.from()?.ok_or_else(|| ApiError::InvalidQuery("from: required (YYYY-MM-DD)".into()))?;
    let to = q.to()?;
    let c = f.terms.currency;
    let lines = state.finance().bbc_diff(&f.id, from, to).await?;
    let lines = lines
        .into_iter()
        .map(|l| DiffLineDoc {
            step: l.step,
            item: l.item,
            from: amount(l.from_minor, c),
            to: amount(l.to_minor, c),
            change: amount(l.change_minor, c),
            why: l.why,
        })
        .collect();
    Ok(Json(DiffDoc { facility: f.id, from: from.to_string(), to: to.to_string(), lines }))
}
