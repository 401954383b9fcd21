//! RFC 8785 (JCS) canonical JSON: the exact bytes that are hashed and signed.
//!
//! The serialisation is done by `serde_json_canonicalizer` (ES6 number
//! formatting through `ryu-js`, object members sorted by their UTF-16 code
//! units, minimal string escaping). It passes the RFC 8785 examples checked
//! in `tests/canonical.rs` (numbers such as `1e21`, `1E-7` → `1e-7`,
//! `-0` → `0`, and non-ASCII keys sorted by UTF-16, not by UTF-8 or by code
//! point).
//!
//! One rule is added on top: a number must be exactly representable as an
//! IEEE 754 double (I-JSON, RFC 7493), because JCS formats every number as a
//! double and an integer such as 9007199254740993 would otherwise be signed
//! as a different value than the one written. Our schemas carry amounts as
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

fn check_numbers(value: &Value, depth: usize) -> Result<(), SigningError> {
    if depth > MAX_DEPTH {
        return Err(SigningError::schema(format!("JSON nested deeper than {MAX_DEPTH} levels")));
    }
    match value {
        Value::Number(n) => {
            let exact = if let Some(u) = n.as_u64() {
                u <= MAX_SAFE_INTEGER
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= MAX_SAFE_INTEGER
            } else {
                n.as_f64().is_some_and(f64::is_finite)
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
