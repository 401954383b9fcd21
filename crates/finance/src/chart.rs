//! The chart of accounts (docs/postings.md), with the currency in the code of
//! every party-level account so a lender or brand can work in several
//! currencies (an account holds one currency).

use offtake_ledger::{AccountCode, Book, Currency, LedgerError, NewAccount, Side};

fn ccy(c: Currency) -> String {
    c.code().to_ascii_lowercase()
}

fn spec(
    code: String,
    currency: Currency,
    normal_side: Side,
    book: Book,
    non_negative: bool,
) -> Result<NewAccount, LedgerError> {
    Ok(NewAccount { code: AccountCode::new(&code)?, currency, normal_side, book, non_negative })
}

/// Lender cash available to the program (D). Constrained: a lender cannot
/// advance money it has not put in.
pub fn lender_cash(lender: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("cash:lender:{lender}:{}", ccy(c)), c, Side::Debit, Book::Main, true)
}

/// Capital the lender has put into the program (C).
pub fn lender_capital(lender: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("lender:{lender}:capital:{}", ccy(c)), c, Side::Credit, Book::Main, false)
}

/// What the maker owes on a facility, by kind (D): principal, interest,
/// fees, penalty. Never below zero: the waterfall pays at most what is owed.
pub fn facility(facility: &str, part: FacilityPart, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("facility:{facility}:{}", part.as_str()), c, Side::Debit, Book::Main, true)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityPart {
    /// Waterfall order: penalties, fees, interest, principal.
    Penalty,
    Fees,
    Interest,
    Principal,
}

impl FacilityPart {
    pub const WATERFALL: [FacilityPart; 4] =
        [FacilityPart::Penalty, FacilityPart::Fees, FacilityPart::Interest, FacilityPart::Principal];

    pub fn as_str(self) -> &'static str {
        match self {
            FacilityPart::Penalty => "penalty",
            FacilityPart::Fees => "fees",
            FacilityPart::Interest => "interest",
            FacilityPart::Principal => "principal",
        }
    }
}

/// Lender income by kind (C): interest, fees, penalty.
pub fn income(lender: &str, part: FacilityPart, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("income:{lender}:{}:{}", part.as_str(), ccy(c)), c, Side::Credit, Book::Main, false)
}

/// An invoice owed by a brand (D): the collateral.
pub fn invoice(invoice: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("invoice:{}", invoice_code_part(invoice)), c, Side::Debit, Book::Main, true)
}

/// An invoice id as part of an account code. Ids of a brand's own
/// commitment namespace (`po-1~brand-b--t1`) carry `~`, which account
/// codes do not allow; `:` takes its place. No id holds a `:` (ids are
/// a-z, 0-9, `-`, `_`, `.`), so two invoices never share an account.
fn invoice_code_part(invoice: &str) -> String {
    invoice.replace('~', ":")
}

/// The maker's residual claim on collateral (C).
pub fn maker_equity(maker: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("maker:{maker}:collateral_equity:{}", ccy(c)), c, Side::Credit, Book::Main, false)
}

/// Remainders owed to the maker after the waterfall (C).
pub fn maker_payable(maker: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("maker:{maker}:payable:{}", ccy(c)), c, Side::Credit, Book::Main, true)
}

/// Cash received from brands for a facility, not yet distributed (D).
pub fn collection(facility: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("cash:collection:{facility}"), c, Side::Debit, Book::Main, true)
}

/// Overpayments owed back to a brand (C).
pub fn brand_credit(brand: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("brand:{brand}:credit:{}", ccy(c)), c, Side::Credit, Book::Main, true)
}

/// Cash received that could not be matched (D), and the matching
/// liability until it is resolved (C).
pub fn suspense_cash(c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("cash:suspense:{}", ccy(c)), c, Side::Debit, Book::Main, true)
}

pub fn suspense_unapplied(c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("suspense:unapplied:{}", ccy(c)), c, Side::Credit, Book::Main, true)
}

/// Memo book: what a brand has committed to take (D) and a maker to
/// deliver (C), undelivered.
pub fn memo_obligation(brand: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("memo:brand:{brand}:obligation:{}", ccy(c)), c, Side::Debit, Book::Memo, false)
}

pub fn memo_backlog(maker: &str, c: Currency) -> Result<NewAccount, LedgerError> {
    spec(format!("memo:maker:{maker}:backlog:{}", ccy(c)), c, Side::Credit, Book::Memo, false)
}
