//! Entry repository: SQL that reads `entries` and `legs`. Every query is one
//! round trip whatever the number of ids (arrays with `= ANY`, LATERAL).

use std::collections::HashMap;

use offtake_ledger::plan::{KeyUse, RefState};
use offtake_ledger::row::assemble;
use offtake_ledger::{BalanceTotals, ChainHead, EntryRecord, EntryType, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, LEG_COLUMNS};
use offtake_store_sql::SqlRow;
use sqlx::PgConnection;

use crate::error::db;

const ENTRY_COLUMNS: &str = "seq, entry_type, ref_seq, idempotency_key, request_hash, kind, \
                             to_char(effective_date, 'YYYY-MM-DD') AS effective_date, recorded_at_us, metadata, \
                             source_hash, prev_hash, hash";
/// Entries with `seq > after`, ascending, at most `limit`.
pub(crate) async fn range(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    after: i64,
    limit: u32,
) -> Result<Vec<EntryRecord>, LedgerError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    let rows = sqlx::query(&sql)
        .bind(ledger.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let entries = rows.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
    let Some(last) = entries.last().map(|e| e.seq) else { return Ok(Vec::new()) };
    let sql = format!(
        "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
         WHERE l.ledger_id = $1 AND l.seq > $2 AND l.seq <= $3 ORDER BY l.seq, l.leg_no"
    );
    let legs =
        sqlx::query(&sql).bind(ledger.as_str()).bind(after).bind(last).fetch_all(&mut *conn).await.map_err(db)?;
    let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
    assemble(entries, legs)
}

/// Entries with the given sequence numbers (ascending, missing ones skipped).
pub(crate) async fn by_seqs(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<Vec<EntryRecord>, LedgerError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = $1 AND seq = ANY($2) ORDER BY seq");
    let entries = sqlx::query(&sql).bind(ledger.as_str()).bind(seqs).fetch_all(&mut *conn).await.map_err(db)?;
    let entries = entries.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
    let sql = format!(
        "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
         WHERE l.ledger_id = $1 AND l.seq = ANY($2) ORDER BY l.seq, l.leg_no"
    );
    let legs = sqlx::query(&sql).bind(ledger.as_str()).bind(seqs).fetch_all(&mut *conn).await.map_err(db)?;
    let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
    assemble(entries, legs)
}

pub(crate) async fn seqs_of_account(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    account_no: i64,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<i64>, LedgerError> {
    sqlx::query_scalar(
        "SELECT DISTINCT seq FROM legs WHERE ledger_id = $1 AND account_no = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(ledger.as_str())
    .bind(account_no)
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)
}

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

pub(crate) async fn seq_at_time(conn: &mut PgConnection, ledger: &LedgerId, at_us: i64) -> Result<i64, LedgerError> {
    let seq: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM entries WHERE ledger_id = $1 AND recorded_at_us <= $2 \
         ORDER BY recorded_at_us DESC, seq DESC LIMIT 1",
    )
    .bind(ledger.as_str())
    .bind(at_us)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    Ok(seq.unwrap_or(0))
}

/// The chain head; `lock` takes the row lock that serialises appends.
/// `FOR NO KEY UPDATE`, not `FOR UPDATE`: writers of a ledger still queue on
/// it, but the foreign-key checks of rows referring to the ledger (records,
/// record heads: `FOR KEY SHARE`) do not. With `FOR UPDATE`, a record
/// writer holding its record head would wait here for an entry batch that
/// waits for that record head (attached records): a deadlock.
pub(crate) async fn head(conn: &mut PgConnection, ledger: &LedgerId, lock: bool) -> Result<ChainHead, LedgerError> {
    let sql = if lock {
        "SELECT head_seq, head_hash, head_recorded_at_us FROM ledgers WHERE ledger_id = $1 FOR NO KEY UPDATE"
    } else {
        "SELECT head_seq, head_hash, head_recorded_at_us FROM ledgers WHERE ledger_id = $1"
    };
    let row = sqlx::query(sql)
        .bind(ledger.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    decode::chain_head(&row)
}

pub(crate) async fn key_uses(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    keys: &[String],
) -> Result<HashMap<String, KeyUse>, LedgerError> {
    let rows = sqlx::query(
        "SELECT idempotency_key, seq, request_hash, hash, recorded_at_us FROM entries \
         WHERE ledger_id = $1 AND idempotency_key = ANY($2)",
    )
    .bind(ledger.as_str())
    .bind(keys)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    rows.iter().map(decode::key_use).collect()
}

pub(crate) async fn refs(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<HashMap<i64, RefState>, LedgerError> {
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out: HashMap<i64, RefState> =
        by_seqs(conn, ledger, seqs).await?.into_iter().map(|record| (record.seq, RefState::new(record))).collect();
    // One index probe per referenced entry. With statistics taken while no
    // entry had a `ref_seq` (a fresh ledger's funding), the plain
    // `ref_seq = ANY($2)` and a flattened LATERAL both became a walk over
    // every referencing entry of the ledger (3–4 ms per batch at 40,000
    // entries, measured with auto_explain). `OFFSET 0` keeps the planner
    // from pulling the subquery up, so it stays a parameterised index scan.
    let rows = sqlx::query(
        "SELECT r.seq AS ref_seq, e.entry_type FROM unnest($2::bigint[]) AS r(seq) \
         CROSS JOIN LATERAL (SELECT entry_type FROM entries WHERE ledger_id = $1 AND ref_seq = r.seq OFFSET 0) e",
    )
    .bind(ledger.as_str())
    .bind(seqs)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for row in rows {
        if let (Some(state), Some(ty)) = (out.get_mut(&row.int("ref_seq")?), EntryType::parse(&row.text("entry_type")?))
        {
            state.note_referrer(ty);
        }
    }
    Ok(out)
}
