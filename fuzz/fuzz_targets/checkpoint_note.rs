//! Checkpoint notes from an untrusted server or witness: opening, listing
//! signature lines and counting witnesses never panic on any text, and a
//! note that opens keeps its size and root when re-joined from its parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_audit_export::note::{
    open_checkpoint, sign_checkpoint, signature_lines, with_signature_lines, witnessed_by, NoteSigner, NoteVerifier,
};

fuzz_target!(|data: &[u8]| {
    let signer = NoteSigner::new("offtake/fuzz", ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let ledger = NoteVerifier::parse(&signer.verifier_key()).unwrap();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = NoteVerifier::parse(text);
    let _ = witnessed_by(text, std::slice::from_ref(&ledger));
    if let Ok(lines) = signature_lines(text) {
        assert!(!lines.is_empty());
    }
    if let Ok(opened) = open_checkpoint(text, &ledger) {
        let lines = signature_lines(text).unwrap();
        let again = with_signature_lines(&opened.text, &lines).unwrap();
        let reopened = open_checkpoint(&again, &ledger).unwrap();
        assert_eq!((reopened.size, reopened.root), (opened.size, opened.root));
    }
    // A genuine note with the fuzz input as an extra line never opens with
    // another size.
    let note = sign_checkpoint("offtake/fuzz", 3, &[1; 32], &signer).unwrap();
    if let Ok(opened) = open_checkpoint(&format!("{note}{text}"), &ledger) {
        assert_eq!(opened.size, 3);
    }
});
