//! The worker's batched pass: many open notices claimed in one durable
//! transaction and their entries, invoice payments and final states
//! committed in another, so a notice costs two durable transactions shared
//! by the whole batch.
//!
//! A batch holds at most one notice per facility and per brand, and is a
//! run of consecutive open notices (it ends before the first notice whose
//! facility or brand is already in it): every notice is planned against
//! the books exactly as one-at-a-time settlement in reference order would
//! see them, since nothing earlier in the batch touches what it reads or
//! spends (its facility's and invoices' balances, its brand's credit).

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;

use crate::error::SettlementError;
use crate::notice::{NoticeRecord, NoticeState, Plan, PlannedOutcome, NOTICE_KIND};
use offtake_finance::service::Versioned;
use offtake_finance::{kind, Facility, Invoice};
use offtake_ledger::record::RecordWrite;
use offtake_ledger::LedgerError;

use super::planning::Known;
use super::queue::{attachments_from, lease, processing, Committed, Lease};
use super::*;

/// Notices claimed and committed together at most.
pub const BATCH_NOTICES: usize = 64;

/// Notices of a batch planned at once (each holds a store connection
/// while it reads; the PostgreSQL pool has 16).
const PLANS_IN_FLIGHT: usize = 8;

/// A notice of the batch, read at `version`.
pub(super) type Open = (i64, NoticeRecord);

/// A notice of the batch once planned: claimed with its plan, or refused.
struct Planned {
    rec: NoticeRecord,
    version: i64,
    plan: Option<Box<Plan>>,
}

impl Settlement {
    /// Settles `open` (consecutive open notices, in order) a batch at a
    /// time, adding what happened to `report`.
    pub(super) async fn settle_run(
        &self,
        open: Vec<Open>,
        worker: &str,
        report: &mut RunReport,
    ) -> Result<(), SettlementError> {
        let mut rest = open.into_iter().peekable();
        while rest.peek().is_some() {
            let mut batch = Vec::new();
            let (mut facilities, mut brands) = (HashSet::new(), HashSet::new());
            while let Some((_, rec)) = rest.peek() {
                let (facility, brand) = (&rec.notice.facility, &rec.notice.brand);
                if batch.len() == BATCH_NOTICES || facilities.contains(facility) || brands.contains(brand) {
                    break;
                }
                facilities.insert(facility.clone());
                brands.insert(brand.clone());
                batch.extend(rest.next());
            }
            for state in self.settle_batch(batch, worker).await? {
                count(report, state);
            }
        }
        Ok(())
    }

    /// One batch: planned, claimed in one write, committed in one call.
    async fn settle_batch(&self, batch: Vec<Open>, worker: &str) -> Result<Vec<Option<NoticeState>>, SettlementError> {
        let now = self.now_us();
        let held = batch.iter().filter(|(_, rec)| matches!(lease(&rec.state, worker, now), Lease::Held)).count();
        // The notices of a batch touch disjoint facilities, brands and
        // invoices, so planning them concurrently decides what planning
        // them one after another would; it overlaps their reads' round
        // trips, which bound a worker that plans alone.
        let unplanned = batch.iter().filter(|(_, rec)| matches!(lease(&rec.state, worker, now), Lease::Open(None)));
        let known = self.known(unplanned.map(|(_, rec)| &rec.notice)).await?;
        let plans: Vec<_> = batch
            .iter()
            .cloned()
            .map(|(version, rec)| self.lease_and_plan(version, rec, worker, now, &known))
            .collect();
        let plans = in_flight(plans).await;
        let mut planned = Vec::with_capacity(batch.len());
        for plan in plans {
            planned.extend(plan?);
        }
        match self.claim_all(&mut planned).await {
            Ok(()) => {}
            // Another worker moved one of them (nothing was written): claim
            // one by one instead, so a concurrent worker never stops this
            // one's progress. Their plans are made again (accruals are
            // idempotent).
            Err(LedgerError::VersionConflict { .. }) => {
                let mut states = Vec::with_capacity(batch.len());
                for (version, rec) in batch.into_iter().filter(|(_, r)| !r.is_final()) {
                    states.push(self.process(version, rec, worker).await?);
                }
                return Ok(states);
            }
            Err(e) => return Err(e.into()),
        }
        let mut states = vec![None; held];
        states.extend(self.commit_claimed(planned, worker, now).await?);
        Ok(states)
    }

    /// A notice of the batch planned and marked as claimed by `worker`
    /// (not yet written), or refused; `None` when it is final or another
    /// worker holds it.
    async fn lease_and_plan(
        &self,
        version: i64,
        mut rec: NoticeRecord,
        worker: &str,
        now: i64,
        known: &Known,
    ) -> Result<Option<Planned>, SettlementError> {
        let plan = match lease(&rec.state, worker, now) {
            Lease::Held | Lease::Final => return Ok(None),
            Lease::Open(Some(plan)) => plan,
            Lease::Open(None) => match self.plan_known(&rec.notice, Some(known)).await? {
                Ok(plan) => Box::new(plan),
                Err((code, message)) => {
                    rec.state = NoticeState::Rejected { code, message };
                    return Ok(Some(Planned { rec, version, plan: None }));
                }
            },
        };
        rec.state = processing(worker, now, &plan);
        Ok(Some(Planned { rec, version, plan: Some(plan) }))
    }

    /// Writes every planned notice's next state (claimed, or refused) in
    /// one transaction, all or nothing; each takes its new version.
    async fn claim_all(&self, planned: &mut [Planned]) -> Result<(), LedgerError> {
        if planned.is_empty() {
            return Ok(());
        }
        let mut writes = Vec::with_capacity(planned.len());
        for p in planned.iter() {
            let body = serde_json::to_value(&p.rec).map_err(|e| LedgerError::Storage(format!("notice record: {e}")))?;
            writes.push(RecordWrite {
                kind: NOTICE_KIND.to_owned(),
                id: p.rec.notice.external_ref.clone(),
                expected_version: p.version,
                body,
            });
        }
        let stored = self.fin.store().put_records(self.fin.ledger(), &writes).await?;
        for (p, s) in planned.iter_mut().zip(stored) {
            p.version = s.version;
        }
        Ok(())
    }

    /// Commits the claimed notices' entries with their attached records in
    /// one call; a notice whose commit did not hold (back-valued, replayed,
    /// or its plan gone stale) finishes on the one-notice path.
    async fn commit_claimed(
        &self,
        planned: Vec<Planned>,
        worker: &str,
        now: i64,
    ) -> Result<Vec<Option<NoticeState>>, SettlementError> {
        let mut states = Vec::with_capacity(planned.len());
        let (mut together, mut commands, mut attached) = (Vec::new(), Vec::new(), Vec::new());
        let mut alone = Vec::new();
        let (facilities, mut invoices) = self.paid(&planned).await?;
        for p in planned {
            let Some(plan) = p.plan.clone() else {
                states.push(Some(p.rec.state));
                continue;
            };
            let facility = facilities.get(&p.rec.notice.facility).map(|f| &f.value);
            let attachments = attachments_from(&p.rec, p.version, &plan.outcome, facility, &mut invoices)?;
            if attachments.is_empty() {
                alone.push((p, plan));
                continue;
            }
            commands.push(plan.command.clone());
            attached.push(attachments);
            together.push((p, plan));
        }
        let outcomes = if commands.is_empty() {
            Vec::new()
        } else {
            self.fin.store().commit_batch_attached(self.fin.ledger(), &commands, &attached).await?
        };
        for ((mut p, plan), outcome) in together.into_iter().zip(outcomes) {
            match self.conclude(&mut p.rec, p.version, &plan, outcome, true).await? {
                Committed::Done(state) => states.push(state),
                Committed::Replan => states.push(self.drive(p.rec, p.version, worker, now, None).await?),
            }
        }
        for (p, plan) in alone {
            states.push(self.drive(p.rec, p.version, worker, now, Some(plan)).await?);
        }
        Ok(states)
    }

    /// The facilities and invoices that the applied plans of a batch pay,
    /// as they stand now, read in one statement per kind (what their
    /// attachments are built from).
    async fn paid(&self, planned: &[Planned]) -> Result<(Read<Facility>, Read<Invoice>), SettlementError> {
        let (mut facilities, mut invoices) = (Vec::new(), Vec::new());
        for p in planned {
            if let Some(PlannedOutcome::Applied { breakdown }) = p.plan.as_ref().map(|plan| &plan.outcome) {
                facilities.push(p.rec.notice.facility.clone());
                invoices.extend(breakdown.invoices.iter().map(|i| i.invoice.clone()));
            }
        }
        Ok((self.fin.many(kind::FACILITY, &facilities).await?, self.fin.many(kind::INVOICE, &invoices).await?))
    }
}

/// Records read by id, with the version read.
type Read<T> = HashMap<String, Versioned<T>>;

/// Runs `futures` [`PLANS_IN_FLIGHT`] at a time; their outputs in order.
/// (Collected first: a stream mapping with a closure is not `Send` enough
/// for a spawned worker.)
async fn in_flight<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    futures_util::stream::iter(futures).buffered(PLANS_IN_FLIGHT).collect().await
}

fn count(report: &mut RunReport, state: Option<NoticeState>) {
    match state {
        Some(NoticeState::Applied { .. }) => report.applied += 1,
        Some(NoticeState::Suspense { .. }) => report.suspense += 1,
        Some(NoticeState::Rejected { .. }) => report.rejected += 1,
        _ => report.skipped += 1,
    }
}
