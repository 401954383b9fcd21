//! `offtake_ledger::date::parse_date` on any text: never panics; what it
//! accepts is `YYYY-MM-DD` with a year in 1900–9999, formats back to the
//! same text, and day arithmetic on it never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_ledger::date::{add_days, add_days_saturating, format_date, parse_date};

fuzz_target!(|data: &[u8]| {
    let Some((days, rest)) = data.split_first_chunk::<8>() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Ok(date) = parse_date(text) else { return };
    assert!((1900..=9999).contains(&date.year()), "{text:?} -> {date}");
    assert_eq!(format_date(date), text, "accepted text is canonical YYYY-MM-DD");
    let days = i64::from_le_bytes(*days);
    let _ = add_days(date, days);
    let _ = add_days_saturating(date, days);
});
