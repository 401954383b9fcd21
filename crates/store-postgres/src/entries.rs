//! PostgreSQL's entry columns and its totals of several accounts at a point
//! of history, for balances and the write path (the statements alike on
//! both stores are `offtake_store_sql::entries`; PostgreSQL's own list
//! statements are its `SqlConn`'s, in `conn`).

use std::collections::HashMap;

use offtake_ledger::{BalanceTotals, LedgerError, LedgerId};
use offtake_store_sql::decode;
use offtake_store_sql::SqlRow;
use sqlx::PgConnection;

use crate::error::db;

/// The entry columns `decode::entry_row` reads, the date as text.
pub(crate) const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
                                        to_char(effective_date, 'YYYY-MM-DD') AS effective_date, recorded_at_us, \
                                        metadata, source_hash, prev_hash, hash";

/// Totals of each account after its last leg with `seq <= at_seq`, with
/// that leg's sequence number, in one round trip (absent accounts have
/// never been touched).
pub(crate) async fn totals_at(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    account_nos: &[i64],
    at_seq: i64,
) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
    if account_nos.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT a.no AS account_no, l.seq, l.posted_debit_after, l.posted_credit_after, l.pending_debit_after, \
                l.pending_credit_after \
         FROM unnest($2::bigint[]) AS a(no) \
         CROSS JOIN LATERAL ( \
             SELECT seq, posted_debit_after, posted_credit_after, pending_debit_after, pending_credit_after \
             FROM legs WHERE ledger_id = $1 AND account_no = a.no AND seq <= $3 \
             ORDER BY seq DESC, leg_no DESC LIMIT 1) l",
    )
    .bind(ledger.as_str())
    .bind(account_nos)
    .bind(at_seq)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    rows.iter().map(|r| Ok((r.int("account_no")?, (decode::totals(r)?, r.int("seq")?)))).collect()
}
