//! Account repository: PostgreSQL's own SQL for the `accounts` table (the
//! list and the creation are `offtake_store_sql::accounts`).

use offtake_ledger::{Account, AccountCode, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS};
use sqlx::PgConnection;

use crate::error::db;

/// The accounts among `codes` that exist, in one round trip (`= ANY`).
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
