//! Reading events: walk the record chain after a position, derive each
//! committed version's events, keep those the reader may see.
//!
//! Only committed versions are in the chain, and versions commit in chain
//! order (each write holds the record head's lock until it commits), so a
//! read sees a prefix of the chain: an event never appears before one with
//! a lower position, and never for a change that was rolled back.

use offtake_finance::service::EodDay;
use offtake_finance::{kind, Facility, Invoice};
use offtake_ledger::{LedgerId, Store, StoredRecord};
use offtake_wire as wire;

use crate::cursor::Position;
use crate::derive::{derive, Change, Context, FacilityParties, SOURCE_KINDS};
use crate::error::EventError;

/// Versions fetched per store read.
const PAGE_VERSIONS: u32 = 200;
/// Versions one call examines at most, however few events it finds (a
/// party's events may be sparse; the cursor still moves on).
const MAX_SCAN_VERSIONS: i64 = 5_000;

/// Which events a reader wants and may see.
pub struct Filter<'a> {
    /// Only these types (`None`: all).
    pub types: Option<&'a [String]>,
    /// Whether the reader may see an event with these parties.
    pub visible: &'a (dyn Fn(&[String]) -> bool + Send + Sync),
}

/// Events read and where the next read starts.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadResult {
    pub events: Vec<wire::Event>,
    pub next: Position,
}

/// Parses a `types` filter (comma-separated), refusing unknown types.
pub fn parse_types(text: &str) -> Result<Vec<String>, EventError> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if wire::EVENT_TYPES.contains(&t) {
                Ok(t.to_owned())
            } else {
                Err(EventError::UnknownType(t.chars().take(100).collect()))
            }
        })
        .collect()
}

/// Up to `limit` events after `from` that `filter` keeps, in order.
pub async fn read(
    store: &dyn Store,
    ledger: &LedgerId,
    from: Position,
    filter: &Filter<'_>,
    limit: usize,
) -> Result<ReadResult, EventError> {
    let mut out = Vec::new();
    let mut next = from;
    // Re-read a partly consumed version to reach its remaining events.
    let mut after_seq = if from.after_n.is_some() { from.seq - 1 } else { from.seq };
    let mut ctx: Option<Context> = None;
    while out.len() < limit && after_seq - from.seq < MAX_SCAN_VERSIONS {
        let page = store.chained_records(ledger, after_seq, PAGE_VERSIONS).await?;
        if page.is_empty() {
            break;
        }
        for v in &page {
            after_seq = v.seq;
            let events = if SOURCE_KINDS.contains(&v.record.kind.as_str()) {
                let ctx = match &mut ctx {
                    Some(c) => c,
                    None => ctx.insert(facilities(store, ledger).await?),
                };
                let previous = previous(store, ledger, &v.record, ctx).await?;
                derive(Change { ledger, seq: v.seq, record: &v.record, previous: previous.as_ref() }, ctx)?
            } else {
                Vec::new()
            };
            let skip = if v.seq == from.seq { from.after_n.map_or(usize::MAX, |n| n + 1) } else { 0 };
            let total = events.len();
            for (n, e) in events.into_iter().enumerate().skip(skip) {
                if keep(&e, filter) {
                    out.push(e);
                    if out.len() == limit {
                        let rest_empty = n + 1 == total;
                        return Ok(ReadResult {
                            events: out,
                            next: Position { seq: v.seq, after_n: (!rest_empty).then_some(n) },
                        });
                    }
                }
            }
            next = Position { seq: v.seq, after_n: None };
        }
    }
    Ok(ReadResult { events: out, next })
}

fn keep(e: &wire::Event, filter: &Filter<'_>) -> bool {
    filter.types.is_none_or(|t| t.iter().any(|t| t == e.payload.type_name())) && (filter.visible)(&e.parties)
}

/// Every facility's parties (facilities are few; their parties never change).
async fn facilities(store: &dyn Store, ledger: &LedgerId) -> Result<Context, EventError> {
    let mut ctx = Context::default();
    for r in store.all_records(ledger, kind::FACILITY).await? {
        let f: Facility = r.decode()?;
        ctx.facilities.insert(f.id, FacilityParties { lender: f.lender, maker: f.maker, currency: f.terms.currency });
    }
    Ok(ctx)
}

/// The version a change replaced: the same record's version before, or
/// for an end-of-day closing the facility's closing of the day before
/// (whose overdue invoices' brands it also looks up into `ctx`).
async fn previous(
    store: &dyn Store,
    ledger: &LedgerId,
    record: &StoredRecord,
    ctx: &mut Context,
) -> Result<Option<StoredRecord>, EventError> {
    if record.kind == offtake_finance::service::eod_kind::DAY {
        let day: EodDay = record.decode()?;
        for inv in &day.certificate.overdue_invoices {
            if !ctx.invoice_brands.contains_key(inv) {
                if let Some(r) = store.get_record(ledger, kind::INVOICE, inv).await? {
                    ctx.invoice_brands.insert(inv.clone(), r.decode::<Invoice>()?.brand);
                }
            }
        }
        let Some(before) = day.day.previous_day() else { return Ok(None) };
        return Ok(store.get_record(ledger, &record.kind, &format!("{}:{before}", day.facility)).await?);
    }
    if record.version <= 1 {
        return Ok(None);
    }
    let history = store.record_history(ledger, &record.kind, &record.id).await?;
    Ok(history.into_iter().find(|r| r.version == record.version - 1))
}
