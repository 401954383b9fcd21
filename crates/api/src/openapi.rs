//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! What every `/v1` operation shares is added here once rather than on each
//! handler: the bearer security requirement, the problem+json error
//! responses, and the `Idempotency-Key` header of every POST. The checked-in
//! copy lives at `schemas/openapi.json`; a test fails when it is stale
//! (`UPDATE_OPENAPI=1` rewrites it).

use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi as Document, Ref, Required, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, PROBLEM_JSON};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "offtake",
        description = "System of record for inventory financing against multi-year purchase commitments. \
            Authenticate with `Authorization: Bearer <api key>`; every error is `application/problem+json` \
            with a stable `code`; every POST needs an `Idempotency-Key`; amounts are decimal strings.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&Common),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "parties", description = "Brands, makers, lenders, auditors and the operator"),
        (name = "keys", description = "API keys"),
        (name = "ledger", description = "The raw double-entry ledger (admin; auditor reads)"),
        (name = "signing", description = "Parties' public signing keys"),
        (name = "commitments", description = "Signed purchase commitments and deliveries"),
        (name = "facilities", description = "Facilities, availability, accrual and lender capital"),
        (name = "advances", description = "Draws: signed requests and decisions"),
        (name = "invoices", description = "Invoices to brands"),
        (name = "payments", description = "Brand payments, settlement runs, remittances and statements"),
        (name = "exports", description = "The books as CSV or Beancount"),
        (name = "events", description = "What changed, in ledger order: a page to poll and a Server-Sent Events stream"),
    )
)]
pub struct ApiDoc;

const BEARER: &str = "bearer";
/// What `idempotency::parse_key` accepts: a bare token of 1-64 printable
/// ASCII characters other than `"` and `\\`, or the same quoted as a
/// structured-field string.
const KEY_PATTERN: &str = r#"^("[!#-\[\]-~]{1,64}"|[!#-\[\]-~]{1,64})$"#;

struct Common;

/// The problem responses every operation may answer: component name,
/// status, when, and the `code`s it carries (what clients match on).
/// `tests::every_api_error_code_is_documented` keeps this honest for the
/// API's own errors; domain codes are listed from their crates' `code()`.
pub const PROBLEM_RESPONSES: &[(&str, u16, &str, &[&str])] = &[
    (
        "BadRequest",
        400,
        "The request is malformed (body, query, path or `Idempotency-Key`).",
        &["malformed_json", "invalid_query", "invalid_path", "idempotency_key_missing", "idempotency_key_invalid"],
    ),
    ("Unauthorized", 401, "No valid API key (missing, unknown or revoked).", &["unauthenticated"]),
    ("Forbidden", 403, "The key's role may not do this.", &["forbidden"]),
    (
        "NotFound",
        404,
        "Nothing the caller may see has this id (another party's object answers the same).",
        &["not_found", "unknown_ledger", "unknown_entry", "unknown_record"],
    ),
    (
        "Conflict",
        409,
        "The request conflicts with what was recorded before; re-read, then decide.",
        &[
            "idempotency_conflict",
            "idempotency_in_flight",
            "already_exists",
            "account_exists",
            "invalid_state",
            "facility_not_accepted",
            "contention",
            "not_pending",
            "pending_already_posted",
            "pending_already_voided",
            "already_reversed",
            "precondition_failed",
            "version_conflict",
            "replayed_nonce",
            "key_exists",
            "duplicate_reference",
        ],
    ),
    ("PayloadTooLarge", 413, "The body is larger than the server accepts.", &["payload_too_large"]),
    ("UnsupportedMediaType", 415, "The body is not `application/json`.", &["unsupported_media_type"]),
    (
        "Unprocessable",
        422,
        "Well-formed, but the rules refuse it (nothing was written).",
        &[
            "invalid_body",
            "invalid_input",
            "invalid_party_id",
            "unknown_party",
            "wrong_role",
            "decision_mismatch",
            "unknown_currency",
            "invalid_amount",
            "amount_scale",
            "amount_out_of_range",
            "non_positive_amount",
            "unknown_account",
            "leg_count",
            "unbalanced_entry",
            "currency_mismatch",
            "mixed_books",
            "insufficient_funds",
            "insufficient_availability",
            "overadvanced",
            "future_date",
            "post_exceeds_pending",
            "partial_post_unsupported",
            "nothing_to_reverse",
            "batch_too_large",
            "signer_mismatch",
            "bad_signature",
            "unknown_key",
            "revoked_key",
            "key_not_yet_valid",
            "expired_document",
            "not_yet_valid",
            "schema_violation",
            "missing_signature",
            "malformed_envelope",
            "invalid_key",
        ],
    ),
    ("TooManyRequests", 429, "This API key sent too many requests; wait `Retry-After` seconds.", &["rate_limited"]),
    (
        "InternalError",
        500,
        "The server failed; the detail is in its log under the request id.",
        &["internal", "storage", "chain_broken", "append_only"],
    ),
    ("Unavailable", 503, "Not ready, or the request took too long.", &["not_ready", "timeout"]),
];

/// One problem response: the problem schema, its codes in the
/// description, and an example with the first code.
fn problem_response(status: u16, description: &str, codes: &[&str]) -> utoipa::openapi::Response {
    let listed = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let example = serde_json::json!({
        "type": format!("urn:offtake:problem:{}", codes[0]),
        "title": axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error"),
        "status": status,
        "detail": "what went wrong with this request",
        "code": codes[0],
    });
    ResponseBuilder::new()
        .description(format!("{description} Codes: {listed}."))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).example(Some(example)).build(),
        )
        .build()
}

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("otk_<key id>_<secret>")
                    .description(Some("An API key issued by `offtake init` (admin) or `POST /v1/keys`."))
                    .build(),
            ),
        );
        for (name, status, description, codes) in PROBLEM_RESPONSES {
            components.responses.insert((*name).to_owned(), problem_response(*status, description, codes).into());
        }
    }
}

/// Adds what every operation shares. Run on the merged document: the
/// modifier above runs before the routes' paths are merged in.
pub fn finish(mut doc: Document) -> Document {
    for (path, item) in doc.paths.paths.iter_mut() {
        let versioned = path.starts_with("/v1/");
        let ops: [(HttpMethod, &mut Option<Operation>); 4] = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Delete, &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let mut statuses: Vec<u16> = vec![500];
            if versioned {
                op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                statuses.extend([400, 401, 403, 404, 422, 429]);
            } else {
                // Health checks are public: say so (an absent `security`
                // would mean "whatever the document's default is").
                op.security = Some(Vec::new());
                statuses.push(503);
            }
            if method == HttpMethod::Post {
                statuses.extend([409, 413, 415]);
                let param = ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .description(Some(
                        "1-64 printable ASCII characters, unique per request you mean; a retry with the same key \
                         and body answers the first response, with another body `409 idempotency_conflict`.",
                    ))
                    .schema(Some(
                        ObjectBuilder::new().schema_type(Type::String).max_length(Some(66)).pattern(Some(KEY_PATTERN)),
                    ))
                    .build();
                op.parameters.get_or_insert_with(Vec::new).push(param);
            }
            for status in statuses {
                let Some((name, ..)) = PROBLEM_RESPONSES.iter().find(|(_, s, ..)| *s == status) else { continue };
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| Ref::from_response_name(*name).into());
            }
        }
    }
    doc
}

/// The document as pretty JSON with a trailing newline (the checked-in form).
pub fn to_pretty_json(doc: &Document) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::PROBLEM_RESPONSES;
    use crate::error::ApiError;

    fn document() -> serde_json::Value {
        serde_json::to_value(crate::server::document()).expect("the document serializes")
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document();
        let mut seen = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
    }

    /// A schema that says only "an object" tells a client generator
    /// nothing: every object has properties, a `$ref`, or explicitly
    /// declared free-form members.
    #[test]
    fn no_schema_is_a_bare_object() {
        fn walk(v: &serde_json::Value, at: &str) {
            match v {
                serde_json::Value::Object(map) => {
                    let bare = map.get("type").is_some_and(|t| t == "object")
                        && !map.contains_key("properties")
                        && !map.contains_key("additionalProperties")
                        && !map.contains_key("allOf")
                        && !map.contains_key("oneOf");
                    assert!(!bare, "bare object schema at {at}");
                    for (k, child) in map {
                        walk(child, &format!("{at}/{k}"));
                    }
                }
                serde_json::Value::Array(items) => {
                    items.iter().enumerate().for_each(|(i, c)| walk(c, &format!("{at}/{i}")))
                }
                _ => {}
            }
        }
        walk(&document(), "#");
    }

    /// Every error the API raises by itself is listed under its status.
    #[test]
    fn every_api_error_code_is_documented() {
        let samples = [
            ApiError::MalformedJson(String::new()),
            ApiError::InvalidBody(String::new()),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge(String::new()),
            ApiError::InvalidQuery(String::new()),
            ApiError::InvalidPath(String::new()),
            ApiError::IdempotencyKeyMissing,
            ApiError::IdempotencyKeyInvalid(""),
            ApiError::IdempotencyConflict,
            ApiError::IdempotencyInFlight,
            ApiError::Unauthenticated(""),
            ApiError::forbidden(""),
            ApiError::not_found(""),
            ApiError::RateLimited { retry_after_ms: 1 },
            ApiError::Timeout,
            ApiError::NotReady(String::new()),
            ApiError::Internal(String::new()),
            ApiError::unprocessable("unknown_party", ""),
            ApiError::unprocessable("decision_mismatch", ""),
            ApiError::unprocessable("wrong_role", ""),
        ];
        for e in samples {
            let status = e.status().as_u16();
            let documented = PROBLEM_RESPONSES.iter().any(|(_, s, _, codes)| *s == status && codes.contains(&e.code()));
            assert!(documented, "{} ({status}) is not documented", e.code());
        }
    }
}
