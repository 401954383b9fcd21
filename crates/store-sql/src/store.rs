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
pub use async_trait::async_trait as __async_trait;
#[doc(hidden)]
pub use offtake_ledger as __ledger;
#[doc(hidden)]
pub use serde_json as __serde_json;

/// Implements `LedgerStore`, `RecordStore` and `RecordChain` for the SQL
/// store `$ty` over the shared statements. The type provides two inherent
/// methods: `async fn conn(&self) -> Result<impl SqlConn, LedgerError>`
/// (a read connection from its pool) and `async fn sql_writer(&self) ->
/// impl Writer` (where its write transactions begin, its write lock taken
/// if it has one). The `ledger` block holds the `LedgerStore` methods the
/// store answers its own way: `backend`, `ensure_ledger`,
/// `create_account`, `commit_batch`, `balance`, `account_entries`,
/// `entries`.
#[macro_export]
macro_rules! sql_store {
    ($ty:ty, ledger { $($ledger:tt)* }) => {
        #[$crate::store::__async_trait]
        impl $crate::store::__ledger::LedgerStore for $ty {
            async fn accounts_by_code(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                codes: &[$crate::store::__ledger::AccountCode],
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::store::__ledger::Account>,
                $crate::store::__ledger::LedgerError,
            > {
                $crate::SqlConn::accounts_by_code(&mut self.conn().await?, ledger, codes).await
            }

            async fn list_accounts(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<
                $crate::store::__ledger::Page<$crate::store::__ledger::Account>,
                $crate::store::__ledger::LedgerError,
            > {
                let after = $crate::store::__ledger::store::parse_cursor(cursor)?;
                let limit = limit.clamp(1, $crate::store::__ledger::store::MAX_PAGE_LIMIT);
                $crate::accounts::list(&mut self.conn().await?, ledger, after, limit).await
            }

            async fn commit_batch_attached(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                commands: &[$crate::store::__ledger::Command],
                attachments: &[::std::vec::Vec<$crate::store::__ledger::commit::Attachment>],
            ) -> ::core::result::Result<
                ::std::vec::Vec<
                    ::core::result::Result<
                        $crate::store::__ledger::commit::Appended,
                        $crate::store::__ledger::LedgerError,
                    >,
                >,
                $crate::store::__ledger::LedgerError,
            > {
                let mut writer = self.sql_writer().await;
                let now_us = $crate::store::__ledger::date::now_us;
                use $crate::store::__ledger::write;
                write::commit_batch_attached(&mut writer, ledger, commands, attachments, now_us).await
            }

            async fn head(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
            ) -> ::core::result::Result<$crate::store::__ledger::ChainHead, $crate::store::__ledger::LedgerError> {
                $crate::entries::head(&mut self.conn().await?, ledger, false).await
            }

            $($ledger)*
        }

        #[$crate::store::__async_trait]
        impl $crate::store::__ledger::RecordStore for $ty {
            async fn get_record(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                kind: &str,
                id: &str,
            ) -> ::core::result::Result<
                ::core::option::Option<$crate::store::__ledger::StoredRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                $crate::records::get_record(&mut self.conn().await?, ledger, kind, id).await
            }

            async fn put_record(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                kind: &str,
                id: &str,
                expected_version: i64,
                body: &$crate::store::__serde_json::Value,
            ) -> ::core::result::Result<$crate::store::__ledger::StoredRecord, $crate::store::__ledger::LedgerError> {
                let mut writer = self.sql_writer().await;
                let now_us = $crate::store::__ledger::date::now_us;
                let version = $crate::store::__ledger::write::put_record(
                    &mut writer,
                    ledger,
                    (kind, id),
                    expected_version,
                    body,
                    now_us,
                )
                .await?;
                Ok(version.record)
            }

            async fn put_records(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                writes: &[$crate::store::__ledger::RecordWrite],
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::store::__ledger::StoredRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                let mut writer = self.sql_writer().await;
                let now_us = $crate::store::__ledger::date::now_us;
                let versions = $crate::store::__ledger::write::put_records(&mut writer, ledger, writes, now_us).await?;
                Ok(versions.into_iter().map(|v| v.record).collect())
            }

            async fn list_records(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                kind: &str,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<
                $crate::store::__ledger::Page<$crate::store::__ledger::StoredRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                $crate::records::list_records(&mut self.conn().await?, ledger, kind, cursor, limit).await
            }

            async fn list_by_index(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                kind: &str,
                index_name: &str,
                key: &str,
                cursor: ::core::option::Option<&str>,
                limit: u32,
            ) -> ::core::result::Result<
                $crate::store::__ledger::Page<$crate::store::__ledger::StoredRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                let index = (kind, index_name, key);
                $crate::records::list_by_index(&mut self.conn().await?, ledger, index, cursor, limit).await
            }

            async fn record_history(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                kind: &str,
                id: &str,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::store::__ledger::StoredRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                $crate::records::record_history(&mut self.conn().await?, ledger, kind, id).await
            }
        }

        #[$crate::store::__async_trait]
        impl $crate::store::__ledger::RecordChain for $ty {
            async fn record_head(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
            ) -> ::core::result::Result<$crate::store::__ledger::RecordHead, $crate::store::__ledger::LedgerError> {
                $crate::records::record_head(&mut self.conn().await?, ledger).await
            }

            async fn chained_records(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
                after_seq: i64,
                limit: u32,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::store::__ledger::ChainedRecord>,
                $crate::store::__ledger::LedgerError,
            > {
                $crate::records::chained_records(&mut self.conn().await?, ledger, after_seq, limit).await
            }

            async fn record_rows(
                &self,
                ledger: &$crate::store::__ledger::LedgerId,
            ) -> ::core::result::Result<i64, $crate::store::__ledger::LedgerError> {
                $crate::records::record_rows(&mut self.conn().await?, ledger).await
            }
        }
    };
}
