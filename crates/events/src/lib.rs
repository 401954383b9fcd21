//! offtake events: change data capture over the record chain.
//!
//! Every domain change already writes a record version, and every version
//! gets its place (`seq`) in the ledger's record chain in the same
//! transaction. An event is derived from a committed version (and the one
//! it replaced) by one pure function ([`derive`]), so it exists exactly
//! when its change committed, a rolled-back change never shows, and the
//! write path does nothing extra. The event's position is its version's
//! chain position; its id (`evt_{ledger}_{seq}_{n}`) is stable.

#![forbid(unsafe_code)]

pub mod cursor;
pub mod derive;
pub mod error;
pub mod reader;

pub use cursor::Position;
pub use derive::{derive, event_id, Change, Context, FacilityParties, SOURCE_KINDS};
pub use error::EventError;
pub use reader::{parse_types, read, Filter, ReadResult};
