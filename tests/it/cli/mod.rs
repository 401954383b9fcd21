//! The `offtake` command line, run as a child process.

mod api_keys;
mod audit;
mod bank;
mod certificate;
mod finance;
mod ledger;
mod ledger_map;
mod output;
mod signing;
