//! Builder door to `weir_stage::group_by`: a sub-flow per key, built with
//! the builder itself.

use std::hash::Hash;
use std::sync::Arc;

use weir_core::chan;
use weir_stage::Keys;

use super::boundary::{check, invalid};
use super::flow::{Flow, Pipeline};
use super::subflows::SubFlows;
use super::view::GraphView;

/// # Keyed groups
///
/// [`group_by`](Flow::group_by): one sub-flow per key, built with the
/// same builder, merged back into one flow (Akka's `groupBy` +
/// `mergeSubstreams`, Flink's `keyBy`).
impl<T: Send + 'static> Flow<T> {
    /// Splits the flow by `key` into one sub-flow per key and merges
    /// their outputs: `sub(key, flow)` builds a key's sub-flow when its
    /// first item comes, from a [`Flow`] of that key's items, in order.
    ///
    /// How it runs: this is [`weir_stage::group_by`], and each key's
    /// sub-flow is a small [`Pipeline`] of its own, started under this
    /// pipeline's context (cancelling this pipeline cancels it; its error
    /// fails this pipeline) with this pipeline's channel capacity. Outputs
    /// of different keys interleave; a key's items keep their order.
    ///
    /// Metrics: this pipeline's [`metrics`](super::GraphView::metrics)
    /// (and so its table, Prometheus export and graph nodes) list the
    /// `group_by` stage, with the items in and out of every key, and then
    /// each stage of the sub-flows once per sub-flow *shape*, named
    /// `<group_by>/<stage>` (e.g. `group_by#1/map#1`, or the names the
    /// sub-flow gives them), with its counts and times summed over every
    /// key, running or ended. Keys running the same sub-flow share rows
    /// (stages are matched by name and kind), so 10,000 keys add as many
    /// rows as one key does. The sub-flow's own `receiver` stage counts
    /// the items routed to its keys, its `forward` stage what they sent
    /// back. Graphs show these rows as nodes without edges.
    ///
    /// `keys` is the most keys open at once (a number, or a [`Keys`] with
    /// an idle timeout: an idle key's sub-flow input ends, which flushes
    /// its windows). A new key past the limit fails the pipeline with
    /// [`TooManyKeys`](weir_stage::TooManyKeys) naming this stage. When
    /// the input ends, or on [`shutdown`](Pipeline::shutdown), every
    /// sub-flow's input ends and their outputs drain before this flow ends.
    ///
    /// Each sub-flow's time windows start with its key's first item; for
    /// counts per key in windows aligned across keys, one
    /// [`window_fold`](Flow::window_fold) into a map of counts is
    /// simpler and cheaper.
    ///
    /// # Errors
    ///
    /// A limit of zero keys or a zero idle timeout is a
    /// [`ConfigError`](weir_stage::ConfigError) naming the stage, returned
    /// by the sink before anything runs. A sub-flow is built only when its
    /// key's first item comes, so a bad setting inside it (say
    /// `debounce(Duration::ZERO)`) is found then: its `ConfigError`, naming
    /// the sub-flow's stage, fails the pipeline at that point.
    ///
    /// # Examples
    ///
    /// Counts per user per minute, each user in a sub-flow of its own:
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Tumbling;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let clicks = futures::stream::iter(["ann", "bob", "ann"]);
    /// let mut counts = Pipeline::new(&Context::background())
    ///     .from_stream(clicks)
    ///     .group_by(|user| *user, 1000, |user, clicks| {
    ///         clicks
    ///             .window_fold(Tumbling::every(Duration::from_secs(60)), 0u64, |n, _| n + 1)
    ///             .map(move |minute| (user, minute.value))
    ///     })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// counts.sort();
    /// assert_eq!(counts, [("ann", 2), ("bob", 1)]);
    /// # }
    /// ```
    ///
    /// The sub-flows' stages in the metrics, summed over keys:
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let evens = p
    ///     .source(0..1_000u32)
    ///     .group_by(|n| n % 10, 10, |_, digits| digits.filter(|n| n % 2 == 0).named("even"))
    ///     .named("by_digit")
    ///     .count()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(evens, 500);
    /// let m = p.metrics();
    /// let even = m.stages.iter().find(|s| s.name == "by_digit/even").unwrap();
    /// assert_eq!((even.items_in, even.items_out), (1_000, 500)); // over 10 keys
    /// assert_eq!(m.stages.iter().filter(|s| s.name.starts_with("by_digit/")).count(), 3);
    /// # }
    /// ```
    pub fn group_by<U, K, KF, F>(self, key: KF, keys: impl Into<Keys>, mut sub: F) -> Flow<U>
    where
        U: Send + 'static,
        K: Eq + Hash + Clone + Send + 'static,
        KF: FnMut(&T) -> K + Send + 'static,
        F: FnMut(K, Flow<T>) -> Flow<U> + Send + 'static,
    {
        let keys = keys.into();
        let capacity = self.shared.capacity;
        let subflows = Arc::new(SubFlows::default());
        let listed = subflows.clone();
        let flow = self.through("group_by", move |scope, input| {
            let ctx = scope.context().clone();
            weir_stage::group_by(scope, input, key, keys, move |k, rx, subs| {
                let pipeline = Pipeline::with_capacity(&ctx, capacity);
                let (tx, out) = chan::bounded(capacity);
                let run = sub(k.clone(), pipeline.from_receiver(rx)).forward(tx).run();
                let listed = Listed {
                    token: subflows.start({
                        let run = GraphView::clone(&run);
                        move || run.metrics().stages
                    }),
                    subflows: subflows.clone(),
                };
                subs.spawn_task(async move {
                    let joined = run.join().await;
                    drop(listed); // its final counts are in the sums
                    match joined {
                        Ok(()) => Ok(()),
                        Err(crate::error::Error::Stage(e)) => Err(e),
                        Err(e) => Err(weir_stage::Error::Failed {
                            stage: "group_by".into(),
                            source: e.into(),
                        }),
                    }
                });
                out
            })
        });
        check(&flow.shared, flow.tail(), keys.max(), "max_keys");
        let zero_idle = keys.idle().is_some_and(|d| d.is_zero());
        let why = zero_idle.then_some("idle timeout must be longer than zero");
        invalid(&flow.shared, flow.tail(), why);
        flow.shared.graph().set_subflows(flow.tail(), listed);
        flow
    }
}

/// A running sub-flow, listed in its `group_by`'s [`SubFlows`] until
/// dropped (ended, or its task cancelled).
struct Listed {
    token: u64,
    subflows: Arc<SubFlows>,
}

impl Drop for Listed {
    fn drop(&mut self) {
        self.subflows.finish(self.token);
    }
}
