//! ISO 4217 currencies with their minor-unit scale.
//!
//! The code list and the scales come from the `iso_currency` crate (the
//! whole ISO 4217 list one, kept up to date upstream) instead of a table of
//! our own. A code ISO 4217 gives no minor unit for (gold `XAU`, `XDR`,
//! the test and "no currency" codes) is refused (`unknown_currency`) rather
//! than guessed, because a wrong scale silently multiplies every amount by
//! a power of ten.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::LedgerError;

/// A currency: ISO 4217 alphabetic code and the number of decimals of its
/// minor unit (USD 2, JPY 0, BHD 3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    scale: u8,
}

/// Largest scale accepted (ISO's funds codes such as CLF use 4; amounts are
/// `i64` minor units, so every extra decimal costs range).
const MAX_SCALE: u16 = 4;

impl Currency {
    pub const USD: Currency = Currency::new("USD", 2);
    pub const EUR: Currency = Currency::new("EUR", 2);
    pub const GBP: Currency = Currency::new("GBP", 2);
    pub const JPY: Currency = Currency::new("JPY", 0);
    pub const CHF: Currency = Currency::new("CHF", 2);
    pub const BHD: Currency = Currency::new("BHD", 3);

    const fn new(code: &'static str, scale: u8) -> Self {
        Currency { code, scale }
    }

    fn of_iso(iso: iso_currency::Currency) -> Option<Currency> {
        let scale = iso.exponent().filter(|e| *e <= MAX_SCALE)?;
        Some(Currency::new(iso.code(), u8::try_from(scale).ok()?))
    }

    /// Looks a currency up by its ISO code (upper case only: "usd" is refused
    /// so that stored codes have one spelling).
    pub fn from_code(code: &str) -> Result<Currency, LedgerError> {
        let upper = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
        upper
            .then(|| iso_currency::Currency::from_code(code))
            .flatten()
            .and_then(Currency::of_iso)
            .ok_or_else(|| LedgerError::UnknownCurrency(truncate_for_message(code)))
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit.
    pub fn scale(self) -> u32 {
        u32::from(self.scale)
    }

    /// All currencies known to the ledger, by code.
    pub fn all() -> &'static [Currency] {
        static ALL: OnceLock<Vec<Currency>> = OnceLock::new();
        ALL.get_or_init(|| {
            use iso_currency::IntoEnumIterator;
            let mut all: Vec<Currency> = iso_currency::Currency::iter().filter_map(Currency::of_iso).collect();
            all.sort();
            all
        })
    }
}

/// Echoing untrusted input into an error message is fine, echoing a megabyte
/// of it is not.
pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX_ECHO_CHARS: usize = 64;
    if s.chars().count() <= MAX_ECHO_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_ECHO_CHARS).collect();
        out.push('…');
        out
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_currencies_have_iso_scales() {
        let expected = [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("CHF", 2), ("BHD", 3)];
        for (code, scale) in expected {
            assert_eq!(Currency::from_code(code).unwrap().scale(), scale, "{code}");
        }
    }

    #[test]
    fn the_whole_iso_list_is_known_with_its_scales() {
        for (code, scale) in [("BRL", 2), ("ISK", 0), ("KWD", 3), ("CLF", 4), ("XOF", 0), ("ZAR", 2)] {
            assert_eq!(Currency::from_code(code).unwrap().scale(), scale, "{code}");
        }
        assert!(Currency::all().len() > 150, "{} currencies", Currency::all().len());
        assert!(Currency::all().iter().all(|c| Currency::from_code(c.code()) == Ok(*c)));
        for constant in [Currency::USD, Currency::EUR, Currency::GBP, Currency::JPY, Currency::CHF, Currency::BHD] {
            assert_eq!(Currency::from_code(constant.code()), Ok(constant), "the constants agree with ISO");
        }
    }

    #[test]
    fn codes_without_a_minor_unit_are_refused() {
        for code in ["XAU", "XDR", "XTS"] {
            assert_eq!(Currency::from_code(code).unwrap_err().code(), "unknown_currency", "{code}");
        }
    }

    #[test]
    fn unknown_or_lower_case_codes_are_refused() {
        for code in ["usd", "XXX", "", "US", "USDD"] {
            let err = Currency::from_code(code).unwrap_err();
            assert_eq!(err.code(), "unknown_currency");
        }
    }

    #[test]
    fn the_list_is_sorted_and_unique() {
        assert!(Currency::all().windows(2).all(|w| w[0].code < w[1].code));
    }
}
