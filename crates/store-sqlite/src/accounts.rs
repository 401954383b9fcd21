//! Account repository: SQL for the `accounts` table.

use offtake_ledger::{Account, AccountCode, LedgerError, LedgerId, NewAccount, Page};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS};
use sqlx::SqliteConnection;

use crate::error::db;

/// SQLite allows 32,766 bound parameters; stay well below for IN lists.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// SQLite's name for the `UNIQUE (ledger_id, code)` index of `accounts`.
const ACCOUNTS_BY_CODE_INDEX: &str = "sqlite_autoindex_accounts_2";

pub(crate) async fn by_codes(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    codes: &[AccountCode],
) -> Result<Vec<Account>, LedgerError> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(IN_LIST_CHUNK) {
        // INDEXED BY: without statistics SQLite scans the whole ledger's
        // accounts by primary key for an IN list of codes.
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts INDEXED BY {ACCOUNTS_BY_CODE_INDEX} WHERE ledger_id = "
        ));
        qb.push_bind(ledger.as_str()).push(" AND code IN (");
        let mut sep = qb.separated(", ");
        for code in chunk {
            sep.push_bind(code.as_str());
        }
        qb.push(")");
        for row in qb.build().fetch_all(&mut *conn).await.map_err(db)? {
            out.push(decode::account(&row)?);
        }
    }
    Ok(out)
}

pub(crate) async fn list(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    after_no: i64,
    limit: u32,
) -> Result<Page<Account>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ledger_id = ? AND account_no > ? ORDER BY account_no LIMIT ?"
    ))
    .bind(ledger.as_str())
    .bind(after_no)
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let accounts = rows.iter().map(decode::account).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(accounts, limit, |a| a.account_no.to_string()))
}

/// Creates the account, or returns the existing one if it is the same.
/// Runs inside the caller's write transaction.
pub(crate) async fn create(
    conn: &mut SqliteConnection,
    ledger: &LedgerId,
    spec: &NewAccount,
    now_us: i64,
) -> Result<Account, LedgerError> {
    if let Some(existing) = by_codes(conn, ledger, std::slice::from_ref(&spec.code)).await?.pop() {
        return if existing.matches(spec) {
            Ok(existing)
        } else {
            Err(LedgerError::AccountExists(spec.code.as_str().to_owned()))
        };
    }
    let account_no: i64 = sqlx::query_scalar(
        "UPDATE ledgers SET account_count = account_count + 1 WHERE ledger_id = ? RETURNING account_count",
    )
    .bind(ledger.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?
    .ok_or_else(|| LedgerError::UnknownLedger(ledger.as_str().to_owned()))?;
    sqlx::query(&format!("INSERT INTO accounts (ledger_id, {ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(ledger.as_str())
        .bind(account_no)
        .bind(spec.code.as_str())
        .bind(spec.currency.code())
        .bind(spec.normal_side.as_str())
        .bind(spec.book.as_str())
        .bind(spec.non_negative)
        .bind(now_us)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
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
