//! The entries' SQL that is the same on both stores: reads of `entries` and
//! `legs` by range, by account and by time, the chain head, and the
//! `BatchTx` of the write path ([`SqlBatch`]), whose list statements and
//! bulk inserts are the backend's ([`SqlConn`]).

use std::collections::HashMap;

use async_trait::async_trait;
use offtake_ledger::commit::BatchTx;
use offtake_ledger::plan::{KeyUse, RefState};
use offtake_ledger::row::assemble;
use offtake_ledger::store::{parse_cursor, MAX_PAGE_LIMIT};
use offtake_ledger::{
    Account, AccountCode, AsOf, Balance, BalanceTotals, ChainHead, EntryRecord, EntryType, LedgerError, LedgerId, Page,
};

use crate::conn::{Arg, SqlConn};
use crate::decode::{self, SqlRow, LEG_COLUMNS};

/// Entries with `seq > after`, ascending, at most `limit`, with their legs.
pub async fn range<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    after: i64,
    limit: u32,
) -> Result<Vec<EntryRecord>, LedgerError> {
    let sql = format!(
        "SELECT {} FROM entries WHERE ledger_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        C::DIALECT.entry_columns
    );
    let rows = conn.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Int(after), Arg::Int(i64::from(limit))]).await?;
    let entries = rows.iter().map(decode::entry_row).collect::<Result<Vec<_>, _>>()?;
    let Some(last) = entries.last().map(|e| e.seq) else { return Ok(Vec::new()) };
    let sql = format!(
        "SELECT {LEG_COLUMNS} FROM legs l JOIN accounts a ON a.ledger_id = l.ledger_id AND a.account_no = l.account_no \
         WHERE l.ledger_id = $1 AND l.seq > $2 AND l.seq <= $3 ORDER BY l.seq, l.leg_no"
    );
    let legs = conn.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Int(after), Arg::Int(last)]).await?;
    let legs = legs.iter().map(decode::leg_row).collect::<Result<Vec<_>, _>>()?;
    assemble(entries, legs)
}

/// Sequence numbers of the entries touching an account, after `after_seq`.
pub async fn seqs_of_account<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    account_no: i64,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<i64>, LedgerError> {
    let sql =
        "SELECT DISTINCT seq FROM legs WHERE ledger_id = $1 AND account_no = $2 AND seq > $3 ORDER BY seq LIMIT $4";
    let args = [Arg::Text(ledger.as_str()), Arg::Int(account_no), Arg::Int(after_seq), Arg::Int(i64::from(limit))];
    conn.fetch_all(sql, &args).await?.iter().map(|row| row.int("seq")).collect()
}

/// The last sequence number recorded at or before `at_us` (0: none).
pub async fn seq_at_time<C: SqlConn + ?Sized>(conn: &mut C, ledger: &LedgerId, at_us: i64) -> Result<i64, LedgerError> {
    let sql = "SELECT seq FROM entries WHERE ledger_id = $1 AND recorded_at_us <= $2 \
               ORDER BY recorded_at_us DESC, seq DESC LIMIT 1";
    match conn.fetch_optional(sql, &[Arg::Text(ledger.as_str()), Arg::Int(at_us)]).await? {
        Some(row) => row.int("seq"),
        None => Ok(0),
    }
}

/// The chain head; `lock` takes the lock that serialises appends (the
/// dialect's, see [`crate::Dialect::lock_ledger_head`]).
pub async fn head<C: SqlConn + ?Sized>(conn: &mut C, ledger: &LedgerId, lock: bool) -> Result<ChainHead, LedgerError> {
    let sql = format!(
        "SELECT head_seq, head_hash, head_recorded_at_us FROM ledgers WHERE ledger_id = $1{}",
        if lock { C::DIALECT.lock_ledger_head } else { "" }
    );
    let row = conn
        .fetch_optional(&sql, &[Arg::Text(ledger.as_str())])
        .await?
        .ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    decode::chain_head(&row)
}

/// One account by code, or `unknown_account`.
async fn account<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    code: &AccountCode,
) -> Result<Account, LedgerError> {
    let found = conn.accounts_by_code(ledger, std::slice::from_ref(code)).await?.pop();
    found.ok_or_else(|| LedgerError::UnknownAccount(code.as_str().to_owned()))
}

/// `LedgerStore::balances` (and `balance`, one account): several accounts
/// at one position, in the order asked, inside the caller's read snapshot
/// (the head and the legs must be one state). The accounts are
/// read in one statement, the head once.
pub async fn balances<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    codes: &[AccountCode],
    as_of: AsOf,
) -> Result<Vec<Balance>, LedgerError> {
    let found = conn.accounts_by_code(ledger, codes).await?;
    let head = head(conn, ledger, false).await?;
    let at_seq = match as_of {
        AsOf::Now => head.seq,
        AsOf::Seq(s) => s.clamp(0, head.seq),
        AsOf::RecordedAtUs(t) => seq_at_time(conn, ledger, t).await?,
    };
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        let account = found
            .iter()
            .find(|a| &a.code == code)
            .ok_or_else(|| LedgerError::UnknownAccount(code.as_str().to_owned()))?;
        let (totals, _) = conn.totals_at(ledger, account.account_no, at_seq).await?;
        out.push(Balance::new(account, at_seq, totals));
    }
    Ok(out)
}

/// `LedgerStore::account_entries`: the entries touching an account, oldest
/// first, after the cursor.
pub async fn account_entries<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    code: &AccountCode,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<EntryRecord>, LedgerError> {
    let after = parse_cursor(cursor)?;
    let limit = limit.clamp(1, MAX_PAGE_LIMIT);
    let account = account(conn, ledger, code).await?;
    let seqs = seqs_of_account(conn, ledger, account.account_no, after, limit + 1).await?;
    let records = conn.entries_by_seqs(ledger, &seqs).await?;
    Ok(Page::from_overfetch(records, limit, |e| e.seq.to_string()))
}

/// Referenced entries with what has happened to them since (posted,
/// voided, reversed).
pub async fn refs<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    seqs: &[i64],
) -> Result<HashMap<i64, RefState>, LedgerError> {
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out: HashMap<i64, RefState> = conn
        .entries_by_seqs(ledger, seqs)
        .await?
        .into_iter()
        .map(|record| (record.seq, RefState::new(record)))
        .collect();
    for (ref_seq, entry_type) in conn.referrers(ledger, seqs).await? {
        if let (Some(state), Some(ty)) = (out.get_mut(&ref_seq), EntryType::parse(&entry_type)) {
            state.note_referrer(ty);
        }
    }
    Ok(out)
}

/// The entry side of a write transaction on a backend's connection: the
/// `BatchTx` of `offtake_ledger::commit`, in SQL.
pub struct SqlBatch<C>(pub C);

#[async_trait]
impl<C: SqlConn> BatchTx for SqlBatch<C> {
    async fn lock_head(&mut self, ledger: &LedgerId) -> Result<ChainHead, LedgerError> {
        head(&mut self.0, ledger, true).await
    }

    async fn refs(&mut self, ledger: &LedgerId, seqs: &[i64]) -> Result<HashMap<i64, RefState>, LedgerError> {
        refs(&mut self.0, ledger, seqs).await
    }

    async fn accounts(&mut self, ledger: &LedgerId, codes: &[AccountCode]) -> Result<Vec<Account>, LedgerError> {
        self.0.accounts_by_code(ledger, codes).await
    }

    async fn current_totals(
        &mut self,
        ledger: &LedgerId,
        account_nos: &[i64],
    ) -> Result<HashMap<i64, (BalanceTotals, i64)>, LedgerError> {
        self.0.current_totals(ledger, account_nos).await
    }

    async fn key_uses(&mut self, ledger: &LedgerId, keys: &[String]) -> Result<HashMap<String, KeyUse>, LedgerError> {
        self.0.key_uses(ledger, keys).await
    }

    async fn insert_entries(&mut self, ledger: &LedgerId, records: &[EntryRecord]) -> Result<(), LedgerError> {
        self.0.insert_entries(ledger, records).await
    }

    async fn move_head(&mut self, ledger: &LedgerId, head: &ChainHead) -> Result<(), LedgerError> {
        let sql = "UPDATE ledgers SET head_seq = $1, head_hash = $2, head_recorded_at_us = $3 WHERE ledger_id = $4";
        let args = [
            Arg::Int(head.seq),
            Arg::Bytes(head.hash.as_slice()),
            Arg::Int(head.recorded_at_us),
            Arg::Text(ledger.as_str()),
        ];
        self.0.execute(sql, &args).await?;
        Ok(())
    }
}
