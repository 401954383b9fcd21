//! What the routes share to build answers: the wire objects themselves are
//! in `offtake-wire` (one contract for the API, the dashboard and the CLI).

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
