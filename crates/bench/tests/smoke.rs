//! Every scenario at toy sizes, on both stores, so the harness cannot rot.
//! Correctness only: no timing is asserted.

use std::time::Duration;

use offtake_bench::scale::ProgramSize;
use offtake_bench::{scenario, Backend, Report, Scenario, ScenarioConfig};
use offtake_testkit::postgres_env;

fn tiny() -> ScenarioConfig {
    ScenarioConfig {
        duration: Duration::from_secs(60),
        max_ops_per_client: Some(6),
        concurrency: vec![1, 4],
        accounts: 16,
        scales: vec![120, 400],
        scale_accounts: 10,
        samples: 5,
        max_batch: 8,
        invoices_per_facility: 3,
        ledgers: 2,
        // Racing workers: every notice still settled once.
        settle_workers: 4,
        scale_small: ProgramSize { facilities: 2, invoices: 4, notices: 6 },
        scale_large: ProgramSize { facilities: 4, invoices: 8, notices: 20 },
        ..ScenarioConfig::default()
    }
}

async fn run_all(backend: &Backend) -> Vec<Report> {
    let cfg = tiny();
    let scenarios = [
        Scenario::Transfers,
        Scenario::Hot,
        Scenario::TwoPhase,
        Scenario::Http,
        Scenario::BalanceAtScale,
        Scenario::Settlement,
        Scenario::ParallelLedgers,
        Scenario::Scale,
    ];
    let mut reports = Vec::new();
    scenario::run(backend, &scenarios, &cfg, &mut |r| reports.push(r.clone())).await.expect("scenarios run");
    reports
}

fn check(reports: &[Report], backend: &str) {
    for r in reports {
        assert_eq!(r.backend, backend);
        assert_eq!(r.errors, 0, "no operation may fail: {r:?}");
        assert!(r.peak_rss_mib.is_some_and(|m| m > 0.0), "peak RSS is reported: {r:?}");
        assert!(!r.line().is_empty() && r.json().starts_with('{'));
    }
    let of = |scenario: &str, variant: &str| -> Vec<&Report> {
        reports.iter().filter(|r| r.scenario == scenario && r.variant == variant).collect()
    };
    // 2 concurrency levels × clients × 6 operations each, all acknowledged.
    for variant in ["uniform", "hot"] {
        let runs = of("transfers", variant);
        assert_eq!(runs.iter().map(|r| r.concurrency).collect::<Vec<_>>(), vec![1, 4]);
        for r in runs {
            assert_eq!(r.ops, 6 * r.concurrency as u64, "{r:?}");
            assert!(r.mean_batch.is_some_and(|b| b >= 1.0));
        }
    }
    let parallel = of("parallel-ledgers", "2 ledgers");
    assert_eq!(parallel.iter().map(|r| r.concurrency).collect::<Vec<_>>(), vec![1, 4]);
    for r in parallel {
        assert_eq!(r.ops, 6 * r.concurrency as u64, "every client's transfers acknowledged: {r:?}");
    }
    let http = of("http", "transfers");
    assert_eq!(http.len(), 2, "HTTP measured at each concurrency");
    for r in http {
        assert_eq!(r.ops, 6 * r.concurrency as u64, "{r:?}");
    }
    for r in of("two-phase", "hold+post") {
        assert_eq!(r.ops, 6 * r.concurrency as u64, "{r:?}");
    }
    // Every notice applied through the waterfall (errors = 0 above), the
    // books balanced afterwards (the scenario checks, or fails).
    let settled = of("settlement", "waterfall");
    assert_eq!(settled.iter().map(|r| r.concurrency).collect::<Vec<_>>(), vec![1, 4]);
    for r in settled {
        assert_eq!(r.ops, 6 * r.concurrency as u64, "{r:?}");
        assert_eq!(r.unit, "notices");
    }
    // The batched passes settle a burst as large as the widest run's
    // (4 clients × 6 notices), all of it, with the books checked after.
    let batched = of("settlement", "batched");
    assert_eq!(batched.len(), 1, "one batched run");
    assert_eq!(batched[0].ops, 24, "{:?}", batched[0]);
    assert_eq!(batched[0].concurrency, 4);
    // Every operation sampled at both program sizes, none failing.
    for op in [
        "draw",
        "availability",
        "settle-notice",
        "statement",
        "list-facilities",
        "list-invoices",
        "list-notices",
        "list-events",
    ] {
        for size in ["2/4/6", "4/8/20"] {
            let runs = of("scale", &format!("{op} {size}"));
            assert_eq!(runs.len(), 1, "{op} at {size}");
            assert_eq!(runs[0].ops, 5, "{op} at {size}: {:?}", runs[0]);
        }
    }
    let builds = of("balance-at-scale", "bulk-build");
    assert_eq!(builds.iter().map(|r| r.ledger_entries).collect::<Vec<_>>(), vec![120, 400]);
    for variant in ["balance-now", "as-of-seq", "as-of-time"] {
        let runs = of("balance-at-scale", variant);
        assert_eq!(runs.len(), 2, "{variant} measured at each size");
        assert!(runs.iter().all(|r| r.ops == 5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::sqlite(dir.path(), false).await.expect("sqlite");
    let settings = backend.durability().await.expect("durable settings");
    assert!(settings.contains("synchronous=FULL"), "{settings}");
    let reports = run_all(&backend).await;
    backend.cleanup().await.expect("cleanup");
    check(&reports, "sqlite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_on_postgres() {
    let backend = match Backend::postgres(&postgres_env::url(), false).await {
        Ok(b) => b,
        Err(e) => return postgres_env::unavailable(&e.to_string()).unwrap_or(()),
    };
    let settings = backend.durability().await.expect("durable settings");
    assert!(!settings.contains("synchronous_commit=off"), "{settings}");
    let reports = run_all(&backend).await;
    backend.cleanup().await.expect("cleanup");
    check(&reports, "postgres");
}
