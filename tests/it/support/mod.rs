//! Support shared by the modules. The pieces every test crate needs (the
//! in-process server, answers, PostgreSQL schemas and databases, the CLI and
//! `offtake serve` runners) are in `offtake-testkit`; here are the
//! harnesses of one area each, built on them.

pub mod api;
pub mod reliability;
pub mod web;

use offtake_testkit::cli::Cli;

/// The `offtake` binary, with a clean environment (see [`Cli`]).
pub fn offtake() -> Cli {
    Cli::new(crate::OFFTAKE)
}
