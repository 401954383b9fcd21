//! `offtake-bench`: runs the benchmark scenarios and prints one line per
//! measurement (and, with `--json FILE`, one JSON object per line).
//!
//! ```sh
//! cargo run --release -p offtake-bench -- --backend sqlite --scenario transfers
//! ```

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use offtake_bench::{scenario, Backend, BackendKind, Report, Scenario, ScenarioConfig};

#[derive(Parser, Debug)]
#[command(name = "offtake-bench", about = "Benchmarks of the offtake ledger (durable settings only)")]
struct Args {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Comma-separated: transfers, hot, two-phase, balance-at-scale, http,
    /// settlement, parallel-ledgers, scale, or `all`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seconds per measured run.
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    /// Comma-separated client counts.
    #[arg(long, default_value = "1,8,64")]
    concurrency: String,
    /// Accounts of the transfer ledger.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Percentage of `hot` transfers touching the hot account.
    #[arg(long, default_value_t = 50)]
    hot_percent: u64,
    /// Comma-separated ledger sizes for balance-at-scale.
    #[arg(long, default_value = "10000,1000000")]
    scales: String,
    /// Queries per balance variant and size.
    #[arg(long, default_value_t = 2_000)]
    samples: usize,
    /// Payment notices per settlement run (each run also stops after
    /// --settlement-duration-s).
    #[arg(long, default_value_t = 100_000)]
    notices: u64,
    /// Open invoices of each facility of the settlement program (one
    /// facility per client of the largest concurrency).
    #[arg(long, default_value_t = 20)]
    invoices_per_facility: usize,
    /// Upper bound on one settlement run, in seconds.
    #[arg(long, default_value_t = 900)]
    settlement_duration_s: u64,
    /// Most commands per transaction.
    #[arg(long, default_value_t = offtake_committer::DEFAULT_MAX_BATCH)]
    max_batch: usize,
    /// Linger for a non-full batch (0 = take what is queued and commit).
    #[arg(long, default_value_t = 0)]
    max_wait_us: u64,
    /// Directory for SQLite files (same disk as production would use).
    #[arg(long, env = "OFFTAKE_BENCH_SQLITE_DIR", default_value = "target/bench-data")]
    sqlite_dir: PathBuf,
    #[arg(long, env = "OFFTAKE_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// Append each report as a JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the database file / schema afterwards.
    #[arg(long)]
    keep: bool,
    /// Skip the invariant check after write runs.
    #[arg(long)]
    no_check: bool,
    /// Ledgers of the parallel-ledgers scenario (clients and --accounts are
    /// split among them).
    #[arg(long, default_value_t = 8)]
    ledgers: usize,
    /// Workers of the settlement scenario's batched passes (one is the
    /// deployment's shape: workers of one ledger race for the same notices).
    #[arg(long, default_value_t = 1)]
    settle_workers: usize,
    /// The `scale` scenario's small program: FACILITIES,INVOICES,NOTICES.
    #[arg(long, default_value = "10,100,1000")]
    scale_small: String,
    /// The `scale` scenario's large program (issue 21: 10000,100000,1000000;
    /// smaller for a quick run).
    #[arg(long, default_value = "10000,100000,1000000")]
    scale_large: String,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn list<T: std::str::FromStr>(text: &str, what: &str) -> anyhow::Result<Vec<T>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<T>().map_err(|_| anyhow::anyhow!("{what}: {s:?} is not a number")))
        .collect()
}

fn program_size(text: &str, what: &str) -> anyhow::Result<offtake_bench::scale::ProgramSize> {
    offtake_bench::scale::ProgramSize::parse(text).ok_or_else(|| {
        anyhow::anyhow!("{what}: {text:?} is not FACILITIES,INVOICES,NOTICES (at least one invoice per facility)")
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned()))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| format!("{:.0} GiB", k as f64 / 1_048_576.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}")
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OFFTAKE_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    rt.enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let backends: Vec<BackendKind> = match args.backend.as_str() {
        "sqlite" => vec![BackendKind::Sqlite],
        "postgres" => vec![BackendKind::Postgres],
        "both" => vec![BackendKind::Sqlite, BackendKind::Postgres],
        other => anyhow::bail!("--backend must be sqlite, postgres or both, not {other:?}"),
    };
    let scenarios: Vec<Scenario> = if args.scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        args.scenario
            .split(',')
            .map(|s| Scenario::parse(s.trim()).ok_or_else(|| anyhow::anyhow!("unknown scenario {s:?}")))
            .collect::<anyhow::Result<_>>()?
    };
    let cfg = ScenarioConfig {
        duration: Duration::from_secs(args.duration_s.max(1)),
        concurrency: list(&args.concurrency, "--concurrency")?,
        accounts: args.accounts,
        hot_percent: args.hot_percent.min(100),
        scales: list(&args.scales, "--scales")?,
        samples: args.samples.max(1),
        max_batch: args.max_batch,
        max_wait_us: args.max_wait_us,
        check: !args.no_check,
        ledgers: args.ledgers.max(1),
        settle_workers: args.settle_workers.max(1),
        notices: args.notices.max(1),
        invoices_per_facility: args.invoices_per_facility.max(1),
        settlement_duration: Duration::from_secs(args.settlement_duration_s.max(1)),
        scale_small: program_size(&args.scale_small, "--scale-small")?,
        scale_large: program_size(&args.scale_large, "--scale-large")?,
        ..ScenarioConfig::default()
    };
    let mut json = match &args.json {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("{}", p.display()))?,
        ),
        None => None,
    };
    println!("# offtake-bench on {}", machine());
    println!(
        "# scenarios: {}; {} s per run; concurrency {:?}; max_batch {}; max_wait_us {}",
        scenarios.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
        cfg.duration.as_secs(),
        cfg.concurrency,
        cfg.max_batch,
        cfg.max_wait_us
    );
    for kind in backends {
        let backend = match kind {
            BackendKind::Sqlite => Backend::sqlite(&args.sqlite_dir, args.keep).await,
            BackendKind::Postgres => Backend::postgres(&args.postgres_url, args.keep).await,
        }
        .with_context(|| format!("opening {}", kind.as_str()))?;
        println!("# {}: {} ({})", kind.as_str(), backend.durability().await?, backend.location());
        println!("{}", Report::header());
        let mut emit = |r: &Report| {
            println!("{}", r.line());
            if let Some(f) = json.as_mut() {
                let _ = writeln!(f, "{}", r.json());
            }
            let _ = std::io::stdout().flush();
        };
        let result = scenario::run(&backend, &scenarios, &cfg, &mut emit).await;
        backend.cleanup().await?;
        result.with_context(|| format!("running on {}", kind.as_str()))?;
    }
    Ok(())
}
