//! The batch planner: every rule of the ledger, applied once, without IO.
//!
//! A store locks the ledger's chain head, loads what a batch refers to
//! ([`Needs`] → [`BatchContext`]), calls [`plan`], writes the resulting
//! records and moves the head — all in one database transaction. Both stores
//! share this code, so they cannot disagree on a rule.
//!
//! Batch semantics: **all-or-nothing per entry**. Each command is checked
//! against the balances left by the commands before it; a refused command
//! writes nothing and gets its own error, the accepted ones commit together.
//! If the transaction itself fails, nothing of the batch is written.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::account::{Account, AccountCode, Book, LedgerId, Side};
use crate::balance::BalanceTotals;
use crate::currency::Currency;
use crate::entry::{
    Action, ChainHead, Command, Committed, EntryRecord, EntryType, Hash32, Layer, LegRecord, IDEMPOTENCY_KEY_MAX_CHARS,
    KIND_MAX_CHARS, MAX_LEGS, METADATA_MAX_BYTES,
};
use crate::error::LedgerError;
use crate::hash::{canonical_entry_bytes, chain_hash, request_hash};

/// Most commands one batch (one database transaction) may carry.
pub const MAX_BATCH_COMMANDS: usize = 8_192;
/// Largest integer metadata may hold: beyond 2^53 JSON numbers lose precision
/// in most readers, so larger values must be strings.
const METADATA_MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// What a store must load before planning a batch.
#[derive(Debug, Default)]
pub struct Needs {
    pub account_codes: BTreeSet<AccountCode>,
    pub ref_seqs: BTreeSet<i64>,
    pub idempotency_keys: Vec<String>,
}

/// An entry a command refers to, with what has happened to it since.
#[derive(Clone, Debug)]
pub struct RefState {
    pub record: EntryRecord,
    /// `Post` or `Void` when the pending entry was resolved.
    pub resolved_by: Option<EntryType>,
    pub reversed: bool,
}

impl RefState {
    /// A loaded entry nothing refers to yet.
    pub fn new(record: EntryRecord) -> Self {
        RefState { record, resolved_by: None, reversed: false }
    }

    /// Notes an entry of type `referrer` that refers to this one: a post or
    /// void resolves it, a reversal reverses it; other types change nothing.
    pub fn note_referrer(&mut self, referrer: EntryType) {
        match referrer {
            EntryType::Post | EntryType::Void => self.resolved_by = Some(referrer),
            EntryType::Reversal => self.reversed = true,
            EntryType::Posted | EntryType::Pending => {}
        }
    }
}

/// An idempotency key already used in the ledger.
#[derive(Clone, Copy, Debug)]
pub struct KeyUse {
    pub seq: i64,
    pub request_hash: Hash32,
    pub hash: Hash32,
    pub recorded_at_us: i64,
}

/// Everything the planner reads; loaded by the store under the head lock.
#[derive(Debug)]
pub struct BatchContext {
    pub ledger: LedgerId,
    pub head: ChainHead,
    pub now_us: i64,
    /// Accounts named by legs and by the legs of referenced entries.
    pub accounts: HashMap<AccountCode, Account>,
    /// Current totals per `account_no` (absent = never touched).
    pub balances: HashMap<i64, BalanceTotals>,
    /// Sequence number of the last entry that touched each account.
    pub last_seq: HashMap<i64, i64>,
    pub refs: HashMap<i64, RefState>,
    pub keys: HashMap<String, KeyUse>,
}

/// What a store writes.
#[derive(Debug)]
pub struct Plan {
    pub entries: Vec<EntryRecord>,
    pub outcomes: Vec<Result<Committed, LedgerError>>,
    pub head: ChainHead,
}

/// Names every account, entry and key a batch refers to.
pub fn needs(commands: &[Command]) -> Needs {
    let mut needs = Needs::default();
    for c in commands {
        needs.idempotency_keys.push(c.idempotency_key.clone());
        match &c.action {
            Action::Record { legs, .. } => needs.account_codes.extend(legs.iter().map(|l| l.account.clone())),
            Action::RecordIfUnchanged { legs, unchanged, .. } => {
                needs.account_codes.extend(legs.iter().map(|l| l.account.clone()));
                needs.account_codes.extend(unchanged.iter().cloned());
            }
            Action::PostPending { pending_seq, .. } | Action::VoidPending { pending_seq } => {
                needs.ref_seqs.insert(*pending_seq);
            }
            Action::Reverse { entry_seq } => {
                needs.ref_seqs.insert(*entry_seq);
            }
        }
    }
    needs
}

/// Applies a batch of commands to the state in `ctx`.
pub fn plan(mut ctx: BatchContext, commands: &[Command]) -> Result<Plan, LedgerError> {
    if commands.len() > MAX_BATCH_COMMANDS {
        return Err(LedgerError::BatchTooLarge { got: commands.len(), max: MAX_BATCH_COMMANDS });
    }
    let mut state = State {
        first_new_seq: ctx.head.seq + 1,
        head: ctx.head,
        entries: Vec::with_capacity(commands.len()),
        resolved_in_batch: HashMap::new(),
        reversed_in_batch: HashSet::new(),
    };
    let mut outcomes = Vec::with_capacity(commands.len());
    for command in commands {
        let outcome = apply_command(&mut ctx, &mut state, command);
        outcomes.push(outcome);
    }
    Ok(Plan { entries: state.entries, outcomes, head: state.head })
}

struct State {
    first_new_seq: i64,
    head: ChainHead,
    entries: Vec<EntryRecord>,
    resolved_in_batch: HashMap<i64, EntryType>,
    reversed_in_batch: HashSet<i64>,
}

impl State {
    fn batch_entry(&self, seq: i64) -> Option<&EntryRecord> {
        let idx = usize::try_from(seq - self.first_new_seq).ok()?;
        self.entries.get(idx).filter(|e| e.seq == seq)
    }
}

/// A leg about to be written, before running totals are known.
struct DraftLeg {
    account: Account,
    side: Side,
    layer: Layer,
    amount_minor: i64,
}

fn apply_command(ctx: &mut BatchContext, state: &mut State, command: &Command) -> Result<Committed, LedgerError> {
    validate_envelope(command)?;
    let req_hash = request_hash(command)?;

    if let Some(used) = ctx.keys.get(&command.idempotency_key) {
        return if used.request_hash == req_hash {
            Ok(Committed { seq: used.seq, hash: used.hash, recorded_at_us: used.recorded_at_us, replayed: true })
        } else {
            Err(LedgerError::IdempotencyConflict(command.idempotency_key.clone()))
        };
    }

    let (entry_type, ref_seq, drafts) = draft_action(ctx, state, &command.action)?;
    check_balanced(&drafts)?;
    let seq = state.head.seq + 1;
    let legs = apply_to_balances(&mut ctx.balances, drafts)?;
    for leg in &legs {
        ctx.last_seq.insert(leg.account_no, seq);
    }

    let mut record = EntryRecord {
        seq,
        entry_type,
        ref_seq,
        idempotency_key: command.idempotency_key.clone(),
        request_hash: req_hash,
        kind: command.kind.clone(),
        effective_date: command.effective_date,
        // Recorded-at never goes backwards within a ledger, even if the clock
        // does, so "as of time T" is a prefix of the chain.
        recorded_at_us: ctx.now_us.max(state.head.recorded_at_us),
        metadata: command.metadata.clone(),
        source_hash: command.source_hash,
        legs,
        prev_hash: state.head.hash,
        hash: [0; 32],
    };
    record.hash = chain_hash(&record.prev_hash, &canonical_entry_bytes(&ctx.ledger, &record)?);

    let committed = Committed { seq, hash: record.hash, recorded_at_us: record.recorded_at_us, replayed: false };
    ctx.keys.insert(
        command.idempotency_key.clone(),
        KeyUse { seq, request_hash: req_hash, hash: record.hash, recorded_at_us: record.recorded_at_us },
    );
    match (entry_type, ref_seq) {
        (EntryType::Post | EntryType::Void, Some(r)) => {
            state.resolved_in_batch.insert(r, entry_type);
        }
        (EntryType::Reversal, Some(r)) => {
            state.reversed_in_batch.insert(r);
        }
        _ => {}
    }
    state.head = ChainHead { seq, hash: record.hash, recorded_at_us: record.recorded_at_us };
    state.entries.push(record);
    Ok(committed)
}

/// The legs an action asks for, with the entry's type and the entry it
/// refers to (post, void and reversal name one).
fn draft_action(
    ctx: &BatchContext,
    state: &State,
    action: &Action,
) -> Result<(EntryType, Option<i64>, Vec<DraftLeg>), LedgerError> {
    Ok(match action {
        Action::Record { legs, pending } => {
            let drafts = record_legs(ctx, legs, *pending)?;
            let ty = if *pending { EntryType::Pending } else { EntryType::Posted };
            (ty, None, drafts)
        }
        Action::RecordIfUnchanged { legs, pending, unchanged, since_seq } => {
            check_unchanged(ctx, unchanged, *since_seq)?;
            let drafts = record_legs(ctx, legs, *pending)?;
            let ty = if *pending { EntryType::Pending } else { EntryType::Posted };
            (ty, None, drafts)
        }
        Action::PostPending { pending_seq, amount_minor } => {
            let target = pending_target(ctx, state, *pending_seq)?;
            let drafts = post_legs(ctx, &target, amount_minor.map(|a| a.get()))?;
            (EntryType::Post, Some(*pending_seq), drafts)
        }
        Action::VoidPending { pending_seq } => {
            let target = pending_target(ctx, state, *pending_seq)?;
            let drafts = release_legs(ctx, &target)?;
            (EntryType::Void, Some(*pending_seq), drafts)
        }
        Action::Reverse { entry_seq } => {
            let target = reversal_target(ctx, state, *entry_seq)?;
            let drafts = reversal_legs(ctx, &target)?;
            (EntryType::Reversal, Some(*entry_seq), drafts)
        }
    })
}

/// `record_if_unchanged`'s precondition: none of the accounts moved after
/// `since_seq` (counting entries earlier in this batch).
fn check_unchanged(ctx: &BatchContext, unchanged: &[AccountCode], since_seq: i64) -> Result<(), LedgerError> {
    for code in unchanged {
        let acct = account(ctx, code)?;
        let changed_seq = ctx.last_seq.get(&acct.account_no).copied().unwrap_or(0);
        if changed_seq > since_seq {
            return Err(LedgerError::PreconditionFailed { account: code.as_str().to_owned(), changed_seq, since_seq });
        }
    }
    Ok(())
}

fn validate_envelope(command: &Command) -> Result<(), LedgerError> {
    let key = &command.idempotency_key;
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LedgerError::invalid(
            "idempotency_key",
            format!("must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters"),
        ));
    }
    let kind = &command.kind;
    if kind.is_empty()
        || kind.len() > KIND_MAX_CHARS
        || !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.:".contains(&b))
    {
        return Err(LedgerError::invalid("kind", format!("must be 1 to {KIND_MAX_CHARS} of a-z 0-9 _ - . :")));
    }
    validate_metadata(&command.metadata)
}

/// Metadata is a JSON object of at most 16 KiB (canonical), nested at most 8
/// deep, whose numbers are integers within ±2^53: floats and big numbers do
/// not survive every JSON reader, and an auditor must recompute hashes.
pub fn validate_metadata(metadata: &serde_json::Value) -> Result<(), LedgerError> {
    const MAX_DEPTH: usize = 8;
    fn walk(v: &serde_json::Value, depth: usize) -> Result<(), LedgerError> {
        if depth > MAX_DEPTH {
            return Err(LedgerError::invalid("metadata", format!("nested deeper than {MAX_DEPTH}")));
        }
        match v {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if i.abs() <= METADATA_MAX_SAFE_INT => Ok(()),
                _ => Err(LedgerError::invalid("metadata", "numbers must be integers within ±2^53; use strings")),
            },
            serde_json::Value::Array(items) => items.iter().try_for_each(|i| walk(i, depth + 1)),
            serde_json::Value::Object(map) => map.values().try_for_each(|i| walk(i, depth + 1)),
            _ => Ok(()),
        }
    }
    if !metadata.is_object() {
        return Err(LedgerError::invalid("metadata", "must be a JSON object"));
    }
    walk(metadata, 0)?;
    let size =
        serde_json_canonicalizer::to_vec(metadata).map_err(|e| LedgerError::invalid("metadata", e.to_string()))?.len();
    if size > METADATA_MAX_BYTES {
        return Err(LedgerError::invalid("metadata", format!("larger than {METADATA_MAX_BYTES} bytes")));
    }
    Ok(())
}

fn account<'a>(ctx: &'a BatchContext, code: &AccountCode) -> Result<&'a Account, LedgerError> {
    ctx.accounts.get(code).ok_or_else(|| LedgerError::UnknownAccount(code.as_str().to_owned()))
}

fn record_legs(ctx: &BatchContext, legs: &[crate::entry::NewLeg], pending: bool) -> Result<Vec<DraftLeg>, LedgerError> {
    if legs.len() < 2 || legs.len() > MAX_LEGS {
        return Err(LedgerError::LegCount { got: legs.len(), max: MAX_LEGS });
    }
    let layer = if pending { Layer::Pending } else { Layer::Posted };
    let mut book: Option<Book> = None;
    legs.iter()
        .map(|leg| {
            let acct = account(ctx, &leg.account)?;
            if !leg.amount_minor.is_positive() {
                return Err(LedgerError::NonPositiveAmount(leg.amount_minor.get()));
            }
            if leg.currency != acct.currency {
                return Err(LedgerError::CurrencyMismatch {
                    account: acct.code.as_str().to_owned(),
                    leg: leg.currency,
                    account_currency: acct.currency,
                });
            }
            match book {
                None => book = Some(acct.book),
                Some(b) if b != acct.book => return Err(LedgerError::MixedBooks(acct.code.as_str().to_owned())),
                Some(_) => {}
            }
            Ok(DraftLeg { account: acct.clone(), side: leg.side, layer, amount_minor: leg.amount_minor.get() })
        })
        .collect()
}

/// The pending entry `seq`, checked to be pending and unresolved.
fn pending_target(ctx: &BatchContext, state: &State, seq: i64) -> Result<EntryRecord, LedgerError> {
    let (record, resolved_by) = lookup(ctx, state, seq)?;
    if record.entry_type != EntryType::Pending {
        return Err(LedgerError::NotPending(seq));
    }
    let resolved_by = resolved_by.or_else(|| state.resolved_in_batch.get(&seq).copied());
    match resolved_by {
        Some(EntryType::Post) => Err(LedgerError::PendingAlreadyPosted(seq)),
        Some(_) => Err(LedgerError::PendingAlreadyVoided(seq)),
        None => Ok(record),
    }
}

fn reversal_target(ctx: &BatchContext, state: &State, seq: i64) -> Result<EntryRecord, LedgerError> {
    let reversed = state.reversed_in_batch.contains(&seq) || ctx.refs.get(&seq).is_some_and(|r| r.reversed);
    let (record, _) = lookup(ctx, state, seq)?;
    if reversed {
        return Err(LedgerError::AlreadyReversed(seq));
    }
    Ok(record)
}

fn lookup(ctx: &BatchContext, state: &State, seq: i64) -> Result<(EntryRecord, Option<EntryType>), LedgerError> {
    if let Some(r) = ctx.refs.get(&seq) {
        return Ok((r.record.clone(), r.resolved_by));
    }
    state.batch_entry(seq).map(|e| (e.clone(), None)).ok_or(LedgerError::UnknownEntry(seq))
}

fn account_of_leg(ctx: &BatchContext, leg: &LegRecord) -> Result<Account, LedgerError> {
    account(ctx, &leg.account).cloned()
}

fn release_legs(ctx: &BatchContext, pending: &EntryRecord) -> Result<Vec<DraftLeg>, LedgerError> {
    pending
        .legs
        .iter()
        .map(|l| {
            Ok(DraftLeg {
                account: account_of_leg(ctx, l)?,
                side: l.side,
                layer: Layer::Release,
                amount_minor: l.amount_minor,
            })
        })
        .collect()
}

fn post_legs(
    ctx: &BatchContext,
    pending: &EntryRecord,
    amount_minor: Option<i64>,
) -> Result<Vec<DraftLeg>, LedgerError> {
    let mut drafts = release_legs(ctx, pending)?;
    let posted_amount = |held: i64| -> Result<i64, LedgerError> {
        match amount_minor {
            None => Ok(held),
            Some(a) if a <= 0 => Err(LedgerError::NonPositiveAmount(a)),
            Some(a) if a > held => Err(LedgerError::PostExceedsPending { requested_minor: a, held_minor: held }),
            Some(a) => Ok(a),
        }
    };
    if amount_minor.is_some() {
        let [a, b] = pending.legs.as_slice() else {
            return Err(LedgerError::PartialPostUnsupported);
        };
        if a.amount_minor != b.amount_minor {
            return Err(LedgerError::PartialPostUnsupported);
        }
    }
    for l in &pending.legs {
        drafts.push(DraftLeg {
            account: account_of_leg(ctx, l)?,
            side: l.side,
            layer: Layer::Posted,
            amount_minor: posted_amount(l.amount_minor)?,
        });
    }
    Ok(drafts)
}

fn reversal_legs(ctx: &BatchContext, original: &EntryRecord) -> Result<Vec<DraftLeg>, LedgerError> {
    let drafts: Vec<DraftLeg> = original
        .legs
        .iter()
        .filter(|l| l.layer == Layer::Posted)
        .map(|l| {
            Ok(DraftLeg {
                account: account_of_leg(ctx, l)?,
                side: l.side.opposite(),
                layer: Layer::Posted,
                amount_minor: l.amount_minor,
            })
        })
        .collect::<Result<_, LedgerError>>()?;
    if drafts.is_empty() {
        return Err(LedgerError::NothingToReverse(original.seq));
    }
    Ok(drafts)
}

/// Debits equal credits per (currency, layer). Sums in i128: 64 legs of
/// i64 cannot overflow it.
fn check_balanced(drafts: &[DraftLeg]) -> Result<(), LedgerError> {
    let mut sums: Vec<(Currency, Layer, i128, i128)> = Vec::new();
    for d in drafts {
        let key = (d.account.currency, d.layer);
        let idx = match sums.iter().position(|s| (s.0, s.1) == key) {
            Some(i) => i,
            None => {
                sums.push((key.0, key.1, 0, 0));
                sums.len() - 1
            }
        };
        match d.side {
            Side::Debit => sums[idx].2 += i128::from(d.amount_minor),
            Side::Credit => sums[idx].3 += i128::from(d.amount_minor),
        }
    }
    match sums.into_iter().find(|s| s.2 != s.3) {
        Some((currency, _, debit_minor, credit_minor)) => {
            Err(LedgerError::UnbalancedEntry { currency, debit_minor, credit_minor })
        }
        None => Ok(()),
    }
}

/// An account touched by one entry: its totals before and after it.
struct Touched {
    account_no: i64,
    code: AccountCode,
    normal: Side,
    non_negative: bool,
    before: BalanceTotals,
    after: BalanceTotals,
}

/// Applies the legs to the running balances, refusing the whole entry if a
/// constrained account would end below zero available and lower than it
/// started (an entry that improves an account already short is allowed, so
/// a void or a repayment is never blocked).
fn apply_to_balances(
    balances: &mut HashMap<i64, BalanceTotals>,
    drafts: Vec<DraftLeg>,
) -> Result<Vec<LegRecord>, LedgerError> {
    let mut touched: Vec<Touched> = Vec::with_capacity(drafts.len());
    let mut legs = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.into_iter().enumerate() {
        let no = d.account.account_no;
        let pos = match touched.iter().position(|t| t.account_no == no) {
            Some(p) => p,
            None => {
                let start = balances.get(&no).copied().unwrap_or_default();
                touched.push(Touched {
                    account_no: no,
                    code: d.account.code.clone(),
                    normal: d.account.normal_side,
                    non_negative: d.account.non_negative,
                    before: start,
                    after: start,
                });
                touched.len() - 1
            }
        };
        touched[pos].after.apply(d.side, d.layer, d.amount_minor)?;
        legs.push(LegRecord {
            leg_no: i32::try_from(i).map_err(|_| LedgerError::LegCount { got: i, max: MAX_LEGS })?,
            account_no: no,
            account: d.account.code,
            currency: d.account.currency,
            side: d.side,
            layer: d.layer,
            amount_minor: d.amount_minor,
            totals_after: touched[pos].after,
        });
    }
    for t in touched.iter().filter(|t| t.non_negative) {
        let before = t.before.available_minor(t.normal);
        let after = t.after.available_minor(t.normal);
        if after < 0 && after < before {
            return Err(LedgerError::InsufficientFunds {
                account: t.code.as_str().to_owned(),
                available_minor: before,
                needed_minor: before.saturating_sub(after),
            });
        }
    }
    for t in touched {
        balances.insert(t.account_no, t.after);
    }
    Ok(legs)
}

#[cfg(test)]
mod tests;
