//! keapsake's benchmarks: a closed-loop refresh-grant load driver, the orchestration that measures
//! keapsake against an HTTP ceiling and a naive SQLite ceiling in the same run, and the `kill -9`
//! durability check.
//!
//! Test and bench code: the binaries are `keapsake-bench` (driver and orchestrator),
//! `ceiling-http` and `ceiling-sqlite`; `bench/run` and `bench/crash` are the one-command wrappers.

pub mod contacts;
pub mod crash;
pub mod emails;
pub mod http;
pub mod load;
pub mod machine;
pub mod orders;
pub mod procs;
pub mod stage;
pub mod suite;
