//! Group commit on both stores: many concurrent callers lose nothing,
//! duplicate nothing and never overdraw; duplicate keys inside one batch
//! behave as sequential commits; a failed transaction fails every caller of
//! its batch.

#[macro_use]
mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use offtake_committer::GroupCommitter;
use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::{
    verify_chain, Account, AccountCode, AsOf, Balance, Book, ChainHead, Command, Committed, Currency, EntryRecord,
    LedgerError, LedgerId, LedgerStore, NewAccount, Page, Side,
};
use offtake_store_sqlite::SqliteStore;
use offtake_testkit::conformance::fixture::{code_of, transfer};
use offtake_testkit::postgres_env;

const USD: Currency = Currency::USD;

use support::{postgres, sqlite, Db};

fn ledger() -> LedgerId {
    LedgerId::new("group").expect("ledger id")
}

async fn account(store: &dyn LedgerStore, code: &str, normal: Side, non_negative: bool) {
    let spec = NewAccount { code: code_of(code), currency: USD, normal_side: normal, book: Book::Main, non_negative };
    store.create_account(&ledger(), &spec).await.expect("create account");
}

/// Tiny deterministic generator (tests need no crate for this).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const ACCOUNTS: usize = 12;
const TASKS: usize = 48;
const PER_TASK: usize = 30;
const FUNDS_MINOR: i64 = 500;

/// Many tasks transfer at random among a few constrained accounts funded so
/// thinly that many transfers must be refused.
async fn concurrent_callers(db: Db) {
    let store = db.store.clone();
    let l = ledger();
    store.ensure_ledger(&l).await.expect("ledger");
    account(store.as_ref(), "equity", Side::Credit, false).await;
    for i in 0..ACCOUNTS {
        account(store.as_ref(), &format!("cash:{i}"), Side::Debit, true).await;
    }
    let funding: Vec<Command> = (0..ACCOUNTS)
        .map(|i| transfer(&format!("fund-{i}"), "equity", &format!("cash:{i}"), USD, FUNDS_MINOR))
        .collect();
    for o in store.commit_batch(&l, &funding).await.expect("fund") {
        o.expect("funding entry");
    }
    let base_seq = store.head(&l).await.expect("head").seq;

    let committer = GroupCommitter::new(store.clone(), l.clone(), 64, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let committer = committer.clone();
        tasks.spawn(async move {
            let mut rng = Lcg(t as u64 + 1);
            let mut accepted = Vec::new();
            let mut refused = 0usize;
            for n in 0..PER_TASK {
                let from = rng.below(ACCOUNTS as u64);
                let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1)) % ACCOUNTS as u64;
                let amount = 1 + rng.below(200) as i64;
                let cmd = transfer(&format!("t{t}-{n}"), &format!("cash:{from}"), &format!("cash:{to}"), USD, amount);
                match committer.submit(cmd).await {
                    Ok(c) => {
                        assert!(!c.replayed);
                        accepted.push(c.seq);
                    }
                    Err(e) => {
                        assert_eq!(e.code(), "insufficient_funds", "only overdrafts may be refused: {e}");
                        refused += 1;
                    }
                }
            }
            (accepted, refused)
        });
    }
    let mut seqs = Vec::new();
    let mut refused = 0;
    while let Some(done) = tasks.join_next().await {
        let (a, r) = done.expect("task");
        seqs.extend(a);
        refused += r;
    }
    assert_eq!(seqs.len() + refused, TASKS * PER_TASK);
    assert!(refused > 0, "the funding is thin enough that some transfers are refused");
    let unique: HashSet<i64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "no entry was acknowledged twice");
    let head = store.head(&l).await.expect("head");
    assert_eq!(head.seq - base_seq, seqs.len() as i64, "every acknowledged entry, and nothing else, was written");
    assert!(unique.iter().all(|s| *s > base_seq && *s <= head.seq));

    let mut total = 0i64;
    for i in 0..ACCOUNTS {
        let b = store.balance(&l, &code_of(&format!("cash:{i}")), AsOf::Now).await.expect("balance");
        assert!(b.available_minor >= 0, "cash:{i} overdrawn: {b:?}");
        total += b.posted_minor;
    }
    assert_eq!(total, FUNDS_MINOR * ACCOUNTS as i64, "money is neither created nor destroyed");
    let equity = store.balance(&l, &code_of("equity"), AsOf::Now).await.expect("balance");
    assert_eq!(equity.posted_minor, total, "debits equal credits");
    verify_chain(store.as_ref(), &l).await.expect("chain verifies");
    let stats = committer.stats();
    assert_eq!(stats.commands as usize, TASKS * PER_TASK);
    assert!(stats.batches < stats.commands, "concurrent callers share transactions: {stats:?}");
    drop(db);
}

/// The same key twice in one batch: the second is a replay of the first,
/// exactly as if committed afterwards; another payload under a used key is
/// a conflict.
async fn duplicate_keys_in_one_batch(db: Db) {
    let store = db.store.clone();
    let l = ledger();
    store.ensure_ledger(&l).await.expect("ledger");
    account(store.as_ref(), "equity", Side::Credit, false).await;
    account(store.as_ref(), "cash:a", Side::Debit, true).await;
    // A long linger so that the three commands share one transaction.
    let committer = GroupCommitter::new(store.clone(), l.clone(), 3, 50_000);
    let first = transfer("dup", "equity", "cash:a", USD, 100);
    let again = first.clone();
    let other = transfer("dup", "equity", "cash:a", USD, 999);
    let (a, b, c) = tokio::join!(committer.submit(first), committer.submit(again), committer.submit(other));
    let stats = committer.stats();
    assert_eq!(stats.batches, 1, "one transaction: {stats:?}");
    let (a, b) = (a.expect("first"), b.expect("replay"));
    assert!(!a.replayed);
    assert!(b.replayed);
    assert_eq!((a.seq, a.hash), (b.seq, b.hash));
    assert_eq!(c.expect_err("conflict").code(), "idempotency_conflict");
    assert_eq!(store.head(&l).await.expect("head").seq, 1);
    assert_eq!(store.balance(&l, &code_of("cash:a"), AsOf::Now).await.expect("balance").posted_minor, 100);
    drop(db);
}

/// A store whose next transaction fails as a whole.
struct FailOnce {
    inner: Arc<dyn LedgerStore>,
    fail_next: AtomicBool,
}

#[async_trait]
impl LedgerStore for FailOnce {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ensure_ledger(&self, ledger: &LedgerId) -> Result<(), LedgerError> {
        self.inner.ensure_ledger(ledger).await
    }
    async fn create_account(&self, ledger: &LedgerId, spec: &NewAccount) -> Result<Account, LedgerError> {
        self.inner.create_account(ledger, spec).await
    }
    async fn accounts_by_code(&self, ledger: &LedgerId, codes: &[AccountCode]) -> Result<Vec<Account>, LedgerError> {
        self.inner.accounts_by_code(ledger, codes).await
    }
    async fn list_accounts(&self, l: &LedgerId, c: Option<&str>, n: u32) -> Result<Page<Account>, LedgerError> {
        self.inner.list_accounts(l, c, n).await
    }
    async fn commit_batch(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
    ) -> Result<Vec<Result<Committed, LedgerError>>, LedgerError> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(LedgerError::Storage("disk on fire".into()));
        }
        self.inner.commit_batch(ledger, commands).await
    }
    async fn commit_batch_attached(
        &self,
        ledger: &LedgerId,
        commands: &[Command],
        attachments: &[Vec<Attachment>],
    ) -> Result<Vec<Result<Appended, LedgerError>>, LedgerError> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(LedgerError::Storage("disk on fire".into()));
        }
        self.inner.commit_batch_attached(ledger, commands, attachments).await
    }
    async fn balance(&self, ledger: &LedgerId, account: &AccountCode, as_of: AsOf) -> Result<Balance, LedgerError> {
        self.inner.balance(ledger, account, as_of).await
    }
    async fn account_entries(
        &self,
        l: &LedgerId,
        a: &AccountCode,
        c: Option<&str>,
        n: u32,
    ) -> Result<Page<EntryRecord>, LedgerError> {
        self.inner.account_entries(l, a, c, n).await
    }
    async fn entries(&self, ledger: &LedgerId, after_seq: i64, limit: u32) -> Result<Vec<EntryRecord>, LedgerError> {
        self.inner.entries(ledger, after_seq, limit).await
    }
    async fn head(&self, ledger: &LedgerId) -> Result<ChainHead, LedgerError> {
        self.inner.head(ledger).await
    }
}

/// Every caller of a failed transaction gets the error; the next batch is
/// unaffected. Also with a real outer error from the store (unknown ledger).
async fn outer_error_fails_every_caller(db: Db) {
    let l = ledger();
    db.store.ensure_ledger(&l).await.expect("ledger");
    account(db.store.as_ref(), "equity", Side::Credit, false).await;
    account(db.store.as_ref(), "cash:a", Side::Debit, true).await;
    let store: Arc<dyn LedgerStore> = Arc::new(FailOnce { inner: db.store.clone(), fail_next: AtomicBool::new(true) });
    let committer = GroupCommitter::new(store.clone(), l.clone(), 4, 50_000);
    let cmds: Vec<Command> = (0..4).map(|i| transfer(&format!("k{i}"), "equity", "cash:a", USD, 10)).collect();
    let outcomes = futures_join_all(&committer, cmds.clone()).await;
    assert_eq!(committer.stats().batches, 1);
    for o in &outcomes {
        assert_eq!(o.as_ref().expect_err("failed batch").code(), "storage");
    }
    assert_eq!(store.head(&l).await.expect("head").seq, 0, "nothing of the failed batch was written");
    // Retrying the same commands (same keys) now succeeds.
    for o in futures_join_all(&committer, cmds).await {
        assert!(!o.expect("retry commits").replayed);
    }
    assert_eq!(store.head(&l).await.expect("head").seq, 4);

    let missing = LedgerId::new("no-such-ledger").expect("ledger id");
    let committer = GroupCommitter::new(db.store.clone(), missing, 4, 50_000);
    let cmds: Vec<Command> = (0..4).map(|i| transfer(&format!("m{i}"), "equity", "cash:a", USD, 10)).collect();
    for o in futures_join_all(&committer, cmds).await {
        assert_eq!(o.expect_err("unknown ledger").code(), "unknown_ledger");
    }
    drop(db);
}

async fn futures_join_all(committer: &GroupCommitter, cmds: Vec<Command>) -> Vec<Result<Committed, LedgerError>> {
    let mut set = tokio::task::JoinSet::new();
    for (i, c) in cmds.into_iter().enumerate() {
        let committer = committer.clone();
        set.spawn(async move { (i, committer.submit(c).await) });
    }
    let mut out: Vec<(usize, Result<Committed, LedgerError>)> = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

on_both_stores!(concurrent_callers, duplicate_keys_in_one_batch, outer_error_fails_every_caller);

/// The wrapper store: one-entry `commit`s from many tasks share
/// transactions; records and reads pass through untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_store_shares_transactions_behind_the_store_trait() {
    use offtake_committer::GroupCommitStore;
    use offtake_ledger::RecordStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let inner = Arc::new(SqliteStore::open(&dir.path().join("ledger.db")).await.expect("open sqlite"));
    let store = Arc::new(GroupCommitStore::new(inner, 64, 0));
    let l = ledger();
    store.ensure_ledger(&l).await.expect("ledger");
    account(store.as_ref(), "equity", Side::Credit, false).await;
    account(store.as_ref(), "cash:a", Side::Debit, true).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (store, l) = (store.clone(), l.clone());
        set.spawn(async move { store.commit(&l, transfer(&format!("w{i}"), "equity", "cash:a", USD, 5)).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task").expect("committed");
    }
    let stats = store.stats(&l);
    assert_eq!(stats.commands, 40);
    assert!(stats.batches < 40, "commits shared transactions: {stats:?}");
    assert_eq!(store.balance(&l, &code_of("cash:a"), AsOf::Now).await.expect("balance").posted_minor, 200);
    let body = serde_json::json!({"name": "acme"});
    store.put_record(&l, "party", "p1", 0, &body).await.expect("put");
    assert_eq!(store.get_record(&l, "party", "p1").await.expect("get").expect("exists").body, body);
    verify_chain(store.as_ref(), &l).await.expect("chain verifies");
}

/// Callers cancelled in the middle of their writes (as a request timeout
/// cancels a handler) never leave a transaction behind: every write runs
/// to its end in its own task, so the next writer is not stalled by locks
/// of an abandoned transaction, and the record chain still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_writers_leave_no_transaction_behind() {
    use offtake_committer::GroupCommitStore;
    use offtake_ledger::{RecordChain, Store};

    let Some((inner, schema)) = postgres_env::store_in_fresh_schema("cancel").await else { return };
    let inner = Arc::new(inner);
    let _db = Db { store: inner.clone(), _dir: None, _schema: Some(schema) };
    let store: Arc<dyn Store> = Arc::new(GroupCommitStore::new(inner, 64, 0));
    let l = ledger();
    store.ensure_ledger(&l).await.expect("ledger");
    for i in 0..60u64 {
        let body = serde_json::json!({ "n": i });
        let id = format!("n{i}");
        let write = store.put_record(&l, "note", &id, 0, &body);
        // Cancelled at a different point each time, BEGIN included.
        let _ = tokio::time::timeout(std::time::Duration::from_micros(50 * (i % 20)), write).await;
    }
    let last = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.put_record(&l, "note", "after", 0, &serde_json::json!({ "n": "after" })),
    )
    .await
    .expect("a write after cancelled ones is not stalled");
    last.expect("written");
    // The cancelled callers' writes still run to their end, each in its
    // own task: all 61 versions arrive.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.record_rows(&l).await.expect("rows") < 61 {
        assert!(std::time::Instant::now() < deadline, "the cancelled callers' writes did not all finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let report = offtake_ledger::record_chain::verify_records(store.as_ref() as &dyn RecordChain, &l).await;
    assert!(report.is_ok(), "record chain: {report:?}");
}
