//! RFC 8785 (JCS) canonical JSON: the exact bytes that are hashed and signed.
//!
//! The serialisation is done by `serde_json_canonicalizer` (ES6 number
//! formatting through `ryu-js`, object members sorted by their UTF-16 code
//! units, minimal string escaping). It passes the RFC 8785 examples checked
//! in `tests/canonical.rs` (numbers such as `1e21`, `1E-7` → `1e-7`,
//! `-0` → `0`, and non-ASCII keys sorted by UTF-16, not by UTF-8 or by code
//! point).
//!
//! One rule is added on top: an integer must survive the trip through an
//! IEEE 754 double (I-JSON, RFC 7493), because JCS formats every number as a
//! double and an integer such as 9007199254740993 would otherwise be signed
//! as a different value (…992) than the one written. Our schemas carry amounts as
//! strings, so this only refuses documents that were already wrong.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::SigningError;

/// Largest integer magnitude a double represents exactly (2^53).
const MAX_SAFE_INTEGER: u64 = 1 << 53;
/// Deepest nesting accepted; our documents are 4 levels deep.
pub const MAX_DEPTH: usize = 32;

/// The RFC 8785 canonical bytes of a JSON value.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, SigningError> {
    check_numbers(value, 0)?;
    serde_json_canonicalizer::to_vec(value).map_err(|e| SigningError::schema(format!("cannot canonicalise: {e}")))
}

/// SHA-256 of the canonical bytes of a value (the `body_hash` of documents
/// and the `prev_hash` / `request_hash` that link them).
pub fn body_hash(value: &Value) -> Result<[u8; 32], SigningError> {
    Ok(sha256(&canonical_json(value)?))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// How JCS (ES6 `Number.prototype.toString`) writes a double.
fn es6_text(f: f64) -> Option<String> {
    serde_json_canonicalizer::to_string(&f).ok()
}

fn check_numbers(value: &Value, depth: usize) -> Result<(), SigningError> {
    if depth > MAX_DEPTH {
        return Err(SigningError::schema(format!("JSON nested deeper than {MAX_DEPTH} levels")));
    }
    match value {
        Value::Number(n) => {
            // An integer is kept only if the double JCS writes for it reads
            // back as the same integer text: 9007199254740993 would be
            // signed as 9007199254740992 and is refused, while
            // 6816792198543293000 (itself the shortest form of a double) is
            // kept, so canonical output always canonicalises again.
            let exact = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) if u <= MAX_SAFE_INTEGER => true,
                (_, Some(i)) if i.unsigned_abs() <= MAX_SAFE_INTEGER => true,
                (Some(u), _) => es6_text(u as f64).is_some_and(|t| t == u.to_string()),
                (_, Some(i)) => es6_text(i as f64).is_some_and(|t| t == i.to_string()),
                _ => n.as_f64().is_some_and(f64::is_finite),
            };
            if exact {
                Ok(())
            } else {
                Err(SigningError::schema(format!("number {n} is not exactly representable as an IEEE 754 double")))
            }
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_numbers(v, depth + 1)),
        Value::Object(map) => map.values().try_for_each(|v| check_numbers(v, depth + 1)),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_beyond_two_to_the_53_are_refused() {
        assert!(canonical_json(&json!(9_007_199_254_740_992u64)).is_ok());
        let err = canonical_json(&json!(9_007_199_254_740_993u64)).unwrap_err();
        assert_eq!(err.code(), "schema_violation");
        assert!(canonical_json(&json!(-9_007_199_254_740_993i64)).is_err());
        // The shortest text of a double is kept, so canonical output is stable.
        assert_eq!(canonical_json(&json!(-6_816_792_198_543_293_000i64)).unwrap(), b"-6816792198543293000");
        assert_eq!(canonical_json(&json!(1u64 << 60)).unwrap_err().code(), "schema_violation");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!([v]);
        }
        assert_eq!(canonical_json(&v).unwrap_err().code(), "schema_violation");
    }
}
