//! Where a consumer is in a ledger's events.

use offtake_ledger::LedgerId;

use crate::error::EventError;

/// Everything up to version `seq` of the record chain has been read; of
/// version `seq` itself, everything (`after_n: None`) or its events
/// `0..=n` (`after_n: Some(n)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Position {
    pub seq: i64,
    pub after_n: Option<usize>,
}

impl Position {
    /// The beginning of the ledger.
    pub const START: Position = Position { seq: 0, after_n: None };

    /// The cursor text: `{seq}` or `{seq}.{n}`.
    pub fn encode(self) -> String {
        match self.after_n {
            None => self.seq.to_string(),
            Some(n) => format!("{}.{n}", self.seq),
        }
    }

    /// Reads a cursor (`{seq}`, `{seq}.{n}`) or an event id of `ledger`
    /// (`evt_{ledger}_{seq}_{n}`: resume after that event).
    pub fn parse(ledger: &LedgerId, text: &str) -> Result<Position, EventError> {
        let bad = || EventError::InvalidCursor(text.chars().take(100).collect());
        let num = |s: &str| s.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(bad);
        let idx = |s: &str| s.parse::<usize>().map_err(|_| bad());
        if let Some(rest) = text.strip_prefix("evt_") {
            let rest = rest.strip_prefix(ledger.as_str()).and_then(|r| r.strip_prefix('_')).ok_or_else(bad)?;
            let (seq, n) = rest.split_once('_').ok_or_else(bad)?;
            return Ok(Position { seq: num(seq)?, after_n: Some(idx(n)?) });
        }
        match text.split_once('.') {
            None => Ok(Position { seq: num(text)?, after_n: None }),
            Some((seq, n)) => Ok(Position { seq: num(seq)?, after_n: Some(idx(n)?) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_event_ids_round_trip() {
        let l = LedgerId::new("main").unwrap();
        for p in [Position::START, Position { seq: 42, after_n: None }, Position { seq: 7, after_n: Some(1) }] {
            assert_eq!(Position::parse(&l, &p.encode()).unwrap(), p);
        }
        assert_eq!(Position::parse(&l, "evt_main_42_1").unwrap(), Position { seq: 42, after_n: Some(1) });
        for bad in ["", "x", "-1", "4.x", "evt_other_4_0", "evt_main_4", "1.2.3"] {
            assert!(Position::parse(&l, bad).is_err(), "{bad}");
        }
    }
}
