//! `AmountMinor::parse` on any text in any currency: never panics; what it
//! accepts has at most the currency's decimals and formats back to an
//! amount that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offtake_ledger::{AmountMinor, Currency};

const CURRENCIES: [Currency; 6] =
    [Currency::USD, Currency::EUR, Currency::GBP, Currency::JPY, Currency::CHF, Currency::BHD];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let currency = CURRENCIES[pick as usize % CURRENCIES.len()];
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if let Ok(amount) = AmountMinor::parse(text, currency) {
        let formatted = amount.format(currency);
        let decimals = formatted.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(decimals as u32, currency.scale(), "{formatted:?} has the currency's scale");
        let again = AmountMinor::parse(&formatted, currency).expect("formatted amounts parse");
        assert_eq!(again, amount, "{text:?} -> {formatted:?} round-trips");
        // Accepted text is digits, one optional '.', one optional leading '-'.
        assert!(text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-'), "{text:?}");
    }
});
