//! Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`), by the specification's
//! own Rust implementation.

use base64::Engine;

use crate::error::WebhookError;

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> Result<String, WebhookError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| offtake_ledger::LedgerError::Storage(format!("random: {e}")))?;
    Ok(format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key)))
}

/// The three headers of a delivery of `payload` as message `msg_id` at
/// `timestamp` (Unix seconds).
pub fn headers(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    payload: &[u8],
) -> Result<[(&'static str, String); 3], WebhookError> {
    let invalid = |e: standardwebhooks::WebhookError| WebhookError::Invalid { field: "secret", reason: e.to_string() };
    let signature =
        standardwebhooks::Webhook::new(secret).map_err(invalid)?.sign(msg_id, timestamp, payload).map_err(invalid)?;
    Ok([
        (standardwebhooks::HEADER_WEBHOOK_ID, msg_id.to_owned()),
        (standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string()),
        (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference implementations.
    #[test]
    fn signs_like_the_specification() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let payload = br#"{"test": 2432232314}"#;
        let h = headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload).unwrap();
        assert_eq!(h[2].1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().unwrap().starts_with("whsec_"));
        assert_ne!(new_secret().unwrap(), new_secret().unwrap());
    }
}
