//! Splits: one flow into several branches ([`balance`](Flow::balance),
//! [`round_robin`](Flow::round_robin), [`partition`](Flow::partition),
//! [`broadcast`](Flow::broadcast)). Each runs the `weir_stage::split`
//! function of the same name; nothing is written twice.

use std::hash::Hash;

use super::flow::Flow;

impl<T: Send + 'static> Flow<T> {
    /// Splits into `n` branches that compete for items: each item goes to
    /// exactly one branch, whichever is free (Go's `fanOut`).
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
    /// let p = Pipeline::new(&Context::background());
    /// let [a, b]: [_; 2] = p.source(1..=10).balance(2).try_into().unwrap();
    /// let sum = a.map(|n| n * 100).merge([b]).fold(0, |s, n| s + n).await.unwrap();
    /// assert!(sum >= 55 && sum <= 5500);
    /// # }
    /// ```
    pub fn balance(self, n: usize) -> Vec<Flow<T>> {
        self.branches("balance", n, move |scope, rx| {
            weir_stage::balance(scope, rx, n)
        })
    }

    /// Splits into `n` branches by key: items with equal keys go to the
    /// same branch, in order.
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
    /// let p = Pipeline::new(&Context::background());
    /// let [evens, odds]: [_; 2] = p.source(0..10u32).partition(2, |n| n % 2).try_into().unwrap();
    /// let e = evens.collect::<Vec<_>>();
    /// let o = odds.collect::<Vec<_>>();
    /// let (e, o) = (e.await.unwrap(), o.await.unwrap());
    /// assert_eq!(e.len() + o.len(), 10);
    /// for branch in [&e, &o] {
    ///     // A key's items all went to one branch, in order.
    ///     let evens: Vec<u32> = branch.iter().copied().filter(|n| n % 2 == 0).collect();
    ///     assert!(evens.is_empty() || evens == [0, 2, 4, 6, 8]);
    /// }
    /// # }
    /// ```
    pub fn partition<K, F>(self, n: usize, key: F) -> Vec<Flow<T>>
    where
        K: Hash,
        F: FnMut(&T) -> K + Send + 'static,
    {
        self.branches("partition", n, move |scope, rx| {
            weir_stage::partition(scope, rx, n, key)
        })
    }

    /// Deals items to `n` branches in turn (item `i` to branch `i % n`),
    /// each item to exactly one branch. A slow branch holds the others
    /// back; [`balance`](Flow::balance) gives work to whichever is free.
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
    /// let mut branches = p.source(0..6).round_robin(2).into_iter();
    /// let even = branches.next().unwrap().collect::<Vec<_>>();
    /// let odd = branches.next().unwrap().collect::<Vec<_>>();
    /// assert_eq!(even.await.unwrap(), [0, 2, 4]);
    /// assert_eq!(odd.await.unwrap(), [1, 3, 5]);
    /// # }
    /// ```
    pub fn round_robin(self, n: usize) -> Vec<Flow<T>> {
        self.branches("round_robin", n, move |scope, rx| {
            weir_stage::round_robin(scope, rx, n)
        })
    }
}

impl<T: Clone + Send + 'static> Flow<T> {
    /// Splits into `n` branches that each get every item (cloned); the
    /// slowest branch sets the pace.
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
    /// let p = Pipeline::new(&Context::background());
    /// let [a, b]: [_; 2] = p.source(1..=4u64).broadcast(2).try_into().unwrap();
    /// let sum = a.fold(0, |s, n| s + n);
    /// let max = b.fold(0, u64::max);
    /// let (sum, max) = (sum.await.unwrap(), max.await.unwrap());
    /// assert_eq!((sum, max), (10, 4));
    /// # }
    /// ```
    pub fn broadcast(self, n: usize) -> Vec<Flow<T>> {
        self.branches("broadcast", n, move |scope, rx| {
            weir_stage::broadcast(scope, rx, n)
        })
    }
}
