//! Measurements: latency samples, peak memory, and the printed report.

use std::time::Duration;

use serde::Serialize;

/// Latency samples in microseconds.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    pub fn with_capacity(n: usize) -> Self {
        Latencies(Vec::with_capacity(n))
    }

    pub fn record(&mut self, d: Duration) {
        self.0.push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (p50, p99, max) in milliseconds; zeros when empty.
    pub fn summary_ms(&mut self) -> (f64, f64, f64) {
        if self.0.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let idx = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
            f64::from(self.0[idx]) / 1_000.0
        };
        (at(0.50), at(0.99), at(1.0))
    }
}

/// Peak resident set size of this process in KiB (`VmHWM`), if the kernel
/// tells.
pub fn peak_rss_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

/// Current resident set size in KiB (`VmRSS`).
pub fn rss_kib() -> Option<u64> {
    proc_status_kib("VmRSS:")
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) consumed so far by this process, all threads,
/// in microseconds. Contention-proof: on a shared machine wall-clock
/// throughput depends on the neighbours, CPU per operation does not.
pub fn process_cpu_us() -> Option<u64> {
    cpu_us_of("/proc/self/stat", false)
}

/// CPU time of every `postgres` process on this machine (the server when it
/// runs locally), in microseconds.
pub fn postgres_cpu_us() -> Option<u64> {
    let mut total = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            // With children: backends that exit are reaped by the postmaster
            // and their CPU lands in its cutime/cstime.
            if let Some(us) = cpu_us_of(&entry.path().join("stat").to_string_lossy(), true) {
                total += us;
                found = true;
            }
        }
    }
    found.then_some(total)
}

/// utime + stime (+ cutime + cstime with `children`) of a `/proc/…/stat`
/// file. Clock ticks are 100 per second on Linux x86-64 and arm64
/// (`CLK_TCK`).
fn cpu_us_of(path: &str, children: bool) -> Option<u64> {
    const TICK_US: u64 = 10_000;
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; fields resume after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let waited: u64 =
        if children { fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()? } else { 0 };
    Some((utime + stime + waited) * TICK_US)
}

/// CPU spent by this process and by a local PostgreSQL during a run.
#[derive(Clone, Copy, Debug)]
pub struct CpuMeter {
    client_us: Option<u64>,
    server_us: Option<u64>,
}

impl CpuMeter {
    pub fn start(postgres: bool) -> Self {
        CpuMeter { client_us: process_cpu_us(), server_us: if postgres { postgres_cpu_us() } else { None } }
    }

    /// (client, server) CPU microseconds per operation since `start`.
    pub fn per_op(&self, ops: u64) -> (Option<f64>, Option<f64>) {
        let per = |before: Option<u64>, now: Option<u64>| match (before, now) {
            (Some(b), Some(n)) if ops > 0 => Some(n.saturating_sub(b) as f64 / ops as f64),
            _ => None,
        };
        (per(self.client_us, process_cpu_us()), per(self.server_us, self.server_us.and(postgres_cpu_us())))
    }
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5), so each
/// scenario reports its own peak. Best effort: false if unsupported.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One measured line.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub backend: String,
    pub scenario: String,
    /// e.g. `uniform`, `hot`, `balance-now`, `as-of-seq`.
    pub variant: String,
    pub concurrency: usize,
    /// Ledger size when it matters (balance-at-scale), else the head after
    /// the run.
    pub ledger_entries: i64,
    /// What `throughput_per_s` counts (`transfers`, `queries`, `entries`).
    pub unit: String,
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean commands per database transaction (group commit), when a
    /// committer was involved.
    pub mean_batch: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    /// CPU of the benchmark process (client, committer, SQLite) per op.
    pub client_cpu_us_per_op: Option<f64>,
    /// CPU of the local PostgreSQL server per op (every postgres process,
    /// so other load on the same server counts too).
    pub server_cpu_us_per_op: Option<f64>,
}

impl Report {
    pub fn header() -> String {
        format!(
            "{:<9} {:<17} {:<12} {:>5} {:>10} {:>9} {:>8} {:>12} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8}",
            "backend",
            "scenario",
            "variant",
            "conc",
            "entries",
            "ops",
            "errors",
            "per_s",
            "p50_ms",
            "p99_ms",
            "batch",
            "rss_mib",
            "cpu_us",
            "srv_us"
        )
    }

    pub fn line(&self) -> String {
        format!(
            "{:<9} {:<17} {:<12} {:>5} {:>10} {:>9} {:>8} {:>12.0} {:>9.3} {:>9.3} {:>7} {:>9} {:>8} {:>8}",
            self.backend,
            self.scenario,
            self.variant,
            self.concurrency,
            self.ledger_entries,
            self.ops,
            self.errors,
            self.throughput_per_s,
            self.p50_ms,
            self.p99_ms,
            self.mean_batch.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into()),
            self.peak_rss_mib.map(|m| format!("{m:.0}")).unwrap_or_else(|| "-".into()),
            self.client_cpu_us_per_op.map(|c| format!("{c:.0}")).unwrap_or_else(|| "-".into()),
            self.server_cpu_us_per_op.map(|c| format!("{c:.0}")).unwrap_or_else(|| "-".into()),
        )
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

pub fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_sample() {
        let mut l = Latencies::default();
        for us in 1..=100u64 {
            l.record(Duration::from_micros(us * 1_000));
        }
        let (p50, p99, max) = l.summary_ms();
        assert_eq!((p50, p99, max), (50.0, 99.0, 100.0));
    }

    #[test]
    fn cpu_time_is_readable_on_linux() {
        let before = process_cpu_us().expect("cpu time");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(process_cpu_us().expect("cpu time") >= before);
    }

    #[test]
    fn rss_is_readable_on_linux() {
        assert!(rss_kib().is_some_and(|k| k > 0));
        assert!(peak_rss_kib().is_some_and(|k| k > 0));
    }
}
