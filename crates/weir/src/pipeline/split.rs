//! Splits: one flow into several branches. Each runs the
//! [`weir_stage::split`] function of the same name; nothing is written
//! twice.
//!
//! Two forms of each: the count as a const generic, returning an array to
//! destructure (`let [a, b, c] = flow.broadcast();`), and the count as a
//! value known only at run time, returning a `Vec` (`broadcast_n(n)`).

use std::hash::Hash;

use weir_core::chan::Receiver;

use super::boundary::{fill, view};
use super::flow::{Flow, Segment};
use super::source::Slot;

/// `N` branches as an array: a split with `N == 0` does not build.
fn array<T, const N: usize>(branches: Vec<Flow<T>>) -> [Flow<T>; N] {
    const { assert!(N > 0, "a split needs at least one branch") };
    match branches.try_into() {
        Ok(array) => array,
        Err(_) => unreachable!("a split makes as many branches as asked"),
    }
}

/// # Splits and merges
///
/// One flow into several branches ([`balance`](Flow::balance),
/// [`round_robin`](Flow::round_robin), [`partition`](Flow::partition),
/// [`route`](Flow::route), [`broadcast`](Flow::broadcast)), and several into
/// one ([`merge`](Flow::merge)). Each branch is an edge of its own in the
/// metrics and graphs; [`named`](Flow::named) on a branch names the branch,
/// [`name_split`](Flow::name_split) the split.
impl<T: Send + 'static> Flow<T> {
    /// Merges this flow with `others` (Go's `fanIn`): the output ends when
    /// every input has ended; each input's order is kept, inputs interleave.
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
    /// let mut v = p.source(0..3).merge([p.source(10..13)]).collect::<Vec<_>>().await.unwrap();
    /// v.sort();
    /// assert_eq!(v, [0, 1, 2, 10, 11, 12]);
    /// # }
    /// ```
    pub fn merge(self, others: impl IntoIterator<Item = Flow<T>>) -> Flow<T> {
        let (shared, first) = self.into_segment();
        let segments: Vec<Segment<T>> = std::iter::once(first)
            .chain(others.into_iter().map(|f| f.into_segment().1))
            .collect();
        let tails: Vec<_> = segments.iter().map(|s| s.edge.clone()).collect();
        let node = shared.add_stage("merge", &tails, false);
        shared.graph().set_tasks(node);
        let slot = Slot::<T>::default();
        let out = slot.clone();
        shared.defer(move |shared, scope| {
            let inputs: Vec<Receiver<T>> = segments
                .into_iter()
                .map(|s| s.spawn(shared, scope))
                .collect();
            let rx = weir_stage::merge(&view(shared, scope, node), inputs);
            fill(shared, node, &out, rx);
        });
        Flow::from_channel(shared, node, slot, None)
    }

    /// On a branch of a split, straight after the split: names the split
    /// stage itself (in errors, metrics and the graph export). Any branch
    /// will do; [`named`](Flow::named) on a branch names that branch.
    /// Elsewhere it names the last stage added, like `named`.
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
    /// let [small, big] = p.source(0..10u32).route(|n| usize::from(*n >= 5));
    /// let small = small.name_split("by_size").named("small");
    /// let (a, b) = (small.count(), big.count());
    /// assert_eq!((a.await.unwrap(), b.await.unwrap()), (5, 5));
    /// let m = p.metrics();
    /// assert_eq!(m.stages[1].name, "by_size");
    /// assert_eq!(m.edges[1].branch.as_deref(), Some("small"));
    /// # }
    /// ```
    pub fn name_split(self, name: impl Into<std::sync::Arc<str>>) -> Flow<T> {
        self.shared.graph().rename(self.tail(), name.into());
        self
    }

    /// Splits into `N` branches that compete for items: each item goes to
    /// exactly one branch, whichever is free (Go's `fanOut`). Each branch
    /// sees its items in input order. See [`weir_stage::balance`].
    ///
    /// `N` comes from the pattern (`let [a, b] = flow.balance();`) or a
    /// turbofish (`flow.balance::<2>()`); `N == 0` does not compile. For a
    /// count known only at run time, see [`balance_n`](Flow::balance_n).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let [a, b] = p.source(1..=10).balance();
    /// let sum = a.map(|n| n * 100).merge([b]).fold(0, |s, n| s + n).await.unwrap();
    /// assert!(sum >= 55 && sum <= 5500);
    /// # }
    /// ```
    ///
    /// No branches is a compile error:
    ///
    /// ```compile_fail,E0080
    /// # use weir::cancel::Context;
    /// # use weir::pipeline::Pipeline;
    /// let p = Pipeline::new(&Context::background());
    /// let [] = p.source(1..=10).balance();
    /// ```
    pub fn balance<const N: usize>(self) -> [Flow<T>; N] {
        array(self.balance_n(N))
    }

    /// [`balance`](Flow::balance) over `n` branches, a count known only at
    /// run time.
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
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    /// let branches = p.source(1..=100u64).balance_n(workers);
    /// let mut squared: Vec<_> = branches.into_iter().map(|b| b.square()).collect();
    /// let first = squared.pop().unwrap();
    /// let sum = first.merge(squared).fold(0, |s, n| s + n).await.unwrap();
    /// assert_eq!(sum, 338_350);
    /// # }
    /// ```
    pub fn balance_n(self, n: usize) -> Vec<Flow<T>> {
        self.branches("balance", n, true, move |scope, rx| {
            weir_stage::balance(scope, rx, n)
        })
    }

    /// Deals items to `N` branches in turn (item `i` to branch `i % N`),
    /// each item to exactly one branch. A slow branch holds the others
    /// back; [`balance`](Flow::balance) gives work to whichever is free.
    /// See [`weir_stage::round_robin`].
    ///
    /// `N == 0` does not compile; for a count known only at run time, see
    /// [`round_robin_n`](Flow::round_robin_n).
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
    /// let [even, odd] = p.source(0..6).round_robin();
    /// let (even, odd) = (even.collect::<Vec<_>>(), odd.collect::<Vec<_>>());
    /// assert_eq!(even.await.unwrap(), [0, 2, 4]);
    /// assert_eq!(odd.await.unwrap(), [1, 3, 5]);
    /// # }
    /// ```
    pub fn round_robin<const N: usize>(self) -> [Flow<T>; N] {
        array(self.round_robin_n(N))
    }

    /// [`round_robin`](Flow::round_robin) over `n` branches, a count known
    /// only at run time.
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError), returned by
    /// the sink before anything runs.
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
    /// let shards: Vec<_> = p.source(0..9).round_robin_n(3).into_iter().map(|b| b.count()).collect();
    /// for shard in shards {
    ///     assert_eq!(shard.await.unwrap(), 3);
    /// }
    /// # }
    /// ```
    pub fn round_robin_n(self, n: usize) -> Vec<Flow<T>> {
        self.branches("round_robin", n, false, move |scope, rx| {
            weir_stage::round_robin(scope, rx, n)
        })
    }

    /// Splits into `N` branches by key: items with equal keys go to the
    /// same branch, in order (each item to exactly one branch). See
    /// [`weir_stage::partition`], also for what a dropped branch does.
    ///
    /// `N` comes from the pattern (`let [a, b] = flow.partition(key);`) or
    /// a turbofish naming the key's type too (`partition::<2, _>(key)`);
    /// `N == 0` does not compile. For a count known only at run time, see
    /// [`partition_n`](Flow::partition_n).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let [a, b] = p.source(0..10u32).partition(|n| n % 2);
    /// let (a, b) = (a.collect::<Vec<_>>(), b.collect::<Vec<_>>());
    /// let (a, b) = (a.await.unwrap(), b.await.unwrap());
    /// assert_eq!(a.len() + b.len(), 10);
    /// for branch in [&a, &b] {
    ///     // A key's items all went to one branch, in order.
    ///     let evens: Vec<u32> = branch.iter().copied().filter(|n| n % 2 == 0).collect();
    ///     assert!(evens.is_empty() || evens == [0, 2, 4, 6, 8]);
    /// }
    /// # }
    /// ```
    pub fn partition<const N: usize, K, F>(self, key: F) -> [Flow<T>; N]
    where
        K: Hash,
        F: FnMut(&T) -> K + Send + 'static,
    {
        array(self.partition_n(N, key))
    }

    /// [`partition`](Flow::partition) over `n` branches, a count known
    /// only at run time.
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError), returned by
    /// the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let events = [("ann", 1), ("bob", 1), ("ann", 2)];
    /// let shards = p.source(events).partition_n(4, |(user, _)| *user);
    /// let shards: Vec<_> = shards.into_iter().map(|s| s.collect::<Vec<_>>()).collect();
    /// let mut total = 0;
    /// for shard in shards {
    ///     let got = shard.await.unwrap();
    ///     let ann: Vec<_> = got.iter().filter(|(u, _)| *u == "ann").collect();
    ///     assert!(ann.is_empty() || ann == [&("ann", 1), &("ann", 2)]);
    ///     total += got.len();
    /// }
    /// assert_eq!(total, 3);
    /// # }
    /// ```
    pub fn partition_n<K, F>(self, n: usize, key: F) -> Vec<Flow<T>>
    where
        K: Hash,
        F: FnMut(&T) -> K + Send + 'static,
    {
        self.branches("partition", n, false, move |scope, rx| {
            weir_stage::partition(scope, rx, n, key)
        })
    }

    /// Sends each item to branch `index(&item)` of `N` fixed branches, and
    /// only to it: `Ok` results to one sink and `Err` to another, each kind
    /// of message to its handler. Each branch sees its items in input
    /// order. See [`weir_stage::route`].
    ///
    /// `N` comes from the pattern (`let [ok, bad] = flow.route(f);`) or a
    /// turbofish (`route::<2, _>(f)`); `N == 0` does not compile. For a
    /// count known only at run time, see [`route_n`](Flow::route_n).
    ///
    /// # Errors
    ///
    /// An index of `N` or more fails the pipeline with
    /// [`Error::Failed`](weir_stage::Error::Failed) naming this stage,
    /// whose source is a [`BranchOutOfRange`](weir_stage::BranchOutOfRange)
    /// (never a panic); the items before it are delivered.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let [ok, bad] = p
    ///     .source(["1", "x", "3"])
    ///     .map(|s| s.parse::<u8>())
    ///     .route(|r| usize::from(r.is_err()));
    /// let sum = ok.map(Result::unwrap).fold(0, |a, n| a + n);
    /// let errors = bad.count();
    /// assert_eq!(sum.await.unwrap(), 4);
    /// assert_eq!(errors.await.unwrap(), 1);
    /// # }
    /// ```
    pub fn route<const N: usize, F>(self, index: F) -> [Flow<T>; N]
    where
        F: FnMut(&T) -> usize + Send + 'static,
    {
        array(self.route_n(N, index))
    }

    /// [`route`](Flow::route) over `n` branches, a count known only at run
    /// time.
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError), returned by
    /// the sink before anything runs; an index of `n` or more, as for
    /// [`route`](Flow::route).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let levels = ["error", "warn", "info"];
    /// let lines = p.source(["warn: a", "info: b", "error: c", "info: d"]);
    /// let by_level = lines.route_n(levels.len(), move |l| {
    ///     levels.iter().position(|lvl| l.starts_with(lvl)).unwrap_or(2)
    /// });
    /// let counts: Vec<_> = by_level.into_iter().map(|b| b.count()).collect();
    /// let mut got = Vec::new();
    /// for c in counts {
    ///     got.push(c.await.unwrap());
    /// }
    /// assert_eq!(got, [1, 1, 2]);
    /// # }
    /// ```
    pub fn route_n<F>(self, n: usize, index: F) -> Vec<Flow<T>>
    where
        F: FnMut(&T) -> usize + Send + 'static,
    {
        self.branches("route", n, false, move |scope, rx| {
            weir_stage::route(scope, rx, n, index)
        })
    }
}

/// # Splits and merges: copies
///
/// [`broadcast`](Flow::broadcast) gives every branch a clone of each item.
impl<T: Clone + Send + 'static> Flow<T> {
    /// Splits into `N` branches that each get every item (cloned), in
    /// input order; the slowest branch sets the pace. See
    /// [`weir_stage::broadcast`].
    ///
    /// `N` comes from the pattern (`let [a, b, c] = flow.broadcast();`) or
    /// a turbofish (`flow.broadcast::<3>()`); `N == 0` does not compile.
    /// For a count known only at run time, see
    /// [`broadcast_n`](Flow::broadcast_n).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let [a, b, c] = p.source(1..=4u64).broadcast::<3>();
    /// let (sum, max, n) = (a.fold(0, |s, n| s + n), b.fold(0, u64::max), c.count());
    /// assert_eq!(sum.await.unwrap(), 10);
    /// assert_eq!(max.await.unwrap(), 4);
    /// assert_eq!(n.await.unwrap(), 4);
    /// # }
    /// ```
    ///
    /// No branches is a compile error:
    ///
    /// ```compile_fail,E0080
    /// # use weir::cancel::Context;
    /// # use weir::pipeline::Pipeline;
    /// let p = Pipeline::new(&Context::background());
    /// let [] = p.source(1..=4u64).broadcast::<0>();
    /// ```
    pub fn broadcast<const N: usize>(self) -> [Flow<T>; N] {
        array(self.broadcast_n(N))
    }

    /// [`broadcast`](Flow::broadcast) to `n` branches, a count known only
    /// at run time.
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError), returned by
    /// the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let copies = p.source(1..=4u64).broadcast_n(3);
    /// let sums: Vec<_> = copies.into_iter().map(|c| c.fold(0, |s, n| s + n)).collect();
    /// for sum in sums {
    ///     assert_eq!(sum.await.unwrap(), 10);
    /// }
    /// # }
    /// ```
    pub fn broadcast_n(self, n: usize) -> Vec<Flow<T>> {
        self.branches("broadcast", n, false, move |scope, rx| {
            weir_stage::broadcast(scope, rx, n)
        })
    }
}
