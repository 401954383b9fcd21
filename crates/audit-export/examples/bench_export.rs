//! Measures bundle export and offline verification of a large ledger on
//! SQLite, with peak memory (VmHWM from /proc/self/status, reset between
//! phases through /proc/self/clear_refs).
//!
//! ```text
//! cargo run --release -p offtake-audit-export --example bench_export -- \
//!     [ENTRIES=1000000] [WORK_DIR=target/audit-bench]
//! ```
//!
//! The ledger is built once (1,000 commands per `commit_batch`) and reused
//! by later runs with the same size.

use std::path::PathBuf;
use std::time::Instant;

use offtake_audit_export::csv_export::export_csv;
use offtake_audit_export::{export_bundle, verify_bundle, BundleOptions, LedgerKey, PeriodSpec};
use offtake_ledger::{
    AccountCode, Action, AmountMinor, Book, Command, Currency, LedgerId, LedgerStore, NewAccount, NewLeg, Side,
};
use offtake_store_sqlite::SqliteStore;

const BATCH: usize = 1_000;
const ACCOUNTS: usize = 64;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_secs() -> f64 {
    let ticks: u64 = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            // Fields 14 and 15 (utime, stime) are at 11 and 12 after the name.
            Some(after.get(11)?.parse::<u64>().ok()? + after.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    ticks as f64 / 100.0
}

/// Resets the peak-RSS mark so each phase is measured on its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn report(phase: &str, n: u64, started: (Instant, f64)) {
    let secs = started.0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - started.1;
    println!(
        "{phase:<24} {n:>9} entries in {secs:>7.2} s = {:>7.0} entries/s wall, {:>7.0} entries/CPU-s ({cpu:.1} CPU-s) | peak RSS {} MiB",
        n as f64 / secs,
        n as f64 / cpu.max(0.01),
        status_kib("VmHWM:") / 1024,
    );
}

fn start() -> (Instant, f64) {
    (Instant::now(), cpu_secs())
}

fn account(i: usize) -> AccountCode {
    AccountCode::new(&format!("bench:acct:{i:03}")).expect("code")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let entries: i64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let work = PathBuf::from(args.next().unwrap_or_else(|| "target/audit-bench".into()));
    std::fs::create_dir_all(&work)?;
    let db = work.join(format!("bench-{entries}.db"));
    let store = SqliteStore::open(&db).await?;
    let ledger = LedgerId::new("bench")?;
    store.ensure_ledger(&ledger).await?;

    build(&store, &ledger, entries).await?;

    let key_path = work.join("bench.key");
    let key = if key_path.exists() { LedgerKey::load(&key_path)? } else { LedgerKey::generate(&key_path)? };
    let out = work.join(format!("bundle-{entries}"));
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let opts = BundleOptions {
        ledger: ledger.clone(),
        period: PeriodSpec::default(),
        scope_prefix: None,
        out_dir: out.clone(),
        documents_dir: None,
        document_keys: None,
    };

    reset_peak();
    let started = start();
    let manifest = export_bundle(&store, &key, &opts).await?;
    report("export bundle", manifest.counts.entries, started);
    let bytes: u64 = manifest.files.values().map(|f| f.bytes).sum();
    println!("  bundle size {} MiB, merkle root {}", bytes / (1024 * 1024), manifest.merkle.after.root);

    reset_peak();
    let started = start();
    let verified = verify_bundle(&out, Some(&key.public_key()))?;
    report("verify bundle (offline)", verified.entries, started);

    reset_peak();
    let started = start();
    let csv_path = work.join(format!("bench-{entries}.csv"));
    let summary = export_csv(&store, &ledger, PeriodSpec::default(), None, std::fs::File::create(&csv_path)?).await?;
    report("export csv", summary.entries, started);
    Ok(())
}

/// Fills the ledger up to `entries` transfers (resuming a run that
/// stopped), in batches through `commit_batch`.
async fn build(store: &SqliteStore, ledger: &LedgerId, entries: i64) -> Result<(), Box<dyn std::error::Error>> {
    let have = store.head(ledger).await?.seq;
    if have >= entries {
        return Ok(());
    }
    let started = start();
    for i in 0..ACCOUNTS {
        let side = if i % 2 == 0 { Side::Debit } else { Side::Credit };
        let spec = NewAccount {
            code: account(i),
            currency: Currency::USD,
            normal_side: side,
            book: Book::Main,
            non_negative: false,
        };
        store.create_account(ledger, &spec).await?;
    }
    let date = time::macros::date!(2026 - 01 - 05);
    let mut next = have;
    while next < entries {
        let n = usize::try_from((entries - next).min(BATCH as i64))?;
        let batch: Vec<Command> = (0..n).map(|k| transfer((next as usize) + k, date)).collect();
        for outcome in store.commit_batch(ledger, &batch).await? {
            outcome?;
        }
        next += n as i64;
    }
    report("build (commit_batch)", u64::try_from(entries - have)?, started);
    Ok(())
}

/// The i-th transfer: a deterministic amount between two of the accounts.
fn transfer(i: usize, date: time::Date) -> Command {
    let amount_minor = AmountMinor::new(100 + (i as i64 * 7919) % 1_000_000);
    let (a, b) = (i % ACCOUNTS, (i * 31 + 7) % ACCOUNTS);
    let b = if a == b { (b + 1) % ACCOUNTS } else { b };
    let leg = |account, side| NewLeg { account, side, currency: Currency::USD, amount_minor };
    Command {
        idempotency_key: format!("bench-{i}"),
        kind: "transfer".into(),
        effective_date: date,
        metadata: serde_json::json!({ "batch": (i / BATCH) as i64 }),
        source_hash: None,
        action: Action::Record {
            legs: vec![leg(account(a), Side::Debit), leg(account(b), Side::Credit)],
            pending: false,
        },
    }
}
