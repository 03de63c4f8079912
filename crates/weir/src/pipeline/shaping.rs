//! Overflow and rate shaping: [`buffer`](Flow::buffer),
//! [`conflate`](Flow::conflate), [`debounce`](Flow::debounce),
//! [`sample`](Flow::sample). Each is the `weir_stage` operator of the
//! same name; nothing is written twice.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use weir_stage::engine::{Buffered, Split};
use weir_stage::{Overflow, ScopeView};

use super::boundary::{check, invalid, view};
use super::flow::{Flow, Shared};

/// Where a buffer that became a channel spawns its task: the pipeline,
/// and the buffer's scope view, once the pipeline starts.
type SplitAt = (Weak<Shared>, ScopeView);

/// # Overflow and rate shaping
///
/// What a pipeline does when its consumer is slower than its producer:
/// wait (the default everywhere), or [`buffer`](Flow::buffer) with an
/// [`Overflow`] policy that drops the newest or oldest items, or fails,
/// instead of holding the producer up; [`conflate`](Flow::conflate)
/// merges what a slow consumer missed; [`debounce`](Flow::debounce) and
/// [`sample`](Flow::sample) thin a fast stream out by time. Each stage
/// counts the items it dropped or merged away
/// ([`StageMetrics`](crate::pipeline::StageMetrics)' `dropped`, the
/// metrics table's `dropped` column and `weir_stage_dropped_total`).
impl<T: Send + 'static> Flow<T> {
    /// A queue of `capacity` items before the next stage, and what happens
    /// when that stage falls `capacity` items behind: wait
    /// ([`Overflow::Backpressure`]), drop the newest items
    /// ([`Overflow::DropNewest`]) or the oldest ([`Overflow::DropOldest`],
    /// a live view of the latest data) — the producer never waits — or
    /// fail the pipeline ([`Overflow::Fail`]). Akka's `buffer(n,
    /// OverflowStrategy)`, Vector's `when_full`. What is kept keeps input
    /// order.
    ///
    /// Where it runs ("fused until it would overflow", as Akka's `buffer`
    /// inside a fused island):
    ///
    /// - **Fused stages after it** ([`map`](Flow::map),
    ///   [`filter`](Flow::filter), …, and a sink such as
    ///   [`fold`](Flow::fold)): the buffer is fused too, and the stages
    ///   before and after it share one task. While the rest of the task
    ///   takes each batch without waiting, items pass straight through —
    ///   no queue, no lock, no wake, so a buffer that never overflows costs
    ///   about nothing. When the task's output waits (its channel into the
    ///   next stage with tasks of its own is full, a
    ///   [`forward_sink`](Flow::forward_sink) is not ready), the buffer
    ///   keeps pulling the stages before it into a queue of `capacity`
    ///   items the task owns, under the policy, and the stages after it
    ///   take from that queue, in order, once the output moves again (so
    ///   the next stage with tasks of its own may fall `capacity` items
    ///   plus its input channel's behind before anything is dropped). A
    ///   sink step never waits, so a buffer that ends in one never fills;
    ///   and since the two sides share the task, a CPU-heavy step after the
    ///   buffer runs between two pulls of its upstream, like any fused
    ///   stage.
    /// - **A stage with tasks of its own straight after it**
    ///   ([`then`](Flow::then), [`worker_pool`](Flow::worker_pool), …):
    ///   the buffer is that stage's input channel, of `capacity` items,
    ///   filled under the policy by the task of the stages before it,
    ///   which never waits for that stage in the dropping modes (the
    ///   door to [`weir_stage::buffer_source`]).
    ///
    /// Under [`Overflow::Backpressure`] the fused queue stops pulling once
    /// it holds `capacity` items (it may hold up to one batch more).
    ///
    /// A graceful [`shutdown`](super::Pipeline::shutdown) delivers what the
    /// buffer holds to the stages after it.
    ///
    /// # Errors
    ///
    /// `capacity == 0` is a [`ConfigError`](weir_stage::ConfigError) naming
    /// the stage, returned by the sink before anything runs. Under
    /// [`Overflow::Fail`], an item that finds the buffer full fails the
    /// pipeline naming this stage (the source of the error is an
    /// [`Overflowed`](weir_stage::Overflowed)).
    ///
    /// # Examples
    ///
    /// A slow sink behind a buffer that keeps the newest items:
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Overflow;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let seen = p
    ///     .source(0..1_000u32)
    ///     .buffer(16, Overflow::DropOldest)
    ///     .named("latest")
    ///     .then(|n| async move {
    ///         tokio::time::sleep(Duration::from_millis(10)).await; // a slow sink
    ///         n
    ///     })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(seen.last(), Some(&999)); // the newest item always gets through
    /// let latest = p.metrics().stages.into_iter().find(|s| s.name == "latest").unwrap();
    /// assert_eq!(latest.items_in, 1_000);
    /// assert_eq!(latest.items_out + latest.dropped, 1_000);
    /// # }
    /// ```
    pub fn buffer(self, capacity: usize, overflow: Overflow) -> Flow<T> {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage("buffer", &[segment.edge], !segment.at_channel);
        check(&shared, node, capacity, "buffer capacity");
        let stage = shared.stage(node);
        // Where a stage with tasks of its own reads the buffer, the buffer
        // becomes that stage's input channel (filled by a task of its own
        // under the policy), spawned in the buffer's scope view, which is
        // known once the pipeline starts (this spawn runs before those of
        // the stages after it).
        let at: Arc<Mutex<Option<SplitAt>>> = Arc::default();
        let fill_at = at.clone();
        shared.defer(move |shared, scope| {
            let view = view(shared, scope, node);
            *fill_at.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((Arc::downgrade(shared), view));
        });
        let split_stage = stage.clone();
        let split: Split<T> = Box::new(move |src| {
            let taken = at.lock().unwrap_or_else(PoisonError::into_inner).take();
            let Some((shared, view)) = taken else {
                return Err(src);
            };
            let capacity = capacity.max(1); // 0 is refused before the start
            let rx = weir_stage::buffer_source(&view, src, Some(split_stage), capacity, overflow)
                .expect("a capacity of at least 1 is valid");
            if let Some(shared) = shared.upgrade() {
                shared.graph().set_tasks(node);
            }
            Ok(rx)
        });
        let src = Buffered::new(segment.src, stage, capacity, overflow).split_with(split);
        let depth = src.depth();
        let flow = Flow::new(shared, Box::new(src), node);
        // Its queue shows on its output edge, as a channel's would (a
        // buffer that becomes a channel attaches that channel instead).
        flow.edge().attach_queue(depth);
        flow
    }

    /// Merges the items a slow consumer has not taken yet into one
    /// summary, so the producer never waits for it (Akka's
    /// `conflateWithSeed`): a summary starts as `seed(item)` and each item
    /// that arrives while it waits for room is folded in with
    /// `merge(summary, item)`. Summaries come in input order. The door to
    /// [`weir_stage::conflate`]; the items merged away are counted as
    /// `dropped`.
    ///
    /// # Errors
    ///
    /// A panic in `seed` or `merge` fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let totals = p
    ///     .source(1..=100u64)
    ///     .conflate(|n| n, |sum, n| sum + n) // a running total per summary
    ///     .named("totals")
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(totals.iter().sum::<u64>(), 5050); // however it was grouped
    /// let m = p.metrics().stages.into_iter().find(|s| s.name == "totals").unwrap();
    /// assert_eq!(m.items_out + m.dropped, 100);
    /// # }
    /// ```
    pub fn conflate<S, Seed, Merge>(self, seed: Seed, merge: Merge) -> Flow<S>
    where
        S: Send + 'static,
        Seed: FnMut(T) -> S + Send + 'static,
        Merge: FnMut(S, T) -> S + Send + 'static,
    {
        self.through("conflate", move |scope, input| {
            Ok(weir_stage::conflate(scope, input, seed, merge))
        })
    }

    /// Sends an item on only once `quiet` has passed with no newer item:
    /// of a burst, only the last goes on (RxJS's `debounceTime`). When the
    /// input ends, the item still waiting goes on at once. The door to
    /// [`weir_stage::debounce`]; superseded items are counted as
    /// `dropped`.
    ///
    /// # Errors
    ///
    /// A zero `quiet` is a [`ConfigError`](weir_stage::ConfigError) naming
    /// the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let edits = futures::stream::unfold(0u32, |n| async move {
    ///     // A burst of 5 edits 10 ms apart, a pause, and 5 more.
    ///     let gap = if n == 5 { 500 } else { 10 };
    ///     tokio::time::sleep(Duration::from_millis(gap)).await;
    ///     (n < 10).then_some((n, n + 1))
    /// });
    /// let saved = Pipeline::new(&Context::background())
    ///     .from_stream(edits)
    ///     .debounce(Duration::from_millis(100))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(saved, [4, 9]); // the last edit of each burst
    /// # }
    /// ```
    pub fn debounce(self, quiet: Duration) -> Flow<T> {
        let shared = self.shared.clone();
        let flow = self.through("debounce", move |scope, input| {
            weir_stage::debounce(scope, input, quiet)
        });
        let why = quiet.is_zero();
        invalid(
            &shared,
            flow.tail(),
            why.then_some("debounce time must be longer than zero"),
        );
        flow
    }

    /// Sends on the latest item once per `period`, if one arrived during
    /// it (Akka's `sample`); when the input ends, the latest item not sent
    /// yet goes on at once. The door to [`weir_stage::sample`];
    /// superseded items are counted as `dropped`.
    ///
    /// # Errors
    ///
    /// A zero `period` is a [`ConfigError`](weir_stage::ConfigError)
    /// naming the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let ticks = futures::stream::unfold(0u32, |n| async move {
    ///     tokio::time::sleep(Duration::from_millis(30)).await; // at 30, 60, … 600 ms
    ///     (n < 20).then_some((n, n + 1))
    /// });
    /// let seen = Pipeline::new(&Context::background())
    ///     .from_stream(ticks)
    ///     .sample(Duration::from_millis(250))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(seen, [7, 15, 19]); // at 250 and 500 ms, then the last one
    /// # }
    /// ```
    pub fn sample(self, period: Duration) -> Flow<T> {
        let shared = self.shared.clone();
        let flow = self.through("sample", move |scope, input| {
            weir_stage::sample(scope, input, period)
        });
        let why = period.is_zero();
        invalid(
            &shared,
            flow.tail(),
            why.then_some("sample period must be longer than zero"),
        );
        flow
    }
}
