//! What every statement format parses into: one account's balances and
//! entries, amounts in exact minor units of a checked currency.

use offtake_ledger::{AmountMinor, Currency, LedgerError};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::BankError;

/// Largest bank file accepted, in bytes. A day's statement for one
/// collection account is kilobytes; this leaves room for busy accounts
/// while keeping a hostile upload from costing memory.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// Longest free text kept per field (remittance lines, names).
pub const MAX_TEXT_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Camt053,
    Camt054,
    Mt940,
    Bai2,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Camt053 => "camt.053",
            Format::Camt054 => "camt.054",
            Format::Mt940 => "MT940",
            Format::Bai2 => "BAI2",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Credit,
    Debit,
}

/// A booked balance: signed minor units (negative = overdrawn) at the end
/// (closing) or start (opening) of `date`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub date: Date,
    pub amount_minor: i64,
}

/// Remittance information: structured creditor references (e.g. an
/// invoice number in `Strd/CdtrRefInf/Ref`) and free text lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remittance {
    pub structured: Vec<String>,
    pub unstructured: Vec<String>,
}

/// One booked movement (a batched credit is split into one line per
/// transaction, each with its own reference).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The bank's reference for this movement (AcctSvcrRef, MT940 bank
    /// reference, BAI2 bank reference): unique per account.
    pub reference: String,
    pub direction: Direction,
    pub amount_minor: i64,
    pub currency: Currency,
    pub booking_date: Date,
    pub value_date: Date,
    pub end_to_end_id: Option<String>,
    pub remittance: Remittance,
    pub counterparty_name: Option<String>,
    pub counterparty_account: Option<String>,
    /// A return (or reversal) of an earlier movement, with the bank's
    /// reason code when given.
    pub is_return: bool,
    pub return_reason: Option<String>,
}

impl Line {
    /// Amount with its sign: credits positive, debits negative.
    pub fn signed_minor(&self) -> i64 {
        match self.direction {
            Direction::Credit => self.amount_minor,
            Direction::Debit => -self.amount_minor,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub format: Format,
    /// The statement's (or notification's) id as the bank sent it.
    pub id: String,
    /// The account it is for: IBAN or the bank's account number.
    pub account: String,
    pub currency: Currency,
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub lines: Vec<Line>,
}

/// Refuses a file larger than [`MAX_FILE_BYTES`] before anything reads it.
pub fn check_size(bytes: &[u8]) -> Result<(), BankError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(BankError::TooLarge { size_bytes: bytes.len(), limit_bytes: MAX_FILE_BYTES });
    }
    Ok(())
}

/// A currency code, checked against the ledger's ISO 4217 table.
pub fn currency(code: &str, at: &str) -> Result<Currency, BankError> {
    Currency::from_code(code.trim()).map_err(|_| BankError::UnknownCurrency { code: clip(code, 16), at: at.to_owned() })
}

/// A decimal amount (`.` or, for MT940, `,` as separator) in minor units,
/// refusing more decimals than the currency has.
pub fn amount(text: &str, c: Currency, format: &'static str, at: &str) -> Result<i64, BankError> {
    let normal = text.trim().replace(',', ".");
    let normal = normal.strip_suffix('.').map(str::to_owned).unwrap_or(normal);
    match AmountMinor::parse(&normal, c) {
        Ok(a) if a.get() >= 0 => Ok(a.get()),
        Ok(_) => Err(BankError::malformed(format, at, "amount must not be negative")),
        Err(LedgerError::AmountScale { .. }) => Err(BankError::AmountScale {
            amount: clip(text, 32),
            currency: c.to_string(),
            scale: c.scale(),
            at: at.to_owned(),
        }),
        Err(_) => Err(BankError::malformed(format, at, format!("{:?} is not an amount", clip(text, 32)))),
    }
}

/// Text from a file, bounded so an echo or a stored field stays small.
pub fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// `YYYY-MM-DD` (ISO 20022 dates; a date-time keeps its date part).
pub fn iso_date(text: &str, format: &'static str, at: &str) -> Result<Date, BankError> {
    let day = text.trim().get(..10).unwrap_or("");
    offtake_ledger::row::parse_date(day)
        .map_err(|_| BankError::malformed(format, at, format!("{:?} is not a date", clip(text, 32))))
}

/// `YYMMDD` (MT940, BAI2): years 00-79 are 20xx, 80-99 are 19xx.
pub fn yymmdd(text: &str, format: &'static str, at: &str) -> Result<Date, BankError> {
    let bad = || BankError::malformed(format, at, format!("{:?} is not a YYMMDD date", clip(text, 12)));
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<u8>().map_err(|_| bad());
    let yy = i32::from(n(0..2)?);
    let year = if yy < 80 { 2000 + yy } else { 1900 + yy };
    let month = time::Month::try_from(n(2..4)?).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, n(4..6)?).map_err(|_| bad())
}
