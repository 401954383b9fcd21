//! The scenarios. Each builds its ledger, drives clients for a fixed time
//! (or a fixed count, for smoke tests) and returns [`Report`]s.
//!
//! Clients are tokio tasks that each keep one request in flight, so
//! "concurrency N" means N requests outstanding at any moment, as N
//! connected users would. All writes go through one
//! [`GroupCommitter`] per ledger.
//!
//! `settlement` drives the settlement service (see [`crate::settlement`])
//! with the same [`drive_clients`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use offtake_committer::GroupCommitter;
use offtake_ledger::{Action, AsOf, LedgerError};

use crate::backend::{Backend, BackendKind};
use crate::error::BenchError;
use crate::report::{mib, peak_rss_kib, reset_peak_rss, rss_kib, CpuMeter, Latencies, Report};
use crate::rng::SplitMix64;
use crate::setup::{self, funded_ledger, BenchLedger, BULK_BATCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Two-leg transfers among uniformly chosen accounts.
    Transfers,
    /// Transfers where `hot_percent` % touch one account.
    Hot,
    /// A pending transfer, then its post.
    TwoPhase,
    /// Balance and as-of latency as the ledger grows.
    BalanceAtScale,
    /// Transfers through the HTTP API (needs the API crate).
    Http,
    /// Payment notices through the settlement waterfall.
    Settlement,
    /// Transfers over `ledgers` ledgers at once, one committer each.
    ParallelLedgers,
    /// Per-operation p99 at a small and a large program, and the ratio.
    Scale,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Transfers,
        Scenario::Hot,
        Scenario::TwoPhase,
        Scenario::BalanceAtScale,
        Scenario::Http,
        Scenario::Settlement,
        Scenario::ParallelLedgers,
        Scenario::Scale,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Transfers => "transfers",
            Scenario::Hot => "hot",
            Scenario::TwoPhase => "two-phase",
            Scenario::BalanceAtScale => "balance-at-scale",
            Scenario::Http => "http",
            Scenario::Settlement => "settlement",
            Scenario::ParallelLedgers => "parallel-ledgers",
            Scenario::Scale => "scale",
        }
    }

    pub fn parse(text: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// Sizes and knobs of a run.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    /// How long each measured run lasts.
    pub duration: Duration,
    /// Stop each client after this many operations (smoke tests).
    pub max_ops_per_client: Option<u64>,
    pub concurrency: Vec<usize>,
    /// Accounts of the transfer ledgers.
    pub accounts: usize,
    /// Share of `hot` transfers that touch the hot account.
    pub hot_percent: u64,
    /// Ledger sizes (entries) at which balance-at-scale measures, ascending.
    pub scales: Vec<i64>,
    /// Accounts of the balance-at-scale ledger.
    pub scale_accounts: usize,
    /// Queries per balance variant and scale.
    pub samples: usize,
    pub max_batch: usize,
    pub max_wait_us: u64,
    pub seed: u64,
    /// Payment notices per `settlement` run (bounded by
    /// `settlement_duration`).
    pub notices: u64,
    /// Upper bound on one `settlement` run.
    pub settlement_duration: Duration,
    /// Open invoices of each facility of the settlement program.
    pub invoices_per_facility: usize,
    /// Check invariants after each write run (money sums to zero, nothing
    /// overdrawn, every acknowledged entry present).
    pub check: bool,
    /// Ledgers of the `parallel-ledgers` scenario.
    pub ledgers: usize,
    /// Workers of the settlement scenario's batched passes.
    pub settle_workers: usize,
    /// The `scale` scenario's small and large programs.
    pub scale_small: crate::scale::ProgramSize,
    pub scale_large: crate::scale::ProgramSize,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            duration: Duration::from_secs(10),
            max_ops_per_client: None,
            concurrency: vec![1, 8, 64],
            accounts: 10_000,
            hot_percent: 50,
            scales: vec![10_000, 1_000_000],
            scale_accounts: 1_000,
            samples: 2_000,
            max_batch: offtake_committer::DEFAULT_MAX_BATCH,
            max_wait_us: 0,
            seed: 0x00FF_7A4E,
            notices: 100_000,
            settlement_duration: Duration::from_secs(900),
            invoices_per_facility: 20,
            check: true,
            ledgers: 8,
            settle_workers: 1,
            scale_small: crate::scale::ProgramSize::SMALL,
            scale_large: crate::scale::ProgramSize::LARGE,
        }
    }
}

/// Runs `scenarios` on `backend`, calling `emit` with each report as soon as
/// it is measured. The transfer ledger is built once and shared by
/// `transfers`, `hot` and `two-phase`.
pub async fn run(
    backend: &Backend,
    scenarios: &[Scenario],
    cfg: &ScenarioConfig,
    emit: &mut dyn FnMut(&Report),
) -> Result<(), BenchError> {
    let needs_transfer_ledger = scenarios
        .iter()
        .any(|s| matches!(s, Scenario::Transfers | Scenario::Hot | Scenario::TwoPhase | Scenario::Http));
    let transfer_ledger = if needs_transfer_ledger {
        let bl = funded_ledger(backend, "bench-transfers", cfg.accounts).await?;
        backend.analyze().await?;
        Some(bl)
    } else {
        None
    };
    for s in scenarios {
        match (s, &transfer_ledger) {
            (Scenario::Transfers | Scenario::Hot | Scenario::TwoPhase, Some(bl)) => {
                let committer =
                    GroupCommitter::new(bl.store.clone(), bl.ledger.clone(), cfg.max_batch, cfg.max_wait_us);
                for &c in &cfg.concurrency {
                    let report = match s {
                        Scenario::TwoPhase => two_phase(backend, bl, &committer, c, cfg).await?,
                        Scenario::Hot => transfers(backend, bl, &committer, "hot", cfg.hot_percent, c, cfg).await?,
                        _ => transfers(backend, bl, &committer, "uniform", 0, c, cfg).await?,
                    };
                    emit(&report);
                }
                if cfg.check {
                    check_invariants(bl).await?;
                }
            }
            (Scenario::Http, Some(bl)) => {
                let server = HttpServer::start(backend, bl, cfg).await?;
                let mut result = Ok(());
                for &c in &cfg.concurrency {
                    match http_transfers(backend, bl, &server, c, cfg).await {
                        Ok(report) => emit(&report),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                server.stop().await;
                result?;
                if cfg.check {
                    check_invariants(bl).await?;
                }
            }
            (Scenario::BalanceAtScale, _) => balance_at_scale(backend, cfg, emit).await?,
            (Scenario::Settlement, _) => crate::settlement::settlement(backend, cfg, emit).await?,
            (Scenario::ParallelLedgers, _) => crate::parallel::parallel_ledgers(backend, cfg, emit).await?,
            (Scenario::Scale, _) => crate::scale::scale(backend, cfg, emit).await?,
            _ => return Err(BenchError::InvalidConfig(format!("scenario {} cannot run here", s.name()))),
        }
    }
    Ok(())
}

/// One operation of a client: `(client, n)` identify it; the future
/// records nothing itself (the driver times it) and returns how many
/// measured operations it completed.
pub type Operation =
    Arc<dyn Fn(usize, u64, SplitMix64) -> Pin<Box<dyn Future<Output = OpResult> + Send>> + Send + Sync>;

/// What one operation did: a generator state to continue with, and per
/// sub-operation latencies/outcomes.
pub struct OpResult {
    pub rng: SplitMix64,
    pub latencies: Vec<Duration>,
    pub error: Option<LedgerError>,
}

/// What a set of clients did.
pub struct Driven {
    pub latencies: Latencies,
    pub completed: u64,
    pub errors: u64,
    pub first_error: Option<LedgerError>,
    pub elapsed: Duration,
}

/// What a driven run measured, and what to call it.
pub struct RunLabel<'a> {
    pub scenario: &'a str,
    pub variant: &'a str,
    /// What one operation is (`transfers`, `pairs`, `notices`).
    pub unit: &'a str,
    pub concurrency: usize,
    /// The ledger's head after the run.
    pub ledger_entries: i64,
    pub mean_batch: Option<f64>,
}

impl Driven {
    /// The report of this run: throughput, latency percentiles, peak RSS
    /// and CPU per completed operation (`cpu` as [`CpuMeter::per_op`]).
    pub fn report(mut self, backend: &Backend, label: RunLabel<'_>, cpu: (Option<f64>, Option<f64>)) -> Report {
        let (p50, p99, max) = self.latencies.summary_ms();
        let secs = self.elapsed.as_secs_f64();
        Report {
            backend: backend.kind.as_str().into(),
            scenario: label.scenario.into(),
            variant: label.variant.into(),
            concurrency: label.concurrency,
            ledger_entries: label.ledger_entries,
            unit: label.unit.into(),
            ops: self.completed,
            errors: self.errors,
            seconds: secs,
            throughput_per_s: if secs > 0.0 { self.completed as f64 / secs } else { 0.0 },
            p50_ms: p50,
            p99_ms: p99,
            max_ms: max,
            mean_batch: label.mean_batch,
            peak_rss_mib: mib(peak_rss_kib()),
            client_cpu_us_per_op: cpu.0,
            server_cpu_us_per_op: cpu.1,
        }
    }
}

/// Runs `concurrency` clients, each repeating `op` until the duration is up
/// (or `max_ops_per_client` is reached).
pub async fn drive_clients(concurrency: usize, cfg: &ScenarioConfig, op: Operation) -> Result<Driven, BenchError> {
    if concurrency == 0 {
        return Err(BenchError::InvalidConfig("concurrency must be at least 1".into()));
    }
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let max_ops = cfg.max_ops_per_client.unwrap_or(u64::MAX);
    let mut set = tokio::task::JoinSet::new();
    for client in 0..concurrency {
        let op = op.clone();
        let mut rng = SplitMix64::new(cfg.seed ^ (client as u64).wrapping_mul(0x9E37_79B9));
        set.spawn(async move {
            let mut lat = Latencies::with_capacity(4_096);
            let (mut completed, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut n = 0u64;
            while n < max_ops && Instant::now() < deadline {
                let r = op(client, n, rng).await;
                rng = r.rng;
                for d in r.latencies {
                    lat.record(d);
                }
                match r.error {
                    None => completed += 1,
                    Some(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                n += 1;
            }
            (lat, completed, errors, first_error)
        });
    }
    let mut driven =
        Driven { latencies: Latencies::default(), completed: 0, errors: 0, first_error: None, elapsed: Duration::ZERO };
    while let Some(r) = set.join_next().await {
        let (lat, completed, errors, first_error) =
            r.map_err(|e| BenchError::Invariant(format!("client task failed: {e}")))?;
        driven.latencies.merge(lat);
        driven.completed += completed;
        driven.errors += errors;
        if driven.first_error.is_none() {
            driven.first_error = first_error;
        }
    }
    driven.elapsed = start.elapsed();
    Ok(driven)
}

/// The transfer operation: one posted two-leg transfer through `committer`.
pub fn transfers_op(bl: &BenchLedger, committer: &GroupCommitter, run_id: String, hot_percent: u64) -> Operation {
    let codes = bl.codes.clone();
    let committer = committer.clone();
    let run_id = Arc::new(run_id);
    Arc::new(move |client, n, mut rng| {
        let (a, b) = setup::pick_pair(&mut rng, codes.len(), hot_percent);
        let amount = 1 + rng.below(100) as i64;
        let cmd = setup::transfer(format!("{run_id}:{client}:{n}"), &codes[a], &codes[b], amount);
        let committer = committer.clone();
        Box::pin(async move {
            let t = Instant::now();
            let r = committer.submit(cmd).await;
            OpResult { rng, latencies: vec![t.elapsed()], error: r.err() }
        })
    })
}

pub(crate) fn run_id(bl: &BenchLedger, label: &str, concurrency: usize) -> String {
    // Unique per run so that keys never collide across runs on one ledger.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}:{label}:c{concurrency}:{nanos}", bl.ledger)
}

async fn transfers(
    backend: &Backend,
    bl: &BenchLedger,
    committer: &GroupCommitter,
    variant: &str,
    hot_percent: u64,
    concurrency: usize,
    cfg: &ScenarioConfig,
) -> Result<Report, BenchError> {
    reset_peak_rss();
    let before = committer.stats();
    let op = transfers_op(bl, committer, run_id(bl, variant, concurrency), hot_percent);
    let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
    let d = drive_clients(concurrency, cfg, op).await?;
    let cpu = cpu.per_op(d.completed);
    let after = committer.stats();
    if let Some(e) = &d.first_error {
        tracing::warn!(error = %e, errors = d.errors, "transfers refused during the run");
    }
    let head = bl.store.head(&bl.ledger).await?;
    let label = RunLabel {
        scenario: "transfers",
        variant,
        unit: "transfers",
        concurrency,
        ledger_entries: head.seq,
        mean_batch: Some(batch_delta(before, after)),
    };
    Ok(d.report(backend, label, cpu))
}

fn batch_delta(before: offtake_committer::StatsSnapshot, after: offtake_committer::StatsSnapshot) -> f64 {
    let batches = after.batches.saturating_sub(before.batches);
    let commands = after.commands.saturating_sub(before.commands);
    if batches == 0 {
        0.0
    } else {
        commands as f64 / batches as f64
    }
}

async fn two_phase(
    backend: &Backend,
    bl: &BenchLedger,
    committer: &GroupCommitter,
    concurrency: usize,
    cfg: &ScenarioConfig,
) -> Result<Report, BenchError> {
    reset_peak_rss();
    let before = committer.stats();
    let codes = bl.codes.clone();
    let committer2 = committer.clone();
    let id = Arc::new(run_id(bl, "two-phase", concurrency));
    let op: Operation = Arc::new(move |client, n, mut rng| {
        let (a, b) = setup::pick_pair(&mut rng, codes.len(), 0);
        let amount = 1 + rng.below(100) as i64;
        let hold = setup::hold(format!("{id}:{client}:{n}:hold"), &codes[a], &codes[b], amount);
        let post_key = format!("{id}:{client}:{n}:post");
        let committer = committer2.clone();
        Box::pin(async move {
            let mut latencies = Vec::with_capacity(2);
            let t = Instant::now();
            let held = match committer.submit(hold).await {
                Ok(c) => c,
                Err(e) => return OpResult { rng, latencies, error: Some(e) },
            };
            latencies.push(t.elapsed());
            let t = Instant::now();
            let post = setup::command(post_key, Action::PostPending { pending_seq: held.seq, amount_minor: None });
            let r = committer.submit(post).await;
            latencies.push(t.elapsed());
            OpResult { rng, latencies, error: r.err() }
        })
    });
    let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
    let d = drive_clients(concurrency, cfg, op).await?;
    let cpu = cpu.per_op(d.completed);
    let after = committer.stats();
    let head = bl.store.head(&bl.ledger).await?;
    // Throughput counts completed hold+post pairs; latency is per entry.
    let label = RunLabel {
        scenario: "two-phase",
        variant: "hold+post",
        unit: "pairs",
        concurrency,
        ledger_entries: head.seq,
        mean_batch: Some(batch_delta(before, after)),
    };
    Ok(d.report(backend, label, cpu))
}

/// After a write run: money sums to zero, no constrained account is below
/// zero available, no hold is left open by two-phase.
pub async fn check_invariants(bl: &BenchLedger) -> Result<(), BenchError> {
    let mut total = 0i128;
    for code in bl.codes.iter() {
        let b = bl.store.balance(&bl.ledger, code, AsOf::Now).await?;
        if b.available_minor < 0 {
            return Err(BenchError::Invariant(format!("{code} overdrawn: {b:?}")));
        }
        total += i128::from(b.posted_minor);
    }
    let equity = bl.store.balance(&bl.ledger, &setup::equity_code(), AsOf::Now).await?;
    if total != i128::from(equity.posted_minor) {
        return Err(BenchError::Invariant(format!("debits {total} != credits {} (minor units)", equity.posted_minor)));
    }
    Ok(())
}

/// Grows one ledger through `cfg.scales` with bulk batches and measures
/// balance / as-of latency of a busy account at each size.
async fn balance_at_scale(
    backend: &Backend,
    cfg: &ScenarioConfig,
    emit: &mut dyn FnMut(&Report),
) -> Result<(), BenchError> {
    let bl = funded_ledger(backend, "bench-scale", cfg.scale_accounts).await?;
    let mut rng = SplitMix64::new(cfg.seed);
    let mut scales = cfg.scales.clone();
    scales.sort_unstable();
    backend.analyze().await?;
    let first_time = bl.store.head(&bl.ledger).await?.recorded_at_us;
    let mut bulk_no = 0u64;
    for &scale in &scales {
        reset_peak_rss();
        let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
        let start = Instant::now();
        let grown_from = bl.store.head(&bl.ledger).await?.seq;
        let head = grow_ledger(&bl, scale, &mut rng, &mut bulk_no).await?;
        let built = (head - grown_from).max(0) as u64;
        let secs = start.elapsed().as_secs_f64();
        let (client_cpu, server_cpu) = cpu.per_op(built);
        backend.analyze().await?;
        let base = Report {
            backend: backend.kind.as_str().into(),
            scenario: "balance-at-scale".into(),
            variant: "bulk-build".into(),
            concurrency: 1,
            ledger_entries: head,
            unit: "entries".into(),
            ops: built,
            errors: 0,
            seconds: secs,
            throughput_per_s: if secs > 0.0 { built as f64 / secs } else { 0.0 },
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            mean_batch: Some(BULK_BATCH as f64),
            peak_rss_mib: mib(peak_rss_kib()),
            client_cpu_us_per_op: client_cpu,
            server_cpu_us_per_op: server_cpu,
        };
        if built > 0 {
            emit(&base);
        }
        let last_time = bl.store.head(&bl.ledger).await?.recorded_at_us;
        let at = ScalePoint { head, first_time, last_time };
        for variant in ["balance-now", "as-of-seq", "as-of-time"] {
            emit(&sample_balances(backend, &bl, cfg, &mut rng, variant, &at, &base).await?);
        }
    }
    Ok(())
}

/// Commits bulk batches of random transfers (a tenth on hot accounts)
/// until the ledger holds `scale` entries; answers the head's sequence.
async fn grow_ledger(bl: &BenchLedger, scale: i64, rng: &mut SplitMix64, bulk_no: &mut u64) -> Result<i64, BenchError> {
    const TARGET_HOT_PERCENT: u64 = 10;
    let mut head = bl.store.head(&bl.ledger).await?.seq;
    while head < scale {
        let n = usize::try_from(scale - head).unwrap_or(BULK_BATCH).min(BULK_BATCH);
        let batch: Vec<_> = (0..n)
            .map(|_| {
                let (a, b) = setup::pick_pair(rng, bl.codes.len(), TARGET_HOT_PERCENT);
                *bulk_no += 1;
                setup::transfer(format!("bulk:{bulk_no}"), &bl.codes[a], &bl.codes[b], 1 + rng.below(100) as i64)
            })
            .collect();
        for o in bl.store.commit_batch(&bl.ledger, &batch).await? {
            o?;
        }
        head = bl.store.head(&bl.ledger).await?.seq;
    }
    Ok(head)
}

/// The size a scale step reached: the head's sequence, and the recorded
/// times of the first and the last entry.
struct ScalePoint {
    head: i64,
    first_time: i64,
    last_time: i64,
}

/// `cfg.samples` balance reads of the busiest account: now, as of a random
/// entry, or as of a random recorded time.
async fn sample_balances(
    backend: &Backend,
    bl: &BenchLedger,
    cfg: &ScenarioConfig,
    rng: &mut SplitMix64,
    variant: &str,
    at: &ScalePoint,
    base: &Report,
) -> Result<Report, BenchError> {
    let ScalePoint { head, first_time, last_time } = *at;
    let target = setup::account_code(0);
    reset_peak_rss();
    let mut lat = Latencies::with_capacity(cfg.samples);
    let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
    let start = Instant::now();
    for _ in 0..cfg.samples {
        let as_of = match variant {
            "balance-now" => AsOf::Now,
            "as-of-seq" => AsOf::Seq(1 + rng.below(head.max(1) as u64) as i64),
            _ => {
                let span = (last_time - first_time).max(1) as u64;
                AsOf::RecordedAtUs(first_time + rng.below(span) as i64)
            }
        };
        let t = Instant::now();
        bl.store.balance(&bl.ledger, &target, as_of).await?;
        lat.record(t.elapsed());
    }
    let secs = start.elapsed().as_secs_f64();
    let (p50, p99, max) = lat.summary_ms();
    let (client_cpu, server_cpu) = cpu.per_op(cfg.samples as u64);
    Ok(Report {
        client_cpu_us_per_op: client_cpu,
        server_cpu_us_per_op: server_cpu,
        variant: variant.into(),
        unit: "queries".into(),
        ops: cfg.samples as u64,
        seconds: secs,
        throughput_per_s: if secs > 0.0 { cfg.samples as f64 / secs } else { 0.0 },
        p50_ms: p50,
        p99_ms: p99,
        max_ms: max,
        mean_batch: None,
        peak_rss_mib: mib(peak_rss_kib().or(rss_kib())),
        ..base.clone()
    })
}

/// The HTTP API (`offtake-api`) on `127.0.0.1:0` over the backend's store
/// (the API puts its own group committer in front), with an admin key.
pub struct HttpServer {
    base: String,
    key: String,
    client: reqwest::Client,
    state: offtake_api::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl HttpServer {
    pub async fn start(backend: &Backend, bl: &BenchLedger, cfg: &ScenarioConfig) -> Result<HttpServer, BenchError> {
        let store = backend.full_store().ok_or_else(|| BenchError::InvalidConfig("backend without a store".into()))?;
        let state =
            // Limiting off: this measures what the server can do, not the
            // per-key budget (`offtake serve` limits by default).
            offtake_api::AppState::new(
                store.clone(),
                bl.ledger.clone(),
                // Every bench client connects from loopback: no per-address cap either.
                offtake_api::ApiConfig {
                    rate_limit: offtake_api::RateLimit::OFF,
                    max_connections_per_ip: 0,
                    commit_max_batch: cfg.max_batch,
                    commit_max_wait_us: cfg.max_wait_us,
                    webhooks: None,
                    ..offtake_api::ApiConfig::default()
                },
            )
            .await?;
        let admin = offtake_api::bootstrap_admin(store.as_ref(), &bl.ledger)
            .await
            .map_err(|e| BenchError::Http(format!("bootstrap admin: {e:?}")))?
            .ok_or_else(|| BenchError::Http("the ledger already has an admin key".into()))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(offtake_api::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| BenchError::Http(e.to_string()))?;
        Ok(HttpServer { base, key: admin.key, client, state, stop, task })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Transfers through `POST /v1/transfers`, one request in flight per client.
async fn http_transfers(
    backend: &Backend,
    bl: &BenchLedger,
    server: &HttpServer,
    concurrency: usize,
    cfg: &ScenarioConfig,
) -> Result<Report, BenchError> {
    reset_peak_rss();
    let before = server.state.commit_stats();
    let codes = bl.codes.clone();
    let url = Arc::new(format!("{}/v1/transfers", server.base));
    let auth = Arc::new(format!("Bearer {}", server.key));
    let client = server.client.clone();
    // Idempotency keys are at most 64 characters.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let op: Operation = Arc::new(move |client_no, n, mut rng| {
        let (a, b) = setup::pick_pair(&mut rng, codes.len(), 0);
        let amount_minor = 1 + rng.below(100);
        let body = serde_json::json!({
            "from": codes[a].as_str(),
            "to": codes[b].as_str(),
            "amount": format!("{}.{:02}", amount_minor / 100, amount_minor % 100),
        });
        let key = format!("h{run}-c{concurrency}-{client_no}-{n}");
        let request =
            client.post(url.as_str()).header("authorization", auth.as_str()).header("idempotency-key", key).json(&body);
        Box::pin(async move {
            let t = Instant::now();
            let error = match request.send().await {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    Some(LedgerError::Storage(format!("HTTP {status}: {text}")))
                }
                Err(e) => Some(LedgerError::Storage(format!("HTTP request: {e}"))),
            };
            OpResult { rng, latencies: vec![t.elapsed()], error }
        })
    });
    let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
    let d = drive_clients(concurrency, cfg, op).await?;
    let cpu = cpu.per_op(d.completed);
    if let Some(e) = &d.first_error {
        tracing::warn!(error = %e, errors = d.errors, "HTTP transfers failed during the run");
    }
    let after = server.state.commit_stats();
    let head = bl.store.head(&bl.ledger).await?;
    let label = RunLabel {
        scenario: "http",
        variant: "transfers",
        unit: "transfers",
        concurrency,
        ledger_entries: head.seq,
        mean_batch: Some(batch_delta(before, after)),
    };
    Ok(d.report(backend, label, cpu))
}
