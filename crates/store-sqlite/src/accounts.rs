//! Account repository: SQLite's own SQL for the `accounts` table (the list
//! and the creation are `offtake_store_sql::accounts`).

use offtake_ledger::{Account, AccountCode, LedgerError, LedgerId};
use offtake_store_sql::decode::{self, ACCOUNT_COLUMNS};
use sqlx::SqliteConnection;

use crate::error::db;

/// SQLite allows 32,766 bound parameters; stay well below for IN lists.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// SQLite's name for the `UNIQUE (ledger_id, code)` index of `accounts`.
const ACCOUNTS_BY_CODE_INDEX: &str = "sqlite_autoindex_accounts_2";

/// The accounts among `codes` that exist, by chunks of `IN` lists.
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
