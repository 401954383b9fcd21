//! Entry repository: SQL that reads `entries` and `legs`.

use std::collections::HashMap;

use offtake_ledger::plan::{KeyUse, RefState};
use offtake_ledger::row::assemble;
use offtake_ledger::{BalanceTotals, ChainHead, EntryRecord, EntryType, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, LEG_COLUMNS};
use offtake_store_sql::SqlRow;
use sqlx::SqliteConnection;

use crate::accounts::IN_LIST_CHUNK;
use crate::error::db;

const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, effective_date, \
                             recorded_at_us, metadata, source_hash, prev_hash, hash";
/// Entries with `after < seq <= until`, ascending, at most `limit`.
pub(crate) async fn range(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    after: i64,
    limit: u32,
) -> Result<Vec<EntryRecord>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = ? AND seq > ? ORDER BY seq LIMIT ?"
    ))
    .bind(ledger.as_str())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let entries = rows.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
    let Some(last) = entries.last().map(|e| e.seq) else { return Ok(Vec::new()) };
    let legs = sqlx::query(&format!(
        "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
         WHERE l.ledger_id = ? AND l.seq > ? AND l.seq <= ? ORDER BY l.seq, l.leg_no"
    ))
    .bind(ledger.as_str())
    .bind(after)
    .bind(last)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
    assemble(entries, legs)
}

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

/// Sequence numbers of entries touching an account, after `after_seq`.
pub(crate) async fn seqs_of_account(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    account_no: i64,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<i64>, LedgerError> {
    sqlx::query_scalar(
        "SELECT DISTINCT seq FROM legs WHERE ledger_id = ? AND account_no = ? AND seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(ledger.as_str())
    .bind(account_no)
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)
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

/// The last sequence number recorded at or before `at_us`.
pub(crate) async fn seq_at_time(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    at_us: i64,
) -> Result<i64, LedgerError> {
    let seq: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM entries WHERE ledger_id = ? AND recorded_at_us <= ? ORDER BY recorded_at_us DESC, seq DESC LIMIT 1",
    )
    .bind(ledger.as_str())
    .bind(at_us)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    Ok(seq.unwrap_or(0))
}

pub(crate) async fn head(conn: &mut SqliteConnection, ledger: &LedgerId) -> Result<ChainHead, LedgerError> {
    let row = sqlx::query("SELECT head_seq, head_hash, head_recorded_at_us FROM ledgers WHERE ledger_id = ?")
        .bind(ledger.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    decode::chain_head(&row)
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

/// Referenced entries with what has happened to them (posted, voided,
/// reversed).
pub(crate) async fn refs(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<HashMap<i64, RefState>, LedgerError> {
    let mut out: HashMap<i64, RefState> =
        by_seqs(conn, ledger, seqs).await?.into_iter().map(|record| (record.seq, RefState::new(record))).collect();
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
            if let (Some(state), Some(ty)) =
                (out.get_mut(&row.int("ref_seq")?), EntryType::parse(&row.text("entry_type")?))
            {
                state.note_referrer(ty);
            }
        }
    }
    Ok(out)
}
