//! What the routes share to build answers: the wire objects themselves are
//! in `offtake-wire` (one contract for the API, the dashboard and the CLI).

use crate::error::ApiError;
use crate::state::AppState;

/// Pages an in-memory list that is sorted by `key_of` (ascending): the
/// items after the cursor, at most `limit`, and the cursor of the next page.
pub fn page_of<T>(
    items: Vec<T>,
    q: &super::PageQuery,
    key_of: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), crate::error::ApiError> {
    let limit = q.limit()? as usize;
    let mut rest: Vec<T> = match q.cursor()? {
        Some(c) => items.into_iter().filter(|i| key_of(i).as_str() > c).collect(),
        _ => items,
    };
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(&key_of) } else { None };
    Ok((rest, next))
}

/// Where a list reads its candidates, in id order: every record of a kind,
/// or what one secondary index files under a key (see
/// `offtake_finance::model::index`).
pub enum Source<'a> {
    Kind(&'a str),
    Index { kind: &'a str, index: &'a str, key: String },
}

impl<'a> Source<'a> {
    /// What `index` files under one value (a party, a facility, a brand).
    pub fn index(kind: &'a str, index: &'a str, value: &str) -> Self {
        Source::Index { kind, index, key: offtake_ledger::record::index_key(&[value]) }
    }
}

/// What a list's filter answers for one candidate: the item if the page
/// keeps it. A boxed `Send` future, so that handlers stay `Send` (an async
/// closure over a borrowed item would not be, for every lifetime).
pub type Keep<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<T>, ApiError>> + Send + 'a>>;

/// A filter that needs no look-up, as a [`Keep`].
pub fn keep_if<'a, T: Send + 'a>(item: T, yes: bool) -> Keep<'a, T> {
    Box::pin(std::future::ready(Ok(yes.then_some(item))))
}

/// One page of a list read from the store in id order: store pages from
/// the cursor, each record decoded and offered to `keep`, until `limit`
/// are kept (the next cursor is then the last id read before the match
/// that did not fit) or the server's `list_scan_budget` of records were
/// read (the next cursor is the last id read), or the source ends (no next
/// cursor). A list whose filters select few of the records its source
/// yields thus answers a short (even empty) page with a `next_cursor`
/// rather than reading on: a page's cost stays bounded however large the
/// program grows, and the list ends only where `next_cursor` is absent.
pub async fn scan_page<'a, T: serde::de::DeserializeOwned + Send + 'a>(
    state: &AppState,
    source: &Source<'_>,
    q: &super::PageQuery,
    mut keep: impl FnMut(T) -> Keep<'a, T>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = q.limit()? as usize;
    let mut cursor = q.cursor()?.map(str::to_owned);
    let budget = state.config().list_scan_budget.max(1);
    let (mut kept, mut read) = (Vec::new(), 0usize);
    // The first read is the page and one more (a page of matches usually
    // fills from it); each further read doubles, up to the store's limit.
    let max_chunk = offtake_ledger::store::MAX_PAGE_LIMIT;
    let mut chunk = u32::try_from(limit + 1).unwrap_or(max_chunk).min(max_chunk);
    loop {
        let page = match source {
            Source::Kind(kind) => state.store().list_records(state.ledger(), kind, cursor.as_deref(), chunk).await?,
            Source::Index { kind, index, key } => {
                state.store().list_by_index(state.ledger(), kind, index, key, cursor.as_deref(), chunk).await?
            }
        };
        let last = page.items.len().saturating_sub(1);
        for (i, record) in page.items.iter().enumerate() {
            read += 1;
            if let Some(item) = keep(record.decode()?).await? {
                if kept.len() == limit {
                    // One more match than the page holds: there is a next page.
                    return Ok((kept, cursor));
                }
                kept.push(item);
            }
            cursor = Some(record.id.clone());
            if read >= budget && (i < last || page.next_cursor.is_some()) {
                return Ok((kept, cursor));
            }
        }
        if page.next_cursor.is_none() {
            return Ok((kept, None));
        }
        chunk = chunk.saturating_mul(2).min(max_chunk);
    }
}

/// The lender and maker of each facility a page of a list looks at, read
/// once per facility: invoices, advances and payments are visible to their
/// facility's parties. A facility that cannot be read has no parties
/// (empty ids, which no caller is).
#[derive(Default)]
pub struct FacilityParties(std::sync::Mutex<std::collections::HashMap<String, [String; 2]>>);

impl FacilityParties {
    /// The lender of `facility`.
    pub async fn lender(&self, state: &AppState, facility: &str) -> String {
        let [lender, _] = self.lender_and_maker(state, facility).await;
        lender
    }

    /// The lender and the maker of `facility`.
    pub async fn lender_and_maker(&self, state: &AppState, facility: &str) -> [String; 2] {
        if let Some(known) = self.0.lock().ok().and_then(|m| m.get(facility).cloned()) {
            return known;
        }
        let parties = state.finance().facility(facility).await.map(|f| [f.lender, f.maker]).unwrap_or_default();
        if let Ok(mut m) = self.0.lock() {
            m.insert(facility.to_owned(), parties.clone());
        }
        parties
    }
}
