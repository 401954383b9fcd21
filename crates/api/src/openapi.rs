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
    )
)]
pub struct ApiDoc;

const BEARER: &str = "bearer";
/// What `idempotency::parse_key` accepts: a bare token of 1-64 printable
/// ASCII characters other than `"` and `\\`, or the same quoted as a
/// structured-field string.
const KEY_PATTERN: &str = r#"^("[!#-\[\]-~]{1,64}"|[!#-\[\]-~]{1,64})$"#;

struct Common;

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
        let problem = ResponseBuilder::new()
            .description("An RFC 9457 problem; match on `code`.")
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build();
        components.responses.insert("Problem".to_owned(), problem.into());
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
            let mut statuses: Vec<&str> = vec!["500"];
            if versioned {
                op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                statuses.extend(["400", "401", "403", "404", "422", "429"]);
            } else {
                statuses.push("503");
            }
            if method == HttpMethod::Post {
                statuses.extend(["409", "413", "415"]);
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
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| Ref::from_response_name("Problem").into());
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
