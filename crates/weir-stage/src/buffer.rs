//! [`buffer`]: a queue of `n` items between a producer and a consumer,
//! with an [`Overflow`] policy for when the consumer falls `n` behind.

use std::sync::Arc;

use weir_core::chan::{self, Receiver};

use crate::engine::{run_buffered, BoxSource, RecvSource, Stage};
use crate::error::ConfigError;
use crate::overflow::Overflow;
use crate::scope::{Failure, Role, Scope, Timing};

/// Puts a queue of `capacity` items between `input` and the stage after
/// it, and says what happens when the consumer falls `capacity` items
/// behind ([`Overflow`]): wait ([`Backpressure`](Overflow::Backpressure),
/// a plain bounded queue), drop the newest or the oldest items (the
/// producer never waits), or fail. Akka's `buffer(n, OverflowStrategy)`.
///
/// The buffer *is* the output channel: the stage's task moves what
/// `input` has ready into it with the overflow policy — up to several
/// batches at once, under one lock and at most one wake-up, the policy
/// applied item by item in input order — so a dropping buffer costs one
/// channel hop, like any stage with a task. (The `weir` builder's
/// `Flow::buffer` spends no task of its own: before a stage with tasks of
/// its own, the fused stages before it send into the buffer the same way;
/// before fused stages, it is the engine's
/// [`Buffered`](crate::engine::Buffered), which passes items straight
/// through and queues only while its task's output waits.) Dropped items are counted in the
/// stage's `dropped` statistic ([`StageStats`](crate::StageStats)).
///
/// Order: what is kept keeps input order. Under `Backpressure` nothing is
/// lost; under the drop modes, items kept + items dropped = items in.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while its input is idle) and drops its input, which stops the upstream
/// stage in turn. When the input ends, what the buffer holds is still
/// delivered (so a graceful [`shutdown`](crate::OwnedScope::shutdown)
/// flushes it).
///
/// # Errors
///
/// [`ConfigError::Zero`] naming the stage when `capacity` is 0. At run
/// time, under [`Overflow::Fail`], an item that finds the buffer full is
/// an [`Error::Failed`](crate::Error::Failed) naming the stage, whose
/// source is an [`Overflowed`](crate::Overflowed).
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// A slow consumer behind a buffer that keeps the newest items: the
/// producer is never held up, and the consumer sees the latest data.
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Overflow, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let stats = scope.stats();
/// let readings = stage::generate(&scope, 1..=1000u32);
/// let latest = stage::buffer(&scope.named("latest"), readings, 4, Overflow::DropOldest).unwrap();
/// // Nobody reads until the buffer's task has taken every reading in:
/// // all but the newest 4 are dropped.
/// while stats.stage("latest").map_or(true, |s| s.tasks == 0 || s.running > 0) {
///     tokio::task::yield_now().await;
/// }
/// let seen = stage::collect::<_, Vec<_>>(&scope, latest).await.unwrap();
/// assert_eq!(seen, [997, 998, 999, 1000]);
/// assert_eq!(stats.stage("latest").unwrap().dropped, 996);
/// # }
/// ```
pub fn buffer<T>(
    scope: &Scope,
    input: Receiver<T>,
    capacity: usize,
    overflow: Overflow,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
{
    buffer_source(
        scope,
        Box::new(RecvSource::new(input)),
        None,
        capacity,
        overflow,
    )
}

/// [`buffer`] fed by a [`BoxSource`] — a chain of fused stages — rather
/// than a channel: the chain runs in the buffer's task and sends into the
/// buffer under `overflow`, with no channel in between. The door the
/// `weir` builder's `Flow::buffer` uses; `stage` is the buffer's engine
/// [`Stage`] when the caller keeps one (it then counts the items the
/// buffer took in and kept), `None` to make one.
///
/// # Errors
///
/// As [`buffer`]: [`ConfigError::Zero`] when `capacity` is 0.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::engine::{Fused, RecvSource, Stage};
/// use weir_stage::steps::Map;
/// use weir_stage::{self as stage, Overflow, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 0..10u32);
/// // A `map` fused into the buffer's task, sending straight into it.
/// let double = Stage::new("map", "double");
/// let src = Fused::new(Box::new(RecvSource::new(nums)), Map::new(|n: u32| n * 2), double);
/// let out = stage::buffer_source(&scope, Box::new(src), None, 16, Overflow::Fail).unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
/// assert_eq!(all, (0..10).map(|n| n * 2).collect::<Vec<_>>());
/// # }
/// ```
pub fn buffer_source<T>(
    scope: &Scope,
    src: BoxSource<T>,
    stage: Option<Arc<Stage>>,
    capacity: usize,
    overflow: Overflow,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
{
    if capacity == 0 {
        return Err(ConfigError::Zero {
            stage: scope.config_name("buffer"),
            what: "buffer capacity",
        });
    }
    let (tx, rx) = chan::bounded(capacity);
    scope.spawn_raw(
        "buffer",
        Role::Stage,
        Timing::Engine,
        move |cx| async move {
            let stage = stage.unwrap_or_else(|| cx.engine_stage());
            run_buffered(src, tx, &stage, overflow, Some(cx.stats()))
                .await
                .map_err(Failure::Named)
        },
    );
    Ok(rx)
}
