//! Dates and times at the edges, in one place: the one parser for
//! `YYYY-MM-DD` input, checked day arithmetic, RFC 3339 text, and the wall
//! clock (`now`, `now_us`, `today`, "the date given, else today").
//!
//! The clock is read here and nowhere else, so a caller that needs another
//! time source has one function to replace. Code that decides by time
//! takes the time as a parameter (finance takes `now`, the write path a
//! clock function); only the edges (API handlers, CLI, store timestamps)
//! read it.
//!
//! Every date a caller sends (API query strings and bodies, signed
//! documents, CLI flags) goes through [`parse_date`], which accepts only
//! the plain `YYYY-MM-DD` form with a year in [`MIN_YEAR`]..=[`MAX_YEAR`].
//! Without the bound, year 0 and negative years were stored on SQLite
//! (which a Beancount export then could not represent) and refused by
//! PostgreSQL with a 500. Day arithmetic on dates near the bound goes
//! through [`add_days`] (an error) or [`add_days_saturating`] (a horizon),
//! never through `Date + Duration`, which panics on overflow.

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

use crate::error::LedgerError;

/// Earliest year accepted from input. Nothing financed here predates it.
pub const MIN_YEAR: i32 = 1900;
/// Latest year accepted from input: four digits, as `YYYY-MM-DD` says.
pub const MAX_YEAR: i32 = 9999;

/// `YYYY-MM-DD`, the stored and printed form of dates.
pub const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// The longest text worth showing back in an error.
const ECHO_CHARS: usize = 32;

/// Parses a date from input: exactly `YYYY-MM-DD` (ASCII digits, no sign),
/// a real calendar day, the year within [`MIN_YEAR`]..=[`MAX_YEAR`].
///
/// Errors: `invalid_input` (field `date`) when the text is not such a date
/// (the code malformed dates always had), `date_out_of_range` when it is
/// one outside the years accepted.
pub fn parse_date(text: &str) -> Result<Date, LedgerError> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(not_a_date(text));
    }
    let year = digits(&b[0..4]);
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(LedgerError::DateOutOfRange(echo(text)));
    }
    let month = u8::try_from(digits(&b[5..7])).ok().and_then(|m| time::Month::try_from(m).ok());
    let day = u8::try_from(digits(&b[8..10])).ok();
    match (month, day) {
        (Some(m), Some(d)) => Date::from_calendar_date(year, m, d).map_err(|_| not_a_date(text)),
        _ => Err(not_a_date(text)),
    }
}

/// Checks a date that arrived already parsed (a serde field) against the
/// same bounds as [`parse_date`].
pub fn check_in_range(date: Date) -> Result<Date, LedgerError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(LedgerError::DateOutOfRange(format_date(date)))
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    // The format has no fallible component for the dates `time` represents.
    d.format(DATE_FORMAT).unwrap_or_else(|_| d.to_string())
}

/// A time source: microseconds since the Unix epoch ([`now_us`], or a
/// fixed or stepping clock in tests).
pub type Clock = fn() -> i64;

/// Now, UTC, from the wall clock.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Now as microseconds since the Unix epoch: the stores' `recorded_at_us`.
pub fn now_us() -> i64 {
    unix_us(now())
}

/// Today's date, UTC.
pub fn today() -> Date {
    now().date()
}

/// The date given (parsed by [`parse_date`]), else today: every optional
/// `as_of`/`date` input.
pub fn date_or_today(text: Option<&str>) -> Result<Date, LedgerError> {
    text.map_or_else(|| Ok(today()), parse_date)
}

/// Microseconds since the Unix epoch (saturating far outside the years a
/// ledger holds).
pub fn unix_us(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(if t.unix_timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// RFC 3339 text of an instant (`2026-01-05T09:30:00Z`).
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    // Fails only for years RFC 3339 cannot write; show those some way.
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// RFC 3339 text of a microsecond timestamp, whole seconds (empty when it
/// is no instant `time` represents).
pub fn rfc3339_us(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp(us.div_euclid(1_000_000)).map(format_rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 instant; `None` when the text is not one (each edge
/// answers that in its own way: 422, 400, a CLI message).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// `date + days`, or `date_out_of_range` when the result is not a date.
pub fn add_days(date: Date, days: i64) -> Result<Date, LedgerError> {
    days_duration(days)
        .and_then(|d| date.checked_add(d))
        .ok_or_else(|| LedgerError::DateOutOfRange(format!("{} + {days} days", format_date(date))))
}

/// `date + days`, clamped to the representable range: for horizons and
/// windows, where "after the last representable day" means "never".
pub fn add_days_saturating(date: Date, days: i64) -> Date {
    days_duration(days).map_or(if days < 0 { Date::MIN } else { Date::MAX }, |d| date.saturating_add(d))
}

/// `days` as a duration, `None` where `Duration::days` would panic.
fn days_duration(days: i64) -> Option<Duration> {
    days.checked_mul(86_400).map(Duration::seconds)
}

fn not_a_date(text: &str) -> LedgerError {
    LedgerError::InvalidInput { field: "date", reason: format!("{:?} is not YYYY-MM-DD", echo(text)) }
}

fn digits(b: &[u8]) -> i32 {
    b.iter().fold(0i32, |acc, c| acc * 10 + i32::from(c - b'0'))
}

fn echo(text: &str) -> String {
    if text.chars().count() > ECHO_CHARS {
        format!("{}…", text.chars().take(ECHO_CHARS).collect::<String>())
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn accepts_plain_dates_within_the_bounds() {
        assert_eq!(parse_date("2026-01-05").unwrap(), date!(2026 - 01 - 05));
        assert_eq!(parse_date("1900-01-01").unwrap(), date!(1900 - 01 - 01));
        assert_eq!(parse_date("9999-12-31").unwrap(), date!(9999 - 12 - 31));
        assert_eq!(parse_date("2024-02-29").unwrap(), date!(2024 - 02 - 29));
    }

    #[test]
    fn refuses_years_outside_the_bounds() {
        for text in ["0000-01-01", "1899-12-31", "0001-01-01"] {
            assert_eq!(parse_date(text).unwrap_err().code(), "date_out_of_range", "{text}");
        }
    }

    #[test]
    fn refuses_anything_but_yyyy_mm_dd() {
        for text in [
            "-001-01-01",
            "+2026-01-01",
            "-0001-01-01",
            "10000-01-01",
            "2026-1-05",
            "2026-01-5",
            "2026-02-30",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-01-05T00:00:00Z",
            " 2026-01-05",
            "2026/01/05",
            "２０２６-01-05",
            "",
            "yesterday",
        ] {
            assert_eq!(parse_date(text).unwrap_err().code(), "invalid_input", "{text:?}");
        }
    }

    #[test]
    fn errors_echo_little_of_the_input() {
        let long = "9".repeat(500);
        assert!(parse_date(&long).unwrap_err().to_string().len() < 100);
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(add_days(date!(2026 - 01 - 05), 30).unwrap(), date!(2026 - 02 - 04));
        assert_eq!(add_days(date!(9999 - 12 - 31), 1).unwrap_err().code(), "date_out_of_range");
        assert_eq!(add_days(date!(2026 - 01 - 05), i64::MAX).unwrap_err().code(), "date_out_of_range");
        assert_eq!(add_days_saturating(date!(9999 - 12 - 31), 365), Date::MAX);
        assert_eq!(add_days_saturating(date!(2026 - 01 - 05), i64::MAX), Date::MAX);
        assert_eq!(add_days_saturating(date!(2026 - 01 - 05), i64::MIN), Date::MIN);
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        let t = parse_rfc3339("2026-01-05T09:30:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-01-05T09:30:00Z");
        assert_eq!(rfc3339_us(unix_us(t) + 999_999), "2026-01-05T09:30:00Z");
        assert_eq!(parse_rfc3339("2026-01-05"), None);
        assert_eq!(date_or_today(Some("2026-01-05")).unwrap(), date!(2026 - 01 - 05));
        assert_eq!(date_or_today(Some("2026-13-05")).unwrap_err().code(), "invalid_input");
    }

    #[test]
    fn range_check_for_parsed_dates() {
        assert!(check_in_range(date!(2026 - 01 - 05)).is_ok());
        assert_eq!(check_in_range(Date::MIN).unwrap_err().code(), "date_out_of_range");
    }
}
