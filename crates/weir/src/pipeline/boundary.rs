//! Stages with tasks of their own: where channels (and parallelism) are.

use std::future::Future;
use std::sync::PoisonError;

use weir_core::chan::Receiver;
use weir_stage::engine::Ended;
use weir_stage::{BoxError, ConfigError, Limit, Scope, ScopeView};

use super::flow::{Flow, Segment};
use super::graph::NodeId;
use super::shared::Shared;
use super::source::Slot;

/// # Concurrency: worker pools and fan-out
///
/// Stages with tasks of their own, between channels: where work runs in
/// parallel across cores ([`worker_pool`](Flow::worker_pool),
/// [`fan_out`](Flow::fan_out)) or many futures at once in one task
/// ([`map_concurrent`](Flow::map_concurrent)), and the door for any
/// `weir-stage` stage ([`through_stage`](Flow::through_stage)). Each is one
/// stage in the metrics, counted off its input and output edges.
impl<T: Send + 'static> Flow<T> {
    /// Adds a stage with its own tasks, made by `make` when the pipeline
    /// starts, reading this flow through a channel.
    pub(crate) fn through<U, M>(self, kind: &'static str, make: M) -> Flow<U>
    where
        U: Send + 'static,
        M: FnOnce(&Scope, Receiver<T>) -> Result<Receiver<U>, ConfigError> + Send + 'static,
    {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage(kind, std::slice::from_ref(&segment.edge), false);
        shared.graph().set_tasks(node);
        let slot = Slot::<U>::default();
        let out = slot.clone();
        shared.defer(move |shared, scope| {
            let input = segment.spawn(shared, scope);
            match make(&view(shared, scope, node), input) {
                Ok(rx) => fill(shared, node, &out, rx),
                Err(e) => shared.fault(e.into()),
            }
        });
        Flow::from_channel(shared, node, slot, None)
    }

    /// Splits this flow into `n` branches with `split`, when the pipeline
    /// starts; `shared`: the branches are clones of one receiver.
    pub(crate) fn branches<S>(
        self,
        kind: &'static str,
        n: usize,
        shared_rx: bool,
        split: S,
    ) -> Vec<Flow<T>>
    where
        S: FnOnce(&Scope, Receiver<T>) -> Result<Vec<Receiver<T>>, ConfigError> + Send + 'static,
    {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage(kind, std::slice::from_ref(&segment.edge), false);
        shared.graph().set_tasks(node);
        check(&shared, node, n, "branches");
        let slots: Vec<Slot<T>> = (0..n).map(|_| Slot::default()).collect();
        let outs = slots.clone();
        shared.defer(move |shared, scope| {
            let input = segment.spawn(shared, scope);
            match split(&view(shared, scope, node), input) {
                Ok(rxs) => {
                    for (slot, rx) in outs.iter().zip(rxs) {
                        fill(shared, node, slot, rx);
                    }
                }
                Err(e) => shared.fault(e.into()),
            }
        });
        slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| match shared_rx {
                true => Flow::from_shared_channel(shared.clone(), node, slot, Some(i), true),
                false => Flow::from_channel(shared.clone(), node, slot, Some(i)),
            })
            .collect()
    }

    /// Go's worker pool (a `processJobs` function with n worker goroutines):
    /// `workers` tasks take items
    /// as they are free and run the async `f` on each — Go's fan-out and
    /// fan-in in one stage. Results come out in completion order, not input
    /// order.
    ///
    /// A job's `Err` fails the pipeline naming this stage. For retries or
    /// a policy for failed jobs (skip, dead-letter), put
    /// [`retry`](Flow::retry) or [`on_error`](Flow::on_error) before it;
    /// to resize the pool while it runs, configure a
    /// [`weir_stage::WorkerPool`], keep its [`handle`](weir_stage::WorkerPool::handle)
    /// and use [`worker_pool_with`](Flow::worker_pool_with).
    ///
    /// # Errors
    ///
    /// `workers == 0` is a `ConfigError`, reported when the pipeline is
    /// joined, before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let total = Pipeline::new(&Context::background())
    ///     .source(1..=100u64)
    ///     .worker_pool(4, |job| async move { Ok::<_, std::io::Error>(job * 2) })
    ///     .fold(0, |a, n| a + n)
    ///     .await;
    /// assert_eq!(total.unwrap(), 10_100);
    /// # }
    /// ```
    pub fn worker_pool<U, E, F, Fut>(self, workers: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        let shared = self.shared.clone();
        let workers = workers.into();
        let flow = self.worker_pool_with(weir_stage::WorkerPool::new(workers.clone()), f);
        check_limit(&shared, flow.tail(), &workers, "workers");
        flow
    }

    /// Runs the async `f` on up to `n` items at once and keeps input order
    /// (a bounded reorder window). The futures run concurrently in one
    /// task: use it for I/O; for CPU work across cores use
    /// [`worker_pool`](Flow::worker_pool). For a fallible `f`, with
    /// retries or a policy for failed jobs, put [`retry`](Flow::retry) or
    /// [`on_error`](Flow::on_error) before it.
    ///
    /// # Errors
    ///
    /// `n == 0` is a `ConfigError`, reported when the pipeline is joined.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background())
    ///     .source(1..=5)
    ///     .map_concurrent(3, |n| async move { n * 10 })
    ///     .collect::<Vec<_>>()
    ///     .await;
    /// assert_eq!(v.unwrap(), [10, 20, 30, 40, 50]);
    /// # }
    /// ```
    pub fn map_concurrent<U, F, Fut>(self, n: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        let (shared, n) = (self.shared.clone(), n.into());
        let limit = n.clone();
        let flow = self.through("map_concurrent", move |scope, input| {
            weir_stage::map_concurrent(scope, input, limit, f)
        });
        check_limit(&shared, flow.tail(), &n, "concurrency");
        flow
    }

    /// Plugs in any `weir-stage` stage (or your own) that reads a
    /// [`Receiver`] and returns one: it is spawned under the pipeline's
    /// scope when the pipeline starts, named as this stage.
    ///
    /// # Errors
    ///
    /// A `ConfigError` from `make` is reported when the pipeline is joined.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let batches = Pipeline::new(&Context::background())
    ///     .source(1..=5)
    ///     .through_stage("batch", |scope, rx| stage::batch(scope, rx, 2, Duration::from_secs(1)))
    ///     .collect::<Vec<Vec<i32>>>()
    ///     .await;
    /// assert_eq!(batches.unwrap(), [vec![1, 2], vec![3, 4], vec![5]]);
    /// # }
    /// ```
    pub fn through_stage<U, M>(self, kind: &'static str, make: M) -> Flow<U>
    where
        U: Send + 'static,
        M: FnOnce(&Scope, Receiver<T>) -> Result<Receiver<U>, ConfigError> + Send + 'static,
    {
        self.through(kind, make)
    }

    /// Fan-out then fan-in: `n` branches compete for items (Go's `fanOut`),
    /// each runs the stages `branch` adds — fused into one task per branch,
    /// so the branches run in parallel — and their outputs are merged (Go's
    /// `fanIn`). Output order is not input order.
    ///
    /// # Errors
    ///
    /// `n == 0` is a `ConfigError`, reported when the pipeline is joined.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let sum = Pipeline::new(&Context::background())
    ///     .source(1..=100u64)
    ///     .fan_out(4, |branch| branch.square())
    ///     .fold(0, |a, n| a + n)
    ///     .await;
    /// assert_eq!(sum.unwrap(), 338_350);
    /// # }
    /// ```
    pub fn fan_out<U, B>(self, n: usize, mut branch: B) -> Flow<U>
    where
        U: Send + 'static,
        B: FnMut(Flow<T>) -> Flow<U>,
    {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage("fan_out", std::slice::from_ref(&segment.edge), false);
        shared.graph().set_relay(node);
        check(&shared, node, n, "branches");
        if n == 0 {
            return Flow::new(shared, Box::new(Ended), node);
        }
        // The branches compete for the input channel directly (clones of
        // one receiver), and send into one shared output channel: no relay
        // and no merge task between them.
        let slots: Vec<Slot<T>> = (0..n).map(|_| Slot::default()).collect();
        let inputs = slots.clone();
        shared.defer(move |shared, scope| {
            let rx = segment.spawn(shared, scope);
            for slot in &inputs {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(rx.clone());
            }
        });
        let outs: Vec<Segment<U>> = slots
            .into_iter()
            .map(|slot| {
                branch(Flow::from_shared_channel(
                    shared.clone(),
                    node,
                    slot,
                    None,
                    false,
                ))
                .into_segment()
                .1
            })
            .collect();
        let tails: Vec<_> = outs.iter().map(|s| s.edge.clone()).collect();
        let merged = shared.add_stage("fan_in", &tails, false);
        shared.graph().set_tasks(merged);
        let slot = Slot::<U>::default();
        let out = slot.clone();
        shared.defer(move |shared, scope| {
            let (tx, rx) = weir_core::chan::bounded(shared.capacity);
            for segment in outs {
                segment.spawn_shared(shared, scope, tx.clone());
            }
            fill(shared, merged, &out, rx);
        });
        Flow::from_channel(shared, merged, slot, None)
    }
}

/// The scope view graph node `node`'s stage spawns in (its name and id).
pub(crate) fn view(shared: &Shared, scope: &Scope, node: NodeId) -> ScopeView {
    scope.stage(&shared.stage(node))
}

/// Hands a stage's output channel to the flow that reads it.
pub(crate) fn fill<T: Send + 'static>(
    shared: &Shared,
    node: NodeId,
    slot: &Slot<T>,
    rx: Receiver<T>,
) {
    shared
        .graph()
        .filled(node, super::flow::slot_key(slot), rx.observer());
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(rx);
}

/// Records a [`Limit`] that does not hold ([`Limit::check`]) as a
/// configuration error of `node`.
pub(crate) fn check_limit(shared: &Shared, node: NodeId, limit: &Limit, what: &'static str) {
    if let Err(error) = limit.check("", what) {
        let stage = shared.stage(node);
        // The stage's name is known when the pipeline runs (it may be
        // renamed until then).
        shared.fault_with(move || {
            weir_stage::Error::Config(match error {
                ConfigError::Zero { what, .. } => ConfigError::Zero {
                    stage: stage.name(),
                    what,
                },
                ConfigError::Invalid { what, .. } => ConfigError::Invalid {
                    stage: stage.name(),
                    what,
                },
                other => other,
            })
        });
    }
}

/// Records a zero count as a configuration error of `node`.
pub(crate) fn check(shared: &Shared, node: NodeId, n: usize, what: &'static str) {
    if n == 0 {
        let stage = shared.stage(node);
        shared.fault_with(move || {
            weir_stage::Error::Config(ConfigError::Zero {
                stage: stage.name(),
                what,
            })
        });
    }
}

/// Refuses the pipeline with a [`ConfigError::Invalid`] naming `node`'s
/// stage when `what` says why its settings are invalid: checked as the
/// flow is built, so the sink refuses it before it spawns any stage.
pub(crate) fn invalid(shared: &Shared, node: NodeId, what: Option<&'static str>) {
    if let Some(what) = what {
        let stage = shared.stage(node);
        shared.fault_with(move || {
            weir_stage::Error::Config(ConfigError::Invalid {
                stage: stage.name(),
                what: what.into(),
            })
        });
    }
}
