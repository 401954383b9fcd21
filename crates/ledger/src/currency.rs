//! ISO 4217 currencies with their minor-unit scale.
//!
//! The table is deliberately small and explicit: a currency the ledger does
//! not know is refused (`unknown_currency`) rather than guessed, because a
//! wrong scale silently multiplies every amount by a power of ten.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::LedgerError;

/// A currency: ISO 4217 alphabetic code and the number of decimals of its
/// minor unit (USD 2, JPY 0, BHD 3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    scale: u8,
}

/// Every currency offtake accepts. Scales from ISO 4217 (list one, 2024).
const TABLE: &[Currency] = &[
    Currency::new("AUD", 2),
    Currency::new("BHD", 3),
    Currency::new("CAD", 2),
    Currency::new("CHF", 2),
    Currency::new("CNY", 2),
    Currency::new("DKK", 2),
    Currency::new("EUR", 2),
    Currency::new("GBP", 2),
    Currency::new("HKD", 2),
    Currency::new("INR", 2),
    Currency::new("JOD", 3),
    Currency::new("JPY", 0),
    Currency::new("KRW", 0),
    Currency::new("KWD", 3),
    Currency::new("MXN", 2),
    Currency::new("NOK", 2),
    Currency::new("NZD", 2),
    Currency::new("OMR", 3),
    Currency::new("SEK", 2),
    Currency::new("SGD", 2),
    Currency::new("TND", 3),
    Currency::new("USD", 2),
    Currency::new("VND", 0),
];

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

    /// Looks a currency up by its ISO code (upper case only: "usd" is refused
    /// so that stored codes have one spelling).
    pub fn from_code(code: &str) -> Result<Currency, LedgerError> {
        TABLE
            .iter()
            .copied()
            .find(|c| c.code == code)
            .ok_or_else(|| LedgerError::UnknownCurrency(truncate_for_message(code)))
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit.
    pub fn scale(self) -> u32 {
        u32::from(self.scale)
    }

    /// All currencies known to the ledger.
    pub fn all() -> &'static [Currency] {
        TABLE
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
    fn unknown_or_lower_case_codes_are_refused() {
        for code in ["usd", "XXX", "", "US", "USDD"] {
            let err = Currency::from_code(code).unwrap_err();
            assert_eq!(err.code(), "unknown_currency");
        }
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].code < w[1].code));
    }
}
