//! What the pages read from the API: the API's own wire objects
//! (`offtake-wire`), so the dashboard cannot drift from the contract. Only
//! presentation helpers live here.

pub use offtake_wire::{
    AccrualReport, Advance, AdvanceStatus, ApiKey, ApiKeyPage, Availability, BankQueueItem, BrandStatement,
    CashReconDay, ChainHead, ChainReport, Commitment, DebtPart, ExposureLine, Facility, Invoice, LenderStatement,
    MakerFacilityLine, MakerStatement, Money, Party, PartyStatement, Payment, PaymentSource,
    RemittanceStatement as Statement,
};
use time::Date;

pub use offtake_ledger::date::{format_date as day, rfc3339_us};

/// Parses `YYYY-MM-DD` (the one parser, [`offtake_ledger::date::parse_date`]).
pub fn parse_day(text: &str) -> Option<Date> {
    offtake_ledger::date::parse_date(text).ok()
}

/// What the waterfall of a payment paid on one part of the debt.
pub fn paid(p: &Payment, part: DebtPart) -> i64 {
    p.waterfall.as_ref().map_or(0, |w| w.paid_minor(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        let d = parse_day("2026-03-01").unwrap();
        assert_eq!(parse_day("01/03/2026"), None);
        assert_eq!(day(d), "2026-03-01");
    }
}
