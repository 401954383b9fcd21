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

/// Parses `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

/// `YYYY-MM-DD`.
pub fn day(d: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&format).unwrap_or_default()
}

/// RFC 3339 (UTC, seconds) of a microsecond timestamp.
pub fn rfc3339_us(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(us.div_euclid(1_000_000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
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
