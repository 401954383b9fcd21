//! Bad inputs, bundle paths, code rules, concurrency and `kill -9`.

mod bad_inputs;
mod bundle_paths;
mod code_rules;
mod concurrency;
mod crash;
