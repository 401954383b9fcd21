//! The API tests' imports: the in-process server and the answers of
//! `offtake-testkit`, under the name the tests use.

pub use offtake_testkit::http::{answer, raw_exchange, Answer};
pub use offtake_testkit::server::{fresh_key, postgres, postgres_with, sqlite, sqlite_with, TestServer};
