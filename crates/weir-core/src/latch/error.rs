//! Errors returned by [`WaitGroup`](super::WaitGroup).

use thiserror::Error;

/// Error returned by [`WaitGroup::done`](super::WaitGroup::done) when the
/// counter is already zero.
///
/// Go panics with "sync: negative WaitGroup counter"; weir hands the mistake
/// back as a value and leaves the counter at zero (it never wraps).
///
/// # Examples
///
/// ```
/// use weir_core::latch::WaitGroupError;
/// use weir_core::WaitGroup;
///
/// let wg = WaitGroup::new();
/// assert_eq!(wg.done(), Err(WaitGroupError::Negative));
/// assert_eq!(wg.count(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum WaitGroupError {
    /// `done` was called more times than `add`: the counter would go below
    /// zero. The counter is left unchanged.
    #[error("negative wait group counter: `done` called more times than `add`")]
    Negative,
}

/// Error returned by [`WaitGroup::wait`](super::WaitGroup::wait) and
/// friends when a task spawned with [`WaitGroup::go`](super::WaitGroup::go)
/// panicked.
///
/// The wait itself completed: the counter reached zero, because a panicking
/// task still counts down. The error only reports what went wrong.
///
/// # Examples
///
/// ```
/// use weir_core::latch::WaitError;
/// use weir_core::WaitGroup;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// let _ = wg.go(async { panic!("boom") }).await;
/// match wg.wait().await {
///     Err(WaitError::Panicked { count, message }) => {
///         assert_eq!(count, 1);
///         assert_eq!(message, "boom");
///     }
///     other => panic!("unexpected: {other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum WaitError {
    /// At least one task spawned with `go` panicked.
    #[error("task spawned by `WaitGroup::go` panicked: {message} ({count} panicked in total)")]
    Panicked {
        /// How many tasks panicked since the records were last taken.
        count: usize,
        /// The message of the first panic (`"non-string panic payload"` when
        /// the payload was neither a `&str` nor a `String`).
        message: String,
    },
}
