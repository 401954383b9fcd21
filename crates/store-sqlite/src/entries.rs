//! Entry repository: SQL that reads `entries` and `legs`.

use std::collections::HashMap;

use offtake_ledger::plan::{KeyUse, RefState};
use offtake_ledger::row::{assemble, hash32, EntryRow, LegRow};
use offtake_ledger::{BalanceTotals, ChainHead, EntryRecord, EntryType, LedgerError, LedgerId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::accounts::IN_LIST_CHUNK;
use crate::error::db;

const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, effective_date, \
                             recorded_at_us, metadata, source_hash, prev_hash, hash";
const LEG_COLUMNS: &str = "l.seq, l.leg_no, l.account_no, a.code, a.currency, l.side, l.layer, l.amount_minor, \
                           l.posted_debit_after, l.posted_credit_after, l.pending_debit_after, l.pending_credit_after";

fn decode_entry(row: &SqliteRow) -> Result<EntryRow, LedgerError> {
    Ok(EntryRow {
        seq: row.try_get("seq").map_err(db)?,
        entry_type: row.try_get("entry_type").map_err(db)?,
        ref_seq: row.try_get("ref_seq").map_err(db)?,
        idempotency_key: row.try_get("idempotency_key").map_err(db)?,
        request_hash: row.try_get("request_hash").map_err(db)?,
        kind: row.try_get("kind").map_err(db)?,
        effective_date: row.try_get("effective_date").map_err(db)?,
        recorded_at_us: row.try_get("recorded_at_us").map_err(db)?,
        metadata: row.try_get("metadata").map_err(db)?,
        source_hash: row.try_get("source_hash").map_err(db)?,
        prev_hash: row.try_get("prev_hash").map_err(db)?,
        hash: row.try_get("hash").map_err(db)?,
    })
}

pub(crate) fn decode_totals(row: &SqliteRow) -> Result<BalanceTotals, LedgerError> {
    Ok(BalanceTotals {
        posted_debit_minor: row.try_get("posted_debit_after").map_err(db)?,
        posted_credit_minor: row.try_get("posted_credit_after").map_err(db)?,
        pending_debit_minor: row.try_get("pending_debit_after").map_err(db)?,
        pending_credit_minor: row.try_get("pending_credit_after").map_err(db)?,
    })
}

fn decode_leg(row: &SqliteRow) -> Result<LegRow, LedgerError> {
    Ok(LegRow {
        seq: row.try_get("seq").map_err(db)?,
        leg_no: row.try_get("leg_no").map_err(db)?,
        account_no: row.try_get("account_no").map_err(db)?,
        account_code: row.try_get("code").map_err(db)?,
        currency: row.try_get("currency").map_err(db)?,
        side: row.try_get("side").map_err(db)?,
        layer: row.try_get("layer").map_err(db)?,
        amount_minor: row.try_get("amount_minor").map_err(db)?,
        totals_after: decode_totals(row)?,
    })
}

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
    let entries = rows.iter().map(decode_entry).collect::<Result<Vec<_>, _>>()?;
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
    let legs = legs.iter().map(decode_leg).collect::<Result<Vec<_>, _>>()?;
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
        let entries = entries.iter().map(decode_entry).collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
             WHERE l.ledger_id = ? AND l.seq IN ({list}) ORDER BY l.seq, l.leg_no"
        );
        let mut q = sqlx::query(&sql).bind(ledger.as_str());
        for s in chunk {
            q = q.bind(*s);
        }
        let legs = q.fetch_all(&mut *conn).await.map_err(db)?;
        let legs = legs.iter().map(decode_leg).collect::<Result<Vec<_>, _>>()?;
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
        Some(r) => Ok((decode_totals(&r)?, r.try_get("seq").map_err(db)?)),
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
    let hash: Vec<u8> = row.try_get("head_hash").map_err(db)?;
    Ok(ChainHead {
        seq: row.try_get("head_seq").map_err(db)?,
        hash: hash32(&hash, "head_hash")?,
        recorded_at_us: row.try_get("head_recorded_at_us").map_err(db)?,
    })
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
            let request_hash: Vec<u8> = row.try_get("request_hash").map_err(db)?;
            let hash: Vec<u8> = row.try_get("hash").map_err(db)?;
            out.insert(
                row.try_get("idempotency_key").map_err(db)?,
                KeyUse {
                    seq: row.try_get("seq").map_err(db)?,
                    request_hash: hash32(&request_hash, "request_hash")?,
                    hash: hash32(&hash, "hash")?,
                    recorded_at_us: row.try_get("recorded_at_us").map_err(db)?,
                },
            );
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
    let mut out: HashMap<i64, RefState> = by_seqs(conn, ledger, seqs)
        .await?
        .into_iter()
        .map(|record| (record.seq, RefState { record, resolved_by: None, reversed: false }))
        .collect();
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
            let ref_seq: i64 = row.try_get("ref_seq").map_err(db)?;
            let ty: String = row.try_get("entry_type").map_err(db)?;
            if let Some(state) = out.get_mut(&ref_seq) {
                match EntryType::parse(&ty) {
                    Some(t @ (EntryType::Post | EntryType::Void)) => state.resolved_by = Some(t),
                    Some(EntryType::Reversal) => state.reversed = true,
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}
