//! The one stage engine under both layers.
//!
//! Every operator is written once, as a value: a fusible per-batch
//! [`Step`] or a [`SinkStep`]. The engine is the ground floor: it knows
//! those two traits, never the operators built on them, which are listed in
//! [`steps`](crate::steps) ([`Map`](crate::steps::Map),
//! [`Fold`](crate::steps::Fold), …).
//! The stage functions of this crate ([`map`](crate::map), …) run a step
//! over a channel in a task of its own; the `weir` crate's pipeline builder
//! fuses adjacent steps into one task. Both pull a [`BatchSource`] a batch
//! of up to [`BATCH`] items at a time and end in [`run_into`] (a channel)
//! or [`run_sink`] (a sink step), so batching, panic capture, error naming
//! and counting are the same whichever door a stage came in by.
//!
//! A [`Stage`] is what every stage has: a [`StageId`] (identity), a kind,
//! a display name, and its [`Counters`] — the stage's one record, which
//! the scope's registry keeps by id. Two stages given the same name are
//! two stages: statistics are keyed by id.
//!
//! # Examples
//!
//! A chain of two fused steps over a channel, run into another channel:
//!
//! ```
//! use weir_core::chan;
//! use weir_stage::engine::{self, Fused, RecvSource, Stage};
//! use weir_stage::steps::{Filter, Map};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, rx) = chan::bounded(8);
//! let (out_tx, out_rx) = chan::bounded(8);
//! tx.send_all((1..=6).collect()).await.unwrap();
//! drop(tx);
//! let (double, evens) = (Stage::new("map", "double"), Stage::new("filter", "big"));
//! let chain = Fused::new(Box::new(RecvSource::new(rx)), Map::new(|n: u32| n * 2), double);
//! let chain = Fused::new(Box::new(chain), Filter::new(|n: &u32| *n > 6), evens.clone());
//! engine::run_into(Box::new(chain), out_tx, &evens).await.unwrap();
//! let mut got = Vec::new();
//! while let Some(n) = out_rx.recv().await {
//!     got.push(n);
//! }
//! assert_eq!(got, [8, 10, 12]);
//! # }
//! ```

mod buffered;
mod counters;
pub mod door;
mod run;
mod source;
mod sources;
mod stage;
mod step;

pub use buffered::{Buffered, Depth, Split};
pub use counters::{Count, Counters, Counts, Flag, Gauge, Time};
pub(crate) use door::{Door, Received};
pub(crate) use run::{next_batch, run_buffered};
pub use run::{run_into, run_sink, while_filling};
pub use source::{BatchSource, BoxSource, Ended, Fused, Report};
pub use sources::{IterSource, RecvSource, Slot, Stop, StreamSource};
pub use stage::{Stage, StageId};
pub use step::{Faults, SinkStep, Step};

/// How many items the engine moves at once, everywhere: a stage takes what
/// is there, up to this many, and goes on (a batch never waits to fill, so
/// batching adds no latency when the producer is idle).
///
/// # Examples
///
/// ```
/// assert!(weir_stage::engine::BATCH >= 64);
/// ```
pub const BATCH: usize = 512;
