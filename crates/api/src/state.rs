//! What every handler shares: the store, the ledger the server serves, the
//! limits, the per-key rate limits, and the set of idempotency keys being
//! processed right now.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use offtake_committer::{GroupCommitStore, StatsSnapshot};
use offtake_finance::Finance;
use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::{Command, Committed, LedgerError, LedgerId, Store};

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

    /// Counters of the group committer of this server's ledger.
    pub fn commit_stats(&self) -> StatsSnapshot {
        self.inner.committer.stats(self.ledger())
    }

    /// Claims an idempotency slot; `None` when a request holding it is
    /// still running. The slot is released when the guard drops.
    pub(crate) fn claim(&self, slot: String) -> Option<SlotGuard> {
        let mut set = self.inner.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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
