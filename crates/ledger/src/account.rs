//! Ledgers and accounts: identifiers that cannot hold invalid values, and
//! the account entity with its normal side, book and balance constraint.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::currency::{truncate_for_message, Currency};
use crate::error::LedgerError;

/// Longest ledger id. Ledger ids are tenant/program names, kept short because
/// every row carries one (it is the distribution column when sharded).
pub const LEDGER_ID_MAX_CHARS: usize = 64;
/// Longest account code.
pub const ACCOUNT_CODE_MAX_CHARS: usize = 128;

fn check_identifier(field: &'static str, text: &str, max: usize, extra: &[u8]) -> Result<(), LedgerError> {
    if text.is_empty() || text.len() > max {
        return Err(LedgerError::invalid(field, format!("must be 1 to {max} characters")));
    }
    let ok = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' || extra.contains(&b));
    if !ok {
        return Err(LedgerError::invalid(
            field,
            format!(
                "{:?} may only hold a-z, 0-9, '_', '-'{}",
                truncate_for_message(text),
                if extra.is_empty() { "" } else { ", ':', '.'" }
            ),
        ));
    }
    Ok(())
}

/// Identifies one ledger (a lending program or tenant). Entries never cross
/// ledgers; the hash chain is per ledger.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LedgerId(String);

impl LedgerId {
    pub fn new(text: &str) -> Result<Self, LedgerError> {
        check_identifier("ledger_id", text, LEDGER_ID_MAX_CHARS, &[])?;
        Ok(LedgerId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LedgerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LedgerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LedgerId::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Human-meaningful account code such as `facility:f1:principal`.
/// Lower-case ASCII, digits, `_ - : .`; at most 128 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountCode(String);

impl AccountCode {
    pub fn new(text: &str) -> Result<Self, LedgerError> {
        check_identifier("account_code", text, ACCOUNT_CODE_MAX_CHARS, b":.")?;
        Ok(AccountCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AccountCode::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Debit or credit: the side of a leg, and an account's normal side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    pub fn parse(text: &str) -> Result<Side, LedgerError> {
        match text {
            "debit" | "d" | "D" => Ok(Side::Debit),
            "credit" | "c" | "C" => Ok(Side::Credit),
            _ => Err(LedgerError::invalid("side", "must be \"debit\" or \"credit\"")),
        }
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
}

/// The servicer's books (`main`) and off-balance commitments (`memo`).
/// An entry's legs all live in one book, so each book balances on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Book {
    Main,
    Memo,
}

impl Book {
    pub fn as_str(self) -> &'static str {
        match self {
            Book::Main => "main",
            Book::Memo => "memo",
        }
    }

    pub fn parse(text: &str) -> Result<Book, LedgerError> {
        match text {
            "main" => Ok(Book::Main),
            "memo" => Ok(Book::Memo),
            _ => Err(LedgerError::invalid("book", "must be \"main\" or \"memo\"")),
        }
    }
}

/// What a caller asks for when creating an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub code: AccountCode,
    pub currency: Currency,
    pub normal_side: Side,
    pub book: Book,
    /// When true the account's available balance (on its normal side) may
    /// never go below zero; entries that would do so are refused.
    pub non_negative: bool,
}

/// A ledger account. Immutable once created: its currency, side, book and
/// constraint are part of what every past entry meant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Dense per-ledger number (1, 2, …); legs refer to accounts by it.
    pub account_no: i64,
    pub code: AccountCode,
    pub currency: Currency,
    pub normal_side: Side,
    pub book: Book,
    pub non_negative: bool,
    pub created_at_us: i64,
}

impl Account {
    /// True when `spec` describes this account (idempotent creation).
    pub fn matches(&self, spec: &NewAccount) -> bool {
        self.code == spec.code
            && self.currency == spec.currency
            && self.normal_side == spec.normal_side
            && self.book == spec.book
            && self.non_negative == spec.non_negative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_codes_are_restricted() {
        assert!(AccountCode::new("facility:f1:principal").is_ok());
        assert!(AccountCode::new("cash.lender-1_x").is_ok());
        for bad in ["", "Cash", "a b", "a;drop table", "é", &"a".repeat(129)] {
            assert_eq!(AccountCode::new(bad).unwrap_err().code(), "invalid_input", "{bad:?}");
        }
    }

    #[test]
    fn ledger_ids_are_restricted() {
        assert!(LedgerId::new("program-1").is_ok());
        assert!(LedgerId::new("a:b").is_err());
    }
}
