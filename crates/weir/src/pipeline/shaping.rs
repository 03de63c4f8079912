//! Overflow and rate shaping: [`buffer`](Flow::buffer),
//! [`conflate`](Flow::conflate), [`debounce`](Flow::debounce),
//! [`sample`](Flow::sample). Each is the `weir_stage` operator of the
//! same name; nothing is written twice.

use std::time::Duration;

use weir_stage::Overflow;

use super::boundary::{check, fill, invalid, view};
use super::flow::Flow;
use super::source::Slot;

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
    /// The buffer is the channel into the next stage, and the stages fused
    /// before it send into it themselves, under the policy, from their own
    /// task: it adds no task of its own (the stages before and after it
    /// run in two tasks, as across any channel). The door to
    /// [`weir_stage::buffer_source`].
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
        shared.graph().set_tasks(node);
        check(&shared, node, capacity, "buffer capacity");
        let slot = Slot::<T>::default();
        let out = slot.clone();
        shared.defer(move |shared, scope| {
            let stage = shared.stage(node);
            let at = view(shared, scope, node);
            match weir_stage::buffer_source(&at, segment.src, Some(stage), capacity, overflow) {
                Ok(rx) => fill(shared, node, &out, rx),
                Err(e) => shared.fault(e.into()),
            }
        });
        Flow::from_channel(shared, node, slot, None)
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
