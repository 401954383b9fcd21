//! The storage boundary. The core decides (see `plan`); a store persists,
//! locks and queries. Both store crates implement this trait and pass the
//! same conformance suite.

use async_trait::async_trait;

use crate::account::{Account, AccountCode, LedgerId, NewAccount};
use crate::balance::{AsOf, Balance};
use crate::commit::{Appended, Attachment};
use crate::entry::{ChainHead, Command, Committed, EntryRecord};
use crate::error::LedgerError;

/// Largest page any list query returns.
pub const MAX_PAGE_LIMIT: u32 = 1_000;

/// One page of a cursor-paginated list. The cursor is opaque to callers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says
    /// that there is more.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(cursor_of) } else { None };
        Page { items: rows, next_cursor }
    }
}

/// Parses a numeric cursor (`None` = from the start).
pub fn parse_cursor(cursor: Option<&str>) -> Result<i64, LedgerError> {
    match cursor {
        None | Some("") => Ok(0),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| LedgerError::invalid("cursor", "not a cursor returned by this API")),
    }
}

/// Clamps a requested page size to 1..=MAX_PAGE_LIMIT.
pub fn clamp_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(100).clamp(1, MAX_PAGE_LIMIT)
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Short name of the backend ("sqlite", "postgres").
    fn backend(&self) -> &'static str;

    /// Creates the ledger if it does not exist (idempotent).
    async fn ensure_ledger(&self, ledger: &LedgerId) -> Result<(), LedgerError>;

    /// Creates an account. Creating the same account again returns it;
    /// the same code with other attributes is `account_exists`.
    async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError>;

    /// Creates several accounts in one transaction, all or nothing: those
    /// that exist with the same attributes are returned as they are, one
    /// that exists with other attributes is `account_exists` and nothing
    /// is created. Answers in the order asked. What opening a facility
    /// needs (a dozen accounts): one durable commit instead of one each,
    /// and one turn of the ledger row's lock, which entry commits share.
    /// By default one `create_account` at a time (not atomic).
    async fn create_accounts(&self, ledger: &LedgerId, specs: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            out.push(self.create_account(ledger, spec).await?);
        }
        Ok(out)
    }

    /// Independent sets of accounts to create, each all or nothing as
    /// [`create_accounts`] and answered on its own, checked as if the sets
    /// before it had been created first: what a group committer sends, so
    /// that many callers' new accounts take one turn of the ledger row's
    /// lock. Fails as a whole only when nothing could be created (a
    /// storage error). By default one set at a time.
    ///
    /// [`create_accounts`]: LedgerStore::create_accounts
    async fn create_account_sets(
        &self,
        ledger: &LedgerId,
        sets: &[Vec<NewAccount>],
    ) -> Result<Vec<Result<Vec<Account>, LedgerError>>, LedgerError> {
        let mut out = Vec::with_capacity(sets.len());
        for set in sets {
            out.push(self.create_accounts(ledger, set).await);
        }
        Ok(out)
    }

    /// The accounts among `codes` that exist (in no particular order).
    async fn accounts_by_code(&self, ledger: &LedgerId, codes: &[AccountCode]) -> Result<Vec<Account>, LedgerError>;

    /// Accounts ordered by number, after the cursor.
    async fn list_accounts(
        &self,
        ledger: &LedgerId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Account>, LedgerError>;

    /// Commits a batch in one database transaction; see `plan` for the
    /// per-entry all-or-nothing semantics. The outer error means nothing
    /// of the batch was written.
    async fn commit_batch(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
    ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError>;

    /// Balance of an account now or at a point of history.
    async fn balance(&self, ledger: &LedgerId, account: &AccountCode, as_of: AsOf) -> Result<Balance, LedgerError>;

    /// Balances of several accounts at one position (all `as_of_seq`
    /// alike), in the order asked; an unknown account refuses them all, as
    /// [`LedgerStore::balance`] would. A reader that needs several (a
    /// settlement plan reads each target invoice and each part of a
    /// facility's debt) then pays for one snapshot, not one per account.
    /// This default reads them one by one at the position the first
    /// answered; the SQL stores read them in one snapshot.
    async fn balances(
        &self,
        ledger: &LedgerId,
        accounts: &[AccountCode],
        as_of: AsOf,
    ) -> Result<Vec<Balance>, LedgerError> {
        let mut out = Vec::with_capacity(accounts.len());
        let mut at = as_of;
        for code in accounts {
            let balance = self.balance(ledger, code, at).await?;
            at = AsOf::Seq(balance.as_of_seq);
            out.push(balance);
        }
        Ok(out)
    }

    /// Entries touching an account, oldest first, after the cursor.
    async fn account_entries(
        &self,
        ledger: &LedgerId,
        account: &AccountCode,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<EntryRecord>, LedgerError>;

    /// Entries with `seq > after_seq`, ascending, at most `limit`.
    async fn entries(&self, ledger: &LedgerId, after_seq: i64, limit: u32) -> Result<Vec<EntryRecord>, LedgerError>;

    /// The chain head.
    async fn head(&self, ledger: &LedgerId) -> Result<ChainHead, LedgerError>;

    /// [`LedgerStore::commit_batch`], and in the same transaction the
    /// records attached to the commands that append an entry (one slot per
    /// command, `attachments.len() == commands.len()`); each accepted
    /// command is answered with the entry it wrote. A command whose
    /// attached record moved past its expected version is answered
    /// `version_conflict` and writes nothing; the others commit. The outer
    /// error means nothing was written, entries nor records.
    async fn commit_batch_attached(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
        attachments: &[Vec<Attachment>],
    ) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError>;

    /// One command with its attachments; see
    /// [`LedgerStore::commit_batch_attached`].
    async fn commit_attached(
        &self,
        ledger: &LedgerId,
        command: Command,
        attachments: Vec<Attachment>,
    ) -> Result<Appended, LedgerError> {
        let mut outcomes = self
            .commit_batch_attached(ledger, std::slice::from_ref(&command), std::slice::from_ref(&attachments))
            .await?;
        outcomes.pop().unwrap_or(Err(LedgerError::Storage("empty outcome".into())))
    }

    /// Commits one command.
    async fn commit(&self, ledger: &LedgerId, command: Command) -> Result<Committed, LedgerError> {
        let mut outcomes = self.commit_batch(ledger, std::slice::from_ref(&command)).await?;
        assert_eq!(outcomes.len(), 1, "a batch of one has one outcome");
        outcomes.pop().unwrap_or(Err(LedgerError::Storage("empty outcome".into())))
    }

    /// One account by code, or `unknown_account`.
    async fn account(&self, ledger: &LedgerId, code: &AccountCode) -> Result<Account, LedgerError> {
        self.accounts_by_code(ledger, std::slice::from_ref(code))
            .await?
            .pop()
            .ok_or_else(|| LedgerError::UnknownAccount(code.as_str().to_owned()))
    }

    /// One entry by sequence number, or `unknown_entry`.
    async fn entry(&self, ledger: &LedgerId, seq: i64) -> Result<EntryRecord, LedgerError> {
        if seq < 1 {
            return Err(LedgerError::UnknownEntry(seq));
        }
        self.entries(ledger, seq - 1, 1).await?.pop().filter(|e| e.seq == seq).ok_or(LedgerError::UnknownEntry(seq))
    }
}
