//! Reading the ledger for an export: the period as a range of the chain,
//! entries a page at a time, accounts a page at a time. Only the public
//! `LedgerStore` API is used, so any store works.

use offtake_ledger::{Account, ChainHead, EntryRecord, LedgerId, LedgerStore};
use time::Date;

use crate::error::AuditError;

/// Entries fetched per store call (the store's own maximum).
pub const PAGE_ENTRIES: u32 = offtake_ledger::store::MAX_PAGE_LIMIT;

/// A period: dates (inclusive) on one of two clocks, optionally narrowed
/// to a range of entry numbers (inclusive).
///
/// * `from`/`to` select by **effective date** (the day the books say the
///   entry happened, which may be before it was recorded): the period is
///   the stretch of the chain from the first entry effective on or after
///   `from` through the last entry effective on or before `to`.
/// * `recorded_from`/`recorded_to` select by the ledger clock (UTC day
///   the entry was recorded).
///
/// An export is always a contiguous piece of the chain (that is what makes
/// a bundle verifiable), so a back-dated or post-dated entry recorded inside
/// the stretch is part of it; the manifest's `period.basis` names the clock.
/// Giving dates of both clocks is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodSpec {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub recorded_from: Option<Date>,
    pub recorded_to: Option<Date>,
    pub from_seq: Option<i64>,
    pub to_seq: Option<i64>,
}

impl PeriodSpec {
    /// What selected the period, as the manifest states it:
    /// `effective_date`, `recorded_at`, or `seq` (entry numbers only).
    pub fn basis(&self) -> &'static str {
        if self.from.is_some() || self.to.is_some() {
            "effective_date"
        } else if self.recorded_from.is_some() || self.recorded_to.is_some() {
            "recorded_at"
        } else {
            "seq"
        }
    }

    /// The dates of the chosen clock, for the manifest.
    pub fn dates(&self) -> (Option<Date>, Option<Date>) {
        match self.basis() {
            "effective_date" => (self.from, self.to),
            _ => (self.recorded_from, self.recorded_to),
        }
    }
}

/// The period resolved against the chain: entries `first..=last` (empty
/// when `first > last`), and the head the export is pinned to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    pub first: i64,
    pub last: i64,
    pub head: ChainHead,
}

impl SeqRange {
    pub fn len(&self) -> u64 {
        u64::try_from(self.last - self.first + 1).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn midnight_us(d: Date) -> i64 {
    let nanos = d.midnight().assume_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

/// One entry by sequence number.
pub async fn entry_at(store: &dyn LedgerStore, ledger: &LedgerId, seq: i64) -> Result<EntryRecord, AuditError> {
    Ok(store.entry(ledger, seq).await?)
}

/// First seq in `1..=head+1` whose entry was recorded at or after `t_us`
/// (recorded-at is monotonic along the chain, so this is a binary search).
async fn first_recorded_at_or_after(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    head: i64,
    t_us: i64,
) -> Result<i64, AuditError> {
    let (mut lo, mut hi) = (1i64, head + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry_at(store, ledger, mid).await?.recorded_at_us >= t_us {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// Resolves a date period to a range of the chain, pinned to the current
/// head: entries appended while the export runs are not part of it.
pub async fn resolve_period(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    period: PeriodSpec,
) -> Result<SeqRange, AuditError> {
    let effective = period.from.is_some() || period.to.is_some();
    if effective && (period.recorded_from.is_some() || period.recorded_to.is_some()) {
        return Err(AuditError::invalid(
            "period",
            "select by effective date (--from/--to) or by recorded date (--recorded-from/--recorded-to), not both",
        ));
    }
    let (from, to) = period.dates();
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(AuditError::invalid("period", format!("{f} is after {t}")));
        }
    }
    let head = store.head(ledger).await?;
    let (first, last) = if effective {
        effective_span(store, ledger, head.seq, from, to).await?
    } else {
        recorded_span(store, ledger, head.seq, from, to).await?
    };
    let first = first.max(period.from_seq.unwrap_or(1)).clamp(1, head.seq + 1);
    let last = last.min(period.to_seq.unwrap_or(i64::MAX)).min(head.seq);
    Ok(SeqRange { first, last: last.max(first - 1), head })
}

/// Entries recorded from `from` 00:00 UTC to the end of `to`: recorded-at
/// is monotonic along the chain, so two binary searches.
async fn recorded_span(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    head: i64,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<(i64, i64), AuditError> {
    let first = match from {
        None => 1,
        Some(d) => first_recorded_at_or_after(store, ledger, head, midnight_us(d)).await?,
    };
    let last = match to.and_then(Date::next_day) {
        None => head,
        Some(next) => first_recorded_at_or_after(store, ledger, head, midnight_us(next)).await? - 1,
    };
    Ok((first, last))
}

/// From the first to the last entry effective within `from..=to`: effective
/// dates are not monotonic along the chain (entries may be back-dated), so
/// this reads the chain once. `(head + 1, head)` when none is.
async fn effective_span(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    head: i64,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<(i64, i64), AuditError> {
    let mut span: Option<(i64, i64)> = None;
    for_each_entry(store, ledger, 1, head, |e| {
        let inside = from.is_none_or(|f| e.effective_date >= f) && to.is_none_or(|t| e.effective_date <= t);
        if inside {
            span = Some(span.map_or((e.seq, e.seq), |(first, _)| (first, e.seq)));
        }
        Ok(())
    })
    .await?;
    Ok(span.unwrap_or((head + 1, head)))
}

/// Calls `f` on every entry of `first..=last`, in order, one page in memory
/// at a time.
pub async fn for_each_entry<F>(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    first: i64,
    last: i64,
    mut f: F,
) -> Result<(), AuditError>
where
    F: FnMut(&EntryRecord) -> Result<(), AuditError>,
{
    let mut after = first - 1;
    while after < last {
        let want = u32::try_from((last - after).min(i64::from(PAGE_ENTRIES))).unwrap_or(PAGE_ENTRIES);
        let page = store.entries(ledger, after, want).await?;
        if page.is_empty() {
            return Err(AuditError::OutOfRange { what: "the period", needed: after + 1, head: after });
        }
        for e in &page {
            if e.seq != after + 1 {
                return Err(AuditError::Ledger(offtake_ledger::LedgerError::ChainBroken {
                    seq: e.seq,
                    reason: format!("store returned entry {} where {} was expected", e.seq, after + 1),
                }));
            }
            if e.seq > last {
                return Ok(());
            }
            f(e)?;
            after = e.seq;
        }
    }
    Ok(())
}

/// Every account whose code passes `keep`, in account-number order.
pub async fn accounts(
    store: &dyn LedgerStore,
    ledger: &LedgerId,
    keep: impl Fn(&Account) -> bool,
) -> Result<Vec<Account>, AuditError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_accounts(ledger, cursor.as_deref(), PAGE_ENTRIES).await?;
        out.extend(page.items.into_iter().filter(|a| keep(a)));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(out)
}
