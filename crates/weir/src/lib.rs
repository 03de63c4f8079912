//! Go's concurrency patterns — channels, `WaitGroup`, worker pools,
//! fan-out/fan-in, pipelines, `context` — as typed, leak-free Rust crates on
//! tokio.
//!
// The numbers below are copied from README.md (its "why weir" bullets), which
// takes them from docs/benchmarks.md and docs/reliability.md: when they
// change, change both places.
//! - **Faster than Go at Go's own patterns.** A generate → square → sum
//!   pipeline runs 50× faster than the same pipeline in Go with buffered
//!   channels, fan-out/fan-in over four workers 4.6× faster, and even the
//!   pipeline written by hand, one `send().await` and `recv().await` per
//!   item on weir's channels, 1.55× faster
//!   (`docs/benchmarks.md` in the repository, measured side by side in one
//!   run).
//! - **Light at scale.** A million idle workers start and shut down in 0.51×
//!   Go's time, using 0.26× Go's memory (same page).
//! - **Nothing lost, nothing leaked.** Every item is delivered once or handed
//!   back, and every task ends after a cancel, an error or a panic — checked by
//!   10,000 seeded fault-injection trials on random pipelines
//!   (`docs/reliability.md` in the repository).
//! - **Limits that find themselves.** Any pool or concurrent stage takes
//!   [`Limit::adaptive()`](stage::Limit::adaptive) instead of a guessed
//!   number and follows the downstream service's capacity from latency and
//!   overload errors.
//! - **Streams beyond Go.** `buffer` with overflow policies,
//!   `conflate`/`debounce`/`sample`, time and count windows, `group_by`,
//!   per-item timeouts, restarts with backoff, `zip`, `interleave`,
//!   `concat`, `try_fold`, `map_blocking`, `enumerate`, `chunks_by` — on
//!   [`Flow`](pipeline::Flow).
//! - **A live page for every pipeline.** With the `dashboard` feature, one
//!   call serves the running graph — counts, rates, queues, the bottleneck
//!   and why — in a browser, with `/graph.json` and Prometheus `/metrics`.
//!
//! ```toml
//! [dependencies]
//! weir = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! ```
//! use std::time::Duration;
//!
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), weir::Error> {
//!     // Go's context.WithTimeout: every stage stops when the deadline passes.
//!     let ctx = Context::background().with_timeout(Duration::from_secs(60));
//!     let total: u64 = Pipeline::new(&ctx)
//!         .source(1..=100_000u64) // Go's gen(): a generator goroutine
//!         .square() // Go's sq(): fused with the source, no channel in between
//!         .worker_pool(4, |n| async move {
//!             // four workers reading one jobs channel, results merged
//!             Ok::<_, std::io::Error>(n % 7)
//!         })
//!         .fold(0, |acc, n| acc + n) // the consumer that ranges over the results
//!         .await?; // joins every stage; the first error or panic wins
//!     println!("{total}");
//!     Ok(())
//! }
//! ```
//!
//! The same in Go, for comparison: `gen` and `sq` are goroutines that close
//! their channels when done (as in [`stage`]'s docs), then four workers
//! share the jobs and a `WaitGroup` closes the results. To honour the
//! deadline, each Go stage would also have to take `ctx` and `select` on
//! `ctx.Done()` at every send; weir's stages do that for you.
//!
//! ```go
//! squares := sq(gen(nums...))
//! results := make(chan int)
//! var wg sync.WaitGroup
//! for i := 0; i < 4; i++ {
//!     wg.Add(1)
//!     go func() {
//!         defer wg.Done()
//!         for n := range squares {
//!             results <- n % 7
//!         }
//!     }()
//! }
//! go func() { wg.Wait(); close(results) }()
//! total := 0
//! for r := range results {
//!     total += r
//! }
//! ```
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
//! # Which layer?
//!
//! | you want | use | looks like |
//! |---|---|---|
//! | a pipeline or worker pool written once, with metrics and graphs | the builder, [`pipeline`] | `Pipeline::new(&ctx).source(..).map(..).worker_pool(..).fold(..)` |
//! | a graph whose shape is decided at run time | stage functions under a [`Scope`](stage::Scope) (Go's errgroup) | `let out = stage::map(&scope, rx, f);` then `scope.wait().await?` |
//! | hand-written goroutine-style code | channels and latches, [`chan`] / [`latch`] | `tx.send(v).await?`, `rx.recv().await`, `WaitGroup` |
//! | Go's `context` alone | [`cancel`] | `ctx.with_timeout(d)`, `ctx.run(fut).await` |
//!
//! Start with the builder; drop to a `Scope` when the graph is built from
//! data, and to channels when you need a shape no stage offers.
//!
//! # Examples
//!
//! Go's timeout pattern: run an expensive operation, give up after a
//! deadline. In Go, a `select` on the result and `ctx.Done()`:
//!
//! ```go
//! ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//! defer cancel()
//! resultCh := make(chan uint64, 1)
//! go func() { resultCh <- expensiveOperation() }()
//! select {
//! case result := <-resultCh:
//!     return result, nil
//! case <-ctx.Done():
//!     return 0, ctx.Err()
//! }
//! ```
//!
//! With weir, [`Context::run`](cancel::Context::run) is that `select`:
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

#[cfg(feature = "dashboard")]
#[cfg_attr(docsrs, doc(cfg(feature = "dashboard")))]
pub mod dashboard;
mod error;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics_export;
mod observe;
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
