//! Money and instants as they travel.

use offtake_ledger::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::WireError;

/// An amount: the decimal string at the currency's scale, the same in
/// exact minor units, and the currency. Never a JSON float.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount": "123.45", "amount_minor": 12345, "currency": "USD"}))]
pub struct Money {
    /// Decimal string with exactly the currency's decimals.
    #[schema(example = "123.45", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    /// The same amount in minor units (cents for USD).
    #[schema(example = 12345)]
    pub amount_minor: i64,
    /// ISO 4217 code.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Money {
            amount: AmountMinor::new(amount_minor).format(currency),
            amount_minor,
            currency: currency.code().to_owned(),
        }
    }

    /// Like [`Money::new`] for a currency the domain keeps as text.
    pub fn in_code(amount_minor: i64, currency: &str) -> Result<Self, WireError> {
        Ok(Money::new(amount_minor, Currency::from_code(currency)?))
    }

    /// `"1,234.50 USD"`-style text for tables: the amount with thousands
    /// separators and the currency.
    pub fn display(&self) -> String {
        let (sign, digits) = match self.amount.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", self.amount.as_str()),
        };
        let (int_part, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
        let mut grouped = String::new();
        for (i, c) in int_part.chars().enumerate() {
            if i > 0 && (int_part.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        match frac {
            Some(f) => format!("{sign}{grouped}.{f} {}", self.currency),
            None => format!("{sign}{grouped} {}", self.currency),
        }
    }
}

/// The instant of a microsecond timestamp. Timestamps come from the
/// server's clock, so they are always in range; one that is not (a
/// corrupt record) saturates to the representable bound rather than
/// failing a whole page.
pub fn instant_of_us(us: i64) -> OffsetDateTime {
    let nanos = i128::from(us) * 1_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if us < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        time::macros::datetime!(9999-12-31 23:59:59.999999 UTC)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_carries_both_forms() {
        let usd = Currency::from_code("USD").unwrap();
        let m = Money::new(12_345, usd);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"amount": "123.45", "amount_minor": 12345, "currency": "USD"})
        );
        assert_eq!(Money::new(-5, usd).amount, "-0.05");
        assert_eq!(Money::in_code(15, "JPY").unwrap().amount, "15");
        assert_eq!(Money::in_code(1, "XXX").unwrap_err().code(), "unknown_currency");
    }

    #[test]
    fn display_groups_thousands() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(Money::new(123_456_789, usd).display(), "1,234,567.89 USD");
        assert_eq!(Money::new(-100_000, usd).display(), "-1,000.00 USD");
        assert_eq!(Money::in_code(1500, "JPY").unwrap().display(), "1,500 JPY");
    }

    #[test]
    fn instants_are_rfc3339() {
        #[derive(Serialize)]
        struct T {
            #[serde(with = "time::serde::rfc3339")]
            at: OffsetDateTime,
        }
        let text = serde_json::to_string(&T { at: instant_of_us(1_767_571_200_000_000) }).unwrap();
        assert_eq!(text, r#"{"at":"2026-01-05T00:00:00Z"}"#);
    }
}
