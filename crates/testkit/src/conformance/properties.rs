//! Model-based property test: random operations run against a store and a
//! ten-line model side by side. After every step the store must agree with
//! the model on what was accepted, and the ledger-wide invariants must hold:
//! per-currency sums are zero, holds never exceed availability, replays
//! change nothing, and the chain verifies.

use std::collections::HashMap;

use offtake_ledger::{verify_chain, Action, AmountMinor, AsOf, Currency, Side};
use proptest::prelude::*;

use super::fixture::{code_of, command, hold, transfer, Fixture};

const USD: Currency = Currency::USD;
/// `equity` funds everything; the cash accounts may not go below zero.
const ACCOUNTS: [&str; 4] = ["equity", "cash:0", "cash:1", "cash:2"];

#[derive(Clone, Debug)]
pub enum Op {
    Transfer { from: usize, to: usize, amount_minor: i64, pending: bool },
    Post { pick: usize, partial_minor: Option<i64> },
    Void { pick: usize },
    Replay { pick: usize },
}

pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..4usize, 0..4usize, 1..600i64, any::<bool>())
            .prop_filter("distinct accounts", |(f, t, _, _)| f != t)
            .prop_map(|(from, to, amount_minor, pending)| Op::Transfer { from, to, amount_minor, pending }),
        2 => (any::<usize>(), proptest::option::of(1..700i64))
            .prop_map(|(pick, partial_minor)| Op::Post { pick, partial_minor }),
        1 => any::<usize>().prop_map(|pick| Op::Void { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Replay { pick }),
    ];
    proptest::collection::vec(op, 1..40)
}

#[derive(Default)]
struct Model {
    /// Posted debits minus credits per account.
    net_debit: [i64; 4],
    /// Open holds: seq → (from, to, amount).
    holds: HashMap<i64, (usize, usize, i64)>,
    /// Resolved holds.
    resolved: HashMap<i64, &'static str>,
    pending_seqs: Vec<i64>,
}

impl Model {
    fn held_out(&self, account: usize) -> i64 {
        self.holds.values().filter(|h| h.0 == account).map(|h| h.2).sum()
    }

    /// Available on the normal side (equity is credit-normal, unconstrained).
    fn available(&self, account: usize) -> i64 {
        if account == 0 {
            i64::MAX
        } else {
            self.net_debit[account] - self.held_out(account)
        }
    }
}

pub async fn random_operations_agree_with_the_model(fx: Fixture, ops: Vec<Op>) {
    fx.account(ACCOUNTS[0], USD, Side::Credit, false).await;
    for code in &ACCOUNTS[1..] {
        fx.account(code, USD, Side::Debit, true).await;
    }
    let mut model = Model::default();
    let mut sent = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let key = format!("op-{i}");
        match op {
            Op::Transfer { from, to, amount_minor, pending } => {
                let make = if pending { hold } else { transfer };
                let cmd = make(&key, ACCOUNTS[from], ACCOUNTS[to], USD, amount_minor);
                let expect_ok = model.available(from) >= amount_minor;
                let got = fx.store.commit(&fx.ledger, cmd.clone()).await;
                assert_eq!(got.is_ok(), expect_ok, "transfer {from}->{to} {amount_minor}: {got:?}");
                if let Ok(c) = got {
                    if pending {
                        model.holds.insert(c.seq, (from, to, amount_minor));
                        model.pending_seqs.push(c.seq);
                    } else {
                        model.net_debit[to] += amount_minor;
                        model.net_debit[from] -= amount_minor;
                    }
                    sent.push(cmd);
                }
            }
            Op::Post { .. } | Op::Void { .. } if model.pending_seqs.is_empty() => {}
            Op::Post { pick, partial_minor } => {
                let seq = model.pending_seqs[pick % model.pending_seqs.len()];
                let action =
                    Action::PostPending { pending_seq: seq, amount_minor: partial_minor.map(AmountMinor::new) };
                let got = fx.store.commit(&fx.ledger, command(&key, action)).await;
                match (model.resolved.get(&seq), model.holds.get(&seq).copied()) {
                    (Some(_), _) | (None, None) => assert!(got.is_err(), "resolved twice: {got:?}"),
                    (None, Some((from, to, held))) => {
                        let amount = partial_minor.unwrap_or(held);
                        if amount > held {
                            assert_eq!(got.unwrap_err().code(), "post_exceeds_pending");
                        } else {
                            got.expect("post within the hold");
                            model.holds.remove(&seq);
                            model.resolved.insert(seq, "post");
                            model.net_debit[to] += amount;
                            model.net_debit[from] -= amount;
                        }
                    }
                }
            }
            Op::Void { pick } => {
                let seq = model.pending_seqs[pick % model.pending_seqs.len()];
                let got = fx.store.commit(&fx.ledger, command(&key, Action::VoidPending { pending_seq: seq })).await;
                if model.resolved.contains_key(&seq) {
                    assert!(got.is_err(), "voided a resolved hold");
                } else {
                    got.expect("void");
                    model.holds.remove(&seq);
                    model.resolved.insert(seq, "void");
                }
            }
            Op::Replay { pick } => {
                if sent.is_empty() {
                    continue;
                }
                let before = fx.footprint().await;
                let again = fx.store.commit(&fx.ledger, sent[pick % sent.len()].clone()).await.expect("replay");
                assert!(again.replayed);
                assert_eq!(fx.footprint().await, before, "a replay wrote something");
            }
        }
        check_invariants(&fx, &model).await;
    }
    verify_chain(fx.store.as_ref(), &fx.ledger).await.expect("chain verifies");
}

async fn check_invariants(fx: &Fixture, model: &Model) {
    let mut posted_net: i128 = 0;
    let (mut pending_debits, mut pending_credits) = (0i128, 0i128);
    for (i, code) in ACCOUNTS.iter().enumerate() {
        let b = fx.store.balance(&fx.ledger, &code_of(code), AsOf::Now).await.expect("balance");
        posted_net += i128::from(b.totals.posted_debit_minor) - i128::from(b.totals.posted_credit_minor);
        pending_debits += i128::from(b.totals.pending_debit_minor);
        pending_credits += i128::from(b.totals.pending_credit_minor);
        let net = b.totals.posted_debit_minor - b.totals.posted_credit_minor;
        assert_eq!(net, model.net_debit[i], "{code} posted");
        if i > 0 {
            assert!(b.available_minor >= 0, "{code} overdrawn: {b:?}");
            assert_eq!(b.pending_out_minor, model.held_out(i), "{code} holds");
            assert!(b.pending_out_minor <= b.posted_minor, "{code}: holds exceed the balance");
        }
    }
    assert_eq!(posted_net, 0, "posted debits equal credits");
    assert_eq!(pending_debits, pending_credits, "holds balance");
}
