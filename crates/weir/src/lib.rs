//! Go's concurrency patterns for Rust: channels, WaitGroups, contexts,
//! worker pools, fan-out/fan-in and pipelines, typed and leak-free, on tokio.
//!
//! `weir` is the crate to start from. It re-exports the sub-crates as
//! modules, so one dependency gives you everything; each sub-crate can also
//! be used alone.
//!
//! | module | crate | Go |
//! |---|---|---|
//! | [`chan`] | `weir-core` | `chan T`, `close`, `range`, `select` with `default` |
//! | [`latch`] | `weir-core` | `sync.WaitGroup`, a countdown latch |
//! | [`cancel`] | `weir-cancel` | `context.Context` |
//! | [`stage`] | `weir-stage` | pipelines, worker pools, fan-out/fan-in, errgroup |
//! | [`pipeline`] | `weir` | typed pipeline graphs: fused stages, metrics, Mermaid/DOT export |
//!
//! # Examples
//!
//! The seed's pipeline and worker pool, as one typed graph: `gen` and
//! `square` fuse into one task, four workers process the jobs, a fold sums.
//!
//! ```
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), weir::Error> {
//! let total: u64 = Pipeline::new(&Context::background())
//!     .source(1..=1_000u64)
//!     .square()
//!     .worker_pool(4, |n| async move { Ok::<_, std::io::Error>(n + 1) })
//!     .fold(0, |acc, n| acc + n)
//!     .await?;
//! assert_eq!(total, 333_833_500 + 1_000);
//! # Ok(())
//! # }
//! ```
//!
//! The seed's `processWithTimeout`: run an expensive operation, give up
//! after a deadline.
//!
//! ```
//! use std::time::Duration;
//! use weir::cancel::{Context, ContextError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ctx = Context::background().with_timeout(Duration::from_secs(5));
//! let result: Result<u64, ContextError> = ctx.run(async { 6 * 7 }).await;
//! assert_eq!(result, Ok(42));
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod error;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics_export;
pub mod pipeline;

pub use error::Error;
pub use weir_core::chan;
pub use weir_core::latch;

/// Go's `context`: cancellation trees, deadlines, timeouts and values
/// (re-exported from `weir-cancel`).
pub mod cancel {
    pub use weir_cancel::*;
}

/// Go's pipeline patterns as stages under an errgroup-like [`Scope`](stage::Scope)
/// (re-exported from `weir-stage`).
pub mod stage {
    pub use weir_stage::*;
}

/// Tools for testing pipelines: an accounting harness, a task-leak check,
/// probe sources and sinks, paused-clock helpers (re-exported from
/// `weir-stage`; needs the `testing` feature, usually in
/// `[dev-dependencies]`: `weir = { version = "0.1", features = ["testing"] }`).
///
/// # Examples
///
/// A pipeline cancelled mid-run: every item is accounted for and no task
/// is left behind.
///
/// ```
/// use weir::pipeline::Pipeline;
/// use weir::prelude::*;
/// use weir::testing::{assert_no_leaked_tasks, Ledger};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ledger = Ledger::new();
/// assert_no_leaked_tasks(async {
///     let (ctx, cancel) = Context::background().with_cancel();
///     let pipeline = Pipeline::new(&ctx);
///     let books = ledger.clone();
///     let run = pipeline
///         .source(ledger.track_all(0..u64::MAX))
///         .map(|item| item.map(|n| n * 2))
///         .for_each(move |item| {
///             if books.deliver(item) == 200 {
///                 cancel.cancel();
///             }
///         })
///         .run();
///     assert!(run.join().await.unwrap_err().cancelled().is_some());
/// })
/// .await;
/// let books = ledger.accounting();
/// books.assert_exact();
/// assert!(books.delivered().len() >= 101);
/// # }
/// ```
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing {
    pub use weir_stage::testing::*;
}

/// Pipelines across processes and machines on NATS JetStream: durable
/// edges and a distributed worker pool (re-exported from `weir-nats`;
/// needs the `nats` feature).
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub use weir_nats as nats;

/// The most used items, for a glob import: `use weir::prelude::*;`.
///
/// # Examples
///
/// ```
/// use weir::prelude::*;
///
/// let (tx, rx) = chan::bounded::<u8>(1);
/// let wg = WaitGroup::new();
/// let ctx = Context::background();
/// # drop((tx, rx, wg, ctx));
/// ```
pub mod prelude {
    pub use crate::chan::{self, Receiver, Sender};
    pub use crate::latch::{Latch, WaitGroup};
    pub use crate::pipeline::{Flow, Pipeline};
    pub use weir_cancel::{Context, ContextError};
    pub use weir_stage::{self as stage, Scope};
}

// The README's example is compiled and run as a doctest.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
