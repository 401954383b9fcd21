//! SQLite's entry columns and its balance read (the statements alike on
//! both stores are `offtake_store_sql::entries`; those SQLite writes its own
//! way for the write path are its `SqlConn`'s, in `conn`).

use offtake_ledger::{BalanceTotals, LedgerError, LedgerId};
use offtake_store_sql::decode;
use offtake_store_sql::SqlRow;
use sqlx::SqliteConnection;

use crate::error::db;

/// The entry columns `decode::entry_row` reads.
pub(crate) const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
                                        effective_date, recorded_at_us, metadata, source_hash, prev_hash, hash";

/// Totals of an account after the last leg with `seq <= at_seq`, and the
/// sequence number of that leg's entry (0 = never touched).
pub(crate) async fn totals_at(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    account_no: i64,
    at_seq: i64,
) -> Result<(BalanceTotals, i64), LedgerError> {
    let row = sqlx::query(
        // INDEXED BY: without statistics SQLite walks the primary key
        // backwards over every later leg of the ledger (O(ledger), not
        // O(log n)).
        "SELECT seq, posted_debit_after, posted_credit_after, pending_debit_after, pending_credit_after \
         FROM legs INDEXED BY legs_by_account \
         WHERE ledger_id = ? AND account_no = ? AND seq <= ? ORDER BY seq DESC, leg_no DESC LIMIT 1",
    )
    .bind(ledger.as_str())
    .bind(account_no)
    .bind(at_seq)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    match row {
        None => Ok((BalanceTotals::default(), 0)),
        Some(r) => Ok((decode::totals(&r)?, r.int("seq")?)),
    }
}
