//! Refusals write nothing (whole-database dumps before and after), and the
//! witness catches a rewritten history.

mod refusals;
mod witness;
