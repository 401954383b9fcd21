//! What every handler shares: the store, the ledger the server serves, the
//! limits, the per-key rate limits, and the set of idempotency keys being
//! processed right now.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use offtake_committer::{GroupCommitStore, StatsSnapshot};
use offtake_finance::Finance;
use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::{Account, AccountCode, Command, Committed, LedgerError, LedgerId, Store};

use crate::api_keys::ApiKeyRecord;

use crate::config::ApiConfig;
use crate::rate_limit::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// `committer`, as the store every handler and service uses.
    store: Arc<dyn Store>,
    committer: Arc<GroupCommitStore>,
    ledger: LedgerId,
    finance: Finance,
    /// One settlement service per server, so its caches live as long.
    settlement: offtake_settlement::Settlement,
    config: ApiConfig,
    rate_limiter: RateLimiter,
    /// Idempotency slots (party + key) whose first request is running.
    in_flight: Mutex<HashSet<String>>,
    /// Recent webhook delivery attempts (the dispatcher writes them).
    webhook_log: Arc<offtake_webhooks::AttemptLog>,
    /// API-key records by key id, with when each was read: authentication
    /// answers from here for `config.api_key_cache_ttl_ms` (SECURITY.md).
    api_keys: Mutex<HashMap<String, (ApiKeyRecord, Instant)>>,
    /// Accounts of this server's ledger by code: an account never changes
    /// once created, so a read one stays true (unknown codes are not kept:
    /// they may be created later).
    accounts: Mutex<HashMap<AccountCode, Account>>,
}

/// Most entries either cache holds; a full cache is emptied and refilled
/// (simple and bounded: a working set larger than this costs reads, not
/// memory).
const CACHE_MAX_ENTRIES: usize = 100_000;

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CACHE_MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

impl AppState {
    /// The state of a server over `ledger` (created if needed). Every
    /// write of the server — the ledger endpoints, the finance and
    /// settlement services — goes through one group committer per ledger
    /// over `store`: concurrent requests share database transactions.
    pub async fn new(store: Arc<dyn Store>, ledger: LedgerId, config: ApiConfig) -> Result<Self, LedgerError> {
        let committer = Arc::new(GroupCommitStore::over(store, config.commit_max_batch, config.commit_max_wait_us));
        let store: Arc<dyn Store> = committer.clone();
        let finance = Finance::open(store.clone(), ledger.clone()).await.map_err(|e| match e {
            offtake_finance::FinanceError::Ledger(inner) => inner,
            other => LedgerError::Storage(other.to_string()),
        })?;
        let settlement = offtake_settlement::Settlement::new(finance.clone());
        let rate_limiter = RateLimiter::new(config.rate_limit);
        let inner = Inner {
            store,
            committer,
            ledger,
            finance,
            settlement,
            config,
            rate_limiter,
            in_flight: Mutex::new(HashSet::new()),
            webhook_log: Arc::default(),
            api_keys: Mutex::default(),
            accounts: Mutex::default(),
        };
        Ok(AppState { inner: Arc::new(inner) })
    }

    /// The finance domain over this server's ledger.
    pub fn finance(&self) -> &Finance {
        &self.inner.finance
    }

    /// Per-key request budgets.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
    }

    /// The settlement service over this server's ledger.
    pub fn settlement(&self) -> &offtake_settlement::Settlement {
        &self.inner.settlement
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn store_arc(&self) -> Arc<dyn Store> {
        self.inner.store.clone()
    }

    pub fn ledger(&self) -> &LedgerId {
        &self.inner.ledger
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// Recent webhook delivery attempts.
    pub fn webhook_log(&self) -> &Arc<offtake_webhooks::AttemptLog> {
        &self.inner.webhook_log
    }

    /// Appends one entry through the ledger's group committer (the finance
    /// and settlement services commit through the same store).
    pub async fn commit(&self, command: Command) -> Result<Committed, LedgerError> {
        self.store().commit(self.ledger(), command).await
    }

    /// Appends one entry through the group committer with `attachment`
    /// (the request's idempotency record) in the same transaction; answers
    /// the entry as written, so nothing is read back.
    pub async fn commit_attached(&self, command: Command, attachment: Attachment) -> Result<Appended, LedgerError> {
        self.store().commit_attached(self.ledger(), command, vec![attachment]).await
    }

    /// The API-key record `key_id` as read less than the configured TTL ago.
    pub(crate) fn cached_key(&self, key_id: &str) -> Option<ApiKeyRecord> {
        let ttl = Duration::from_millis(self.config().api_key_cache_ttl_ms);
        let keys = locked(&self.inner.api_keys);
        keys.get(key_id).filter(|(_, read_at)| read_at.elapsed() < ttl).map(|(record, _)| record.clone())
    }

    /// Remembers a key record just read from the store.
    pub(crate) fn cache_key(&self, record: &ApiKeyRecord) {
        if self.config().api_key_cache_ttl_ms > 0 {
            insert_bounded(&mut locked(&self.inner.api_keys), record.key_id.clone(), (record.clone(), Instant::now()));
        }
    }

    /// Forgets a key (revoked through this server: it stops at once).
    pub(crate) fn forget_key(&self, key_id: &str) {
        locked(&self.inner.api_keys).remove(key_id);
    }

    /// An account of this server's ledger, from memory once read (accounts
    /// are immutable); `unknown_account` when there is none.
    pub async fn account(&self, code: &AccountCode) -> Result<Account, LedgerError> {
        if let Some(account) = locked(&self.inner.accounts).get(code) {
            return Ok(account.clone());
        }
        let account = self.store().account(self.ledger(), code).await?;
        insert_bounded(&mut locked(&self.inner.accounts), code.clone(), account.clone());
        Ok(account)
    }

    /// Counters of the group committer of this server's ledger.
    pub fn commit_stats(&self) -> StatsSnapshot {
        self.inner.committer.stats(self.ledger())
    }

    /// Claims an idempotency slot; `None` when a request holding it is
    /// still running. The slot is released when the guard drops.
    pub(crate) fn claim(&self, slot: String) -> Option<SlotGuard> {
        let mut set = locked(&self.inner.in_flight);
        if set.insert(slot.clone()) {
            Some(SlotGuard { state: self.clone(), slot })
        } else {
            None
        }
    }
}

pub(crate) struct SlotGuard {
    state: AppState,
    slot: String,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut set = self.state.inner.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        set.remove(&self.slot);
    }
}
