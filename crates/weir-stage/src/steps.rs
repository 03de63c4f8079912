//! The operators as values: the fusible per-batch [`Step`](crate::engine::Step)s
//! and the [`SinkStep`](crate::engine::SinkStep)s each stage function of this
//! crate runs.
//!
//! Each type is defined next to its stage function ([`Map`] in the file of
//! [`map`](crate::map), …) and gathered here, above the
//! [`engine`](crate::engine): the engine knows only the `Step` and `SinkStep`
//! traits, the operators build on the engine, and this module names the
//! operators for the `weir` crate's builder, which fuses adjacent steps into
//! one task.
//!
//! * Transforms ([`Step`](crate::engine::Step)): [`Map`], [`Filter`],
//!   [`FilterMap`], [`Inspect`], [`TryMap`], [`Scan`], [`Square`], [`Take`],
//!   [`TakeWhile`], [`Skip`], [`Enumerate`].
//! * Sinks ([`SinkStep`](crate::engine::SinkStep)): [`Fold`], [`Collect`],
//!   [`ForEach`], [`TryForEach`], [`TryFold`], [`Count`]; and [`run_into_sink`], which
//!   drains a source into a `futures` sink.
//!
//! # Examples
//!
//! A [`Map`] fused in front of a [`Fold`], drained from a channel:
//!
//! ```
//! use weir_core::chan;
//! use weir_stage::engine::{self, Fused, RecvSource, Stage};
//! use weir_stage::steps::{Fold, Map};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, rx) = chan::bounded(8);
//! tx.send_all(vec![1u64, 2, 3]).await.unwrap();
//! drop(tx);
//! let (double, sum) = (Stage::new("map", "double"), Stage::new("fold", "sum"));
//! let doubled = Fused::new(Box::new(RecvSource::new(rx)), Map::new(|n: u64| n * 2), double);
//! let total = engine::run_sink(Box::new(doubled), Fold::new(0, |a, n| a + n), &sum).await;
//! assert_eq!(total.unwrap(), 12);
//! # }
//! ```

pub use crate::chunks_by::ChunksBy;
pub use crate::collect::Collect;
pub use crate::count::Count;
pub use crate::enumerate::Enumerate;
pub use crate::filter::Filter;
pub use crate::filter_map::FilterMap;
pub use crate::fold::Fold;
pub use crate::for_each::ForEach;
pub use crate::forward_sink::run_into_sink;
pub use crate::inspect::Inspect;
pub use crate::map::Map;
pub use crate::scan::Scan;
pub use crate::skip::Skip;
pub use crate::square::Square;
pub use crate::take::Take;
pub use crate::take_while::TakeWhile;
pub use crate::try_fold::TryFold;
pub use crate::try_for_each::TryForEach;
pub use crate::try_map::TryMap;
