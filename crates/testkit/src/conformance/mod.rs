//! The conformance suite: every rule of the ledger, written once as async
//! test cases over `dyn LedgerStore`, and a macro that instantiates them as
//! `#[tokio::test]`s for a store. Each store crate runs it from its tests.
//!
//! The store crates build their fixtures (a store and an [`Insider`]) in
//! their own tests; the cases and the model live here, once.

pub mod cases;
pub mod fixture;
pub mod properties;

pub use fixture::{Fixture, Insider};

/// Instantiates every conformance case for a store. `$setup` is an async
/// function returning `Option<Fixture>` (`None` skips, e.g. when no
/// PostgreSQL server answers outside CI).
#[macro_export]
macro_rules! conformance_suite {
    ($setup:path) => {
        $crate::conformance_suite!(@cases $setup;
            balanced_entry_moves_balances,
            unbalanced_entry_is_refused_and_writes_nothing,
            mixed_currency_imbalance_is_refused,
            zero_and_negative_legs_are_refused,
            unknown_account_is_refused,
            leg_currency_must_match_account,
            legs_may_not_mix_books,
            single_leg_entry_is_refused,
            constrained_account_cannot_be_overdrawn,
            pending_entry_reserves_funds,
            posting_a_hold_for_less_releases_the_rest,
            posting_more_than_held_is_refused,
            double_post_double_void_and_post_after_void_are_refused,
            idempotent_replay_returns_the_first_result,
            reused_key_with_other_payload_is_a_conflict,
            batch_is_all_or_nothing_per_entry,
            reversal_restores_balances_once,
            concurrent_transfers_never_overdraw,
            concurrent_holds_never_exceed_availability,
            concurrent_batches_in_opposite_orders_do_not_deadlock,
            entries_and_legs_are_append_only_in_the_database,
            verify_chain_detects_a_tampered_leg,
            verify_chain_detects_a_tampered_entry_field,
            balance_as_of_sequence_and_time,
            account_entries_paginate_by_cursor,
            accounts_are_created_idempotently,
            accounts_are_created_as_a_set_all_or_nothing,
            account_sets_answer_each_set_on_its_own,
            ledgers_are_isolated,
            record_if_unchanged_refuses_after_a_concurrent_change,
            records_are_versioned_with_optimistic_concurrency,
            records_list_latest_versions_by_cursor,
            concurrent_record_writers_one_wins_per_version,
            records_are_append_only_in_the_database,
            verify_history_detects_a_forged_record_version,
            verify_history_detects_a_forged_version_linked_past_the_stored_head,
            verify_history_detects_an_altered_record_body,
            verify_history_detects_a_deleted_record_version,
            records_written_before_the_chain_are_chained_once_on_open,
            reopening_does_not_chain_a_forged_version,
            record_versions_are_chained_in_write_order,
            attached_records_commit_with_their_entries,
            an_attached_record_conflict_writes_nothing,
            put_records_is_all_or_nothing,
            put_record_sets_answer_each_set_on_its_own,
            concurrent_put_records_sharing_a_record_one_wins,
            the_record_index_follows_the_latest_version,
            records_are_read_by_id_and_by_version,
            the_record_index_pages_by_id,
            a_refused_record_write_leaves_the_index_unchanged,
            the_record_index_is_rebuilt_on_open_for_records_written_before_it,
            balances_are_one_snapshot_in_the_order_asked,
        );
    };
    (@cases $setup:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(fixture) = $setup().await else { return };
                $crate::conformance::cases::$case(fixture).await;
            }
        )*
    };
}
