//! Account repository: SQL for the `accounts` table.

use offtake_ledger::{Account, AccountCode, LedgerError, LedgerId, NewAccount, Page};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS};
use sqlx::PgConnection;

use crate::error::db;

pub(crate) async fn by_codes(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    codes: &[AccountCode],
) -> Result<Vec<Account>, LedgerError> {
    let codes: Vec<&str> = codes.iter().map(AccountCode::as_str).collect();
    let rows = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ledger_id = $1 AND code = ANY($2)"))
        .bind(ledger.as_str())
        .bind(&codes)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    rows.iter().map(decode::account).collect()
}

pub(crate) async fn list(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    after_no: i64,
    limit: u32,
) -> Result<Page<Account>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ledger_id = $1 AND account_no > $2 \
             ORDER BY account_no LIMIT $3"
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
/// Runs inside the caller's transaction; the ledger row lock serialises
/// account numbering.
pub(crate) async fn create(
    conn: &mut PgConnection,
    ledger: &LedgerId,
    spec: &NewAccount,
    now_us: i64,
) -> Result<Account, LedgerError> {
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT account_count FROM ledgers WHERE ledger_id = $1 FOR NO KEY UPDATE")
            .bind(ledger.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if locked.is_none() {
        return Err(LedgerError::UnknownLedger(ledger.as_str().to_owned()));
    }
    if let Some(existing) = by_codes(conn, ledger, std::slice::from_ref(&spec.code)).await?.pop() {
        return if existing.matches(spec) {
            Ok(existing)
        } else {
            Err(LedgerError::AccountExists(spec.code.as_str().to_owned()))
        };
    }
    let account_no: i64 = sqlx::query_scalar(
        "UPDATE ledgers SET account_count = account_count + 1 WHERE ledger_id = $1 RETURNING account_count",
    )
    .bind(ledger.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO accounts (ledger_id, account_no, code, currency, normal_side, book, non_negative, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
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
