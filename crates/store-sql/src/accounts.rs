//! The accounts' SQL that is the same on both stores: the paged list and
//! the creation of accounts, one or sets of them (lookups by code are the
//! backend's, see [`SqlConn::accounts_by_code`]).

use std::collections::HashMap;

use offtake_ledger::{Account, AccountCode, LedgerError, LedgerId, NewAccount, Page};

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

/// The outcome of each set of [`create_sets`], in order.
pub type AccountSets = Vec<Result<Vec<Account>, LedgerError>>;

/// Creates sets of accounts in the caller's transaction (the account group
/// commit, and `create_accounts` as a set of one): each set is all or
/// nothing on its own — an account that exists (or an earlier set
/// creates) with other attributes refuses its set with `account_exists`,
/// and the set creates nothing — and existing accounts are answered as
/// they are. Every code is read once, under the ledger row's lock.
pub async fn create_sets<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    sets: &[&[NewAccount]],
    now_us: i64,
) -> Result<AccountSets, LedgerError> {
    let unknown = || LedgerError::UnknownLedger(ledger.as_str().to_owned());
    let codes: Vec<AccountCode> = sets.iter().flat_map(|set| set.iter().map(|s| s.code.clone())).collect();
    if codes.is_empty() {
        return Ok(sets.iter().map(|_| Ok(Vec::new())).collect());
    }
    if let Some(lock) = C::DIALECT.lock_account_numbering {
        conn.fetch_optional(lock, &[Arg::Text(ledger.as_str())]).await?.ok_or_else(unknown)?;
    }
    let mut held: HashMap<AccountCode, Account> =
        conn.accounts_by_code(ledger, &codes).await?.into_iter().map(|a| (a.code.clone(), a)).collect();
    let mut out = Vec::with_capacity(sets.len());
    for set in sets {
        if let Some(clash) = clash(set, &held) {
            out.push(Err(LedgerError::AccountExists(clash.code.as_str().to_owned())));
            continue;
        }
        let mut accounts = Vec::with_capacity(set.len());
        for spec in set.iter() {
            let account = match held.get(&spec.code) {
                Some(existing) => existing.clone(),
                None => insert(conn, ledger, spec, now_us).await?,
            };
            held.insert(spec.code.clone(), account.clone());
            accounts.push(account);
        }
        out.push(Ok(accounts));
    }
    Ok(out)
}

/// The first spec of `set` that names a held account with other
/// attributes, or an account the set names twice differently.
fn clash<'a>(set: &'a [NewAccount], held: &HashMap<AccountCode, Account>) -> Option<&'a NewAccount> {
    set.iter().enumerate().find_map(|(i, spec)| {
        let held_differs = held.get(&spec.code).is_some_and(|a| !a.matches(spec));
        let named_twice = set[..i].iter().any(|e| e.code == spec.code && e != spec);
        (held_differs || named_twice).then_some(spec)
    })
}

/// Numbers and inserts a new account (the ledger row already locked where
/// the dialect says so).
async fn insert<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    spec: &NewAccount,
    now_us: i64,
) -> Result<Account, LedgerError> {
    let unknown = || LedgerError::UnknownLedger(ledger.as_str().to_owned());
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

/// Creates the account, or returns the existing one if it is the same.
/// Runs inside the caller's write transaction; the ledger row (locked
/// first where the dialect says so) serialises account numbering.
pub async fn create<C: SqlConn + ?Sized>(
    conn: &mut C,
    ledger: &LedgerId,
    spec: &NewAccount,
    now_us: i64,
) -> Result<Account, LedgerError> {
    let mut sets = create_sets(conn, ledger, &[std::slice::from_ref(spec)], now_us).await?;
    let mut created = sets.pop().unwrap_or_else(|| Ok(Vec::new()))?;
    created.pop().ok_or_else(|| LedgerError::Storage("an account creation went unanswered".into()))
}
