//! Support shared by the modules. The pieces every test crate needs
//! (PostgreSQL schemas and databases, the CLI and `offtake serve` runners)
//! are in `offtake-testkit`; here are the in-process API server and its
//! answers (only these tests use them) and the harnesses of one area each.

pub mod api;
pub mod http;
pub mod reliability;
pub mod server;
pub mod web;

use offtake_testkit::cli::Cli;

/// The `offtake` binary, with a clean environment (see [`Cli`]).
pub fn offtake() -> Cli {
    Cli::new(crate::OFFTAKE)
}
