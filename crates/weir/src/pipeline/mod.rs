//! Typed pipeline graphs with fused stages, metrics and graph export.
//!
//! [`Pipeline::new`] starts a graph under a [`Context`]; [`Pipeline::source`]
//! gives the first [`Flow`], a typed stream of items under construction.
//! Each method on a `Flow` adds a stage and returns the next `Flow` (its
//! item type follows the stage's output, so a wrong connection is a compile
//! error); a sink method ([`Flow::fold`], [`Flow::collect`],
//! [`Flow::count`], [`Flow::for_each`], its async twin
//! [`Flow::for_each_async`], [`Flow::for_each_concurrent`], the fallible
//! [`Flow::try_for_each`] and [`Flow::try_fold`]) ends it with a [`Sink`], which you `.await` (or
//! [`run`](Sink::run) for a [`RunHandle`]).
//!
//! In and out of other code: [`Pipeline::from_receiver`] and
//! [`Pipeline::from_stream`] read what code outside the pipeline produces;
//! [`Flow::forward`] sends into a channel, [`Flow::forward_sink`] into any
//! `futures::Sink`, and [`Flow::into_stream`] hands the items out as a
//! `Stream` (see [`Flow::forward_sink`] for a flume channel in and out). [`Pipeline::shutdown`] stops every kind of
//! source; [`Pipeline::drain_on`] and [`Pipeline::shutdown_after`] turn a
//! deadline into such a graceful stop, so sinks return partial results
//! ([`Pipeline::cut_short`]).
//!
//! Across machines (the `nats` feature, `docs/distributed.md`):
//! `Flow::remote_pool` runs a stage's jobs on worker processes elsewhere and
//! `Pipeline::from_nats` reads a JetStream consumer; both are stages like
//! the others (named, counted, graphed, stopped by `shutdown`).
//!
//! # Fusion: where the tasks are
//!
//! Stateless one-to-one stages ([`map`](Flow::map), [`filter`](Flow::filter),
//! [`square`](Flow::square), [`inspect`](Flow::inspect),
//! [`filter_map`](Flow::filter_map), [`try_map`](Flow::try_map),
//! [`scan`](Flow::scan), [`take`](Flow::take),
//! [`take_while`](Flow::take_while), [`skip`](Flow::skip),
//! [`enumerate`](Flow::enumerate), [`chunks_by`](Flow::chunks_by)) are *fused*:
//! adjacent ones run in one task, a batch of items at a time, with no
//! channel between them — like operator chaining in stream processors.
//! Channels (and so parallelism across cores) appear only where a stage
//! needs its own tasks: [`worker_pool`](Flow::worker_pool),
//! [`fan_out`](Flow::fan_out), [`map_concurrent`](Flow::map_concurrent),
//! [`map_unordered`](Flow::map_unordered), [`then`](Flow::then),
//! [`flat_map`](Flow::flat_map), [`batch`](Flow::batch),
//! [`unbatch`](Flow::unbatch), [`conflate`](Flow::conflate),
//! [`debounce`](Flow::debounce), [`sample`](Flow::sample),
//! [`buffer`](Flow::buffer) when a stage with tasks of its own follows
//! it (the buffer is then that stage's input channel, filled by the
//! stages before it under its overflow policy; before fused stages it is
//! fused, and queues only while the task's output waits),
//! [`map_blocking`](Flow::map_blocking), the two-input
//! [`zip`](Flow::zip), [`interleave`](Flow::interleave) and
//! [`concat`](Flow::concat), the supervisors
//! ([`Pipeline::restart_source`], [`restart`](Flow::restart)),
//! the splits ([`balance`](Flow::balance), [`round_robin`](Flow::round_robin),
//! [`partition`](Flow::partition), [`route`](Flow::route),
//! [`broadcast`](Flow::broadcast)), [`merge`](Flow::merge) and the async
//! sinks ([`for_each_async`](Flow::for_each_async),
//! [`for_each_concurrent`](Flow::for_each_concurrent)). Items cross those
//! channels in batches too, while every API stays per item; a batch never
//! waits to fill, so an idle producer's last item is not held back.
//!
//! Fused stages keep their own names, metrics and panics: a panic in a
//! fused `map` is reported as [`Error::Panicked`](weir_stage::Error::Panicked)
//! naming that `map`.
//!
//! # Retries and failed jobs
//!
//! Every async stage — [`then`](Flow::then), [`map_concurrent`](Flow::map_concurrent),
//! [`map_unordered`](Flow::map_unordered), [`worker_pool`](Flow::worker_pool) —
//! can run a fallible job function under a recovery: put
//! [`retry(attempts, backoff)`](Flow::retry) (with
//! [`jitter`](weir_stage::Backoff::jitter), and
//! [`retry_if`](Guarded::retry_if) for the transient errors) and
//! [`on_error(policy)`](Flow::on_error) (fail, skip, or dead-letter; see
//! [`Policy`](weir_stage::Policy)) before it, and
//! [`timeout(d)`](Flow::timeout) for a per-item time limit (a slower job
//! fails with [`TimedOut`](weir_stage::TimedOut), counted as `timeouts`). The metrics count the
//! retries, skipped and dead-lettered jobs of each stage. A pool you want
//! to resize while it runs is a [`WorkerPool`](weir_stage::WorkerPool)
//! given to [`worker_pool_with`](Flow::worker_pool_with), whose
//! [`handle`](weir_stage::WorkerPool::handle) you keep.
//!
//! ```
//! use std::time::Duration;
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//! use weir::stage::{Backoff, Policy};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), weir::Error> {
//! let p = Pipeline::new(&Context::background());
//! let lens = p
//!     .source(["a", "", "ccc"])
//!     .retry(3, Backoff::exponential(Duration::from_millis(10)).jitter(0.5))
//!     .on_error(Policy::skip())
//!     .map_concurrent(8, |s: &str| async move {
//!         if s.is_empty() { Err("empty") } else { Ok(s.len()) }
//!     })
//!     .collect::<Vec<_>>()
//!     .await?;
//! assert_eq!(lens, [1, 3]);
//! println!("{}", p.metrics()); // the table has `retries`, `skipped`, `dead` columns
//! # Ok(())
//! # }
//! ```
//!
//! # Order
//!
//! Fused stages and [`map_concurrent`](Flow::map_concurrent) keep input
//! order. [`worker_pool`](Flow::worker_pool), [`fan_out`](Flow::fan_out)
//! and [`merge`](Flow::merge) do not: items come out as workers finish.
//!
//! # Graphs that are not a line
//!
//! A split ([`balance`](Flow::balance), [`round_robin`](Flow::round_robin),
//! [`partition`](Flow::partition), [`route`](Flow::route),
//! [`broadcast`](Flow::broadcast)) returns an array of `Flow`s, one per
//! branch, to destructure (`let [a, b, c] = flow.broadcast();`; the
//! `*_n` forms return a `Vec` for a count known at run time); each
//! branch can do something different, branches can be
//! [`merge`](Flow::merge)d back, and each can end in its own sink. The
//! graph is checked where a line can't check it:
//!
//! * **Types**: every port is a `Flow<T>`, so joining branches of different
//!   item types, or a sink of the wrong type, does not compile (see the
//!   compile-fail tests in `crates/weir/tests/compile_fail/`).
//! * **Unconnected outputs**: a `Flow` dropped without reaching a sink is a
//!   [`ConfigError`](weir_stage::ConfigError) naming the stage, returned by
//!   the first sink awaited — before anything runs.
//! * **Cycles** can't be written: every step consumes its `Flow`, and a
//!   stage's input exists before the stage does, so no output can be
//!   routed back into a stage built earlier.
//!
//! With several sinks, awaiting (or running) any one of them starts the
//! whole graph; the others then resolve with their own results.
//!
//! ```
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), weir::Error> {
//! let p = Pipeline::new(&Context::background());
//! let [evens, all] = p.source(1..=10u64).broadcast();
//! let evens = evens.filter(|n| n % 2 == 0).collect::<Vec<_>>();
//! let total = all.map(|n| n * 10).fold(0, |a, n| a + n);
//! assert_eq!(evens.await?, [2, 4, 6, 8, 10]); // runs the whole graph
//! assert_eq!(total.await?, 550);
//!
//! // A branch left unconnected is an error before anything runs.
//! let p = Pipeline::new(&Context::background());
//! let [used, _forgotten] = p.source(1..=10u64).balance();
//! let err = used.collect::<Vec<_>>().await.unwrap_err();
//! assert!(err.config().is_some());
//! # Ok(())
//! # }
//! ```
//!
//! # Examples
//!
//! Go's pipeline pattern (`gen → sq`), then a worker pool, summed:
//!
//! ```
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), weir::Error> {
//! let total: u64 = Pipeline::new(&Context::background())
//!     .source(1..=1_000u64)                                // pipeline(data)
//!     .square()                                            // square
//!     .worker_pool(4, |n| async move { Ok::<_, std::io::Error>(n + 1) }) // processJobs
//!     .fold(0, |acc, n| acc + n)
//!     .await?;
//! assert_eq!(total, 333_833_500 + 1_000);
//! # Ok(())
//! # }
//! ```
//!
//! [`Context`]: weir_cancel::Context

mod boundary;
mod combine;
mod flow;
mod graph;
mod group;
mod limit;
#[cfg(feature = "nats")]
mod nats_source;
mod pool;
mod recover;
#[cfg(feature = "nats")]
mod remote;
mod run;
mod shaping;
mod shared;
mod sinks;
mod source;
mod split;
mod stream;
mod subflows;
mod supervise;
mod transforms;
mod view;
mod windows;

pub use crate::observe::{Diagnosis, EdgeMetrics, EdgeState, Metrics, StageMetrics};
pub use flow::{Flow, Pipeline};
pub use recover::Guarded;
pub use run::{Join, RunHandle, Sink, SinkFuture};
pub use stream::{FlowStream, StreamNotRead, UNREAD_GRACE};
pub use view::GraphView;
#[cfg(feature = "dashboard")]
pub(crate) use view::RunState;
