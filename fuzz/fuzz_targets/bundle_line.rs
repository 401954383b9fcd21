//! The audit bundle's line parser (`parse_canonical_line`): never panics;
//! a line it accepts is exactly the canonical form of its value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_audit_export::format::{jcs, parse_canonical_line};
use offtake_audit_export::Loc;

fuzz_target!(|data: &[u8]| {
    let loc = Loc::file("entries.jsonl");
    if let Ok(value) = parse_canonical_line(data, &loc) {
        assert_eq!(jcs(&value).expect("jcs"), data, "accepted lines are canonical");
    }
});
