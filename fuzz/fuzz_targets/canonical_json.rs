//! RFC 8785 canonical JSON (`offtake_signing::canonical_json`) on any JSON:
//! never panics; its output is JSON, and canonicalising it again gives the
//! same bytes (a document has one canonical form, so one signature).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(canonical) = offtake_signing::canonical_json(&value) else { return };
    let reparsed: serde_json::Value = serde_json::from_slice(&canonical).expect("canonical output is JSON");
    let again = offtake_signing::canonical_json(&reparsed).expect("canonical output canonicalises");
    assert_eq!(again, canonical, "canonical form is a fixed point");
});
