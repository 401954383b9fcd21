//! [`sql_store!`]: the store traits' methods that both SQL stores answer
//! alike, written once.
//!
//! Once the statements are shared (`accounts`, `entries`, `records`), most
//! methods of `LedgerStore`, `RecordStore` and `RecordChain` are the same
//! on both stores to the letter: take a read connection or the writer, run
//! the shared function. Why a macro rather than a blanket impl: the traits
//! live in the ledger crate and the stores' types in theirs, so only the
//! store crates may implement one for the other (Rust's orphan rule), and
//! each store still answers some `LedgerStore` methods its own way (how it
//! begins a transaction, takes a snapshot, locks).

#[doc(hidden)]
pub mod __prelude {
    //! What the generated impls name. They live in a module of their own
    //! below the caller's, importing the caller's names (`use super::*`)
    //! and these, so signatures read as in a hand-written impl.
    pub use async_trait::async_trait;
    pub use offtake_ledger::commit::{Appended, Attachment};
    pub use offtake_ledger::date::now_us;
    pub use offtake_ledger::record_chain::{ChainedRecord, RecordChain, RecordHead};
    pub use offtake_ledger::store::{parse_cursor, MAX_PAGE_LIMIT};
    pub use offtake_ledger::write::{commit_batch_attached, put_record, put_record_sets, put_records};
    pub use offtake_ledger::{
        Account, AccountCode, AsOf, Balance, ChainHead, Command, EntryRecord, LedgerError, LedgerId, LedgerStore, Page,
        RecordStore, RecordWrite, StoredRecord,
    };
    pub use serde_json::Value;

    pub use crate::SqlConn;
}

/// Implements `LedgerStore`, `RecordStore` and `RecordChain` for the SQL
/// store `$ty` over the shared statements, `backend` naming it. The type
/// has a `pool` field, whose connections `$reads` (the store's `SqlConn`
/// wrapper) turns into read connections (`self.conn()`), and an inherent
/// `async fn sql_writer(&self) -> impl Writer` (where its write
/// transactions begin, its write lock taken if it has one). The `ledger`
/// block holds the `LedgerStore` methods the store answers its own way:
/// `ensure_ledger`, `create_account`, `commit_batch` and `balances` (how it
/// begins a transaction or takes a snapshot). The impls live in a child module of the
/// caller's (`sql_store_impls`), which sees the caller's names.
#[macro_export]
macro_rules! sql_store {
    ($ty:ty, backend: $backend:literal, reads: $reads:ident, ledger { $($ledger:tt)* }) => {
        mod sql_store_impls {
            use super::*;
            use $crate::store::__prelude::*;

            impl $ty {
                /// A connection of the pool for the shared statements (reads).
                pub(crate) async fn conn(&self) -> Result<impl SqlConn, LedgerError> {
                    Ok($reads(self.pool.acquire().await.map_err($crate::db)?))
                }
            }

            #[async_trait]
            impl LedgerStore for $ty {
                fn backend(&self) -> &'static str {
                    $backend
                }

                async fn accounts_by_code(
                    &self,
                    ledger: &LedgerId,
                    codes: &[AccountCode],
                ) -> Result<Vec<Account>, LedgerError> {
                    self.conn().await?.accounts_by_code(ledger, codes).await
                }

                async fn list_accounts(
                    &self,
                    ledger: &LedgerId,
                    cursor: Option<&str>,
                    limit: u32,
                ) -> Result<Page<Account>, LedgerError> {
                    let after = parse_cursor(cursor)?;
                    let limit = limit.clamp(1, MAX_PAGE_LIMIT);
                    $crate::accounts::list(&mut self.conn().await?, ledger, after, limit).await
                }

                async fn commit_batch_attached(
                    &self,
                    ledger: &LedgerId,
                    commands: &[Command],
                    attachments: &[Vec<Attachment>],
                ) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
                    let mut writer = self.sql_writer().await;
                    commit_batch_attached(&mut writer, ledger, commands, attachments, now_us).await
                }

                async fn head(&self, ledger: &LedgerId) -> Result<ChainHead, LedgerError> {
                    $crate::entries::head(&mut self.conn().await?, ledger, false).await
                }

                /// Two statements, no snapshot needed: the rows they read are
                /// never changed once written, and a new entry's seq is above
                /// every seq already read.
                async fn account_entries(
                    &self,
                    ledger: &LedgerId,
                    account: &AccountCode,
                    cursor: Option<&str>,
                    limit: u32,
                ) -> Result<Page<EntryRecord>, LedgerError> {
                    $crate::entries::account_entries(&mut self.conn().await?, ledger, account, cursor, limit).await
                }

                /// Two statements, no snapshot needed (see `account_entries`):
                /// the legs are read up to the last entry read.
                async fn entries(
                    &self,
                    ledger: &LedgerId,
                    after_seq: i64,
                    limit: u32,
                ) -> Result<Vec<EntryRecord>, LedgerError> {
                    let limit = limit.clamp(1, MAX_PAGE_LIMIT);
                    $crate::entries::range(&mut self.conn().await?, ledger, after_seq, limit).await
                }

                /// One account's balance: [`LedgerStore::balances`] of one.
                async fn balance(
                    &self,
                    ledger: &LedgerId,
                    account: &AccountCode,
                    as_of: AsOf,
                ) -> Result<Balance, LedgerError> {
                    let mut one = self.balances(ledger, ::std::slice::from_ref(account), as_of).await?;
                    one.pop().ok_or_else(|| LedgerError::UnknownAccount(account.as_str().to_owned()))
                }

                $($ledger)*
            }

            #[async_trait]
            impl RecordStore for $ty {
                async fn get_record(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    id: &str,
                ) -> Result<Option<StoredRecord>, LedgerError> {
                    $crate::records::get_record(&mut self.conn().await?, ledger, kind, id).await
                }

                async fn put_record(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    id: &str,
                    expected_version: i64,
                    body: &Value,
                ) -> Result<StoredRecord, LedgerError> {
                    let mut writer = self.sql_writer().await;
                    let version = put_record(&mut writer, ledger, (kind, id), expected_version, body, now_us).await?;
                    Ok(version.record)
                }

                async fn put_records(
                    &self,
                    ledger: &LedgerId,
                    writes: &[RecordWrite],
                ) -> Result<Vec<StoredRecord>, LedgerError> {
                    let mut writer = self.sql_writer().await;
                    let versions = put_records(&mut writer, ledger, writes, now_us).await?;
                    Ok(versions.into_iter().map(|v| v.record).collect())
                }

                async fn put_record_sets(
                    &self,
                    ledger: &LedgerId,
                    sets: &[Vec<RecordWrite>],
                ) -> Result<Vec<Result<Vec<StoredRecord>, LedgerError>>, LedgerError> {
                    let mut writer = self.sql_writer().await;
                    let sets: Vec<&[RecordWrite]> = sets.iter().map(Vec::as_slice).collect();
                    let outcomes = put_record_sets(&mut writer, ledger, &sets, now_us).await?;
                    Ok(outcomes
                        .into_iter()
                        .map(|set| set.map(|versions| versions.into_iter().map(|v| v.record).collect()))
                        .collect())
                }

                async fn list_records(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    cursor: Option<&str>,
                    limit: u32,
                ) -> Result<Page<StoredRecord>, LedgerError> {
                    $crate::records::list_records(&mut self.conn().await?, ledger, kind, cursor, limit).await
                }

                async fn list_by_index(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    index_name: &str,
                    key: &str,
                    cursor: Option<&str>,
                    limit: u32,
                ) -> Result<Page<StoredRecord>, LedgerError> {
                    let index = (kind, index_name, key);
                    $crate::records::list_by_index(&mut self.conn().await?, ledger, index, cursor, limit).await
                }

                async fn record_history(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    id: &str,
                ) -> Result<Vec<StoredRecord>, LedgerError> {
                    $crate::records::record_history(&mut self.conn().await?, ledger, kind, id).await
                }

                async fn get_records(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    ids: &[String],
                ) -> Result<Vec<StoredRecord>, LedgerError> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    $crate::records::get_records(&mut self.conn().await?, ledger, kind, ids).await
                }

                async fn record_version(
                    &self,
                    ledger: &LedgerId,
                    kind: &str,
                    id: &str,
                    version: i64,
                ) -> Result<Option<StoredRecord>, LedgerError> {
                    $crate::records::record_version(&mut self.conn().await?, ledger, (kind, id), version).await
                }
            }

            #[async_trait]
            impl RecordChain for $ty {
                async fn record_head(&self, ledger: &LedgerId) -> Result<RecordHead, LedgerError> {
                    $crate::records::record_head(&mut self.conn().await?, ledger).await
                }

                async fn chained_records(
                    &self,
                    ledger: &LedgerId,
                    after_seq: i64,
                    limit: u32,
                ) -> Result<Vec<ChainedRecord>, LedgerError> {
                    $crate::records::chained_records(&mut self.conn().await?, ledger, after_seq, limit).await
                }

                async fn record_rows(&self, ledger: &LedgerId) -> Result<i64, LedgerError> {
                    $crate::records::record_rows(&mut self.conn().await?, ledger).await
                }
            }
        }
    };
}
