//! Entry repository: SQLite's own SQL over `entries` and `legs` (the
//! statements alike on both stores are `offtake_store_sql::entries`): lists
//! of ids as chunked `IN` lists, index hints where SQLite, without
//! statistics, would scan.

use std::collections::HashMap;

use offtake_ledger::plan::KeyUse;
use offtake_ledger::row::assemble;
use offtake_ledger::{BalanceTotals, EntryRecord, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, LEG_COLUMNS};
use offtake_store_sql::SqlRow;
use sqlx::SqliteConnection;

use crate::accounts::IN_LIST_CHUNK;
use crate::error::db;

/// The entry columns `decode::entry_row` reads.
pub(crate) const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
                                        effective_date, recorded_at_us, metadata, source_hash, prev_hash, hash";

/// Entries with the given sequence numbers (ascending, missing ones skipped).
pub(crate) async fn by_seqs(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<Vec<EntryRecord>, LedgerError> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(IN_LIST_CHUNK) {
        let list = in_list(chunk.len());
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = ? AND seq IN ({list}) ORDER BY seq");
        let mut q = sqlx::query(&sql).bind(ledger.as_str());
        for s in chunk {
            q = q.bind(*s);
        }
        let entries = q.fetch_all(&mut *conn).await.map_err(db)?;
        let entries = entries.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
             WHERE l.ledger_id = ? AND l.seq IN ({list}) ORDER BY l.seq, l.leg_no"
        );
        let mut q = sqlx::query(&sql).bind(ledger.as_str());
        for s in chunk {
            q = q.bind(*s);
        }
        let legs = q.fetch_all(&mut *conn).await.map_err(db)?;
        let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
        out.extend(assemble(entries, legs)?);
    }
    Ok(out)
}

fn in_list(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

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

/// Idempotency keys of `keys` that are already used.
pub(crate) async fn key_uses(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    keys: &[String],
) -> Result<HashMap<String, KeyUse>, LedgerError> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(IN_LIST_CHUNK) {
        let sql = format!(
            // INDEXED BY: for long IN lists SQLite (without statistics)
            // scans the ledger's entries by primary key instead.
            "SELECT idempotency_key, seq, request_hash, hash, recorded_at_us \
             FROM entries INDEXED BY sqlite_autoindex_entries_2 \
             WHERE ledger_id = ? AND idempotency_key IN ({})",
            in_list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(ledger.as_str());
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for row in q.fetch_all(&mut *conn).await.map_err(db)? {
            let (key, used) = decode::key_use(&row)?;
            out.insert(key, used);
        }
    }
    Ok(out)
}

/// `(ref_seq, entry_type)` of the entries referring to `seqs`.
pub(crate) async fn referrers(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<Vec<(i64, String)>, LedgerError> {
    let mut out = Vec::new();
    for chunk in seqs.chunks(IN_LIST_CHUNK) {
        let sql = format!(
            "SELECT ref_seq, entry_type FROM entries INDEXED BY entries_ref \
             WHERE ledger_id = ? AND ref_seq IS NOT NULL AND ref_seq IN ({})",
            in_list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(ledger.as_str());
        for s in chunk {
            q = q.bind(*s);
        }
        for row in q.fetch_all(&mut *conn).await.map_err(db)? {
            out.push((row.int("ref_seq")?, row.text("entry_type")?));
        }
    }
    Ok(out)
}
