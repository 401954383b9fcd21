//! The accounts' SQL that is the same on both stores: the paged list and
//! the creation of an account (lookups by code are the backend's, see
//! [`SqlConn::accounts_by_code`]).

use offtake_ledger::{Account, LedgerError, LedgerId, NewAccount, Page};

use crate::conn::{Arg, SqlConn};
use crate::decode::{self, SqlRow, ACCOUNT_COLUMNS};

/// Accounts ordered by number after `after_no`, at most `limit`.
pub async fn list<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    after_no: i64,
    limit: u32,
) -> Result<Page<Account>, LedgerError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ledger_id = $1 AND account_no > $2 ORDER BY account_no LIMIT $3"
    );
    let rows =
        conn.fetch_all(&sql, &[Arg::Text(ledger.as_str()), Arg::Int(after_no), Arg::Int(i64::from(limit) + 1)]).await?;
    let accounts = rows.iter().map(decode::account).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(accounts, limit, |a| a.account_no.to_string()))
}

/// Creates each of `specs` in the caller's transaction (see
/// [`create`]); the first refusal stops it, and the caller rolls back.
pub async fn create_all<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    specs: &[NewAccount],
    now_us: i64,
) -> Result<Vec<Account>, LedgerError> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        out.push(create(conn, ledger, spec, now_us).await?);
    }
    Ok(out)
}

/// Creates the account, or returns the existing one if it is the same.
/// Runs inside the caller's write transaction; the ledger row (locked
/// first where the dialect says so) serialises account numbering.
pub async fn create<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    spec: &NewAccount,
    now_us: i64,
) -> Result<Account, LedgerError> {
    let unknown = || LedgerError::UnknownLedger(ledger.as_str().to_owned());
    if let Some(lock) = C::DIALECT.lock_account_numbering {
        conn.fetch_optional(lock, &[Arg::Text(ledger.as_str())]).await?.ok_or_else(unknown)?;
    }
    if let Some(existing) = conn.accounts_by_code(ledger, std::slice::from_ref(&spec.code)).await?.pop() {
        return if existing.matches(spec) {
            Ok(existing)
        } else {
            Err(LedgerError::AccountExists(spec.code.as_str().to_owned()))
        };
    }
    let sql = "UPDATE ledgers SET account_count = account_count + 1 WHERE ledger_id = $1 RETURNING account_count";
    let account_no =
        conn.fetch_optional(sql, &[Arg::Text(ledger.as_str())]).await?.ok_or_else(unknown)?.int("account_count")?;
    let sql = format!("INSERT INTO accounts (ledger_id, {ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    let args = [
        Arg::Text(ledger.as_str()),
        Arg::Int(account_no),
        Arg::Text(spec.code.as_str()),
        Arg::Text(spec.currency.code()),
        Arg::Text(spec.normal_side.as_str()),
        Arg::Text(spec.book.as_str()),
        Arg::Bool(spec.non_negative),
        Arg::Int(now_us),
    ];
    conn.execute(&sql, &args).await?;
    Ok(Account {
        account_no,
        code: spec.code.clone(),
        currency: spec.currency,
        normal_side: spec.normal_side,
        book: spec.book,
        non_negative: spec.non_negative,
        created_at_us: now_us,
    })
}
