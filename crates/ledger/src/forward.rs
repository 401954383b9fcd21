//! [`forward_store!`]: the forwarding of a wrapper store, written once.
//!
//! Two stores wrap other stores: [`crate::RoutingStore`] (each ledger on its
//! own database) and the committer's `GroupCommitStore` (one-entry commits
//! grouped into shared transactions). Both hand every read to a store chosen
//! by the call's ledger, unchanged; they differ only in how they write. Why
//! a macro rather than a blanket impl over a "delegate" trait: a blanket
//! impl covers a trait whole, and each wrapper has its own writes inside the
//! same traits (`LedgerStore::commit_batch`, `RecordStore::put_record`).

/// The attribute the generated impls carry (the traits are `async_trait`
/// traits); re-exported so that callers need no dependency of their own.
#[doc(hidden)]
pub use async_trait::async_trait;

/// Implements [`LedgerStore`](crate::LedgerStore),
/// [`RecordStore`](crate::RecordStore) and
/// [`RecordChain`](crate::RecordChain) for `$ty`, every read (and
/// `ensure_ledger`) forwarded unchanged to `self.$via(ledger)`, a method
/// answering the store of that ledger (anything that dereferences to a
/// [`Store`](crate::Store)). The caller writes the rest: `backend` and the
/// writes of `LedgerStore` in the `ledger` block, the writes of
/// `RecordStore` (`put_record`, `put_records`, and `insert_once` if it is
/// not to fall back on `put_record`) in the `records` block.
#[macro_export]
macro_rules! forward_store {
    ($ty:ty, via $via:ident, ledger { $($ledger:tt)* } records { $($records:tt)* }) => {
        #[$crate::forward::async_trait]
        impl $crate::LedgerStore for $ty {
            async fn ensure_ledger(
                &self,
                ledger: &$crate::LedgerId,
            ) -> ::core::result::Result<(), $crate::LedgerError> {
                self.$via(ledger).ensure_ledger(ledger).await
            }

            async fn accounts_by_code(
                &self,
                ledger: &$crate::LedgerId,
                codes: &[$crate::AccountCode],
            ) -> ::core::result::Result<::std::vec::Vec<$crate::Account>, $crate::LedgerError> {
                self.$via(ledger).accounts_by_code(ledger, codes).await
            }

            async fn list_accounts(
                &self,
                ledger: &$crate::LedgerId,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<$crate::Page<$crate::Account>, $crate::LedgerError> {
                self.$via(ledger).list_accounts(ledger, cursor, limit).await
            }

            async fn balance(
                &self,
                ledger: &$crate::LedgerId,
                account: &$crate::AccountCode,
                as_of: $crate::AsOf,
            ) -> ::core::result::Result<$crate::Balance, $crate::LedgerError> {
                self.$via(ledger).balance(ledger, account, as_of).await
            }

            async fn balances(
                &self,
                ledger: &$crate::LedgerId,
                accounts: &[$crate::AccountCode],
                as_of: $crate::AsOf,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::Balance>, $crate::LedgerError> {
                self.$via(ledger).balances(ledger, accounts, as_of).await
            }

            async fn account_entries(
                &self,
                ledger: &$crate::LedgerId,
                account: &$crate::AccountCode,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<$crate::Page<$crate::EntryRecord>, $crate::LedgerError> {
                self.$via(ledger).account_entries(ledger, account, cursor, limit).await
            }

            async fn entries(
                &self,
                ledger: &$crate::LedgerId,
                after_seq: i64,
                limit: u32,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::EntryRecord>, $crate::LedgerError> {
                self.$via(ledger).entries(ledger, after_seq, limit).await
            }

            async fn head(
                &self,
                ledger: &$crate::LedgerId,
            ) -> ::core::result::Result<$crate::ChainHead, $crate::LedgerError> {
                self.$via(ledger).head(ledger).await
            }

            $($ledger)*
        }

        #[$crate::forward::async_trait]
        impl $crate::RecordStore for $ty {
            async fn get_record(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).get_record(ledger, kind, id).await
            }

            async fn list_records(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<$crate::Page<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).list_records(ledger, kind, cursor, limit).await
            }

            async fn list_by_index(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                index_name: &str,
                key: &str,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<$crate::Page<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).list_by_index(ledger, kind, index_name, key, cursor, limit).await
            }

            async fn all_by_index(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                index_name: &str,
                key: &str,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).all_by_index(ledger, kind, index_name, key).await
            }

            async fn record_history(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                id: &str,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).record_history(ledger, kind, id).await
            }

            async fn get_records(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                ids: &[::std::string::String],
            ) -> ::core::result::Result<::std::vec::Vec<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).get_records(ledger, kind, ids).await
            }

            async fn record_version(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
                id: &str,
                version: i64,
            ) -> ::core::result::Result<::core::option::Option<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).record_version(ledger, kind, id, version).await
            }

            async fn all_records(
                &self,
                ledger: &$crate::LedgerId,
                kind: &str,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::StoredRecord>, $crate::LedgerError> {
                self.$via(ledger).all_records(ledger, kind).await
            }

            $($records)*
        }

        #[$crate::forward::async_trait]
        impl $crate::RecordChain for $ty {
            async fn record_head(
                &self,
                ledger: &$crate::LedgerId,
            ) -> ::core::result::Result<$crate::RecordHead, $crate::LedgerError> {
                self.$via(ledger).record_head(ledger).await
            }

            async fn chained_records(
                &self,
                ledger: &$crate::LedgerId,
                after_seq: i64,
                limit: u32,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::ChainedRecord>, $crate::LedgerError> {
                self.$via(ledger).chained_records(ledger, after_seq, limit).await
            }

            async fn record_rows(&self, ledger: &$crate::LedgerId) -> ::core::result::Result<i64, $crate::LedgerError> {
                self.$via(ledger).record_rows(ledger).await
            }
        }
    };
}
