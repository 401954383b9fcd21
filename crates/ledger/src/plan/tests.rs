//! The planner's rules, checked on hand-built contexts without a database.
//! Each test is named for the rule it proves; the conformance suite proves
//! the same rules again through both stores.

use std::collections::HashMap;

use super::*;
use crate::entry::NewLeg;
use crate::hash::{entry_hash, genesis_hash};
use crate::money::AmountMinor;

const USD: Currency = Currency::USD;
const EQUITY: i64 = 1;
const CASH_A: i64 = 2;
const CASH_B: i64 = 3;
const NOW_US: i64 = 1_000_000;

fn code(text: &str) -> AccountCode {
    AccountCode::new(text).expect("valid code")
}

fn account(no: i64, text: &str, currency: Currency, normal: Side, book: Book, non_negative: bool) -> Account {
    Account { account_no: no, code: code(text), currency, normal_side: normal, book, non_negative, created_at_us: 0 }
}

/// `equity` (credit-normal, free), `cash:a` and `cash:b` (debit-normal,
/// non-negative), `cash:eur`, and `memo:usd` in the memo book; nothing
/// booked yet.
fn empty_ctx() -> BatchContext {
    let ledger = LedgerId::new("plan-tests").expect("ledger id");
    let accounts = [
        account(EQUITY, "equity", USD, Side::Credit, Book::Main, false),
        account(CASH_A, "cash:a", USD, Side::Debit, Book::Main, true),
        account(CASH_B, "cash:b", USD, Side::Debit, Book::Main, true),
        account(4, "cash:eur", Currency::EUR, Side::Debit, Book::Main, false),
        account(5, "memo:usd", USD, Side::Debit, Book::Memo, false),
    ];
    BatchContext {
        head: ChainHead { seq: 0, hash: genesis_hash(&ledger), recorded_at_us: 0 },
        ledger,
        now_us: NOW_US,
        accounts: accounts.into_iter().map(|a| (a.code.clone(), a)).collect(),
        balances: HashMap::new(),
        last_seq: HashMap::new(),
        refs: HashMap::new(),
        keys: HashMap::new(),
    }
}

/// `empty_ctx` after entry 1 moved `funds_minor` from equity to cash:a.
fn funded_ctx(funds_minor: i64) -> BatchContext {
    let mut ctx = empty_ctx();
    ctx.head = ChainHead { seq: 1, hash: [7; 32], recorded_at_us: NOW_US - 10 };
    ctx.balances.insert(CASH_A, BalanceTotals { posted_debit_minor: funds_minor, ..Default::default() });
    ctx.balances.insert(EQUITY, BalanceTotals { posted_credit_minor: funds_minor, ..Default::default() });
    ctx.last_seq.insert(CASH_A, 1);
    ctx.last_seq.insert(EQUITY, 1);
    ctx
}

fn leg(account: &str, side: Side, currency: Currency, amount_minor: i64) -> NewLeg {
    NewLeg { account: code(account), side, currency, amount_minor: AmountMinor::new(amount_minor) }
}

fn command(key: &str, action: Action) -> Command {
    Command {
        idempotency_key: key.to_owned(),
        kind: "transfer".to_owned(),
        effective_date: time::macros::date!(2026 - 01 - 15),
        metadata: serde_json::json!({}),
        source_hash: None,
        action,
    }
}

/// Debits `to`, credits `from`.
fn transfer(key: &str, from: &str, to: &str, amount_minor: i64, pending: bool) -> Command {
    let legs = vec![leg(to, Side::Debit, USD, amount_minor), leg(from, Side::Credit, USD, amount_minor)];
    command(key, Action::Record { legs, pending })
}

fn post(key: &str, pending_seq: i64, amount_minor: Option<i64>) -> Command {
    command(key, Action::PostPending { pending_seq, amount_minor: amount_minor.map(AmountMinor::new) })
}

fn code_of<T: std::fmt::Debug>(outcome: &Result<T, LedgerError>) -> &'static str {
    match outcome {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.code(),
    }
}

fn plan_one(ctx: BatchContext, c: Command) -> (Plan, Result<Committed, LedgerError>) {
    let mut planned = plan(ctx, std::slice::from_ref(&c)).expect("batch plans");
    let outcome = planned.outcomes.pop().expect("one outcome");
    (planned, outcome)
}

/// Totals of `account_no` after the last leg on it in `planned`.
fn totals_after(planned: &Plan, account_no: i64) -> BalanceTotals {
    planned
        .entries
        .iter()
        .flat_map(|e| &e.legs)
        .rfind(|l| l.account_no == account_no)
        .map(|l| l.totals_after)
        .expect("account touched")
}

/// `ctx` with the batch `planned` committed: its entries become loadable
/// references and the head moves.
fn after(mut ctx: BatchContext, planned: &Plan) -> BatchContext {
    for e in &planned.entries {
        for l in &e.legs {
            ctx.balances.insert(l.account_no, l.totals_after);
            ctx.last_seq.insert(l.account_no, e.seq);
        }
        ctx.refs.insert(e.seq, RefState::new(e.clone()));
    }
    ctx.head = planned.head;
    ctx
}

#[test]
fn balanced_record_is_accepted_chained_and_moves_running_totals() {
    let ctx = funded_ctx(10_000);
    let head = ctx.head;
    let ledger = ctx.ledger.clone();
    let (planned, outcome) = plan_one(ctx, transfer("t1", "cash:a", "cash:b", 2_500, false));
    let committed = outcome.expect("accepted");
    assert_eq!((committed.seq, committed.replayed), (2, false));
    let entry = &planned.entries[0];
    assert_eq!(entry.prev_hash, head.hash);
    assert_eq!(entry.hash, entry_hash(&ledger, entry).expect("hash"));
    assert_eq!(planned.head, ChainHead { seq: 2, hash: entry.hash, recorded_at_us: NOW_US });
    assert_eq!(totals_after(&planned, CASH_A).available_minor(Side::Debit), 7_500);
    assert_eq!(totals_after(&planned, CASH_B).available_minor(Side::Debit), 2_500);
}

#[test]
fn unbalanced_record_is_refused_and_plans_nothing() {
    let ctx = funded_ctx(10_000);
    let head = ctx.head;
    let legs = vec![leg("cash:b", Side::Debit, USD, 100), leg("cash:a", Side::Credit, USD, 99)];
    let (planned, outcome) = plan_one(ctx, command("u1", Action::Record { legs, pending: false }));
    assert_eq!(code_of(&outcome), "unbalanced_entry");
    assert!(planned.entries.is_empty());
    assert_eq!(planned.head, head);
}

#[test]
fn equal_numbers_in_two_currencies_do_not_balance() {
    let legs = vec![leg("cash:b", Side::Debit, USD, 100), leg("cash:eur", Side::Credit, Currency::EUR, 100)];
    let (_, outcome) = plan_one(funded_ctx(1_000), command("m1", Action::Record { legs, pending: false }));
    assert_eq!(code_of(&outcome), "unbalanced_entry");
}

#[test]
fn leg_currency_must_be_the_account_currency() {
    let legs = vec![leg("cash:b", Side::Debit, Currency::EUR, 100), leg("cash:eur", Side::Credit, Currency::EUR, 100)];
    let (_, outcome) = plan_one(funded_ctx(1_000), command("c1", Action::Record { legs, pending: false }));
    assert_eq!(code_of(&outcome), "currency_mismatch");
}

#[test]
fn legs_may_not_mix_main_and_memo_books() {
    let legs = vec![leg("memo:usd", Side::Debit, USD, 100), leg("equity", Side::Credit, USD, 100)];
    let (_, outcome) = plan_one(funded_ctx(1_000), command("b1", Action::Record { legs, pending: false }));
    assert_eq!(code_of(&outcome), "mixed_books");
}

#[test]
fn amounts_are_positive_minor_units_and_totals_never_wrap() {
    let (_, zero) = plan_one(funded_ctx(1_000), transfer("z0", "equity", "cash:b", 0, false));
    assert_eq!(code_of(&zero), "non_positive_amount");
    // Balanced in i128, but the running total of cash:a would pass i64::MAX.
    let (_, overflow) = plan_one(funded_ctx(10), transfer("o1", "equity", "cash:a", i64::MAX, false));
    assert_eq!(code_of(&overflow), "amount_out_of_range");
    // Finer than the currency's scale never reaches the planner.
    assert_eq!(AmountMinor::parse("1.005", USD).map(|_| ()).unwrap_err().code(), "amount_scale");
}

#[test]
fn overdraft_of_a_non_negative_account_is_refused() {
    let (planned, outcome) = plan_one(funded_ctx(1_000), transfer("o1", "cash:a", "cash:b", 1_001, false));
    assert_eq!(code_of(&outcome), "insufficient_funds");
    assert!(planned.entries.is_empty());
}

#[test]
fn an_account_already_short_may_improve_but_not_worsen() {
    let mut ctx = funded_ctx(0);
    // cash:a is 50 below zero (e.g. after a reversal of its funding).
    ctx.balances.insert(CASH_A, BalanceTotals { posted_credit_minor: 50, ..Default::default() });
    let batch = [transfer("in", "equity", "cash:a", 10, false), transfer("out", "cash:a", "cash:b", 1, false)];
    let planned = plan(ctx, &batch).expect("plans");
    assert!(planned.outcomes[0].is_ok(), "a deposit to a short account is never blocked");
    assert_eq!(code_of(&planned.outcomes[1]), "insufficient_funds");
    assert_eq!(totals_after(&planned, CASH_A).available_minor(Side::Debit), -40);
}

#[test]
fn holds_reserve_availability_for_later_commands_in_the_batch() {
    let batch = [transfer("h1", "cash:a", "cash:b", 700, true), transfer("t1", "cash:a", "cash:b", 400, false)];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert!(planned.outcomes[0].is_ok());
    assert_eq!(code_of(&planned.outcomes[1]), "insufficient_funds");
}

#[test]
fn a_pending_entry_is_posted_or_voided_exactly_once_within_a_batch() {
    let batch = [
        transfer("h1", "cash:a", "cash:b", 300, true),
        post("p1", 2, None),
        post("p2", 2, None),
        command("v1", Action::VoidPending { pending_seq: 2 }),
    ];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert!(planned.outcomes[1].is_ok());
    assert_eq!(code_of(&planned.outcomes[2]), "pending_already_posted");
    assert_eq!(code_of(&planned.outcomes[3]), "pending_already_posted");
    assert_eq!(planned.entries.len(), 2);
    let a = totals_after(&planned, CASH_A);
    assert_eq!((a.posted_minor(Side::Debit), a.available_minor(Side::Debit)), (700, 700));
}

#[test]
fn a_resolved_pending_entry_from_an_earlier_batch_is_refused() {
    let (held, _) = plan_one(funded_ctx(1_000), transfer("h1", "cash:a", "cash:b", 300, true));
    let mut posted = after(funded_ctx(1_000), &held);
    posted.refs.get_mut(&2).expect("ref").note_referrer(EntryType::Post);
    let (_, outcome) = plan_one(posted, command("v1", Action::VoidPending { pending_seq: 2 }));
    assert_eq!(code_of(&outcome), "pending_already_posted");

    let mut voided = after(funded_ctx(1_000), &held);
    voided.refs.get_mut(&2).expect("ref").note_referrer(EntryType::Void);
    let (_, outcome) = plan_one(voided, post("p1", 2, None));
    assert_eq!(code_of(&outcome), "pending_already_voided");
}

#[test]
fn only_pending_entries_can_be_posted_and_unknown_ones_are_refused() {
    let (_, outcome) = plan_one(funded_ctx(1_000), post("p1", 9, None));
    assert_eq!(code_of(&outcome), "unknown_entry");
    let (t, _) = plan_one(funded_ctx(1_000), transfer("t1", "cash:a", "cash:b", 300, false));
    let (_, outcome) = plan_one(after(funded_ctx(1_000), &t), post("p1", 2, None));
    assert_eq!(code_of(&outcome), "not_pending");
}

#[test]
fn a_partial_post_posts_part_and_releases_the_whole_hold() {
    let batch = [transfer("h1", "cash:a", "cash:b", 300, true), post("p1", 2, Some(120))];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert!(planned.outcomes[1].is_ok());
    let a = totals_after(&planned, CASH_A);
    assert_eq!((a.posted_minor(Side::Debit), a.available_minor(Side::Debit)), (880, 880));
    assert_eq!(totals_after(&planned, CASH_B).posted_minor(Side::Debit), 120);
}

#[test]
fn a_partial_post_may_not_exceed_the_hold_nor_split_a_multi_leg_hold() {
    let batch = [transfer("h1", "cash:a", "cash:b", 300, true), post("p1", 2, Some(301))];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert_eq!(code_of(&planned.outcomes[1]), "post_exceeds_pending");

    let legs = vec![
        leg("cash:b", Side::Debit, USD, 200),
        leg("equity", Side::Debit, USD, 100),
        leg("cash:a", Side::Credit, USD, 300),
    ];
    let batch = [command("h2", Action::Record { legs, pending: true }), post("p2", 2, Some(100))];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert_eq!(code_of(&planned.outcomes[1]), "partial_post_unsupported");
}

#[test]
fn an_entry_is_reversed_at_most_once() {
    let batch = [
        transfer("t1", "cash:a", "cash:b", 300, false),
        command("r1", Action::Reverse { entry_seq: 2 }),
        command("r2", Action::Reverse { entry_seq: 2 }),
    ];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert!(planned.outcomes[1].is_ok());
    assert_eq!(code_of(&planned.outcomes[2]), "already_reversed");
    assert_eq!(totals_after(&planned, CASH_A).posted_minor(Side::Debit), 1_000);

    let mut reversed = after(funded_ctx(1_000), &planned);
    reversed.refs.get_mut(&2).expect("ref").note_referrer(EntryType::Reversal);
    let (_, outcome) = plan_one(reversed, command("r3", Action::Reverse { entry_seq: 2 }));
    assert_eq!(code_of(&outcome), "already_reversed");
}

#[test]
fn a_hold_has_nothing_posted_to_reverse() {
    let batch = [transfer("h1", "cash:a", "cash:b", 300, true), command("r1", Action::Reverse { entry_seq: 2 })];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert_eq!(code_of(&planned.outcomes[1]), "nothing_to_reverse");
}

#[test]
fn a_used_key_with_the_same_command_replays_the_first_result_and_writes_nothing() {
    let first = transfer("k1", "cash:a", "cash:b", 300, false);
    let (planned, outcome) = plan_one(funded_ctx(1_000), first.clone());
    let original = outcome.expect("accepted");
    let mut ctx = after(funded_ctx(1_000), &planned);
    let e = &planned.entries[0];
    ctx.keys.insert(
        "k1".into(),
        KeyUse { seq: e.seq, request_hash: e.request_hash, hash: e.hash, recorded_at_us: e.recorded_at_us },
    );
    let head = ctx.head;
    let (again, outcome) = plan_one(ctx, first);
    let replay = outcome.expect("replayed");
    assert!(replay.replayed);
    assert_eq!((replay.seq, replay.hash), (original.seq, original.hash));
    assert!(again.entries.is_empty());
    assert_eq!(again.head, head);
}

#[test]
fn a_used_key_with_another_command_is_a_conflict() {
    let batch = [transfer("k1", "cash:a", "cash:b", 300, false), transfer("k1", "cash:a", "cash:b", 301, false)];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert!(planned.outcomes[0].is_ok());
    assert_eq!(code_of(&planned.outcomes[1]), "idempotency_conflict");
    assert_eq!(planned.entries.len(), 1);
}

#[test]
fn the_same_command_twice_in_a_batch_is_written_once() {
    let c = transfer("k1", "cash:a", "cash:b", 300, false);
    let planned = plan(funded_ctx(1_000), &[c.clone(), c]).expect("plans");
    let (first, second) = (planned.outcomes[0].as_ref().unwrap(), planned.outcomes[1].as_ref().unwrap());
    assert!(second.replayed);
    assert_eq!(first.seq, second.seq);
    assert_eq!(planned.entries.len(), 1);
}

fn guarded(key: &str, since_seq: i64) -> Command {
    let legs = vec![leg("cash:b", Side::Debit, USD, 100), leg("cash:a", Side::Credit, USD, 100)];
    command(key, Action::RecordIfUnchanged { legs, pending: false, unchanged: vec![code("cash:a")], since_seq })
}

#[test]
fn a_guard_refuses_when_a_watched_account_changed_after_the_snapshot() {
    // cash:a was last touched by entry 1.
    let (_, stale) = plan_one(funded_ctx(1_000), guarded("g0", 0));
    match stale {
        Err(LedgerError::PreconditionFailed { changed_seq, since_seq, .. }) => {
            assert_eq!((changed_seq, since_seq), (1, 0))
        }
        other => panic!("expected precondition_failed, got {other:?}"),
    }
    let (_, fresh) = plan_one(funded_ctx(1_000), guarded("g1", 1));
    assert!(fresh.is_ok());
}

#[test]
fn a_guard_sees_changes_made_earlier_in_the_same_batch() {
    let batch = [transfer("t1", "equity", "cash:a", 5, false), guarded("g1", 1)];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert_eq!(code_of(&planned.outcomes[1]), "precondition_failed");
}

#[test]
fn a_replay_answers_before_the_guard_is_checked() {
    let (planned, outcome) = plan_one(funded_ctx(1_000), guarded("g1", 1));
    let original = outcome.expect("accepted");
    let mut ctx = after(funded_ctx(1_000), &planned);
    let e = &planned.entries[0];
    ctx.keys.insert(
        "g1".into(),
        KeyUse { seq: e.seq, request_hash: e.request_hash, hash: e.hash, recorded_at_us: e.recorded_at_us },
    );
    // cash:a changed (entry 2) after since_seq 1, but the key was used.
    let (_, again) = plan_one(ctx, guarded("g1", 1));
    assert_eq!(again.expect("replayed").seq, original.seq);
}

#[test]
fn recorded_at_never_goes_backwards_when_the_clock_does() {
    let mut ctx = funded_ctx(1_000);
    ctx.head.recorded_at_us = NOW_US + 500;
    let (planned, outcome) = plan_one(ctx, transfer("t1", "cash:a", "cash:b", 1, false));
    assert_eq!(outcome.expect("accepted").recorded_at_us, NOW_US + 500);
    assert_eq!(planned.entries[0].recorded_at_us, NOW_US + 500);
}

#[test]
fn a_refused_command_leaves_no_gap_in_the_sequence() {
    let batch = [
        transfer("t1", "cash:a", "cash:b", 100, false),
        transfer("bad", "cash:a", "cash:b", 5_000, false),
        transfer("t2", "cash:a", "cash:b", 100, false),
    ];
    let planned = plan(funded_ctx(1_000), &batch).expect("plans");
    assert_eq!(code_of(&planned.outcomes[1]), "insufficient_funds");
    let seqs: Vec<i64> = planned.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![2, 3]);
    assert_eq!(planned.entries[1].prev_hash, planned.entries[0].hash);
}

#[test]
fn a_batch_over_the_limit_is_refused_as_a_whole() {
    let c = transfer("t1", "cash:a", "cash:b", 1, false);
    let batch = vec![c; MAX_BATCH_COMMANDS + 1];
    assert_eq!(plan(funded_ctx(1_000), &batch).map(|_| ()).unwrap_err().code(), "batch_too_large");
}

#[test]
fn needs_names_every_account_reference_and_key() {
    let batch = [transfer("t1", "cash:a", "cash:b", 1, false), post("p1", 4, None), guarded("g1", 0)];
    let needs = needs(&batch);
    assert_eq!(needs.account_codes.into_iter().collect::<Vec<_>>(), vec![code("cash:a"), code("cash:b")]);
    assert_eq!(needs.ref_seqs.into_iter().collect::<Vec<_>>(), vec![4]);
    assert_eq!(needs.idempotency_keys, vec!["t1", "p1", "g1"]);
}
