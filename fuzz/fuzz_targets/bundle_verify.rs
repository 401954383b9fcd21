//! The offline bundle verifier (`verify_bundle`) on a mutated bundle
//! directory. The input is a bundle packed as `name\0content\0…` (see
//! `offtake_fuzz::unpack`); the seed corpus holds a real, valid bundle, so
//! the fuzzer starts from files that verify and mutates them. Never panics,
//! never reads outside the directory; whatever verifies is a bundle whose
//! manifest signature checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_fuzz::{unpack, write_bundle};
use std::sync::OnceLock;

static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("offtake-fuzz-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("fuzz dir");
        d
    });
    let files = unpack(data);
    if files.is_empty() || !write_bundle(dir, &files) {
        return;
    }
    let _ = offtake_audit_export::verify_bundle(dir, None);
});
