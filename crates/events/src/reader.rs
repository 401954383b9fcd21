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
    let mut ctx = Context::default();
    while out.len() < limit && after_seq - from.seq < MAX_SCAN_VERSIONS {
        let page = store.chained_records(ledger, after_seq, PAGE_VERSIONS).await?;
        if page.is_empty() {
            break;
        }
        for v in &page {
            after_seq = v.seq;
            let events = if SOURCE_KINDS.contains(&v.record.kind.as_str()) {
                learn_facilities(store, ledger, &v.record.body, &mut ctx).await?;
                let previous = previous(store, ledger, &v.record, &mut ctx).await?;
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

/// Reads into `ctx` the parties of every facility `body` names (any field
/// called `facility`, at any depth) that it does not know yet: one read per
/// facility and call, however many facilities the ledger holds. A
/// facility's parties never change once it is opened.
async fn learn_facilities(
    store: &dyn Store,
    ledger: &LedgerId,
    body: &serde_json::Value,
    ctx: &mut Context,
) -> Result<(), EventError> {
    let mut named = Vec::new();
    named_facilities(body, &mut named);
    for id in named {
        if ctx.facilities.contains_key(id) {
            continue;
        }
        if let Some(r) = store.get_record(ledger, kind::FACILITY, id).await? {
            let f: Facility = r.decode()?;
            ctx.facilities
                .insert(f.id, FacilityParties { lender: f.lender, maker: f.maker, currency: f.terms.currency });
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::named_facilities;
    use serde_json::json;

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
