//! The notice queue and its worker: enqueue (plain or signed), claims
//! and leases, driving a notice to its final state, and what commits with
//! its entry.

use crate::error::SettlementError;
use crate::notice::{
    NoticeRecord, NoticeState, PaymentNotice, Plan, PlannedOutcome, Source, NOTICE_KIND, OPEN_NOTICES, SUSPENSE_NOTICES,
};
use offtake_finance::service::Versioned;
use offtake_finance::{
    invoice_payment_attachment_of, kind, Facility, FinanceError, Invoice, InvoicePayment, PartyRole,
};
use offtake_ledger::commit::{Appended, Attachment};
use offtake_ledger::record::index_key;
use offtake_ledger::{AmountMinor, LedgerError, StoredRecord};
use std::collections::HashMap;
use std::sync::Arc;
use time::{Date, Duration};

use super::*;

impl Settlement {
    /// Puts a notice in the queue. The same external reference again is a
    /// no-op (the first notice's record is returned); the same reference
    /// with different content is `duplicate_reference`.
    pub async fn enqueue(&self, notice: PaymentNotice) -> Result<NoticeRecord, SettlementError> {
        let reference = notice.external_ref.clone();
        self.enqueue_many(vec![notice])
            .await?
            .pop()
            .ok_or(SettlementError::NotFound { kind: "payment notice", id: reference })
    }

    /// Queues many notices at once (a bank's or brand's file of payments,
    /// a bulk load): all of them are checked first, then the new ones are
    /// written in one all-or-nothing record transaction — one durable
    /// commit for the set instead of one per notice. A reference already
    /// held with the same notice is a replay and answers the held record
    /// (as [`enqueue`] does); held with a different notice, the whole set
    /// is refused with `duplicate_reference` and nothing is written. The
    /// answer is in the order given.
    ///
    /// [`enqueue`]: Settlement::enqueue
    pub async fn enqueue_many(&self, notices: Vec<PaymentNotice>) -> Result<Vec<NoticeRecord>, SettlementError> {
        let mut seen = std::collections::HashSet::with_capacity(notices.len());
        for n in &notices {
            check_notice(n)?;
            if !seen.insert(n.external_ref.as_str()) {
                return Err(SettlementError::invalid(
                    "external_ref",
                    format!("{} appears twice in one set of notices", n.external_ref),
                ));
            }
        }
        let received_at_us = self.now_us();
        let fresh: Vec<NoticeRecord> = notices
            .into_iter()
            .map(|notice| NoticeRecord { notice, state: NoticeState::Queued, received_at_us })
            .collect();
        // Optimistic first: a set of new references is one write and no read.
        match self.write_new_notices(fresh.iter()).await {
            Err(SettlementError::Finance(FinanceError::Ledger(LedgerError::VersionConflict { .. }))) => {}
            written => return written.map(|()| fresh),
        }
        let mut out = Vec::with_capacity(fresh.len());
        let mut new = Vec::new();
        for record in fresh {
            match self.fin.store().get_record(self.fin.ledger(), NOTICE_KIND, &record.notice.external_ref).await? {
                Some(held) => {
                    let held: NoticeRecord = held.decode()?;
                    if held.notice != record.notice {
                        return Err(SettlementError::DuplicateReference(record.notice.external_ref));
                    }
                    out.push(held);
                }
                None => {
                    new.push(out.len());
                    out.push(record);
                }
            }
        }
        self.write_new_notices(new.iter().map(|&i| &out[i])).await?;
        Ok(out)
    }

    /// Writes notices that must not exist yet, all or nothing.
    async fn write_new_notices(&self, records: impl Iterator<Item = &NoticeRecord>) -> Result<(), SettlementError> {
        let writes = records
            .map(|r| {
                Ok(offtake_ledger::RecordWrite {
                    kind: NOTICE_KIND.to_owned(),
                    id: r.notice.external_ref.clone(),
                    expected_version: 0,
                    body: serde_json::to_value(r).map_err(|e| SettlementError::invalid("notice", e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, SettlementError>>()?;
        if !writes.is_empty() {
            self.fin.store().put_records(self.fin.ledger(), &writes).await?;
        }
        Ok(())
    }

    /// A brand-signed payment notice envelope, verified and queued.
    pub async fn enqueue_envelope(
        &self,
        envelope: &offtake_signing::Envelope,
        now: time::OffsetDateTime,
    ) -> Result<NoticeRecord, SettlementError> {
        let doc = self.fin.verify_envelope(envelope, now).await?;
        doc.require_type("payment_notice")?;
        let brand = doc.str_field("brand")?.to_owned();
        doc.require_signer(&brand, PartyRole::Brand)?;
        let currency = offtake_ledger::Currency::from_code(doc.str_field("currency")?)?;
        let amount = AmountMinor::parse(doc.str_field("amount")?, currency)?;
        let value_date = offtake_ledger::date::parse_date(doc.str_field("value_date")?)
            .map_err(|e| SettlementError::invalid("value_date", e.to_string()))?;
        let allocations = match doc.body.get("invoice").and_then(|v| v.as_str()) {
            Some(inv) => vec![crate::notice::Allocation { invoice: inv.to_owned(), amount_minor: None }],
            None => Vec::new(),
        };
        let notice = PaymentNotice {
            external_ref: doc.str_field("external_ref")?.to_owned(),
            brand,
            facility: doc.str_field("facility")?.to_owned(),
            currency,
            amount_minor: amount.get(),
            value_date,
            allocations,
            source: Source::Cash,
            source_hash: Some(doc.body_hash_hex()),
        };
        // Everything that can refuse the notice is checked before the
        // document is admitted (its nonce consumed, the document stored): a
        // refused notice writes nothing. `enqueue` still decides a race on
        // the reference.
        check_notice(&notice)?;
        let mut notice = notice;
        notice.external_ref = self.reference_of(&notice.brand, &notice.external_ref).await?;
        if let Some(existing) =
            self.fin.store().get_record(self.fin.ledger(), NOTICE_KIND, &notice.external_ref).await?
        {
            let existing: NoticeRecord = existing.decode()?;
            if existing.notice != notice {
                return Err(SettlementError::DuplicateReference(notice.external_ref));
            }
        }
        self.fin.record_document(&doc).await?;
        self.enqueue(notice).await
    }

    /// Where a brand's bank reference lives. References are the brand's
    /// own, not the ledger's: when another brand's notice already holds
    /// `reference`, this brand's lives at `{reference}~{brand}` (a form a
    /// signed notice cannot name, its schema has no `~`), so one brand can
    /// neither block another's genuine notice by taking its reference
    /// first nor learn from a refusal that the reference exists.
    pub async fn reference_of(&self, brand: &str, reference: &str) -> Result<String, SettlementError> {
        let held = self.fin.store().get_record(self.fin.ledger(), NOTICE_KIND, reference).await?;
        match held.map(|r| r.decode::<NoticeRecord>()).transpose()? {
            Some(other) if other.notice.brand != brand => Ok(format!("{reference}~{brand}")),
            _ => Ok(reference.to_owned()),
        }
    }

    pub async fn notice(&self, external_ref: &str) -> Result<NoticeRecord, SettlementError> {
        Ok(self.notice_versioned(external_ref).await?.1)
    }

    pub(super) async fn notice_versioned(&self, external_ref: &str) -> Result<(i64, NoticeRecord), SettlementError> {
        let rec = self
            .fin
            .store()
            .get_record(self.fin.ledger(), NOTICE_KIND, external_ref)
            .await?
            .ok_or_else(|| SettlementError::NotFound { kind: "payment notice", id: external_ref.to_owned() })?;
        Ok((rec.version, rec.decode()?))
    }

    /// Every notice (latest state), ordered by reference. Reads the whole
    /// kind, which grows with every payment, so no request path calls it
    /// (issue 21: `GET /v1/payments` pages, the worker reads the `open`
    /// index, statements read a facility's notices): it is kept for tests
    /// that check every notice of a small program.
    pub async fn notices(&self) -> Result<Vec<NoticeRecord>, SettlementError> {
        let recs: Vec<StoredRecord> = self.fin.store().all_records(self.fin.ledger(), NOTICE_KIND).await?;
        recs.iter().map(|r| r.decode().map_err(SettlementError::from)).collect()
    }

    /// One worker pass over the queue: claims the open notices (queued, or
    /// abandoned by a crashed worker) a batch at a time and applies them
    /// (see [`super::batch`]). Safe to run in several copies at once: a
    /// claim is an optimistic write of each notice's next version, so
    /// exactly one worker wins each notice. Reads only open notices (the
    /// `open` index), never the settled ones.
    pub async fn settle_once(&self, worker: &str) -> Result<RunReport, SettlementError> {
        let mut report = RunReport::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .fin
                .store()
                .list_by_index(
                    self.fin.ledger(),
                    NOTICE_KIND,
                    OPEN_NOTICES,
                    &index_key(&[]),
                    cursor.as_deref(),
                    offtake_ledger::store::MAX_PAGE_LIMIT,
                )
                .await?;
            let mut open = Vec::with_capacity(page.items.len());
            for rec in &page.items {
                let notice: NoticeRecord = rec.decode()?;
                if !notice.is_final() {
                    open.push((rec.version, notice));
                }
            }
            self.settle_run(open, worker, &mut report).await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(report),
            }
        }
    }

    /// Claims a notice and decides what it would book, without booking it:
    /// a preview of the breakdown, and the first half of what a worker does
    /// (the plan is saved with the claim, see [`NoticeState::Processing`]).
    pub async fn claim_and_plan(&self, external_ref: &str, worker: &str) -> Result<Option<Plan>, SettlementError> {
        let (version, mut rec) = self.notice_versioned(external_ref).await?;
        if rec.is_final() {
            return Ok(None);
        }
        let Ok(plan) = self.plan(&rec.notice).await? else { return Ok(None) };
        rec.state = NoticeState::Processing {
            worker: worker.to_owned(),
            claimed_at_us: self.now_us(),
            plan: Some(Box::new(plan.clone())),
        };
        self.save(&rec, version).await?;
        Ok(Some(plan))
    }

    /// Claims and settles one notice now (e.g. right after `enqueue`).
    pub async fn settle_notice(&self, external_ref: &str, worker: &str) -> Result<NoticeRecord, SettlementError> {
        let (version, rec) = self.notice_versioned(external_ref).await?;
        if !rec.is_final() {
            self.process(version, rec, worker).await?;
        }
        self.notice(external_ref).await
    }

    /// Claims a notice and drives it to a final state. `None` when another
    /// worker holds it.
    pub(super) async fn process(
        &self,
        version: i64,
        rec: NoticeRecord,
        worker: &str,
    ) -> Result<Option<NoticeState>, SettlementError> {
        let now = self.now_us();
        let stored = match lease(&rec.state, worker, now) {
            Lease::Held => return Ok(None),
            Lease::Final => return Ok(Some(rec.state)),
            Lease::Open(plan) => plan,
        };
        let mut rec = rec;
        // A notice nobody has planned yet is planned first (planning only
        // reads, and books nothing but idempotent accruals). When its
        // entry commits with the notice's final state, that commit is the
        // claim; otherwise it is claimed with its plan in one write. A
        // worker that loses either drops its plan.
        let fresh = stored.is_none();
        let plan = match stored {
            Some(p) => p,
            None => match self.plan(&rec.notice).await? {
                Ok(p) => Box::new(p),
                Err((code, message)) => {
                    rec.state = NoticeState::Rejected { code, message };
                    return self.finish(rec, version).await;
                }
            },
        };
        if fresh {
            if let Some(state) = self.commit_unclaimed(&mut rec, version, worker, now, &plan).await? {
                return Ok(state);
            }
        }
        match self.claim(&mut rec, version, worker, now, &plan).await? {
            Some(version) => self.drive(rec, version, worker, now, Some(plan)).await,
            None => Ok(None),
        }
    }

    /// Commits a fresh plan of an unclaimed notice without claiming it
    /// first, when its entry, invoice payments and final state commit
    /// together: that commit expects the notice at the version planned
    /// from, so it is the claim, and a crash before it leaves the notice as
    /// it was (one durable transaction instead of two). `None` when the
    /// plan needs the claimed path: a back-valued payment, whose steps run
    /// one by one and must find the plan saved. `Some(None)` when another
    /// worker moved the notice first.
    async fn commit_unclaimed(
        &self,
        rec: &mut NoticeRecord,
        version: i64,
        worker: &str,
        now: i64,
        plan: &Plan,
    ) -> Result<Option<Option<NoticeState>>, SettlementError> {
        let attachments = self.attachments(rec, version, &plan.outcome).await?;
        if attachments.is_empty() {
            return Ok(None);
        }
        let outcome = self.fin.store().commit_attached(self.fin.ledger(), plan.command.clone(), attachments).await;
        let committed = match outcome {
            // Another worker settled the notice first, from a plan of its
            // own under the notice's key.
            Err(LedgerError::IdempotencyConflict(_)) => Committed::Replan,
            outcome => self.conclude(rec, version, plan, outcome, true).await?,
        };
        match committed {
            Committed::Done(state) => Ok(Some(state)),
            // What it planned on moved, or the notice did: plan again, this
            // time claimed (a claim that loses means another worker has it).
            Committed::Replan => self.drive(rec.clone(), version, worker, now, None).await.map(Some),
        }
    }

    /// Saves `rec` as claimed by `worker` with `plan`: its new version, or
    /// `None` when another worker moved it first.
    async fn claim(
        &self,
        rec: &mut NoticeRecord,
        version: i64,
        worker: &str,
        now: i64,
        plan: &Plan,
    ) -> Result<Option<i64>, SettlementError> {
        rec.state = processing(worker, now, plan);
        match self.save(rec, version).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if conflict(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Commits a claimed notice's plan (`plan`, else a fresh one), planning
    /// again while what it decided on keeps changing.
    pub(super) async fn drive(
        &self,
        mut rec: NoticeRecord,
        mut version: i64,
        worker: &str,
        now: i64,
        mut plan: Option<Box<Plan>>,
    ) -> Result<Option<NoticeState>, SettlementError> {
        for _ in 0..MAX_PLANS {
            let current = match plan.take() {
                Some(p) => p,
                None => match self.plan(&rec.notice).await? {
                    Ok(fresh) => match self.claim(&mut rec, version, worker, now, &fresh).await? {
                        Some(v) => {
                            version = v;
                            Box::new(fresh)
                        }
                        None => return Ok(None),
                    },
                    Err((code, message)) => {
                        rec.state = NoticeState::Rejected { code, message };
                        return self.finish(rec, version).await;
                    }
                },
            };
            let attachments = self.attachments(&rec, version, &current.outcome).await?;
            let attached = !attachments.is_empty();
            let outcome =
                self.fin.store().commit_attached(self.fin.ledger(), current.command.clone(), attachments).await;
            if let Committed::Done(state) = self.conclude(&mut rec, version, &current, outcome, attached).await? {
                return Ok(state);
            }
        }
        Err(FinanceError::Contention { attempts: MAX_PLANS }.into())
    }

    /// What a commit of a claimed notice's plan means for the notice:
    /// final (and the steps the commit did not hold, done), or to be
    /// planned again.
    pub(super) async fn conclude(
        &self,
        rec: &mut NoticeRecord,
        version: i64,
        plan: &Plan,
        outcome: Result<Appended, LedgerError>,
        attached: bool,
    ) -> Result<Committed, SettlementError> {
        match outcome {
            Ok(appended) => {
                let seq = appended.committed.seq;
                let state = match &plan.outcome {
                    PlannedOutcome::Applied { breakdown } => NoticeState::Applied { seq, breakdown: breakdown.clone() },
                    PlannedOutcome::Suspense { reason } => NoticeState::Suspense { seq, reason: reason.clone() },
                };
                if attached && appended.entry.is_some() {
                    // Entry, invoice payments and final state: one commit.
                    return Ok(Committed::Done(Some(state)));
                }
                // Committed before (a replay), or back-valued: the
                // remaining steps one by one, each idempotent.
                if let NoticeState::Applied { breakdown, .. } = &state {
                    self.record_invoice_payments(&rec.notice, breakdown).await?;
                    self.reaccrue_if_back_valued(&rec.notice).await?;
                }
                rec.state = state;
                Ok(Committed::Done(self.finish(rec.clone(), version).await?))
            }
            // Not committed: what it decided on has changed (balances, an
            // invoice, or the notice itself, taken over). Re-plan.
            Err(LedgerError::PreconditionFailed { .. } | LedgerError::VersionConflict { .. }) => Ok(Committed::Replan),
            Err(LedgerError::InsufficientFunds { account, .. }) if rec.notice.source == Source::BrandCredit => {
                rec.state = NoticeState::Rejected {
                    code: "insufficient_funds".into(),
                    message: format!("{account} does not hold enough credit"),
                };
                Ok(Committed::Done(self.finish(rec.clone(), version).await?))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What commits with a notice's entry: the invoices it pays (their next
    /// versions) and the notice's final state, which takes the entry's
    /// seq. Empty for a back-valued payment: its re-accrual must run
    /// before the notice is final (a crash in between re-runs it), so that
    /// one keeps the step-by-step path.
    pub(super) async fn attachments(
        &self,
        rec: &NoticeRecord,
        version: i64,
        outcome: &PlannedOutcome,
    ) -> Result<Vec<Attachment>, SettlementError> {
        let mut facility = None;
        let mut invoices = HashMap::new();
        if let PlannedOutcome::Applied { breakdown } = outcome {
            facility = match self.fin.facility(&rec.notice.facility).await {
                Ok(f) => Some(f),
                Err(FinanceError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            if back_valued(rec, facility.as_ref()) {
                return Ok(Vec::new());
            }
            let paid: Vec<String> = breakdown.invoices.iter().map(|i| i.invoice.clone()).collect();
            invoices = self.fin.many(kind::INVOICE, &paid).await?;
        }
        attachments_from(rec, version, outcome, facility.as_ref(), &mut invoices)
    }

    pub(super) async fn finish(&self, rec: NoticeRecord, version: i64) -> Result<Option<NoticeState>, SettlementError> {
        let state = rec.state.clone();
        match self.save(&rec, version).await {
            Ok(_) => Ok(Some(state)),
            // Another worker finished it first (after our lease ran out).
            Err(e) if conflict(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn save(&self, rec: &NoticeRecord, expected: i64) -> Result<i64, SettlementError> {
        let body = serde_json::to_value(rec).map_err(|e| SettlementError::invalid("notice", e.to_string()))?;
        let stored = self
            .fin
            .store()
            .put_record(self.fin.ledger(), NOTICE_KIND, &rec.notice.external_ref, expected, &body)
            .await?;
        Ok(stored.version)
    }

    /// Money in suspense: notices that matched nothing.
    pub async fn suspense_report(&self) -> Result<Vec<NoticeRecord>, SettlementError> {
        let in_suspense = self.indexed_notices(SUSPENSE_NOTICES, &[]).await?;
        Ok(in_suspense.into_iter().filter(|n| matches!(n.state, NoticeState::Suspense { .. })).collect())
    }

    /// The notices (latest versions) an index files under `parts`.
    pub(super) async fn indexed_notices(
        &self,
        index: &str,
        parts: &[&str],
    ) -> Result<Vec<NoticeRecord>, SettlementError> {
        let key = index_key(parts);
        let recs = self.fin.store().all_by_index(self.fin.ledger(), NOTICE_KIND, index, &key).await?;
        recs.iter().map(|r| r.decode().map_err(SettlementError::from)).collect()
    }
}

/// Whether a worker may take a notice now.
pub(super) enum Lease {
    /// Queued, or claimed by this worker or by one whose lease ran out:
    /// with the plan saved with the claim, if any.
    Open(Option<Box<Plan>>),
    /// Another worker's lease still runs.
    Held,
    /// Nothing left to do.
    Final,
}

pub(super) fn lease(state: &NoticeState, worker: &str, now_us: i64) -> Lease {
    match state {
        NoticeState::Queued => Lease::Open(None),
        NoticeState::Processing { worker: w, claimed_at_us, .. }
            if w != worker && claimed_at_us + LEASE_US > now_us =>
        {
            Lease::Held
        }
        NoticeState::Processing { plan, .. } => Lease::Open(plan.clone()),
        _ => Lease::Final,
    }
}

/// A notice claimed by `worker` at `now_us` with its plan.
pub(super) fn processing(worker: &str, now_us: i64, plan: &Plan) -> NoticeState {
    NoticeState::Processing { worker: worker.to_owned(), claimed_at_us: now_us, plan: Some(Box::new(plan.clone())) }
}

/// What a commit attempt left a claimed notice in.
pub(super) enum Committed {
    /// Final (`None`: another worker finished it first).
    Done(Option<NoticeState>),
    /// What its plan decided on changed: plan again.
    Replan,
}

fn check_notice(n: &PaymentNotice) -> Result<(), SettlementError> {
    check_ref(&n.external_ref)?;
    if n.amount_minor <= 0 {
        return Err(SettlementError::invalid("amount", "must be positive"));
    }
    if n.allocations.len() > 100 {
        return Err(SettlementError::invalid("allocations", "at most 100"));
    }
    if n.allocations.iter().any(|a| a.amount_minor.is_some_and(|v| v <= 0)) {
        return Err(SettlementError::invalid("allocations", "amounts must be positive"));
    }
    if n.value_date < Date::MIN + Duration::days(1) {
        return Err(SettlementError::invalid("value_date", "out of range"));
    }
    Ok(())
}

/// [`Settlement::attachments`] from the notice's facility and invoices as
/// read (a batch reads them for all its notices at once); takes the
/// invoices it pays out of `invoices`.
pub(super) fn attachments_from(
    rec: &NoticeRecord,
    version: i64,
    outcome: &PlannedOutcome,
    facility: Option<&Facility>,
    invoices: &mut HashMap<String, Versioned<Invoice>>,
) -> Result<Vec<Attachment>, SettlementError> {
    let mut attachments = Vec::new();
    if let PlannedOutcome::Applied { breakdown } = outcome {
        if back_valued(rec, facility) {
            return Ok(Vec::new());
        }
        for inv in &breakdown.invoices {
            let payment = InvoicePayment {
                value_date: rec.notice.value_date,
                amount_minor: inv.amount_minor,
                reference: rec.notice.external_ref.clone(),
            };
            let cur =
                invoices.remove(&inv.invoice).ok_or_else(|| FinanceError::not_found(kind::INVOICE, &inv.invoice))?;
            attachments.extend(invoice_payment_attachment_of(cur, &payment)?);
        }
    }
    let id = rec.notice.external_ref.clone();
    let (rec, outcome) = (rec.clone(), outcome.clone());
    let body = move |entry: &offtake_ledger::EntryRecord| {
        let mut rec = rec.clone();
        rec.state = match &outcome {
            PlannedOutcome::Applied { breakdown } => {
                NoticeState::Applied { seq: entry.seq, breakdown: breakdown.clone() }
            }
            PlannedOutcome::Suspense { reason } => NoticeState::Suspense { seq: entry.seq, reason: reason.clone() },
        };
        serde_json::to_value(&rec).map_err(|e| LedgerError::Storage(format!("notice record: {e}")))
    };
    attachments.push(Attachment { kind: NOTICE_KIND.to_owned(), id, expected_version: version, body: Arc::new(body) });
    Ok(attachments)
}

/// Whether the notice pays on a day its facility has already accrued
/// (its re-accrual must run before the notice is final).
fn back_valued(rec: &NoticeRecord, facility: Option<&Facility>) -> bool {
    facility.is_some_and(|f| f.accrued_through.is_some_and(|done| done >= rec.notice.value_date))
}
