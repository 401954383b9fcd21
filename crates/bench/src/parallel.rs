//! `parallel-ledgers`: transfers spread over several ledgers of one store,
//! each with its own group committer. A ledger's appends serialise on its
//! chain head; separate ledgers (programs, tenants) do not, so this is the
//! figure a store reaches when many ledgers are written at once.

use std::sync::Arc;

use offtake_committer::GroupCommitter;

use crate::backend::{Backend, BackendKind};
use crate::error::BenchError;
use crate::report::{reset_peak_rss, CpuMeter, Report};
use crate::scenario::{check_invariants, drive_clients, run_id, transfers_op, Operation, RunLabel, ScenarioConfig};
use crate::setup::{funded_ledger, BenchLedger};

/// Runs `cfg.ledgers` ledgers of `cfg.accounts / cfg.ledgers` accounts each;
/// client `i` writes to ledger `i % ledgers`, so every ledger has
/// `concurrency / ledgers` clients.
pub async fn parallel_ledgers(
    backend: &Backend,
    cfg: &ScenarioConfig,
    emit: &mut dyn FnMut(&Report),
) -> Result<(), BenchError> {
    let count = cfg.ledgers.max(1);
    let accounts = (cfg.accounts / count).max(2);
    let mut ledgers: Vec<BenchLedger> = Vec::with_capacity(count);
    for i in 0..count {
        ledgers.push(funded_ledger(backend, &format!("bench-parallel-{i}"), accounts).await?);
    }
    backend.analyze().await?;
    let committers: Vec<GroupCommitter> = ledgers
        .iter()
        .map(|bl| GroupCommitter::new(bl.store.clone(), bl.ledger.clone(), cfg.max_batch, cfg.max_wait_us))
        .collect();
    let variant = format!("{count} ledgers");
    for &concurrency in &cfg.concurrency {
        reset_peak_rss();
        let before: Vec<_> = committers.iter().map(GroupCommitter::stats).collect();
        let ops: Arc<Vec<Operation>> = Arc::new(
            ledgers
                .iter()
                .zip(&committers)
                .map(|(bl, c)| transfers_op(bl, c, run_id(bl, "parallel", concurrency), 0))
                .collect(),
        );
        let op: Operation = Arc::new(move |client, n, rng| (ops[client % ops.len()])(client, n, rng));
        let cpu = CpuMeter::start(backend.kind == BackendKind::Postgres);
        let d = drive_clients(concurrency, cfg, op).await?;
        let cpu = cpu.per_op(d.completed);
        if let Some(e) = &d.first_error {
            tracing::warn!(error = %e, errors = d.errors, "parallel transfers refused during the run");
        }
        let (mut batches, mut commands, mut entries) = (0u64, 0u64, 0i64);
        for ((c, b), bl) in committers.iter().zip(&before).zip(&ledgers) {
            let after = c.stats();
            batches += after.batches.saturating_sub(b.batches);
            commands += after.commands.saturating_sub(b.commands);
            entries += bl.store.head(&bl.ledger).await?.seq;
        }
        let label = RunLabel {
            scenario: "parallel-ledgers",
            variant: &variant,
            unit: "transfers",
            concurrency,
            ledger_entries: entries,
            mean_batch: Some(if batches == 0 { 0.0 } else { commands as f64 / batches as f64 }),
        };
        emit(&d.report(backend, label, cpu));
    }
    if cfg.check {
        for bl in &ledgers {
            check_invariants(bl).await?;
        }
    }
    Ok(())
}
