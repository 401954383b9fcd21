//! Document types, their JSON Schemas (embedded from `schemas/`) and the
//! checks a schema cannot express.
//!
//! Every document body is validated against its schema before anything
//! else is done with it (sealing, hashing, signing, verifying). The header
//! fields common to all types are parsed into a [`DocHeader`].

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::error::SigningError;

/// Prefix of every payload type; the suffix is `<type>+json`.
pub const PAYLOAD_TYPE_PREFIX: &str = "application/vnd.offtake.";
/// Most schema errors reported in one message.
const MAX_REPORTED_ERRORS: usize = 5;

/// The kinds of signed document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// A brand's purchase commitment to a maker; signed by both.
    Commitment,
    /// A maker's request for an advance; signed by the maker.
    AdvanceRequest,
    /// A lender's approval (or rejection) of a request; signed by the lender.
    AdvanceApproval,
    /// A brand's notice of a payment; signed by the brand.
    PaymentNotice,
    /// A maker's acceptance of a facility a lender offered; signed by the
    /// maker. Until it is accepted, a facility cannot be drawn.
    FacilityAcceptance,
    /// A signature on one day's borrowing-base certificate: the maker's
    /// attestation or the lender's review (countersignature), naming the
    /// certificate by its hash.
    CertificateSignature,
}

impl DocType {
    pub const ALL: [DocType; 6] = [
        DocType::Commitment,
        DocType::AdvanceRequest,
        DocType::AdvanceApproval,
        DocType::PaymentNotice,
        DocType::FacilityAcceptance,
        DocType::CertificateSignature,
    ];

    /// The body's `type` field, also the schema file name (`schemas/<name>.schema.json`).
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Commitment => "commitment",
            DocType::AdvanceRequest => "advance_request",
            DocType::AdvanceApproval => "advance_approval",
            DocType::PaymentNotice => "payment_notice",
            DocType::FacilityAcceptance => "facility_acceptance",
            DocType::CertificateSignature => "certificate_signature",
        }
    }

    /// The DSSE `payloadType`, e.g. `application/vnd.offtake.commitment+json`.
    pub fn payload_type(self) -> &'static str {
        match self {
            DocType::Commitment => "application/vnd.offtake.commitment+json",
            DocType::AdvanceRequest => "application/vnd.offtake.advance_request+json",
            DocType::AdvanceApproval => "application/vnd.offtake.advance_approval+json",
            DocType::PaymentNotice => "application/vnd.offtake.payment_notice+json",
            DocType::FacilityAcceptance => "application/vnd.offtake.facility_acceptance+json",
            DocType::CertificateSignature => "application/vnd.offtake.certificate_signature+json",
        }
    }

    /// The document type a DSSE `payloadType` names, if it is one of ours.
    pub fn from_payload_type(payload_type: &str) -> Option<DocType> {
        DocType::ALL.into_iter().find(|t| t.payload_type() == payload_type)
    }

    /// The document type a body's `type` field names.
    pub fn from_name(name: &str) -> Option<DocType> {
        DocType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The JSON Schema (draft 2020-12) of this document type, as text.
    pub fn schema_text(self) -> &'static str {
        match self {
            DocType::Commitment => include_str!("../../../schemas/commitment.schema.json"),
            DocType::AdvanceRequest => include_str!("../../../schemas/advance_request.schema.json"),
            DocType::AdvanceApproval => include_str!("../../../schemas/advance_approval.schema.json"),
            DocType::PaymentNotice => include_str!("../../../schemas/payment_notice.schema.json"),
            DocType::FacilityAcceptance => include_str!("../../../schemas/facility_acceptance.schema.json"),
            DocType::CertificateSignature => include_str!("../../../schemas/certificate_signature.schema.json"),
        }
    }

    fn index(self) -> usize {
        match self {
            DocType::Commitment => 0,
            DocType::AdvanceRequest => 1,
            DocType::AdvanceApproval => 2,
            DocType::PaymentNotice => 3,
            DocType::FacilityAcceptance => 4,
            DocType::CertificateSignature => 5,
        }
    }
}

impl fmt::Display for DocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields every document carries, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocHeader {
    pub doc_type: DocType,
    pub doc_id: String,
    /// 1 for the first version, +1 per amendment.
    pub version: u32,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub nonce: String,
    /// Body hash of the previous version; `None` for version 1.
    pub prev_hash: Option<[u8; 32]>,
}

fn validators() -> &'static [jsonschema::Validator; 6] {
    static VALIDATORS: OnceLock<[jsonschema::Validator; 6]> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        DocType::ALL.map(|t| {
            let schema: Value = serde_json::from_str(t.schema_text())
                // The schemas are part of the source tree and covered by tests.
                .unwrap_or_else(|e| panic!("embedded schema {t} is not JSON: {e}"));
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("embedded schema {t} does not compile: {e}"))
        })
    })
}

/// Validates a body against its type's schema and the rules a schema cannot
/// express; returns its parsed header. The body's `type` must be `doc_type`.
pub fn validate(doc_type: DocType, body: &Value) -> Result<DocHeader, SigningError> {
    let validator = &validators()[doc_type.index()];
    let errors: Vec<String> = validator
        .iter_errors(body)
        .take(MAX_REPORTED_ERRORS)
        .map(|e| {
            let path = e.instance_path().to_string();
            format!("{}: {e}", if path.is_empty() { "/" } else { &path })
        })
        .collect();
    if !errors.is_empty() {
        return Err(SigningError::schema(format!("{doc_type}: {}", errors.join("; "))));
    }
    let header = parse_header(doc_type, body)?;
    check_rules(doc_type, body)?;
    Ok(header)
}

/// The document type a body's `type` field names (for bare documents that
/// are not in an envelope yet).
pub fn doc_type_of(body: &Value) -> Result<DocType, SigningError> {
    let name = body.get("type").and_then(Value::as_str).ok_or_else(|| SigningError::schema("missing \"type\""))?;
    DocType::from_name(name).ok_or_else(|| SigningError::schema(format!("unknown document type {name:?}")))
}

fn str_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, SigningError> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| SigningError::schema(format!("missing {field:?}")))
}

pub(crate) fn parse_timestamp(field: &str, text: &str) -> Result<OffsetDateTime, SigningError> {
    offtake_ledger::date::parse_rfc3339(text)
        .ok_or_else(|| SigningError::schema(format!("{field} {text:?}: not an RFC 3339 time")))
}

/// Dates in documents follow the one input rule (`offtake_ledger::date`).
fn parse_date(field: &str, text: &str) -> Result<Date, SigningError> {
    offtake_ledger::date::parse_date(text).map_err(|e| SigningError::schema(format!("{field}: {e}")))
}

fn parse_hash(field: &str, text: &str) -> Result<[u8; 32], SigningError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|e| SigningError::schema(format!("{field}: {e}")))?;
    Ok(out)
}

fn parse_header(doc_type: DocType, body: &Value) -> Result<DocHeader, SigningError> {
    let type_name = str_field(body, "type")?;
    if type_name != doc_type.as_str() {
        return Err(SigningError::schema(format!("type {type_name:?} does not match {doc_type}")));
    }
    let version = body
        .get("version")
        .and_then(Value::as_f64)
        .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= f64::from(u32::MAX))
        .ok_or_else(|| SigningError::schema("version must be a positive integer"))? as u32;
    let issued_at = parse_timestamp("issued_at", str_field(body, "issued_at")?)?;
    let expires_at = parse_timestamp("expires_at", str_field(body, "expires_at")?)?;
    if expires_at <= issued_at {
        return Err(SigningError::schema("expires_at must be after issued_at"));
    }
    let prev_hash = match body.get("prev_hash") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) => Some(parse_hash("prev_hash", h)?),
        Some(_) => return Err(SigningError::schema("prev_hash must be a hex string or null")),
    };
    if (version == 1) != prev_hash.is_none() {
        return Err(SigningError::schema("prev_hash is required for versions after 1 and absent for version 1"));
    }
    Ok(DocHeader {
        doc_type,
        doc_id: str_field(body, "doc_id")?.to_owned(),
        version,
        issued_at,
        expires_at,
        nonce: str_field(body, "nonce")?.to_owned(),
        prev_hash,
    })
}

fn check_rules(doc_type: DocType, body: &Value) -> Result<(), SigningError> {
    match doc_type {
        DocType::Commitment => {
            if str_field(body, "brand")? == str_field(body, "maker")? {
                return Err(SigningError::schema("brand and maker must be different parties"));
            }
            let tranches = body.get("tranches").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let mut ids = std::collections::BTreeSet::new();
            for t in tranches {
                let id = str_field(t, "id")?;
                if !ids.insert(id) {
                    return Err(SigningError::schema(format!("tranche id {id:?} appears twice")));
                }
                let start = parse_date("delivery_start", str_field(t, "delivery_start")?)?;
                let end = parse_date("delivery_end", str_field(t, "delivery_end")?)?;
                if end < start {
                    return Err(SigningError::schema(format!("tranche {id:?}: delivery_end is before delivery_start")));
                }
            }
            Ok(())
        }
        DocType::PaymentNotice => {
            parse_date("value_date", str_field(body, "value_date")?)?;
            Ok(())
        }
        DocType::FacilityAcceptance => {
            if str_field(body, "lender")? == str_field(body, "maker")? {
                return Err(SigningError::schema("lender and maker must be different parties"));
            }
            Ok(())
        }
        DocType::CertificateSignature => {
            if str_field(body, "lender")? == str_field(body, "maker")? {
                return Err(SigningError::schema("lender and maker must be different parties"));
            }
            parse_date("as_of", str_field(body, "as_of")?)?;
            Ok(())
        }
        DocType::AdvanceRequest | DocType::AdvanceApproval => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        for t in DocType::ALL {
            assert!(!validators()[t.index()].is_valid(&serde_json::json!({})), "{t}");
            assert_eq!(DocType::from_payload_type(t.payload_type()), Some(t));
            assert_eq!(DocType::from_name(t.as_str()), Some(t));
        }
    }
}
