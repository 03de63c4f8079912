//! Builder doors to `weir_stage`'s small operators of issue 21:
//! [`enumerate`](Flow::enumerate) and [`chunks_by`](Flow::chunks_by) (fused),
//! [`map_blocking`](Flow::map_blocking), the two-input
//! [`zip`](Flow::zip), [`interleave`](Flow::interleave) and
//! [`concat`](Flow::concat), and the sink [`try_fold`](Flow::try_fold).
//! Each runs the `weir_stage` step or stage function of the same name;
//! nothing is written twice.

use weir_core::chan::Receiver;
use weir_stage::steps::{ChunksBy, Enumerate, TryFold};
use weir_stage::{BoxError, Limit, Scope};

use super::boundary::{check_limit, fill, view};
use super::flow::Flow;
use super::run::Sink;
use super::source::Slot;

/// # Combining and grouping
///
/// Numbering ([`enumerate`](Flow::enumerate), fused), runs of equal keys
/// ([`chunks_by`](Flow::chunks_by)), blocking work on tokio's blocking
/// pool ([`map_blocking`](Flow::map_blocking)), two flows into one
/// ([`zip`](Flow::zip) pairs them, [`interleave`](Flow::interleave) takes
/// turns, [`concat`](Flow::concat) runs one after the other; for "whichever
/// is ready", see [`merge`](Flow::merge)) and a fallible fold
/// ([`try_fold`](Flow::try_fold)). Akka Streams users know them as
/// `zipWithIndex`, `splitWhen`, `mapAsync` over a blocking dispatcher,
/// `zip`, `interleave`, `concat` and `fold` with a failing stage.
impl<T: Send + 'static> Flow<T> {
    /// Pairs every item with its position, counting from 0: `(index,
    /// item)`, in order. Fused with its neighbours. See
    /// [`weir_stage::enumerate`].
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
    ///     .source(["a", "b"])
    ///     .enumerate()
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [(0, "a"), (1, "b")]);
    /// # }
    /// ```
    pub fn enumerate(self) -> Flow<(u64, T)> {
        self.fuse(Enumerate::new())
    }

    /// Groups consecutive items whose `key` is equal into one `Vec`, in
    /// order; the last group is sent when the input ends (or on a graceful
    /// [`shutdown`](super::Pipeline::shutdown)). Fused with its neighbours
    /// (the engine tells the step when its input ends). See
    /// [`weir_stage::chunks_by`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let runs = Pipeline::new(&Context::background())
    ///     .source([1, 1, 2, 3, 3, 1])
    ///     .chunks_by(|n| *n)
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(runs, [vec![1, 1], vec![2], vec![3, 3], vec![1]]);
    /// # }
    /// ```
    pub fn chunks_by<K, F>(self, key: F) -> Flow<Vec<T>>
    where
        K: PartialEq + Send + 'static,
        F: FnMut(&T) -> K + Send + 'static,
    {
        self.fuse(ChunksBy::new(key))
    }

    /// Runs the blocking `f` on every item on tokio's blocking thread pool,
    /// at most `n` at once, keeping input order: CPU-heavy work or blocking
    /// I/O that must not stall the async workers. A panic in `f` fails the
    /// pipeline naming this stage. See [`weir_stage::map_blocking`] (and
    /// its cancel safety: a call already running finishes).
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError) naming the
    /// stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let digests = Pipeline::new(&Context::background())
    ///     .source(["alpha", "beta"])
    ///     .map_blocking(2, |s: &str| s.bytes().map(u64::from).sum::<u64>()) // a CPU-bound hash
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(digests, [518, 412]);
    /// # }
    /// ```
    pub fn map_blocking<U, F>(self, n: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let (shared, n) = (self.shared.clone(), n.into());
        let limit = n.clone();
        let flow = self.through("map_blocking", move |scope, input| {
            weir_stage::map_blocking(scope, input, limit, f)
        });
        check_limit(&shared, flow.tail(), &n, "concurrency");
        flow
    }

    /// Pairs the `n`-th item of this flow with the `n`-th of `other`; ends
    /// as soon as either ends (the other is then stopped). See
    /// [`weir_stage::zip`].
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
    /// let pairs = p
    ///     .source(["a", "b", "c"])
    ///     .zip(p.source(1..)) // endless: the zip ends with the first flow
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(pairs, [("a", 1), ("b", 2), ("c", 3)]);
    /// # }
    /// ```
    pub fn zip<U: Send + 'static>(self, other: Flow<U>) -> Flow<(T, U)> {
        self.join("zip", other, weir_stage::zip)
    }

    /// One item from this flow, then one from `other`, in strict turns;
    /// when one ends, the rest of the other follows. See
    /// [`weir_stage::interleave`].
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
    /// let v = p
    ///     .source([1, 3, 5, 7])
    ///     .interleave(p.source([2, 4]))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [1, 2, 3, 4, 5, 7]);
    /// # }
    /// ```
    pub fn interleave(self, other: Flow<T>) -> Flow<T> {
        self.join("interleave", other, weir_stage::interleave)
    }

    /// All of this flow, then all of `other` (which waits, backpressured,
    /// until this one ends). See [`weir_stage::concat`].
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
    /// let v = p
    ///     .source(["backlog-1", "backlog-2"])
    ///     .concat(p.source(["live-1"]))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, ["backlog-1", "backlog-2", "live-1"]);
    /// # }
    /// ```
    pub fn concat(self, other: Flow<T>) -> Flow<T> {
        self.join("concat", other, weir_stage::concat)
    }

    /// Folds every item into an accumulator with the fallible `f`, starting
    /// from `init`, in order; the first `Err` ends the pipeline. Fused with
    /// the stages before it. See [`weir_stage::try_fold`].
    ///
    /// # Errors
    ///
    /// The first `Err` of `f`: [`Error::Failed`](weir_stage::Error::Failed)
    /// naming this stage, with that error as its source (nothing after
    /// that item is folded; the rest of the pipeline is cancelled).
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
    /// let total = p.source([1u8, 2, 3]).try_fold(0u8, |a, n| a.checked_add(n).ok_or("overflow"));
    /// assert_eq!(total.await.unwrap(), 6);
    ///
    /// let err = Pipeline::new(&Context::background())
    ///     .source([200u8, 100])
    ///     .try_fold(0u8, |a, n| a.checked_add(n).ok_or("overflow"))
    ///     .named("total")
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "stage `total` failed");
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "overflow");
    /// # }
    /// ```
    pub fn try_fold<A, E, F>(self, init: A, f: F) -> Sink<A>
    where
        A: Send + 'static,
        E: Into<BoxError>,
        F: FnMut(A, T) -> Result<A, E> + Send + 'static,
    {
        self.sink_step(TryFold::new(init, f))
    }

    /// Adds a stage of `kind` reading this flow and `other` (in that
    /// order), made by the stage function `make` when the pipeline starts.
    fn join<U, V, M>(self, kind: &'static str, other: Flow<U>, make: M) -> Flow<V>
    where
        U: Send + 'static,
        V: Send + 'static,
        M: FnOnce(&Scope, Receiver<T>, Receiver<U>) -> Receiver<V> + Send + 'static,
    {
        let (shared, first) = self.into_segment();
        let second = other.into_segment().1;
        let node = shared.add_stage(kind, &[first.edge.clone(), second.edge.clone()], false);
        shared.graph().set_tasks(node);
        let slot = Slot::<V>::default();
        let out = slot.clone();
        shared.defer(move |shared, scope| {
            let (a, b) = (first.spawn(shared, scope), second.spawn(shared, scope));
            let rx = make(&view(shared, scope, node), a, b);
            fill(shared, node, &out, rx);
        });
        Flow::from_channel(shared, node, slot, None)
    }
}
