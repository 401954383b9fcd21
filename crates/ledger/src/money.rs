//! Money as signed 64-bit integers of minor units.
//!
//! Decimal strings cross the boundary ("1200000.00"); inside, amounts are
//! `i64` minor units with checked arithmetic. Input with more decimals than
//! the currency allows is refused, never rounded: rounding is a business
//! decision (see the finance crate's named strategies), not a parser's.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::currency::{truncate_for_message, Currency};
use crate::error::LedgerError;

/// Longest decimal string accepted. i64 minor units have at most 19 digits;
/// anything longer is refused before it reaches the decimal parser.
pub const MAX_AMOUNT_CHARS: usize = 32;

/// A count of minor units (cents for USD, yen for JPY, fils for BHD).
///
/// Arithmetic is checked: an overflow is an error (`amount_out_of_range`),
/// never a wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AmountMinor(i64);

impl AmountMinor {
    pub const ZERO: AmountMinor = AmountMinor(0);

    pub const fn new(minor: i64) -> Self {
        AmountMinor(minor)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: AmountMinor) -> Result<AmountMinor, LedgerError> {
        self.0.checked_add(other.0).map(AmountMinor).ok_or(LedgerError::AmountOutOfRange)
    }

    pub fn checked_sub(self, other: AmountMinor) -> Result<AmountMinor, LedgerError> {
        self.0.checked_sub(other.0).map(AmountMinor).ok_or(LedgerError::AmountOutOfRange)
    }

    /// Parses a decimal string in `currency`, refusing more decimals than the
    /// currency's scale. Accepted grammar: `-?[0-9]+(\.[0-9]+)?` — no
    /// exponent, no sign `+`, no separators, no whitespace.
    pub fn parse(text: &str, currency: Currency) -> Result<AmountMinor, LedgerError> {
        let bad = || LedgerError::InvalidAmount(truncate_for_message(text));
        if text.is_empty() || text.len() > MAX_AMOUNT_CHARS {
            return Err(bad());
        }
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
            return Err(bad());
        }
        let decimals = frac_part.map_or(0, str::len);
        if decimals > currency.scale() as usize {
            return Err(LedgerError::AmountScale {
                amount: truncate_for_message(text),
                currency,
                scale: currency.scale(),
            });
        }
        let value = Decimal::from_str(text).map_err(|_| LedgerError::AmountOutOfRange)?;
        Self::from_decimal_exact(value, currency)
    }

    /// Converts a decimal that is already at or below the currency's scale
    /// into minor units. Used by callers that have rounded with a named
    /// strategy; refuses (rather than rounds) any leftover fraction.
    pub fn from_decimal_exact(value: Decimal, currency: Currency) -> Result<AmountMinor, LedgerError> {
        let mut scaled = value;
        scaled.rescale(currency.scale());
        if scaled != value {
            return Err(LedgerError::AmountScale { amount: value.to_string(), currency, scale: currency.scale() });
        }
        let mantissa = scaled.mantissa();
        i64::try_from(mantissa).map(AmountMinor).map_err(|_| LedgerError::AmountOutOfRange)
    }

    /// The amount as a decimal in major units (exact).
    pub fn to_decimal(self, currency: Currency) -> Decimal {
        Decimal::new(self.0, currency.scale())
    }

    /// Formats with exactly the currency's decimals ("1200000.00", "15", "1.250").
    pub fn format(self, currency: Currency) -> String {
        self.to_decimal(currency).to_string()
    }
}

impl fmt::Display for AmountMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount together with its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    pub currency: Currency,
    pub amount_minor: AmountMinor,
}

impl Money {
    pub fn new(currency: Currency, amount_minor: AmountMinor) -> Self {
        Money { currency, amount_minor }
    }

    pub fn parse(text: &str, currency: Currency) -> Result<Money, LedgerError> {
        Ok(Money::new(currency, AmountMinor::parse(text, currency)?))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_minor.format(self.currency), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_within_scale() {
        assert_eq!(AmountMinor::parse("1200000.00", Currency::USD).unwrap().get(), 120_000_000);
        assert_eq!(AmountMinor::parse("10.1", Currency::USD).unwrap().get(), 1010);
        assert_eq!(AmountMinor::parse("15", Currency::JPY).unwrap().get(), 15);
        assert_eq!(AmountMinor::parse("1.250", Currency::BHD).unwrap().get(), 1250);
        assert_eq!(AmountMinor::parse("-3.5", Currency::EUR).unwrap().get(), -350);
    }

    #[test]
    fn over_scale_is_refused_not_rounded() {
        for (text, currency) in [("10.001", Currency::USD), ("1.5", Currency::JPY), ("0.0001", Currency::BHD)] {
            let err = AmountMinor::parse(text, currency).unwrap_err();
            assert_eq!(err.code(), "amount_scale", "{text} {currency}");
        }
    }

    #[test]
    fn malformed_is_refused() {
        for text in ["", "1e5", "+1", "1,000.00", " 1", "1.", ".5", "NaN", "Infinity", "--1", "0x10", "١٢"] {
            let err = AmountMinor::parse(text, Currency::USD).unwrap_err();
            assert_eq!(err.code(), "invalid_amount", "{text:?}");
        }
    }

    #[test]
    fn huge_is_refused() {
        let err = AmountMinor::parse("92233720368547758.08", Currency::USD).unwrap_err();
        assert_eq!(err.code(), "amount_out_of_range");
        let err = AmountMinor::parse(&"9".repeat(40), Currency::USD).unwrap_err();
        assert_eq!(err.code(), "invalid_amount");
        assert_eq!(AmountMinor::parse("92233720368547758.07", Currency::USD).unwrap().get(), i64::MAX);
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        let max = AmountMinor::new(i64::MAX);
        assert_eq!(max.checked_add(AmountMinor::new(1)).unwrap_err().code(), "amount_out_of_range");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in any::<i64>(), idx in 0usize..Currency::all().len()) {
            let currency = Currency::all()[idx];
            let amount = AmountMinor::new(minor);
            prop_assert_eq!(AmountMinor::parse(&amount.format(currency), currency).unwrap(), amount);
        }
    }
}
