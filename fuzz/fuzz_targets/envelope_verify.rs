//! DSSE envelope verification against a key registry holding two keys.
//! Mode 0: the input is an envelope (JSON) — forged, truncated, anything.
//! Mode 1: the input is a payload, correctly signed by a registered key,
//! so the fuzzer gets past the signature into payload decoding, the JSON
//! Schemas and the canonical-form check.
//! Never panics; whatever verifies was signed by a registered key, over
//! exactly its canonical payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_fuzz::{block_on, registry_fixture, sign_payload, Fixture};
use offtake_signing::{DocType, Envelope, KeyRegistry};
use std::sync::OnceLock;

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

const TYPES: [DocType; 4] =
    [DocType::Commitment, DocType::AdvanceRequest, DocType::AdvanceApproval, DocType::PaymentNotice];

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(registry_fixture);
    let Some((&mode, rest)) = data.split_first() else { return };
    let envelope = if mode & 1 == 0 {
        let Ok(env) = serde_json::from_slice::<Envelope>(rest) else { return };
        env
    } else {
        let doc_type = TYPES[(mode as usize >> 1) % TYPES.len()];
        sign_payload(&fx.seeds[(mode as usize >> 3) % 2], doc_type.payload_type(), rest)
    };
    let registry = KeyRegistry::new(&fx.records, fx.ledger.clone());
    if let Ok(doc) = block_on(registry.verify_signatures(&envelope, fx.now)) {
        assert!(!doc.signers.is_empty());
        for s in &doc.signers {
            assert!(fx.key_ids.contains(&s.key_id), "only registered keys verify");
        }
        let payload = base64_decode(&envelope.payload);
        assert_eq!(offtake_signing::canonical_json(&doc.body).expect("canonical"), payload);
    }
});

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).expect("verified payload is base64")
}
