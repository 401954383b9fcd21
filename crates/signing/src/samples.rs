//! Valid sample documents, for tests, demos and the test vectors. Each
//! takes the issue time; documents expire 30 days later.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::registry::rfc3339;

/// Validity period of the samples.
pub const SAMPLE_VALIDITY: Duration = Duration::days(30);

fn header(doc_type: &str, doc_id: &str, issued_at: OffsetDateTime, nonce: &str) -> Value {
    json!({
        "type": doc_type,
        "version": 1,
        "doc_id": doc_id,
        "issued_at": rfc3339(issued_at),
        "expires_at": rfc3339(issued_at + SAMPLE_VALIDITY),
        "nonce": nonce,
    })
}

fn merge(mut base: Value, fields: Value) -> Value {
    if let (Some(b), Value::Object(f)) = (base.as_object_mut(), fields) {
        b.extend(f);
    }
    base
}

/// A two-tranche USD commitment of `brand` to `maker` (total 1,200,000.00).
pub fn commitment(doc_id: &str, brand: &str, maker: &str, issued_at: OffsetDateTime, nonce: &str) -> Value {
    merge(
        header("commitment", doc_id, issued_at, nonce),
        json!({
            "brand": brand,
            "maker": maker,
            "currency": "USD",
            "status": "active",
            "tranches": [
                {"id": "t1", "quantity": "10000", "unit_price": "60.00", "delivery_start": "2027-01-01", "delivery_end": "2027-03-31"},
                {"id": "t2", "quantity": "10000", "unit_price": "60.00", "delivery_start": "2027-04-01", "delivery_end": "2027-06-30"}
            ],
            "terms": {"payment_days": 60, "shortfall_pct": "25"}
        }),
    )
}

/// `maker`'s request for an advance of `amount` USD on `facility`.
pub fn advance_request(
    doc_id: &str,
    facility: &str,
    maker: &str,
    amount: &str,
    issued_at: OffsetDateTime,
    nonce: &str,
) -> Value {
    merge(
        header("advance_request", doc_id, issued_at, nonce),
        json!({"facility": facility, "maker": maker, "amount": amount, "currency": "USD", "purpose": "raw materials"}),
    )
}

/// `lender`'s approval of the request whose body hash is `request_hash_hex`.
pub fn advance_approval(
    doc_id: &str,
    facility: &str,
    lender: &str,
    request_hash_hex: &str,
    issued_at: OffsetDateTime,
    nonce: &str,
) -> Value {
    merge(
        header("advance_approval", doc_id, issued_at, nonce),
        json!({"facility": facility, "lender": lender, "request_hash": request_hash_hex, "decision": "approve"}),
    )
}

/// `maker`'s acceptance of `facility`, opened for it by `lender`.
pub fn facility_acceptance(
    doc_id: &str,
    facility: &str,
    lender: &str,
    maker: &str,
    issued_at: OffsetDateTime,
    nonce: &str,
) -> Value {
    merge(
        header("facility_acceptance", doc_id, issued_at, nonce),
        json!({"facility": facility, "lender": lender, "maker": maker}),
    )
}

/// A signature on `facility`'s certificate of `as_of` whose canonical
/// JSON hashes to `certificate_hash`: `act` is `attestation` (the maker
/// signs) or `review` (the lender countersigns).
#[allow(clippy::too_many_arguments)]
pub fn certificate_signature(
    doc_id: &str,
    facility: &str,
    lender: &str,
    maker: &str,
    as_of: &str,
    certificate_hash: &str,
    act: &str,
    issued_at: OffsetDateTime,
    nonce: &str,
) -> Value {
    merge(
        header("certificate_signature", doc_id, issued_at, nonce),
        json!({"facility": facility, "lender": lender, "maker": maker, "as_of": as_of,
               "certificate_hash": certificate_hash, "act": act}),
    )
}

/// `brand`'s notice of a payment of `amount` USD into `facility`.
pub fn payment_notice(
    doc_id: &str,
    brand: &str,
    facility: &str,
    amount: &str,
    external_ref: &str,
    issued_at: OffsetDateTime,
    nonce: &str,
) -> Value {
    merge(
        header("payment_notice", doc_id, issued_at, nonce),
        json!({
            "brand": brand,
            "facility": facility,
            "amount": amount,
            "currency": "USD",
            "value_date": issued_at.date().to_string(),
            "external_ref": external_ref,
        }),
    )
}

/// The next version of a document: same doc_id, version + 1, `prev_hash`
/// set to the previous body's hash, a new nonce and issue time.
pub fn amend(previous: &Value, issued_at: OffsetDateTime, nonce: &str) -> Result<Value, crate::SigningError> {
    let prev_hash = hex::encode(crate::body_hash(previous)?);
    let version = previous.get("version").and_then(Value::as_u64).unwrap_or(1) + 1;
    Ok(merge(
        previous.clone(),
        json!({
            "version": version,
            "prev_hash": prev_hash,
            "issued_at": rfc3339(issued_at),
            "expires_at": rfc3339(issued_at + SAMPLE_VALIDITY),
            "nonce": nonce,
        }),
    ))
}
