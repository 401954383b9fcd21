//! The `scale` scenario (issue 21): does an operation's cost stay flat as a
//! program grows? For each operation — a draw, a facility's availability,
//! settling one payment notice, a maker's statement, and the first page of
//! each list (facilities, invoices, notices, events) — the p99 latency at a
//! small program and at a large one, and their ratio (the target is ≤ 1.5).
//!
//! Both programs live in the same database (ledgers `bench-scale-small`
//! and `bench-scale-large`), so they share its tables and indexes as two
//! customers of one server would. They are loaded through the finance and
//! settlement services themselves, behind a group committer, many
//! facilities and notices at a time: every record and ledger hash chain
//! holds exactly as in production. Every facility is accrued through the
//! day before the program date (what the nightly end of day leaves).
//! Loading ANALYZEs as it goes; then every table is VACUUMed and
//! ANALYZEd and the server checkpoints (the steady state autovacuum and
//! checkpoints keep a live server in), and each operation is sampled by
//! one client, one at a time, reads before writes.

use std::sync::Arc;
use std::time::Instant;

use offtake_ledger::{LedgerError, Store};
use offtake_settlement::NoticeState;

use crate::backend::{Backend, BackendKind};
use crate::error::BenchError;
use crate::report::{CpuMeter, Latencies, Report};
use crate::rng::SplitMix64;
use crate::scenario::{Driven, RunLabel, ScenarioConfig};
use crate::settlement::{draw, Program, PROGRAM_DATE};

/// A program's size: facilities, invoices (spread evenly over the
/// facilities) and payment notices (queued, spread over the facilities).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramSize {
    pub facilities: usize,
    pub invoices: usize,
    pub notices: usize,
}

impl ProgramSize {
    /// Issue 21's small program: 10 facilities, 100 invoices, 1,000 notices.
    pub const SMALL: ProgramSize = ProgramSize { facilities: 10, invoices: 100, notices: 1_000 };
    /// Issue 21's large program: 10,000 / 100,000 / 1,000,000.
    pub const LARGE: ProgramSize = ProgramSize { facilities: 10_000, invoices: 100_000, notices: 1_000_000 };

    /// `FACILITIES,INVOICES,NOTICES`.
    pub fn parse(text: &str) -> Option<ProgramSize> {
        let mut parts = text.split(',').map(|p| p.trim().parse::<usize>().ok());
        let size = ProgramSize { facilities: parts.next()??, invoices: parts.next()??, notices: parts.next()?? };
        (parts.next().is_none() && size.facilities > 0 && size.invoices >= size.facilities).then_some(size)
    }

    fn label(&self) -> String {
        format!("{}/{}/{}", self.facilities, self.invoices, self.notices)
    }
}

/// The operations measured, in this order: the reads first, on the
/// program as loaded, then the writes. Each write sample adds to a
/// facility's history (an advance, a payment); the small program's ten
/// facilities gather a hundred each over 1,000 samples, the large
/// program's ten thousand a tenth of one, so reads measured after the
/// writes would compare busier facilities in the small program than in
/// the large one.
const OPERATIONS: [&str; 8] = [
    "availability",
    "statement",
    "list-facilities",
    "list-invoices",
    "list-notices",
    "list-events",
    "draw",
    "settle-notice",
];
/// Items per list page: as many as the smallest program fills (10
/// facilities), so that both sizes answer full pages of the same length
/// and the ratio compares like work.
const PAGE_ITEMS: u32 = 10;
/// Facilities built at a time.
const LOAD_PARALLEL: usize = 32;
/// How often loading ANALYZEs (autovacuum's part on a live server).
const ANALYZE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Notices queued in one record transaction while loading.
const NOTICE_SET: usize = 1_000;
/// Sets of notices in flight while loading (record writes of one ledger
/// serialise on its record chain; two keep it busy).
const NOTICE_LANES: usize = 2;

/// p99 (ms) of each operation at one size.
struct Measured {
    p99_ms: Vec<(&'static str, f64)>,
}

/// Runs the scenario: small program, large program, then one ratio line
/// per operation (`# scale-ratio BACKEND OP SMALL_P99_MS LARGE_P99_MS
/// RATIO`, which `bench/compare.sh` reads).
pub async fn scale(backend: &Backend, cfg: &ScenarioConfig, emit: &mut dyn FnMut(&Report)) -> Result<(), BenchError> {
    let store = backend.full_store().ok_or_else(|| BenchError::InvalidConfig("backend without a store".into()))?;
    let store: Arc<dyn Store> =
        Arc::new(offtake_committer::GroupCommitStore::over(store, cfg.max_batch, cfg.max_wait_us));
    let small = measure_size(backend, &store, "bench-scale-small", cfg.scale_small, cfg, emit).await?;
    let large = measure_size(backend, &store, "bench-scale-large", cfg.scale_large, cfg, emit).await?;
    for ((op, small_ms), (_, large_ms)) in small.p99_ms.iter().zip(&large.p99_ms) {
        let ratio = if *small_ms > 0.0 { large_ms / small_ms } else { 0.0 };
        println!("# scale-ratio {} {op} {small_ms:.2} {large_ms:.2} {ratio:.2}", backend.kind.as_str());
    }
    Ok(())
}

/// Loads a program of `size` into `ledger`, VACUUMs and ANALYZEs, and
/// samples each operation `cfg.samples` times.
async fn measure_size(
    backend: &Backend,
    store: &Arc<dyn Store>,
    ledger: &str,
    size: ProgramSize,
    cfg: &ScenarioConfig,
    emit: &mut dyn FnMut(&Report),
) -> Result<Measured, BenchError> {
    let loading = Instant::now();
    let invoices_each = (size.invoices / size.facilities).max(1);
    let analyzer = backend.analyze_every(ANALYZE_EVERY);
    let built = Program::build_in(store.clone(), ledger, size.facilities, invoices_each, LOAD_PARALLEL).await;
    let program = Arc::new(match built {
        Ok(p) => p,
        Err(e) => {
            analyzer.stop().await;
            return Err(e);
        }
    });
    let built_s = loading.elapsed().as_secs_f64();
    let queued = match load_notices(&program, size.notices).await {
        Ok(()) => accrue_through_yesterday(&program).await,
        Err(e) => Err(e),
    };
    analyzer.stop().await;
    queued?;
    let queued_s = loading.elapsed().as_secs_f64();
    backend.vacuum_analyze().await?;
    println!(
        "# scale: loaded {} ({ledger}) in {:.1} s: facilities and invoices {built_s:.1} s, notices {:.1} s, vacuum and analyze {:.1} s",
        size.label(),
        loading.elapsed().as_secs_f64(),
        queued_s - built_s,
        loading.elapsed().as_secs_f64() - queued_s,
    );
    let api = Api::over(store, ledger).await?;
    let mut p99_ms = Vec::with_capacity(OPERATIONS.len());
    for op in OPERATIONS {
        let mut rng = SplitMix64::new(cfg.seed);
        let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
        let started = Instant::now();
        let mut latencies = Latencies::with_capacity(cfg.samples);
        let (mut errors, mut first_error) = (0u64, None);
        for n in 0..cfg.samples {
            let f = rng.below(program.facility_count() as u64) as usize;
            let t = Instant::now();
            if let Err(e) = one(&program, &api, op, f, n, &mut rng).await {
                errors += 1;
                first_error.get_or_insert(LedgerError::Storage(e.to_string()));
            }
            latencies.record(t.elapsed());
        }
        let completed = cfg.samples as u64 - errors;
        let elapsed = started.elapsed();
        let (_, p99, _) = latencies.summary_ms();
        p99_ms.push((op, p99));
        if let Some(e) = &first_error {
            tracing::warn!(error = %e, errors, op, "scale operations failed");
        }
        let d = Driven { latencies, completed, errors, first_error, elapsed };
        let variant = format!("{op} {}", size.label());
        let head = program.settlement().finance().store().head(program.settlement().finance().ledger()).await?;
        let label = RunLabel {
            scenario: "scale",
            variant: &variant,
            unit: "ops",
            concurrency: 1,
            ledger_entries: head.seq,
            mean_batch: None,
        };
        emit(&d.report(backend, label, cpu.per_op(completed)));
    }
    Ok(Measured { p99_ms })
}

/// Queues `notices` payment notices over the program's facilities, in sets
/// of `NOTICE_SET` through the settlement service's own
/// [`enqueue_many`](offtake_settlement::Settlement::enqueue_many) (one
/// record transaction a set: a million notices load in minutes where one
/// transaction each would take hours), `NOTICE_LANES` sets at a time.
async fn load_notices(program: &Arc<Program>, notices: usize) -> Result<(), BenchError> {
    let sets = notices.div_ceil(NOTICE_SET);
    in_lanes(NOTICE_LANES, sets, "loading notices", |lane, lane_sets| {
        let program = program.clone();
        async move {
            let mut rng = SplitMix64::new(lane as u64 + 1);
            for set in lane_sets {
                let batch = (set * NOTICE_SET..((set + 1) * NOTICE_SET).min(notices))
                    .map(|n| program.notice(n, format!("load-{n}"), 100, &mut rng))
                    .collect();
                program.settlement().enqueue_many(batch).await.map_err(ledger_error)?;
            }
            Ok(())
        }
    })
    .await
}

/// Runs `work` in `lanes` tasks at once over items `0..count`, lane `l`
/// taking items `l, l + lanes, …`; the first error stops the load.
async fn in_lanes<F, Fut>(lanes: usize, count: usize, what: &str, work: F) -> Result<(), BenchError>
where
    F: Fn(usize, std::iter::StepBy<std::ops::Range<usize>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes.min(count) {
        tasks.spawn(work(lane, (lane..count).step_by(lanes)));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| BenchError::InvalidConfig(format!("{what}: {e}")))??;
    }
    Ok(())
}

/// Accrues every facility through the day before the program date, as
/// the nightly end of day leaves a running program. Without it the first
/// notice settled on a facility books its whole accrual: the small
/// program's ten facilities pay that once each over 200 samples, the
/// large program's ten thousand on nearly every sample, and the ratio
/// would measure the sampling, not the program's size.
async fn accrue_through_yesterday(program: &Arc<Program>) -> Result<(), BenchError> {
    let Some(yesterday) = PROGRAM_DATE.previous_day() else { return Ok(()) };
    in_lanes(LOAD_PARALLEL, program.facility_count(), "accruing", |_, lane_facilities| {
        let program = program.clone();
        async move {
            for f in lane_facilities {
                let (id, _, _) = program.facility(f);
                program.settlement().finance().accrue(id, yesterday).await.map_err(ledger_error)?;
            }
            Ok(())
        }
    })
    .await
}

/// The API's view of a program, for its list operations: the program's
/// lender asks (`GET /v1/facilities`, `/v1/invoices`, `/v1/payments` as
/// that lender, through the handlers' own page functions, without HTTP).
struct Api {
    state: offtake_api::AppState,
    lender: offtake_api::Principal,
}

impl Api {
    async fn over(store: &Arc<dyn Store>, ledger: &str) -> Result<Api, BenchError> {
        let ledger = offtake_ledger::LedgerId::new(ledger)?;
        let state = offtake_api::AppState::new(
            store.clone(),
            ledger,
            offtake_api::ApiConfig { webhooks: None, ..Default::default() },
        )
        .await?;
        let lender = offtake_api::Principal {
            party_id: offtake_api::parties::PartyId::new(crate::settlement::LENDER).map_err(api_error)?,
            role: offtake_api::Role::Lender,
            key_id: "bench".into(),
        };
        Ok(Api { state, lender })
    }
}

fn api_error(e: offtake_api::ApiError) -> BenchError {
    ledger_error(format!("{e:?}"))
}

fn ledger_error(e: impl std::fmt::Display) -> BenchError {
    BenchError::Ledger(LedgerError::Storage(e.to_string()))
}

/// One sample of `op` on facility `f` (`n`: the sample's number, for
/// unique document ids and notice references).
async fn one(
    program: &Program,
    api: &Api,
    op: &str,
    f: usize,
    n: usize,
    rng: &mut SplitMix64,
) -> Result<(), BenchError> {
    use offtake_api::routes::{facilities, invoices, payments};
    let settlement = program.settlement();
    let fin = settlement.finance();
    let (facility, maker, _) = program.facility(f);
    let (state, lender) = (&api.state, &api.lender);
    match op {
        "draw" => draw(fin, f, &format!("-s{n}"), "1.00").await,
        "availability" => fin.availability(facility, PROGRAM_DATE).await.map(drop).map_err(ledger_error),
        "settle-notice" => settle_one(program, f, n, rng).await,
        "statement" => fin.maker_statement(&maker, PROGRAM_DATE).await.map(drop).map_err(ledger_error),
        "list-facilities" => {
            let q = facilities::FacilityQuery { limit: Some(PAGE_ITEMS), ..Default::default() };
            facilities::facility_page(state, lender, &q).await.map(drop).map_err(api_error)
        }
        "list-invoices" => {
            let q = invoices::InvoiceQuery { limit: Some(PAGE_ITEMS), ..Default::default() };
            invoices::invoice_page(state, lender, &q).await.map(drop).map_err(api_error)
        }
        "list-notices" => {
            let q = payments::PaymentQuery { limit: Some(PAGE_ITEMS), ..Default::default() };
            payments::payment_page(state, lender, &q).await.map(drop).map_err(api_error)
        }
        "list-events" => first_events(fin.store().as_ref(), fin.ledger()).await,
        other => Err(BenchError::InvalidConfig(format!("unknown scale operation {other:?}"))),
    }
}

/// A fresh notice on facility `f`, queued and settled (anything but
/// `applied` is an error).
async fn settle_one(program: &Program, f: usize, n: usize, rng: &mut SplitMix64) -> Result<(), BenchError> {
    let settlement = program.settlement();
    let reference = format!("sample-{n}-{}", rng.below(u64::MAX));
    settlement.enqueue(program.notice(f, reference.clone(), 100, rng)).await.map_err(ledger_error)?;
    match settlement.settle_notice(&reference, "scale").await.map_err(ledger_error)?.state {
        NoticeState::Applied { .. } => Ok(()),
        other => Err(ledger_error(format!("notice {reference} ended {other:?}"))),
    }
}

/// The first page of the event feed, as `GET /v1/events` reads it for an
/// admin.
async fn first_events(store: &dyn Store, ledger: &offtake_ledger::LedgerId) -> Result<(), BenchError> {
    let visible = |_: &[String]| true;
    let filter = offtake_events::Filter { types: None, visible: &visible };
    offtake_events::read(store, ledger, offtake_events::Position::START, &filter, PAGE_ITEMS as usize)
        .await
        .map(drop)
        .map_err(ledger_error)
}
