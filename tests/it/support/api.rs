//! The API tests' imports: the in-process server and its answers
//! (`support::{server, http}`), under the name the tests use.

pub use super::http::{answer, raw_exchange, Answer};
pub use super::server::{fresh_key, postgres, postgres_with, sqlite, sqlite_with, TestServer};
