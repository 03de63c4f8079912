//! Benchmarks for weir: criterion benches per primitive and the
//! side-by-side `compare` harness.
//!
//! `compare` (see `src/bin/compare.rs`) runs every workload of the
//! performance issue for weir and for each baseline — Go running the seed's
//! patterns (unbuffered, as written, and 1024-buffered), hand-written tokio +
//! flume code, and a plain sequential loop — each measurement in its own child
//! process, and reports medians and ratios measured in the same run.
//!
//! Each workload lives in [`workloads`], one module per workload, with one
//! small function per implementation (`weir`, `tokio_flume`, `loop_`), so the
//! weir side can be swapped for the stage crate / facade without touching the
//! harness.

pub mod go;
pub mod harness;
pub mod outcome;
pub mod report;
pub mod sysinfo;
pub mod work;
pub mod workloads;

pub use outcome::Outcome;
