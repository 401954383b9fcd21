//! Benchmark harness for the offtake ledger (issue 9).
//!
//! Scenarios run against the real stores through the real write path
//! ([`offtake_committer::GroupCommitter`] over `LedgerStore::commit_batch`)
//! with durable settings only: the harness checks the database's settings
//! before it measures and refuses to run on a configuration that could lose
//! an acknowledged entry (see [`backend::Backend::durability`]).
//!
//! Each scenario returns [`report::Report`]s: throughput, p50/p99 latency and
//! peak resident memory. The `offtake-bench` binary prints them; the smoke
//! tests run every scenario at toy sizes so the harness cannot rot.
//!
//! This crate never decides a ledger rule: it only builds commands, submits
//! them and measures.

#![forbid(unsafe_code)]

pub mod backend;
pub mod error;
pub mod parallel;
pub mod report;
pub mod rng;
pub mod scale;
pub mod scenario;
pub mod settlement;
pub mod setup;

pub use backend::{Backend, BackendKind};
pub use error::BenchError;
pub use report::Report;
pub use scenario::{Scenario, ScenarioConfig};
