//! Reading events: walk the record chain after a position, derive each
//! committed version's events, keep those the reader may see.
//!
//! Only committed versions are in the chain, and versions commit in chain
//! order (each write holds the record head's lock until it commits), so a
//! read sees a prefix of the chain: an event never appears before one with
//! a lower position, and never for a change that was rolled back.

use offtake_finance::service::EodDay;
use offtake_finance::{kind, Facility, Invoice};
use offtake_ledger::{ChainedRecord, LedgerId, Store, StoredRecord};
use offtake_wire as wire;

use crate::cursor::Position;
use crate::derive::{derive, Change, Context, FacilityParties, SOURCE_KINDS};
use crate::error::EventError;

/// Versions fetched per store read.
const PAGE_VERSIONS: u32 = 200;
/// Versions of the kinds that yield events whose facilities are looked up
/// together, in one read, at most; fewer when the page needs fewer events
/// (such a version yields at least one, as a rule), so that a short page
/// neither decodes facilities it never reaches nor makes a read per few
/// versions where most versions yield nothing (a large program's first
/// versions: measured, lookups of the next 10 versions made its first page
/// of 10 events twice as dear as lookups of 32).
const LOOKUP_SOURCES: usize = 32;
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
    let mut ctx = Context::default();
    while out.len() < limit && after_seq - from.seq < MAX_SCAN_VERSIONS {
        let page = store.chained_records(ledger, after_seq, PAGE_VERSIONS).await?;
        if page.is_empty() {
            break;
        }
        let mut looked_up = 0;
        for (i, v) in page.iter().enumerate() {
            if i == looked_up {
                looked_up = lookup_end(&page, i, limit.saturating_sub(out.len()).clamp(1, LOOKUP_SOURCES));
                learn(store, ledger, &page[i..looked_up], &mut ctx).await?;
            }
            after_seq = v.seq;
            let events = if SOURCE_KINDS.contains(&v.record.kind.as_str()) {
                let previous = previous(store, ledger, &v.record).await?;
                derive(Change { ledger, seq: v.seq, record: &v.record, previous: previous.as_ref() }, &ctx)?
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

/// Reads into `ctx` what deriving `versions`' events needs and `ctx` does
/// not know yet: the parties of every facility their bodies name (any
/// field called `facility`, at any depth) and the brand of every overdue
/// invoice their end-of-day closings list. One read per kind, however
/// many facilities the versions name (one read each made a page's cost
/// grow with how many facilities it happened to touch). A facility's
/// parties and an invoice's brand never change.
async fn learn(
    store: &dyn Store,
    ledger: &LedgerId,
    versions: &[ChainedRecord],
    ctx: &mut Context,
) -> Result<(), EventError> {
    let (mut facilities, mut invoices) = (Vec::new(), Vec::new());
    for v in versions.iter().map(|v| &v.record).filter(|r| SOURCE_KINDS.contains(&r.kind.as_str())) {
        named_facilities(&v.body, &mut facilities);
        if v.kind == offtake_finance::service::eod_kind::DAY {
            let day: EodDay = v.decode()?;
            invoices
                .extend(day.certificate.overdue_invoices.into_iter().filter(|i| !ctx.invoice_brands.contains_key(i)));
        }
    }
    let facilities: Vec<String> =
        facilities.into_iter().filter(|id| !ctx.facilities.contains_key(*id)).map(str::to_owned).collect();
    for r in store.get_records(ledger, kind::FACILITY, &facilities).await? {
        let f: Facility = r.decode()?;
        ctx.facilities.insert(f.id, FacilityParties { lender: f.lender, maker: f.maker, currency: f.terms.currency });
    }
    for r in store.get_records(ledger, kind::INVOICE, &invoices).await? {
        let inv: Invoice = r.decode()?;
        ctx.invoice_brands.insert(inv.id, inv.brand);
    }
    Ok(())
}

/// Where the look-up that starts at `page[start]` ends: after `sources`
/// versions of the kinds that yield events, or at the page's end.
fn lookup_end(page: &[ChainedRecord], start: usize, sources: usize) -> usize {
    let mut seen = 0;
    for (i, v) in page.iter().enumerate().skip(start) {
        if SOURCE_KINDS.contains(&v.record.kind.as_str()) {
            seen += 1;
            if seen == sources {
                return i + 1;
            }
        }
    }
    page.len()
}

/// The string values of every field called `facility` in `body`.
fn named_facilities<'b>(body: &'b serde_json::Value, out: &mut Vec<&'b str>) {
    match body {
        serde_json::Value::Object(fields) => {
            for (name, value) in fields {
                match value.as_str() {
                    Some(id) if name == "facility" => out.push(id),
                    _ => named_facilities(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| named_facilities(v, out)),
        _ => {}
    }
}

/// The version a change replaced: the same record's version before (one
/// row, however long its history), or for an end-of-day closing the
/// facility's closing of the day before.
async fn previous(
    store: &dyn Store,
    ledger: &LedgerId,
    record: &StoredRecord,
) -> Result<Option<StoredRecord>, EventError> {
    if record.kind == offtake_finance::service::eod_kind::DAY {
        let day: EodDay = record.decode()?;
        let Some(before) = day.day.previous_day() else { return Ok(None) };
        return Ok(store.get_record(ledger, &record.kind, &format!("{}:{before}", day.facility)).await?);
    }
    if record.version <= 1 {
        return Ok(None);
    }
    Ok(store.record_version(ledger, &record.kind, &record.id, record.version - 1).await?)
}

#[cfg(test)]
mod tests {
    use super::{lookup_end, named_facilities, SOURCE_KINDS};
    use offtake_ledger::{ChainedRecord, StoredRecord};
    use serde_json::json;

    fn version(kind: &str, seq: i64) -> ChainedRecord {
        let record =
            StoredRecord { kind: kind.into(), id: format!("r{seq}"), version: 1, body: json!({}), recorded_at_us: 0 };
        ChainedRecord { record, seq, prev_hash: [0; 32], hash: [0; 32] }
    }

    #[test]
    fn a_lookup_spans_the_versions_that_yield_events_a_page_still_needs() {
        let source = SOURCE_KINDS[0];
        let kinds = ["nonce", source, "nonce", "nonce", source, source, "nonce"];
        let page: Vec<ChainedRecord> = kinds.iter().zip(1..).map(|(k, seq)| version(k, seq)).collect();
        assert_eq!(lookup_end(&page, 0, 1), 2, "up to and with the first source version");
        assert_eq!(lookup_end(&page, 0, 2), 5);
        assert_eq!(lookup_end(&page, 2, 2), 6, "counted from where it starts");
        assert_eq!(lookup_end(&page, 0, 10), page.len(), "fewer on the page: to its end");
        assert_eq!(lookup_end(&page, 6, 1), page.len());
    }

    #[test]
    fn a_body_names_its_facilities_at_any_depth() {
        let notice = json!({
            "notice": { "external_ref": "n1", "facility": "f1", "brand": "b" },
            "state": { "state": "applied", "plan": { "lines": [{ "facility": "f2" }] } },
            "facility_count": 3,
        });
        let mut named = Vec::new();
        named_facilities(&notice, &mut named);
        named.sort_unstable();
        assert_eq!(named, vec!["f1", "f2"]);
        let numeric = json!({ "facility": 7, "id": "x" });
        let mut none = Vec::new();
        named_facilities(&numeric, &mut none);
        assert!(none.is_empty(), "only string values name a facility");
    }
}
