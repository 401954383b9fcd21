//! The bank service: the settlement service it feeds, and the matching
//! configuration.

use std::sync::Arc;

use offtake_finance::Finance;
use offtake_ledger::{LedgerId, Store};
use offtake_settlement::Settlement;

use crate::matching::MatchConfig;

#[derive(Clone)]
pub struct Bank {
    settlement: Settlement,
    config: MatchConfig,
}

impl Bank {
    pub fn new(settlement: Settlement, config: MatchConfig) -> Self {
        Bank { settlement, config }
    }

    pub fn settlement(&self) -> &Settlement {
        &self.settlement
    }

    pub fn finance(&self) -> &Finance {
        self.settlement.finance()
    }

    pub fn config(&self) -> MatchConfig {
        self.config
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.finance().store()
    }

    pub(crate) fn ledger(&self) -> &LedgerId {
        self.finance().ledger()
    }
}
