//! The root crate's integration tests: one test target, so the tree links
//! one test executable instead of one per file (each was ~300 MB and most
//! of the build's link time). A module per area; run one area with
//! `cargo test --test it api::` (or `cli::`, `reliability::crash`, …).
//!
//! Every test here shares a process with the others: none sets an
//! environment variable or changes the current directory (child processes
//! get theirs through `Command`), servers listen on port 0, and databases
//! and schemas have names unique per process and call.

mod api;
mod cli;
mod integrity;
mod readme;
mod reliability;
mod support;
mod web;
mod webhooks;

/// The `offtake` binary Cargo built for these tests.
pub const OFFTAKE: &str = env!("CARGO_BIN_EXE_offtake");
