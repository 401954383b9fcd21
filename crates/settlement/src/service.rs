//! The settlement service: queue, worker, waterfall application, credits,
//! remittance.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use offtake_finance::chart::{self, FacilityPart};
use offtake_finance::{Facility, Finance, FinanceError, Invoice, InvoicePayment, InvoiceStatus, PartyRole};
use offtake_ledger::commit::Attachment;
use offtake_ledger::date::{self, Clock};
use offtake_ledger::{
    AccountCode, Action, AmountMinor, AsOf, Command, LedgerError, NewAccount, NewLeg, Side, StoredRecord,
};
use serde::Serialize;
use time::{Date, Duration};

use crate::error::SettlementError;
use crate::notice::{
    NoticeRecord, NoticeState, PaymentNotice, Plan, PlannedOutcome, Source, NOTICE_KIND, REMITTANCE_KIND,
};
use crate::waterfall::{split, Breakdown, InvoiceOpen, WaterfallInput};

/// A worker that claimed a notice and vanished loses it after this long.
pub const LEASE_US: i64 = 30_000_000;
/// Re-plans before giving up on one notice in one run (other payments on
/// the same facility keep changing what it owes).
const MAX_PLANS: u32 = 32;

#[derive(Clone)]
pub struct Settlement {
    fin: Finance,
    /// Accounts this process has already made sure exist. Accounts are
    /// never deleted, so a code seen once needs no more round trips: a
    /// payment would otherwise re-create ten accounts per notice.
    known_accounts: Arc<Mutex<HashSet<AccountCode>>>,
    /// When notices are received and claimed, and when leases run out: the
    /// wall clock unless a test steps it ([`Settlement::with_clock`]).
    clock: Clock,
}

/// What one worker pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub applied: usize,
    pub suspense: usize,
    pub rejected: usize,
    /// Claimed by another worker (or lost a race to one).
    pub skipped: usize,
}

fn conflict(e: &SettlementError) -> bool {
    matches!(e, SettlementError::Finance(FinanceError::Ledger(LedgerError::VersionConflict { .. })))
}

/// Signed amounts per account (debit positive), turned into legs.
#[derive(Default)]
struct Net {
    by_account: BTreeMap<AccountCode, (NewAccount, i64)>,
}

impl Net {
    fn debit(&mut self, account: &NewAccount, amount_minor: i64) {
        self.by_account.entry(account.code.clone()).or_insert_with(|| (account.clone(), 0)).1 += amount_minor;
    }

    fn credit(&mut self, account: &NewAccount, amount_minor: i64) {
        self.debit(account, -amount_minor);
    }

    fn legs(&self) -> Vec<NewLeg> {
        let total: i64 = self.by_account.values().map(|(_, v)| v).sum();
        assert_eq!(total, 0, "a payment's legs balance");
        self.by_account
            .values()
            .filter(|(_, v)| *v != 0)
            .map(|(a, v)| NewLeg {
                account: a.code.clone(),
                side: if *v > 0 { Side::Debit } else { Side::Credit },
                currency: a.currency,
                amount_minor: AmountMinor::new(v.abs()),
            })
            .collect()
    }

    fn accounts(&self) -> Vec<NewAccount> {
        self.by_account.values().map(|(a, _)| a.clone()).collect()
    }
}

impl Settlement {
    pub fn new(fin: Finance) -> Self {
        Settlement { fin, known_accounts: Arc::default(), clock: date::now_us }
    }

    /// The same service reading time from `clock` (microseconds since the
    /// Unix epoch), e.g. to test lease expiry without waiting.
    pub fn with_clock(self, clock: Clock) -> Self {
        Settlement { clock, ..self }
    }

    fn now_us(&self) -> i64 {
        (self.clock)()
    }

    pub fn finance(&self) -> &Finance {
        &self.fin
    }

    /// Puts a notice in the queue. The same external reference again is a
    /// no-op (the first notice's record is returned); the same reference
    /// with different content is `duplicate_reference`.
    pub async fn enqueue(&self, notice: PaymentNotice) -> Result<NoticeRecord, SettlementError> {
        check_notice(&notice)?;
        let store = self.fin.store();
        let ledger = self.fin.ledger();
        let record = NoticeRecord { notice: notice.clone(), state: NoticeState::Queued, received_at_us: self.now_us() };
        let body = serde_json::to_value(&record).map_err(|e| SettlementError::invalid("notice", e.to_string()))?;
        if store.insert_once(ledger, NOTICE_KIND, &notice.external_ref, &body).await? {
            return Ok(record);
        }
        let existing = self.notice(&notice.external_ref).await?;
        if existing.notice == notice {
            Ok(existing)
        } else {
            Err(SettlementError::DuplicateReference(notice.external_ref))
        }
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

    async fn notice_versioned(&self, external_ref: &str) -> Result<(i64, NoticeRecord), SettlementError> {
        let rec = self
            .fin
            .store()
            .get_record(self.fin.ledger(), NOTICE_KIND, external_ref)
            .await?
            .ok_or_else(|| SettlementError::NotFound { kind: "payment notice", id: external_ref.to_owned() })?;
        Ok((rec.version, rec.decode()?))
    }

    /// Every notice (latest state), ordered by reference.
    pub async fn notices(&self) -> Result<Vec<NoticeRecord>, SettlementError> {
        let recs: Vec<StoredRecord> = self.fin.store().all_records(self.fin.ledger(), NOTICE_KIND).await?;
        recs.iter().map(|r| r.decode().map_err(SettlementError::from)).collect()
    }

    /// One worker pass over the queue: claims each open notice (queued, or
    /// abandoned by a crashed worker) and applies it. Safe to run in several
    /// copies at once: a claim is an optimistic write of the notice's next
    /// version, so exactly one worker wins each notice.
    pub async fn settle_once(&self, worker: &str) -> Result<RunReport, SettlementError> {
        let mut report = RunReport::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .fin
                .store()
                .list_records(self.fin.ledger(), NOTICE_KIND, cursor.as_deref(), offtake_ledger::store::MAX_PAGE_LIMIT)
                .await?;
            for rec in &page.items {
                let notice: NoticeRecord = rec.decode()?;
                if notice.is_final() {
                    continue;
                }
                match self.process(rec.version, notice, worker).await? {
                    Some(NoticeState::Applied { .. }) => report.applied += 1,
                    Some(NoticeState::Suspense { .. }) => report.suspense += 1,
                    Some(NoticeState::Rejected { .. }) => report.rejected += 1,
                    _ => report.skipped += 1,
                }
            }
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
    async fn process(
        &self,
        version: i64,
        rec: NoticeRecord,
        worker: &str,
    ) -> Result<Option<NoticeState>, SettlementError> {
        let now = self.now_us();
        let plan = match &rec.state {
            NoticeState::Queued => None,
            NoticeState::Processing { worker: w, claimed_at_us, plan } => {
                if w != worker && claimed_at_us + LEASE_US > now {
                    return Ok(None);
                }
                plan.clone()
            }
            _ => return Ok(Some(rec.state)),
        };
        let mut version = version;
        let mut rec = rec;
        // A notice nobody has planned yet is planned first and claimed with
        // its plan in one write (planning only reads, and books nothing but
        // idempotent accruals): one durable transaction less per notice. A
        // worker that loses the claim drops its plan.
        let plan = match plan {
            Some(p) => Some(p),
            None => match self.plan(&rec.notice).await? {
                Ok(p) => Some(Box::new(p)),
                Err((code, message)) => {
                    rec.state = NoticeState::Rejected { code, message };
                    return self.finish(rec, version).await;
                }
            },
        };
        rec.state = NoticeState::Processing { worker: worker.to_owned(), claimed_at_us: now, plan: plan.clone() };
        match self.save(&rec, version).await {
            Ok(v) => version = v,
            Err(e) if conflict(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut plan = plan;
        for _ in 0..MAX_PLANS {
            let current = match plan.take() {
                Some(p) => p,
                None => {
                    let fresh = match self.plan(&rec.notice).await? {
                        Ok(p) => p,
                        Err((code, message)) => {
                            rec.state = NoticeState::Rejected { code, message };
                            return self.finish(rec, version).await;
                        }
                    };
                    rec.state = NoticeState::Processing {
                        worker: worker.to_owned(),
                        claimed_at_us: now,
                        plan: Some(Box::new(fresh.clone())),
                    };
                    match self.save(&rec, version).await {
                        Ok(v) => version = v,
                        Err(e) if conflict(&e) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                    Box::new(fresh)
                }
            };
            let attachments = self.attachments(&rec, version, &current.outcome).await?;
            let attached = !attachments.is_empty();
            match self.fin.store().commit_attached(self.fin.ledger(), current.command.clone(), attachments).await {
                Ok(appended) => {
                    let seq = appended.committed.seq;
                    let state = match current.outcome {
                        PlannedOutcome::Applied { breakdown } => NoticeState::Applied { seq, breakdown },
                        PlannedOutcome::Suspense { reason } => NoticeState::Suspense { seq, reason },
                    };
                    if attached && appended.entry.is_some() {
                        // Entry, invoice payments and final state: one commit.
                        return Ok(Some(state));
                    }
                    // Committed before (a replay), or back-valued: the
                    // remaining steps one by one, each idempotent.
                    if let NoticeState::Applied { breakdown, .. } = &state {
                        self.record_invoice_payments(&rec.notice, breakdown).await?;
                        self.reaccrue_if_back_valued(&rec.notice).await?;
                    }
                    rec.state = state;
                    return self.finish(rec, version).await;
                }
                // Not committed: what it decided on has changed (balances, an
                // invoice, or the notice itself, taken over). Re-plan.
                Err(LedgerError::PreconditionFailed { .. } | LedgerError::VersionConflict { .. }) => continue,
                Err(LedgerError::InsufficientFunds { account, .. }) if rec.notice.source == Source::BrandCredit => {
                    rec.state = NoticeState::Rejected {
                        code: "insufficient_funds".into(),
                        message: format!("{account} does not hold enough credit"),
                    };
                    return self.finish(rec, version).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(FinanceError::Contention { attempts: MAX_PLANS }.into())
    }

    /// What commits with a notice's entry: the invoices it pays (their next
    /// versions) and the notice's final state, which takes the entry's
    /// seq. Empty for a back-valued payment: its re-accrual must run
    /// before the notice is final (a crash in between re-runs it), so that
    /// one keeps the step-by-step path.
    async fn attachments(
        &self,
        rec: &NoticeRecord,
        version: i64,
        outcome: &PlannedOutcome,
    ) -> Result<Vec<Attachment>, SettlementError> {
        if let PlannedOutcome::Applied { .. } = outcome {
            match self.fin.facility(&rec.notice.facility).await {
                Ok(f) if f.accrued_through.is_some_and(|done| done >= rec.notice.value_date) => return Ok(Vec::new()),
                Ok(_) | Err(FinanceError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut attachments = Vec::new();
        if let PlannedOutcome::Applied { breakdown } = outcome {
            for inv in &breakdown.invoices {
                let payment = InvoicePayment {
                    value_date: rec.notice.value_date,
                    amount_minor: inv.amount_minor,
                    reference: rec.notice.external_ref.clone(),
                };
                attachments.extend(self.fin.invoice_payment_attachment(&inv.invoice, &payment).await?);
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
        attachments.push(Attachment {
            kind: NOTICE_KIND.to_owned(),
            id,
            expected_version: version,
            body: Arc::new(body),
        });
        Ok(attachments)
    }

    async fn finish(&self, rec: NoticeRecord, version: i64) -> Result<Option<NoticeState>, SettlementError> {
        let state = rec.state.clone();
        match self.save(&rec, version).await {
            Ok(_) => Ok(Some(state)),
            // Another worker finished it first (after our lease ran out).
            Err(e) if conflict(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn save(&self, rec: &NoticeRecord, expected: i64) -> Result<i64, SettlementError> {
        let body = serde_json::to_value(rec).map_err(|e| SettlementError::invalid("notice", e.to_string()))?;
        let stored = self
            .fin
            .store()
            .put_record(self.fin.ledger(), NOTICE_KIND, &rec.notice.external_ref, expected, &body)
            .await?;
        Ok(stored.version)
    }

    /// Decides what a notice books, on a ledger snapshot: `Err((code,
    /// message))` refuses it without booking anything.
    async fn plan(&self, n: &PaymentNotice) -> Result<Result<Plan, (String, String)>, SettlementError> {
        let facility = match self.fin.facility(&n.facility).await {
            Ok(f) => Some(f),
            Err(FinanceError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let brand_ok = matches!(self.fin.party(&n.brand).await, Ok(p) if p.role == PartyRole::Brand);
        let Some(facility) = facility.filter(|_| brand_ok) else {
            if n.source == Source::BrandCredit {
                return Ok(Err(("not_found".into(), "unknown brand or facility".into())));
            }
            return self.suspense_plan(n, "unknown brand or facility").await.map(Ok);
        };
        if n.currency != facility.terms.currency {
            return Ok(Err((
                "currency_mismatch".into(),
                format!("facility {} is in {}, the payment in {}", facility.id, facility.terms.currency, n.currency),
            )));
        }
        // Interest up to the day before the value date is owed first.
        if let Some(day_before) = n.value_date.previous_day() {
            if day_before >= facility.opened_on {
                self.fin.accrue(&facility.id, day_before).await?;
            }
        }
        let mut targets: Vec<(Invoice, Option<i64>)> = Vec::new();
        if n.allocations.is_empty() {
            let mut open: Vec<Invoice> = self
                .fin
                .invoices()
                .await?
                .into_iter()
                .filter(|i| i.brand == n.brand && i.facility == facility.id && i.status == InvoiceStatus::Open)
                .collect();
            open.sort_by(|a, b| (a.due_on, a.issued_on, &a.id).cmp(&(b.due_on, b.issued_on, &b.id)));
            targets.extend(open.into_iter().map(|i| (i, None)));
        } else {
            // Named invoices are read by id: a notice costs the same whether
            // the program has ten invoices or ten thousand.
            for a in &n.allocations {
                let named = match self.fin.invoice(&a.invoice).await {
                    Ok(i) => Some(i),
                    Err(FinanceError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                match named.filter(|i| i.brand == n.brand && i.facility == facility.id) {
                    Some(i) => targets.push((i, a.amount_minor)),
                    None if n.source == Source::BrandCredit => {
                        return Ok(Err(("not_found".into(), format!("unknown invoice {:?}", a.invoice))))
                    }
                    None => return self.suspense_plan(n, &format!("unknown invoice {:?}", a.invoice)).await.map(Ok),
                }
            }
        }
        let store = self.fin.store();
        let ledger = self.fin.ledger();
        let since_seq = store.head(ledger).await?.seq;
        let c = facility.terms.currency;
        let mut guard: Vec<AccountCode> = Vec::new();
        let mut open = Vec::new();
        for (inv, cap) in &targets {
            let account = chart::invoice(&inv.id, c)?;
            let bal = store.balance(ledger, &account.code, AsOf::Seq(since_seq)).await?;
            guard.push(account.code.clone());
            open.push(InvoiceOpen { invoice: inv.id.clone(), open_minor: bal.posted_minor, cap_minor: *cap });
        }
        let mut owed = Vec::new();
        for part in FacilityPart::WATERFALL {
            let account = chart::facility(&facility.id, part, c)?;
            let bal = store.balance(ledger, &account.code, AsOf::Seq(since_seq)).await?;
            guard.push(account.code.clone());
            owed.push((part, bal.posted_minor));
        }
        let breakdown = split(&WaterfallInput { amount_minor: n.amount_minor, invoices: open, owed });
        let net = self.payment_net(n, &facility, &breakdown)?;
        self.fin_accounts(&net.accounts()).await?;
        let command = Command {
            idempotency_key: format!("payment:{}", n.external_ref),
            kind: match n.source {
                Source::Cash => "payment".into(),
                Source::BrandCredit => "credit_applied".into(),
            },
            effective_date: n.value_date,
            metadata: serde_json::json!({
                "external_ref": n.external_ref,
                "brand": n.brand,
                "facility": facility.id,
                "applied_minor": breakdown.applied_minor,
                "debt_paid_minor": breakdown.debt_paid_minor,
                "remainder_minor": breakdown.remainder_minor,
                "overpayment_minor": breakdown.overpayment_minor,
            }),
            source_hash: n.source_hash.as_deref().and_then(hash32),
            action: Action::RecordIfUnchanged { legs: net.legs(), pending: false, unchanged: guard, since_seq },
        };
        Ok(Ok(Plan { command, outcome: PlannedOutcome::Applied { breakdown } }))
    }

    /// A payment valued on a day already accrued changed the principal of
    /// those days: they are re-accrued and the difference booked as an
    /// adjustment (issue 18, rule 7).
    async fn reaccrue_if_back_valued(&self, n: &PaymentNotice) -> Result<(), SettlementError> {
        let f = match self.fin.facility(&n.facility).await {
            Ok(f) => f,
            Err(FinanceError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if f.accrued_through.is_some_and(|done| done >= n.value_date) {
            self.fin.reaccrue(&f.id).await?;
        }
        Ok(())
    }

    /// The legs of a payment: cash (or credit) in, invoices down, the
    /// maker's share through the waterfall to the lender, the rest payable
    /// to the maker, any excess a credit to the brand.
    fn payment_net(&self, n: &PaymentNotice, f: &Facility, b: &Breakdown) -> Result<Net, SettlementError> {
        let c = f.terms.currency;
        let collection = chart::collection(&f.id, c)?;
        let credit = chart::brand_credit(&n.brand, c)?;
        let mut net = Net::default();
        match n.source {
            Source::Cash => {
                net.debit(&collection, b.amount_minor);
                net.credit(&credit, b.overpayment_minor);
            }
            // Only what was applied leaves the credit.
            Source::BrandCredit => net.debit(&credit, b.applied_minor),
        }
        for inv in &b.invoices {
            net.credit(&chart::invoice(&inv.invoice, c)?, inv.amount_minor);
        }
        net.debit(&chart::maker_equity(&f.maker, c)?, b.applied_minor);
        for p in &b.debt {
            net.credit(&chart::facility(&f.id, p.part, c)?, p.amount_minor);
        }
        net.debit(&chart::lender_cash(&f.lender, c)?, b.debt_paid_minor);
        net.credit(&collection, b.debt_paid_minor);
        net.credit(&chart::maker_payable(&f.maker, c)?, b.remainder_minor);
        Ok(net)
    }

    async fn suspense_plan(&self, n: &PaymentNotice, reason: &str) -> Result<Plan, SettlementError> {
        let cash = chart::suspense_cash(n.currency)?;
        let unapplied = chart::suspense_unapplied(n.currency)?;
        self.fin_accounts(&[cash.clone(), unapplied.clone()]).await?;
        let legs = vec![
            NewLeg {
                account: cash.code,
                side: Side::Debit,
                currency: n.currency,
                amount_minor: AmountMinor::new(n.amount_minor),
            },
            NewLeg {
                account: unapplied.code,
                side: Side::Credit,
                currency: n.currency,
                amount_minor: AmountMinor::new(n.amount_minor),
            },
        ];
        let command = Command {
            idempotency_key: format!("payment:{}", n.external_ref),
            kind: "payment_suspense".into(),
            effective_date: n.value_date,
            metadata: serde_json::json!({ "external_ref": n.external_ref, "brand": n.brand, "reason": reason }),
            source_hash: n.source_hash.as_deref().and_then(hash32),
            action: Action::Record { legs, pending: false },
        };
        Ok(Plan { command, outcome: PlannedOutcome::Suspense { reason: reason.to_owned() } })
    }

    async fn fin_accounts(&self, specs: &[NewAccount]) -> Result<(), SettlementError> {
        for s in specs {
            if self.known_accounts.lock().map(|known| known.contains(&s.code)).unwrap_or(false) {
                continue;
            }
            self.fin.store().create_account(self.fin.ledger(), s).await?;
            if let Ok(mut known) = self.known_accounts.lock() {
                known.insert(s.code.clone());
            }
        }
        Ok(())
    }

    async fn record_invoice_payments(&self, n: &PaymentNotice, b: &Breakdown) -> Result<(), SettlementError> {
        for inv in &b.invoices {
            let payment = InvoicePayment {
                value_date: n.value_date,
                amount_minor: inv.amount_minor,
                reference: n.external_ref.clone(),
            };
            self.fin.record_invoice_payment(&inv.invoice, payment).await?;
        }
        Ok(())
    }

    /// Uses a brand's credit (earlier overpayments) against its invoices on
    /// a facility, through the same waterfall as cash.
    pub async fn apply_credit(
        &self,
        reference: &str,
        brand: &str,
        facility: &str,
        amount_minor: i64,
        on: Date,
        invoice: Option<&str>,
    ) -> Result<NoticeRecord, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let notice = PaymentNotice {
            external_ref: format!("credit-{reference}"),
            brand: brand.to_owned(),
            facility: facility.to_owned(),
            currency: f.terms.currency,
            amount_minor,
            value_date: on,
            allocations: invoice
                .map(|i| vec![crate::notice::Allocation { invoice: i.to_owned(), amount_minor: None }])
                .unwrap_or_default(),
            source: Source::BrandCredit,
            source_hash: None,
        };
        self.enqueue(notice.clone()).await?;
        self.settle_notice(&notice.external_ref, "apply-credit").await
    }

    /// Pays a brand's credit back (out of the facility's collection cash).
    pub async fn refund_credit(
        &self,
        reference: &str,
        brand: &str,
        facility: &str,
        amount_minor: i64,
        on: Date,
    ) -> Result<i64, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let c = f.terms.currency;
        let mut net = Net::default();
        net.debit(&chart::brand_credit(brand, c)?, amount_minor);
        net.credit(&chart::collection(&f.id, c)?, amount_minor);
        let cmd = Command {
            idempotency_key: format!("refund:{reference}"),
            kind: "credit_refund".into(),
            effective_date: on,
            metadata: serde_json::json!({ "brand": brand, "facility": facility, "reference": reference }),
            source_hash: None,
            action: Action::Record { legs: net.legs(), pending: false },
        };
        Ok(self.fin.store().commit(self.fin.ledger(), cmd).await?.seq)
    }

    /// Pays out what a facility's maker is owed (remainders after the
    /// waterfall). Idempotent by reference.
    pub async fn remit(&self, reference: &str, facility: &str, on: Date) -> Result<Remittance, SettlementError> {
        check_ref(reference)?;
        let store = self.fin.store();
        let ledger = self.fin.ledger();
        let id = format!("{facility}:{reference}");
        if let Some(rec) = store.get_record(ledger, REMITTANCE_KIND, &id).await? {
            return Ok(rec.decode()?);
        }
        let f = self.fin.facility(facility).await?;
        let c = f.terms.currency;
        let payable = chart::maker_payable(&f.maker, c)?;
        let owed = store.balance(ledger, &payable.code, AsOf::Now).await?.posted_minor;
        let remittance = Remittance {
            facility: f.id.clone(),
            maker: f.maker.clone(),
            reference: reference.to_owned(),
            on,
            amount_minor: owed,
            seq: None,
        };
        let mut done = remittance.clone();
        if owed > 0 {
            let mut net = Net::default();
            net.debit(&payable, owed);
            net.credit(&chart::collection(&f.id, c)?, owed);
            let cmd = Command {
                idempotency_key: format!("remit:{id}"),
                kind: "remittance".into(),
                effective_date: on,
                metadata: serde_json::json!({ "maker": f.maker, "facility": f.id, "reference": reference }),
                source_hash: None,
                action: Action::Record { legs: net.legs(), pending: false },
            };
            done.seq = Some(store.commit(ledger, cmd).await?.seq);
        }
        let body = serde_json::to_value(&done).map_err(|e| SettlementError::invalid("remittance", e.to_string()))?;
        store.insert_once(ledger, REMITTANCE_KIND, &id, &body).await?;
        Ok(done)
    }

    /// The maker's remittance statement for a facility: each payment's
    /// remainder and the payouts.
    pub async fn remittance_statement(&self, facility: &str) -> Result<RemittanceStatement, SettlementError> {
        let f = self.fin.facility(facility).await?;
        let mut lines = Vec::new();
        for n in self.notices().await? {
            if n.notice.facility != f.id {
                continue;
            }
            if let NoticeState::Applied { seq, breakdown } = n.state {
                lines.push(StatementLine {
                    external_ref: n.notice.external_ref,
                    value_date: n.notice.value_date,
                    seq,
                    applied_minor: breakdown.applied_minor,
                    debt_paid_minor: breakdown.debt_paid_minor,
                    remainder_minor: breakdown.remainder_minor,
                });
            }
        }
        lines.sort_by_key(|l| (l.value_date, l.seq));
        let remittances: Vec<Remittance> = self
            .fin
            .store()
            .all_records(self.fin.ledger(), REMITTANCE_KIND)
            .await?
            .iter()
            .map(|r| r.decode::<Remittance>())
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| r.facility == f.id)
            .collect();
        let payable = chart::maker_payable(&f.maker, f.terms.currency)?;
        let payable_minor = self.fin.store().balance(self.fin.ledger(), &payable.code, AsOf::Now).await?.posted_minor;
        Ok(RemittanceStatement {
            facility: f.id,
            maker: f.maker,
            currency: f.terms.currency.to_string(),
            remainder_total_minor: lines.iter().map(|l| l.remainder_minor).sum(),
            remitted_minor: remittances.iter().map(|r| r.amount_minor).sum(),
            lines,
            remittances,
            payable_minor,
        })
    }

    /// Money in suspense: notices that matched nothing.
    pub async fn suspense_report(&self) -> Result<Vec<NoticeRecord>, SettlementError> {
        Ok(self.notices().await?.into_iter().filter(|n| matches!(n.state, NoticeState::Suspense { .. })).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Remittance {
    pub facility: String,
    pub maker: String,
    pub reference: String,
    pub on: Date,
    pub amount_minor: i64,
    pub seq: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub external_ref: String,
    pub value_date: Date,
    pub seq: i64,
    pub applied_minor: i64,
    pub debt_paid_minor: i64,
    pub remainder_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemittanceStatement {
    pub facility: String,
    pub maker: String,
    pub currency: String,
    pub lines: Vec<StatementLine>,
    pub remittances: Vec<Remittance>,
    pub remainder_total_minor: i64,
    pub remitted_minor: i64,
    pub payable_minor: i64,
}

fn hash32(hex_text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex_text.len() != 64 {
        return None;
    }
    for (i, chunk) in hex_text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

fn check_ref(reference: &str) -> Result<(), SettlementError> {
    offtake_ledger::record::check_record_key("external_ref", reference)?;
    // 128 characters as signed, plus a brand's namespace (`~` and an id of
    // at most 64).
    if reference.len() > 193 {
        return Err(SettlementError::invalid("external_ref", "at most 193 characters"));
    }
    Ok(())
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
