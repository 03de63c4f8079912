//! Builder doors to `weir_stage`'s transforms with a task of their own:
//! [`then`](Flow::then), [`flat_map`](Flow::flat_map),
//! [`map_unordered`](Flow::map_unordered), [`batch`](Flow::batch),
//! [`unbatch`](Flow::unbatch), [`throttle`](Flow::throttle). Each runs
//! the stage function of the same name; nothing is written twice.

use std::future::Future;
use std::time::Duration;

use weir_stage::{Limit, Rate};

use super::boundary::{check, check_limit};
use super::flow::Flow;

/// # Concurrency: async steps, batching and rate
///
/// Stages with tasks of their own that await a future per item
/// ([`then`](Flow::then), [`map_unordered`](Flow::map_unordered)), expand
/// items ([`flat_map`](Flow::flat_map)), group them
/// ([`batch`](Flow::batch)) or pace them ([`throttle`](Flow::throttle)).
impl<T: Send + 'static> Flow<T> {
    /// Awaits `f(item)` for every item, one at a time, in order (an async
    /// [`map`](Flow::map)). For several at once, see
    /// [`map_concurrent`](Flow::map_concurrent) (ordered) and
    /// [`map_unordered`](Flow::map_unordered). For a fallible `f`, with
    /// retries or a policy for failed jobs, put [`retry`](Flow::retry) or
    /// [`on_error`](Flow::on_error) before it.
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
    ///     .source(1..=3)
    ///     .then(|n| async move { n * 10 })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [10, 20, 30]);
    /// # }
    /// ```
    pub fn then<U, F, Fut>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.through("then", move |scope, input| {
            Ok(weir_stage::then(scope, input, f))
        })
    }

    /// Turns every item into any number of items (`f` returns an
    /// iterator), in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let words = Pipeline::new(&Context::background())
    ///     .source(["a b", "c"])
    ///     .flat_map(|line: &str| line.split(' ').map(String::from).collect::<Vec<_>>())
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(words, ["a", "b", "c"]);
    /// # }
    /// ```
    pub fn flat_map<U, I, F>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        I: IntoIterator<Item = U>,
        I::IntoIter: Send,
        F: FnMut(T) -> I + Send + 'static,
    {
        self.through("flat_map", move |scope, input| {
            Ok(weir_stage::flat_map(scope, input, f))
        })
    }

    /// Runs `f` on up to `n` items at once and sends results as they
    /// finish (not in input order; see [`map_concurrent`](Flow::map_concurrent)
    /// for that). For a fallible `f`, with retries or a policy for failed
    /// jobs, put [`retry`](Flow::retry) or [`on_error`](Flow::on_error)
    /// before it.
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
    /// let mut v = Pipeline::new(&Context::background())
    ///     .source(1..=4)
    ///     .map_unordered(2, |n| async move { n * n })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// v.sort();
    /// assert_eq!(v, [1, 4, 9, 16]);
    /// # }
    /// ```
    pub fn map_unordered<U, F, Fut>(self, n: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        let (shared, n) = (self.shared.clone(), n.into());
        let limit = n.clone();
        let flow = self.through("map_unordered", move |scope, input| {
            weir_stage::map_unordered(scope, input, limit, f)
        });
        check_limit(&shared, flow.tail(), &n, "concurrency");
        flow
    }

    /// Lets at most `rate` items through per period, in order: a slow
    /// consumer's pace, imposed upstream (a token bucket; see
    /// [`weir_stage::throttle`]).
    ///
    /// # Errors
    ///
    /// A rate of zero items or a zero period is a
    /// [`ConfigError`](weir_stage::ConfigError) naming the stage, returned
    /// by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Rate;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let v = Pipeline::new(&Context::background())
    ///     .source(0..30)
    ///     .throttle(Rate::new(10, Duration::from_secs(1)))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v.len(), 30);
    /// assert!(start.elapsed() >= Duration::from_secs(2)); // 10, then 10 a second
    /// # }
    /// ```
    pub fn throttle(self, rate: Rate) -> Flow<T> {
        self.through("throttle", move |scope, input| {
            weir_stage::throttle(scope, input, rate)
        })
    }

    /// Groups items into `Vec`s of `size`, in order; a partial batch is
    /// sent once its first item has waited `max_wait`, and at the end.
    ///
    /// # Errors
    ///
    /// `size == 0` is a [`ConfigError`](weir_stage::ConfigError) naming
    /// the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background())
    ///     .source(1..=5)
    ///     .batch(2, Duration::from_secs(1))
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [vec![1, 2], vec![3, 4], vec![5]]);
    /// # }
    /// ```
    pub fn batch(self, size: usize, max_wait: Duration) -> Flow<Vec<T>> {
        let shared = self.shared.clone();
        let flow = self.through("batch", move |scope, input| {
            weir_stage::batch(scope, input, size, max_wait)
        });
        check(&shared, flow.tail(), size, "batch size");
        flow
    }
}

/// # Concurrency: ungrouping
///
/// [`unbatch`](Flow::unbatch), the inverse of [`batch`](Flow::batch).
impl<I> Flow<I>
where
    I: IntoIterator + Send + 'static,
    I::IntoIter: Send,
    I::Item: Send + 'static,
{
    /// Sends on every item of every collection, in order: the inverse of
    /// [`batch`](Flow::batch).
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
    ///     .source([vec![1, 2], vec![], vec![3]])
    ///     .unbatch()
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [1, 2, 3]);
    /// # }
    /// ```
    pub fn unbatch(self) -> Flow<I::Item> {
        self.through("unbatch", |scope, input| {
            Ok(weir_stage::unbatch(scope, input))
        })
    }
}
