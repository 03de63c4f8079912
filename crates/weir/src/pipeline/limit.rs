//! Limits: [`take`](Flow::take), [`take_while`](Flow::take_while),
//! [`skip`](Flow::skip). Each is the engine's step of the same name
//! (`weir_stage::engine::{Take, TakeWhile, Skip}`), fused with its
//! neighbours; nothing is written twice.

use weir_stage::steps::{Skip, Take, TakeWhile};

use super::flow::Flow;

/// # Transforms that end early (fused)
///
/// [`take`](Flow::take), [`take_while`](Flow::take_while) and
/// [`skip`](Flow::skip): fused like the other transforms; a stage that is
/// done stops reading, so the stages before it stop too.
impl<T: Send + 'static> Flow<T> {
    /// Sends on the first `n` items, in order, then ends. Fused.
    ///
    /// Once it has its `n`, it stops what feeds it: a source fused before
    /// it is no longer pulled (even an endless one), a stage with its own
    /// tasks sees its output dropped and stops in turn, and the pipeline
    /// finishes `Ok` — not [cut short](super::Pipeline::cut_short), since
    /// the limit is part of the result. Items already produced past the
    /// `n`th are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let first = Pipeline::new(&Context::background())
    ///     .source(0u64..) // endless
    ///     .map(|n| n * n)
    ///     .take(4)
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(first, [0, 1, 4, 9]);
    /// # }
    /// ```
    pub fn take(self, n: usize) -> Flow<T> {
        self.fuse(Take::new(n))
    }

    /// Sends on items while `pred` returns `true`, in order; the first item
    /// it rejects is dropped and the flow ends there, stopping what feeds
    /// it as [`take`](Flow::take) does. Fused.
    ///
    /// # Errors
    ///
    /// A panic in `pred` fails the pipeline with
    /// [`Error::Panicked`](weir_stage::Error::Panicked) naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let small = Pipeline::new(&Context::background())
    ///     .source(1u64..)
    ///     .take_while(|n| n * n < 50)
    ///     .fold(0, |a, n| a + n)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(small, 1 + 2 + 3 + 4 + 5 + 6 + 7);
    /// # }
    /// ```
    pub fn take_while<F>(self, pred: F) -> Flow<T>
    where
        F: FnMut(&T) -> bool + Send + 'static,
    {
        self.fuse(TakeWhile::new(pred))
    }

    /// Drops the first `n` items and sends on the rest, in order. Fused.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let rows = Pipeline::new(&Context::background())
    ///     .source(["name,age", "ann,31", "bob,27"])
    ///     .skip(1) // the header
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(rows, ["ann,31", "bob,27"]);
    /// # }
    /// ```
    pub fn skip(self, n: usize) -> Flow<T> {
        self.fuse(Skip::new(n))
    }
}
