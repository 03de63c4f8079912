//! Go's pipeline patterns as typed, cancellation-aware, leak-free stages.
//!
//! A *stage* is a task that reads items from a
//! [`Receiver`](weir_core::chan::Receiver), does something with each, and
//! sends results to the `Receiver` it returns — closing it when it ends, so
//! Go's rule "the sender closes the channel when it is done" holds by
//! construction. Every
//! stage runs inside a [`Scope`], which ties the tasks to a
//! [`Context`](weir_cancel::Context): the first error or panic cancels the
//! rest, [`OwnedScope::wait`] joins them and names the stage that failed, and
//! dropping the scope leaves nothing running.
//!
//! | Go | weir-stage |
//! |---|---|
//! | `gen(nums...)` generator goroutine | [`generate`] |
//! | `sq(in)` | [`square`], or [`map`] for any function |
//! | `processJobs(jobs, results, n)` | [`worker_pool`] |
//! | `fanOut(in, n)` | [`balance`] (competing consumers) |
//! | `fanIn(chans...)` | [`merge`] |
//! | `errgroup.WithContext` + `wg.Wait()` | [`Scope`], [`OwnedScope::wait`] |
//! | `for v := range ch { … }` | [`for_each`], [`fold`], [`collect`] |
//!
//! # Rules every stage keeps
//!
//! * It stops promptly when its scope is cancelled, even while waiting on a
//!   full or empty channel.
//! * It stops, and so stops its upstream, when every receiver of its output
//!   is dropped.
//! * Memory is bounded by the channel capacities
//!   ([`ScopeBuilder::capacity`], [`Scope::with_capacity`]): a slow consumer
//!   slows the producer down.
//! * Invalid configuration (zero workers, zero batch size…) is a
//!   [`ConfigError`] when the stage is built, never a panic or a hang.
//! * A panic in user code becomes [`Error::Panicked`] naming the stage.
//!
//! # Choosing
//!
//! * Ordered vs unordered concurrency, and when a worker pool is the right
//!   tool: see [`map_concurrent`]'s "Choosing" section.
//! * Which fan-out to use (balance, round-robin, partition, broadcast), and
//!   what a slow or dropped branch does: see the [`split`] module.
//! * Jobs that can fail: a [`Recovery`] (retries with a jittered
//!   [`Backoff`] for the errors you call transient, then a [`Policy`]:
//!   fail, skip or dead-letter) runs under [`WorkerPool`], [`try_then`],
//!   [`try_map_concurrent`] and [`try_map_unordered`] alike, with a
//!   per-item [`Recovery::timeout`] ([`TimedOut`]).
//! * A consumer slower than its producer: [`buffer`] with an [`Overflow`]
//!   policy (wait, drop the newest or oldest, fail), [`conflate`] (merge
//!   what it missed), [`debounce`] and [`sample`] (thin out by time).
//! * Sources and sub-flows that fail as a whole (a dropped connection, a
//!   parser in a bad state): [`restart_source`] and [`restart_flow`] make
//!   them again, with a [`Restart`]'s backoff and limit.
//! * Counts or summaries per period, per `n` items or per burst: the
//!   [`window`](mod@window) module (tumbling, sliding and session
//!   windows); per key: [`group_by`].
//!
//! Stages move items between channels in batches internally
//! ([`Receiver::recv_many`](weir_core::chan::Receiver::recv_many) /
//! [`Sender::send_all`](weir_core::chan::Sender::send_all)) while the API
//! stays per item; a batch never waits to fill, so an idle producer's last
//! item is never held back.
//!
//! # Features
//!
//! * `tracing`: a span per stage task (and, under `--cfg tokio_unstable`,
//!   task names for tokio-console).
//! * `testing`: the `testing` module — an accounting
//!   harness, a task-leak check, probe sources and sinks, paused-clock
//!   helpers — for testing your own pipelines; enable it in
//!   `[dev-dependencies]`.
//!
//! # Example
//!
//! Go's pipeline pattern, `gen → sq → sum`. In Go, each stage is a
//! function that starts a goroutine and returns the channel it sends on:
//!
//! ```go
//! func gen(nums ...int) <-chan int {
//!     out := make(chan int)
//!     go func() {
//!         defer close(out)
//!         for _, n := range nums {
//!             out <- n
//!         }
//!     }()
//!     return out
//! }
//!
//! func sq(in <-chan int) <-chan int {
//!     out := make(chan int)
//!     go func() {
//!         defer close(out)
//!         for n := range in {
//!             out <- n * n
//!         }
//!     }()
//!     return out
//! }
//!
//! sum := 0
//! for n := range sq(gen(nums...)) {
//!     sum += n
//! }
//! ```
//!
//! The same with weir-stage; the channels close themselves, and a
//! cancelled scope stops every stage:
//!
//! ```
//! use weir_cancel::Context;
//! use weir_stage::{self as stage, Scope};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let scope = Scope::new(&Context::background());
//! let nums = stage::generate(&scope, 1..=1000u64);
//! let squares = stage::square(&scope, nums);
//! let sum = stage::fold(&scope, squares, 0, |acc, n| acc + n);
//! scope.wait().await.unwrap();
//! assert_eq!(sum.await, Ok(333_833_500));
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod driver;
pub mod engine;
mod error;
mod scope;
mod scope_handle;
mod stats;
pub mod steps;

mod batch;
mod buffer;
mod chunks_by;
mod collect;
mod concat;
mod conflate;
mod count;
mod debounce;
mod enumerate;
mod filter;
mod filter_map;
mod flat_map;
mod fold;
mod for_each;
mod for_each_concurrent;
mod forward;
mod forward_sink;
mod from_fn;
mod from_stream;
mod generate;
mod group_by;
mod inspect;
mod interleave;
pub mod limit;
mod map;
mod map_blocking;
mod map_concurrent;
mod map_unordered;
mod merge;
mod overflow;
mod recovery;
mod restart;
mod sample;
mod scan;
mod skip;
pub mod split;
mod square;
mod take;
mod take_while;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod then;
mod throttle;
mod try_fold;
mod try_for_each;
mod try_map;
mod try_map_concurrent;
mod try_map_unordered;
mod try_then;
mod unbatch;
pub mod window;
mod worker_pool;
mod zip;

pub use driver::{Incomplete, SinkOutput};
pub use engine::StageId;
pub use error::{BoxError, BranchOutOfRange, ConfigError, Error};
pub use scope::{OwnedScope, Scope, ScopeBuilder, ScopeView, Wait, DEFAULT_CAPACITY};
pub use scope_handle::ScopeHandle;
pub use stats::{ScopeStats, StageStats};

pub use collect::collect;
pub use count::count;
pub use fold::fold;
pub use for_each::for_each;
pub use generate::generate;
pub use map::map;
pub use square::square;
pub use try_for_each::try_for_each;
pub use try_map::try_map;
// Transforms and sources.
pub use batch::batch;
pub use filter::filter;
pub use filter_map::filter_map;
pub use flat_map::flat_map;
pub use from_fn::from_fn;
pub use from_stream::from_stream;
pub use inspect::inspect;
pub use scan::scan;
pub use skip::skip;
pub use take::take;
pub use take_while::take_while;
pub use then::then;
pub use throttle::{throttle, Rate};
pub use unbatch::unbatch;
// Overflow and rate shaping.
pub use buffer::{buffer, buffer_source};
pub use conflate::conflate;
pub use debounce::debounce;
pub use overflow::{Overflow, Overflowed};
pub use sample::sample;
// Windows and keyed groups.
pub use group_by::{group_by, Keys, TooManyKeys};
pub use window::{window, window_fold, Folded, Session, Sliding, Tumbling, Window, WindowSpec};
// Combining, indexing and grouping runs.
pub use chunks_by::chunks_by;
pub use concat::concat;
pub use enumerate::enumerate;
pub use interleave::interleave;
pub use limit::{Adaptive, Controller, Limit, LimitStats, Outcome, Sample};
pub use map_blocking::map_blocking;
pub use try_fold::try_fold;
pub use zip::zip;
// Concurrency.
pub use for_each_concurrent::for_each_concurrent;
pub use map_concurrent::map_concurrent;
pub use map_unordered::map_unordered;
pub use recovery::{Backoff, Policy, Recovery, TimedOut};
// Supervision.
pub use restart::{restart_flow, restart_source, Restart, TooManyRestarts};
pub use try_map_concurrent::try_map_concurrent;
pub use try_map_unordered::try_map_unordered;
pub use try_then::try_then;
pub use worker_pool::{worker_pool, PoolHandle, WorkerPool};
// Fan-out and fan-in.
pub use forward::forward;
pub use forward_sink::forward_sink;
pub use merge::merge;
pub use split::{balance, broadcast, partition, round_robin, route};
