//! Tools for testing pipelines the way weir tests its own: the items that
//! go in, what came out, what was dropped, which tasks are still alive, and
//! time that doesn't have to pass. (Enabled by the `testing` feature; put
//! it in your `[dev-dependencies]`.)
//!
//! Go has `testing/synctest` and `goleak`; this module is their
//! counterpart for weir pipelines:
//!
//! | to check | use |
//! |---|---|
//! | no item lost or duplicated, every item released exactly once | [`Ledger`] issues [`Tracked`] items; [`Accounting`] says what became of each |
//! | every task ended after cancel / drop / error | [`TaskBaseline`], [`assert_no_leaked_tasks`] |
//! | what the source gave, and when it was dropped | [`probe_source`] ([`SourceProbe`]), with [`ProbeSource::panic_at`] to inject a fault |
//! | a consumer that stops mid-stream, is slow, or stalls | [`ProbeSink`] ([`stop_after`](ProbeSink::stop_after), [`delay`](ProbeSink::delay), [`held`](ProbeSink::held)) |
//! | a hang fails instead of stalling CI | [`within`] (free on a paused clock) |
//! | something is blocked right now | [`poll_once`], [`settle`] |
//! | another task got somewhere, without sleeping | [`eventually`] |
//! | a runtime per proptest case | [`block_on_paused`], [`block_on_threads`] |
//! | a downstream service with a concurrency knee, for limits | [`SimService`] |
//!
//! # Examples
//!
//! A stalled consumer, then a cancel: every item is accounted for, the
//! source was stopped, and no task is left behind.
//!
//! ```
//! use std::time::Duration;
//! use weir_cancel::Context;
//! use weir_stage::testing::{probe_source, within, Ledger, ProbeSink, TaskBaseline};
//! use weir_stage::{self as stage, Error, Scope};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let baseline = TaskBaseline::take();
//! let ledger = Ledger::new();
//! let (source, probe) = probe_source(ledger.track_all(0..1_000_000u64));
//!
//! let (ctx, cancel) = Context::background().with_cancel();
//! let scope = Scope::builder(&ctx).capacity(16).build();
//! let nums = stage::generate(&scope, source);
//! let squares = stage::map(&scope, nums, |n| n.map(|v| v * v));
//! let sink = ProbeSink::new().held().spawn(squares);
//!
//! cancel.cancel();
//! let result = within(Duration::from_secs(60), scope.wait()).await.expect("hung");
//! assert!(matches!(result, Err(Error::Cancelled(_))));
//! drop(sink); // the items it holds are dropped with it
//! baseline.assert_settled().await;
//!
//! assert!(probe.is_dropped() && probe.pulled() < 1_000_000);
//! let books = ledger.accounting();
//! books.assert_exact(); // nothing alive: every pulled item was released
//! assert_eq!(books.issued(), probe.pulled());
//! # }
//! ```

mod clock;
mod leak;
mod ledger;
mod probe;
mod service;

pub use clock::{block_on_paused, block_on_threads, eventually, poll_once, settle, within, Hung};
pub use leak::{assert_no_leaked_tasks, LeakedTasks, TaskBaseline};
pub use ledger::{Accounting, Ledger, TrackAll, Tracked};
pub use probe::{probe_source, ProbeSink, ProbeSource, Probed, SinkProbe, SourceProbe};
pub use service::{SimBuilder, SimError, SimService};
