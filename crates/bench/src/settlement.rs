//! The `settlement` scenario: brand payment notices applied through the
//! waterfall (penalties → fees → interest → principal → remainder), the
//! month-end burst a lender's program has to absorb.
//!
//! The program: one lender, and per facility a maker, a brand, a funded
//! advance (so the first payments meet fees, interest and principal) and a
//! commitment whose tranches are all delivered, i.e. open invoices. Each
//! client owns one facility (`client % facilities`), the way a settlement
//! worker is usually sharded; every operation is one notice, queued and
//! settled at once (`enqueue` + `settle_notice`), naming one invoice.
//!
//! Documents are built in their verified form: this measures settlement,
//! not Ed25519 (the signing crate has its own benchmarks-by-test).

use std::sync::Arc;
use std::time::Instant;

use offtake_finance::{DocSigner, FacilityTerms, Finance, PartyRole, SignedDocument};
use offtake_ledger::{AmountMinor, AsOf, LedgerError, LedgerId, Store};
use offtake_settlement::{Allocation, NoticeState, PaymentNotice, Settlement, Source};
use time::macros::{date, datetime};
use time::Date;

use crate::backend::{Backend, BackendKind};
use crate::error::BenchError;
use crate::report::{reset_peak_rss, CpuMeter, Latencies, Report};
use crate::rng::SplitMix64;
use crate::scenario::{drive_clients, Driven, OpResult, Operation, RunLabel, ScenarioConfig};
use crate::setup::USD;

/// The program's one lender.
pub const LENDER: &str = "lender-bench";
const OPENED_ON: Date = date!(2026 - 01 - 01);
const DELIVERED_ON: Date = date!(2026 - 02 - 15);
/// Before the invoices fall due (30 days after delivery): no late charges,
/// so every notice is an ordinary payment.
const VALUE_DATE: Date = date!(2026 - 03 - 01);
/// Each invoice: 1,000 units at 1,000.00, far more than a run pays.
const TRANCHE_QUANTITY: &str = "1000";
const TRANCHE_UNIT_PRICE: &str = "1000.00";
/// Drawn per facility, so that payments first meet fees, interest and
/// principal.
const ADVANCE: &str = "100000.00";

/// A facility of the program and its open invoices.
struct ProgramFacility {
    id: String,
    brand: String,
    invoices: Vec<String>,
}

/// The settlement program the clients pay into.
pub struct Program {
    settlement: Arc<Settlement>,
    facilities: Arc<Vec<ProgramFacility>>,
}

fn signer(party: &str, role: PartyRole) -> DocSigner {
    DocSigner { key_id: format!("key-{party}"), party: party.to_owned(), role }
}

fn signed(doc_type: &str, body: serde_json::Value, signers: Vec<DocSigner>) -> Result<SignedDocument, BenchError> {
    let canonical =
        offtake_signing::canonical::canonical_json(&body).map_err(|e| BenchError::InvalidConfig(e.to_string()))?;
    Ok(SignedDocument {
        doc_type: doc_type.to_owned(),
        body_hash: offtake_ledger::hash::sha256(&canonical),
        body,
        signers,
        envelope: serde_json::Value::Null,
    })
}

fn fin_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::InvalidConfig(format!("settlement program: {e}"))
}

impl Program {
    /// Builds `facilities` facilities with `invoices_each` open invoices.
    pub async fn build(store: Arc<dyn Store>, facilities: usize, invoices_each: usize) -> Result<Program, BenchError> {
        Program::build_in(store, "bench-settlement", facilities, invoices_each, 1).await
    }

    /// [`Program::build`] in ledger `ledger`, `parallel` facilities at a
    /// time (each through the same finance service and its store, so a
    /// group committer groups their entries). Every record and entry is
    /// written by the finance service itself: every invariant (record and
    /// ledger hash chains, versions, documents' nonces) holds as in
    /// production.
    pub async fn build_in(
        store: Arc<dyn Store>,
        ledger: &str,
        facilities: usize,
        invoices_each: usize,
        parallel: usize,
    ) -> Result<Program, BenchError> {
        if facilities == 0 || invoices_each == 0 {
            return Err(BenchError::InvalidConfig("settlement needs at least one facility and one invoice".into()));
        }
        let fin = Finance::open(store, LedgerId::new(ledger)?).await.map_err(fin_err)?;
        fin.register_party(LENDER, PartyRole::Lender, "Bench Lender").await.map_err(fin_err)?;
        let capital = AmountMinor::new(1_000_000_000_000);
        fin.fund_lender(LENDER, USD, capital, OPENED_ON, "seed").await.map_err(fin_err)?;
        let parallel = parallel.clamp(1, facilities);
        let mut tasks = tokio::task::JoinSet::new();
        for lane in 0..parallel {
            let fin = fin.clone();
            tasks.spawn(async move {
                let mut built = Vec::new();
                for f in (lane..facilities).step_by(parallel) {
                    built.push((f, build_facility(&fin, f, invoices_each).await?));
                }
                Ok::<_, BenchError>(built)
            });
        }
        let mut out = Vec::with_capacity(facilities);
        while let Some(joined) = tasks.join_next().await {
            out.extend(joined.map_err(|e| BenchError::InvalidConfig(format!("building the program: {e}")))??);
        }
        out.sort_by_key(|(f, _)| *f);
        let facilities = out.into_iter().map(|(_, built)| built).collect();
        Ok(Program { settlement: Arc::new(Settlement::new(fin)), facilities: Arc::new(facilities) })
    }

    /// The settlement service over the program's ledger.
    pub fn settlement(&self) -> &Arc<Settlement> {
        &self.settlement
    }

    /// Facilities of the program.
    pub fn facility_count(&self) -> usize {
        self.facilities.len()
    }

    /// Facility `f`'s id, maker and brand.
    pub fn facility(&self, f: usize) -> (&str, String, &str) {
        let fac = &self.facilities[f % self.facilities.len()];
        (&fac.id, format!("maker-{}", f % self.facilities.len()), &fac.brand)
    }

    /// A notice of `amount_minor` on a random invoice of facility `f`.
    pub fn notice(&self, f: usize, external_ref: String, amount_minor: i64, rng: &mut SplitMix64) -> PaymentNotice {
        let fac = &self.facilities[f % self.facilities.len()];
        let invoice = fac.invoices[rng.below(fac.invoices.len() as u64) as usize].clone();
        PaymentNotice {
            external_ref,
            brand: fac.brand.clone(),
            facility: fac.id.clone(),
            currency: USD,
            amount_minor,
            value_date: VALUE_DATE,
            allocations: vec![Allocation { invoice, amount_minor: None }],
            source: Source::Cash,
            source_hash: None,
        }
    }

    /// One operation: a notice of 1.00-100.00 on one invoice of the
    /// client's facility, queued and settled; anything but `applied` is an
    /// error.
    pub fn op(&self, run_id: String) -> Operation {
        let settlement = self.settlement.clone();
        let facilities = self.facilities.clone();
        let run_id = Arc::new(run_id);
        let program = Program { settlement: settlement.clone(), facilities: facilities.clone() };
        Arc::new(move |client, n, mut rng| {
            let notice =
                program.notice(client, format!("{run_id}-{client}-{n}"), 100 * (1 + rng.below(100) as i64), &mut rng);
            let settlement = settlement.clone();
            let worker = format!("worker-{client}");
            Box::pin(async move {
                let t = Instant::now();
                let reference = notice.external_ref.clone();
                let outcome = match settlement.enqueue(notice).await {
                    Ok(_) => settlement.settle_notice(&reference, &worker).await.map(|r| r.state),
                    Err(e) => Err(e),
                };
                let error = match outcome {
                    Ok(NoticeState::Applied { .. }) => None,
                    Ok(other) => Some(LedgerError::Storage(format!("notice {reference} ended {other:?}"))),
                    Err(e) => Some(LedgerError::Storage(format!("notice {reference}: {e}"))),
                };
                OpResult { rng, latencies: vec![t.elapsed()], error }
            })
        })
    }

    /// After a run: every currency and book sums to zero, posted and
    /// pending, over every account of the program.
    pub async fn check_books_balance(&self) -> Result<(), BenchError> {
        let fin = self.settlement.finance();
        let mut sums: std::collections::BTreeMap<String, (i128, i128)> = Default::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = fin.store().list_accounts(fin.ledger(), cursor.as_deref(), 1_000).await?;
            for a in &page.items {
                let t = fin.store().balance(fin.ledger(), &a.code, AsOf::Now).await?.totals;
                let e = sums.entry(format!("{} {:?}", a.currency, a.book)).or_default();
                e.0 += i128::from(t.posted_debit_minor) - i128::from(t.posted_credit_minor);
                e.1 += i128::from(t.pending_debit_minor) - i128::from(t.pending_credit_minor);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        match sums.iter().find(|(_, v)| **v != (0, 0)) {
            Some((k, v)) => Err(BenchError::Invariant(format!("{k} does not sum to zero: {v:?}"))),
            None => Ok(()),
        }
    }
}

/// The value date of the program's notices (and of its statements and
/// availability in the `scale` scenario).
pub const PROGRAM_DATE: Date = VALUE_DATE;

/// One facility of the program: its maker and brand, the facility accepted,
/// a commitment of `invoices_each` tranches, an advance drawn, and every
/// tranche delivered (an open invoice each).
async fn build_facility(fin: &Finance, f: usize, invoices_each: usize) -> Result<ProgramFacility, BenchError> {
    let (maker, brand, id) = (format!("maker-{f}"), format!("brand-{f}"), format!("fac-{f}"));
    fin.register_party(&maker, PartyRole::Maker, &maker).await.map_err(fin_err)?;
    fin.register_party(&brand, PartyRole::Brand, &brand).await.map_err(fin_err)?;
    let mut terms = FacilityTerms::example(USD, 100_000_000_000);
    terms.concentration_bps = 10_000;
    fin.open_facility(&id, LENDER, &maker, terms, OPENED_ON).await.map_err(fin_err)?;
    let acceptance = signed(
        "facility_acceptance",
        serde_json::json!({
            "type": "facility_acceptance", "version": 1, "doc_id": format!("accept-{id}"),
            "issued_at": "2026-01-02T08:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
            "nonce": format!("bench-acceptance-{f}"), "facility": id, "lender": LENDER, "maker": maker,
        }),
        vec![signer(&maker, PartyRole::Maker)],
    )?;
    fin.accept_facility(&acceptance).await.map_err(fin_err)?;
    let commitment = format!("po-{f}");
    let tranches: Vec<serde_json::Value> = (0..invoices_each)
        .map(|t| {
            serde_json::json!({
                "id": format!("t{t}"), "quantity": TRANCHE_QUANTITY, "unit_price": TRANCHE_UNIT_PRICE,
                "delivery_start": "2026-02-01", "delivery_end": "2026-03-31",
            })
        })
        .collect();
    let body = serde_json::json!({
        "type": "commitment", "version": 1, "doc_id": commitment,
        "issued_at": "2026-01-02T09:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
        "nonce": format!("bench-commitment-{f}"), "prev_hash": null,
        "brand": brand, "maker": maker, "currency": "USD", "tranches": tranches,
        "status": "active", "terms": { "payment_days": 30, "shortfall_pct": "10" },
    });
    let signers = vec![signer(&brand, PartyRole::Brand), signer(&maker, PartyRole::Maker)];
    fin.submit_commitment(&signed("commitment", body, signers)?).await.map_err(fin_err)?;
    draw(fin, f, "", ADVANCE).await?;
    let mut invoices = Vec::with_capacity(invoices_each);
    for t in 0..invoices_each {
        let invoice = fin.deliver(&commitment, &format!("t{t}"), DELIVERED_ON).await.map_err(fin_err)?;
        invoices.push(invoice.id);
    }
    Ok(ProgramFacility { id, brand, invoices })
}

/// A draw on facility `f`: the maker's signed advance request and the
/// lender's signed approval (`tag` keeps documents' ids and nonces unique).
pub async fn draw(fin: &Finance, f: usize, tag: &str, amount: &str) -> Result<(), BenchError> {
    let (maker, id) = (format!("maker-{f}"), format!("fac-{f}"));
    let request = signed(
        "advance_request",
        serde_json::json!({
            "type": "advance_request", "version": 1, "doc_id": format!("adv-{f}{tag}"),
            "issued_at": "2026-01-05T10:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
            "nonce": format!("bench-request-{f}{tag}"), "facility": id, "maker": maker,
            "amount": amount, "currency": "USD",
        }),
        vec![signer(&maker, PartyRole::Maker)],
    )?;
    fin.request_advance(&request, datetime!(2026-01-05 10:00 UTC)).await.map_err(fin_err)?;
    let approval = signed(
        "advance_approval",
        serde_json::json!({
            "type": "advance_approval", "version": 1, "doc_id": format!("adv-{f}{tag}-decision"),
            "issued_at": "2026-01-05T11:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
            "nonce": format!("bench-approval-{f}{tag}"), "facility": id, "lender": LENDER,
            "request_hash": request.body_hash_hex(), "decision": "approve",
        }),
        vec![signer(LENDER, PartyRole::Lender)],
    )?;
    fin.decide_advance(&approval).await.map_err(fin_err)?;
    Ok(())
}

/// Runs `cfg.notices` notices (bounded by `cfg.settlement_duration`) at each
/// concurrency of `cfg.concurrency`.
pub async fn settlement(
    backend: &Backend,
    cfg: &ScenarioConfig,
    emit: &mut dyn FnMut(&Report),
) -> Result<(), BenchError> {
    let store = backend.full_store().ok_or_else(|| BenchError::InvalidConfig("backend without a store".into()))?;
    // Behind a group committer, as `offtake serve` holds it: concurrent
    // workers' payment entries (with their invoice and notice records)
    // share transactions.
    let store: Arc<dyn Store> =
        Arc::new(offtake_committer::GroupCommitStore::over(store, cfg.max_batch, cfg.max_wait_us));
    let facilities = cfg.concurrency.iter().copied().max().unwrap_or(1).max(1);
    let program = Program::build(store, facilities, cfg.invoices_per_facility).await?;
    backend.analyze().await?;
    let mut last_completed = 0;
    for &concurrency in &cfg.concurrency {
        reset_peak_rss();
        let per_client = cfg.notices.div_ceil(concurrency.max(1) as u64).max(1);
        let run_cfg = ScenarioConfig {
            max_ops_per_client: Some(cfg.max_ops_per_client.map_or(per_client, |m| m.min(per_client))),
            duration: cfg.settlement_duration,
            ..cfg.clone()
        };
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let op = program.op(format!("pay-c{concurrency}-{nanos}"));
        let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
        let d = drive_clients(concurrency, &run_cfg, op).await?;
        let cpu = cpu.per_op(d.completed);
        if let Some(e) = &d.first_error {
            tracing::warn!(error = %e, errors = d.errors, "notices failed during the run");
        }
        let fin = program.settlement.finance();
        let head = fin.store().head(fin.ledger()).await?;
        let label = RunLabel {
            scenario: "settlement",
            variant: "waterfall",
            unit: "notices",
            concurrency,
            ledger_entries: head.seq,
            mean_batch: None,
        };
        last_completed = d.completed;
        emit(&d.report(backend, label, cpu));
    }
    // As many notices as the widest run settled one at a time, so both
    // figures cover a like amount of work.
    let burst = last_completed.clamp(1, cfg.notices.max(1));
    let workers = cfg.settle_workers.max(1);
    emit(&batched(&program, backend, burst, workers, cfg.settlement_duration).await?);
    if cfg.check {
        program.check_books_balance().await?;
    }
    Ok(())
}

/// The worker's batched passes (`settle_once`: up to 64 notices, one per
/// facility and brand, claimed in one transaction and committed in
/// another): a burst of `notices` queued round-robin over the program's
/// facilities, then `workers` workers pass over the queue until it is
/// empty or `deadline` has passed. Workers of one ledger plan the same
/// notices and all but one lose each claim, so more than one mostly adds
/// wasted planning (measured: 4 workers settle fewer notices than 1). Throughput is notices settled per
/// second of settling (queueing is not timed); latency is per pass.
async fn batched(
    program: &Program,
    backend: &Backend,
    notices: u64,
    workers: usize,
    deadline: std::time::Duration,
) -> Result<Report, BenchError> {
    queue_burst(program, notices).await?;
    backend.analyze().await?;
    reset_peak_rss();
    let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let settlement = program.settlement.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut settled) = (Latencies::with_capacity(64), 0u64);
            while started.elapsed() < deadline {
                let t = Instant::now();
                let r = settlement.settle_once(&format!("bench-batch-{w}")).await.map_err(fin_err)?;
                latencies.record(t.elapsed());
                let done = (r.applied + r.suspense + r.rejected) as u64;
                settled += done;
                if done == 0 && r.skipped == 0 {
                    break;
                }
            }
            Ok::<_, BenchError>((latencies, settled))
        }));
    }
    let (mut latencies, mut completed) = (Latencies::with_capacity(64), 0);
    for task in tasks {
        let (l, n) = task.await.map_err(|e| BenchError::Invariant(format!("worker: {e}")))??;
        latencies.merge(l);
        completed += n;
    }
    let d = Driven { latencies, completed, errors: 0, first_error: None, elapsed: started.elapsed() };
    let cpu = cpu.per_op(d.completed);
    let fin = program.settlement.finance();
    let head = fin.store().head(fin.ledger()).await?;
    let label = RunLabel {
        scenario: "settlement",
        variant: "batched",
        unit: "notices",
        concurrency: workers,
        ledger_entries: head.seq,
        mean_batch: None,
    };
    Ok(d.report(backend, label, cpu))
}

/// Queues `notices` payment notices round-robin over the program's
/// facilities, eight at a time.
async fn queue_burst(program: &Program, notices: u64) -> Result<(), BenchError> {
    const IN_FLIGHT: u64 = 8;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut rng = SplitMix64::new(21);
    let mut next = 0u64;
    while next < notices {
        let mut tasks = Vec::new();
        for i in next..(next + IN_FLIGHT).min(notices) {
            let amount_minor = 100 + rng.below(9_900) as i64;
            let notice = program.notice(i as usize, format!("burst-{nanos}-{i}"), amount_minor, &mut rng);
            let settlement = program.settlement.clone();
            tasks.push(tokio::spawn(async move { settlement.enqueue(notice).await }));
        }
        for task in tasks {
            task.await.map_err(|e| BenchError::Invariant(format!("enqueue: {e}")))?.map_err(fin_err)?;
        }
        next += IN_FLIGHT;
    }
    Ok(())
}
