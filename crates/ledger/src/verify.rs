//! Chain verification: recompute every hash, link, balance and running
//! total from the stored rows. Detects any edit made behind the ledger's
//! back (the database triggers stop honest mistakes; this catches the rest).

use std::collections::HashMap;

use crate::account::{LedgerId, Side};
use crate::balance::BalanceTotals;
use crate::currency::Currency;
use crate::entry::{ChainHead, EntryRecord, Hash32, Layer};
use crate::error::LedgerError;
use crate::hash::{entry_hash, genesis_hash};
use crate::store::LedgerStore;

/// Checks entries one at a time, in sequence order, in O(accounts) memory.
pub struct ChainVerifier {
    ledger: LedgerId,
    head: ChainHead,
    totals: HashMap<i64, BalanceTotals>,
    /// Per-currency sum of posted debits minus credits over the whole
    /// ledger; must be zero after every entry.
    posted_net: HashMap<Currency, i128>,
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub entries: i64,
    pub head: ChainHead,
}

impl ChainVerifier {
    pub fn new(ledger: LedgerId) -> Self {
        let genesis = genesis_hash(&ledger);
        ChainVerifier {
            ledger,
            head: ChainHead { seq: 0, hash: genesis, recorded_at_us: 0 },
            totals: HashMap::new(),
            posted_net: HashMap::new(),
        }
    }

    pub fn push(&mut self, e: &EntryRecord) -> Result<(), LedgerError> {
        let broken = |reason: String| LedgerError::ChainBroken { seq: e.seq, reason };
        if e.seq != self.head.seq + 1 {
            return Err(broken(format!("expected seq {}", self.head.seq + 1)));
        }
        if e.prev_hash != self.head.hash {
            return Err(broken("prev_hash does not match the previous entry's hash".into()));
        }
        let computed: Hash32 = entry_hash(&self.ledger, e)?;
        if computed != e.hash {
            return Err(broken(format!("stored hash {} != recomputed {}", hex::encode(e.hash), hex::encode(computed))));
        }
        if e.recorded_at_us < self.head.recorded_at_us {
            return Err(broken("recorded_at goes backwards".into()));
        }
        if e.legs.len() < 2 {
            return Err(broken("fewer than 2 legs".into()));
        }
        let mut sums: HashMap<(Currency, Layer), i128> = HashMap::new();
        for leg in &e.legs {
            if leg.amount_minor <= 0 {
                return Err(broken(format!("leg {} has a non-positive amount", leg.leg_no)));
            }
            let signed = match leg.side {
                Side::Debit => i128::from(leg.amount_minor),
                Side::Credit => -i128::from(leg.amount_minor),
            };
            *sums.entry((leg.currency, leg.layer)).or_default() += signed;
            if leg.layer == Layer::Posted {
                *self.posted_net.entry(leg.currency).or_default() += signed;
            }
            let t = self.totals.entry(leg.account_no).or_default();
            t.apply(leg.side, leg.layer, leg.amount_minor)?;
            if *t != leg.totals_after {
                return Err(broken(format!("running totals of leg {} do not add up", leg.leg_no)));
            }
        }
        if let Some(((currency, layer), net)) = sums.into_iter().find(|(_, net)| *net != 0) {
            return Err(broken(format!("{} {} legs do not balance (net {net})", currency, layer.as_str())));
        }
        debug_assert!(self.posted_net.values().all(|v| *v == 0), "balanced entries keep the ledger at zero");
        self.head = ChainHead { seq: e.seq, hash: e.hash, recorded_at_us: e.recorded_at_us };
        Ok(())
    }

    pub fn head(&self) -> ChainHead {
        self.head
    }
}

/// Page size for verification reads.
const VERIFY_PAGE: u32 = 1_000;

/// Verifies a ledger's whole chain and that the stored head matches it.
pub async fn verify_chain(store: &dyn LedgerStore, ledger: &LedgerId) -> Result<ChainReport, LedgerError> {
    let mut verifier = ChainVerifier::new(ledger.clone());
    loop {
        let page = store.entries(ledger, verifier.head.seq, VERIFY_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            verifier.push(e)?;
        }
    }
    let stored = store.head(ledger).await?;
    if stored != verifier.head {
        return Err(LedgerError::ChainBroken {
            seq: stored.seq,
            reason: format!(
                "stored head (seq {}) does not match the last entry (seq {})",
                stored.seq, verifier.head.seq
            ),
        });
    }
    Ok(ChainReport { entries: verifier.head.seq, head: verifier.head })
}

/// What verifying a ledger's whole history found: both chains.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryReport {
    pub entries: ChainReport,
    pub records: crate::record_chain::RecordChainReport,
}

/// Verifies the entry chain and the record chain of a ledger, each against
/// its stored head: what `verify-chain` runs.
pub async fn verify_history(store: &dyn crate::record::Store, ledger: &LedgerId) -> Result<HistoryReport, LedgerError> {
    let entries = verify_chain(store, ledger).await?;
    let records = crate::record_chain::verify_records(store, ledger).await?;
    Ok(HistoryReport { entries, records })
}
