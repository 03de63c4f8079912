//! [`Latch`]: a one-shot countdown (Java's `CountDownLatch`, C++'s
//! `std::latch`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::counter::{Counter, WaitState};
use crate::loom::Arc;

/// A one-shot countdown: opens when it has been counted down `n` times.
///
/// [`Latch::new(n)`](Self::new) starts closed at `n`;
/// [`count_down`](Self::count_down) lowers it by one; once it reaches zero it
/// is open for good and every [`wait`](Self::wait) resolves. Unlike a
/// [`WaitGroup`](super::WaitGroup), the count is fixed up front and never
/// goes up again, and counting down an open latch is harmless.
///
/// A `Latch` is a cheap handle: a clone is another handle to the *same*
/// latch.
///
/// # Examples
///
/// ```
/// use weir_core::Latch;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ready = Latch::new(3);
/// for _ in 0..3 {
///     let ready = ready.clone();
///     tokio::spawn(async move {
///         // ... set up ...
///         ready.count_down();
///     });
/// }
/// ready.wait().await;
/// assert!(ready.try_wait());
/// # }
/// ```
#[derive(Clone)]
pub struct Latch {
    counter: Arc<Counter>,
}

impl Latch {
    /// Creates a latch that opens after `count` calls to
    /// [`count_down`](Self::count_down). `Latch::new(0)` is already open.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// assert!(!Latch::new(1).try_wait());
    /// assert!(Latch::new(0).try_wait());
    /// ```
    pub fn new(count: usize) -> Self {
        Self {
            counter: Arc::new(Counter::new(count)),
        }
    }

    /// Counts the latch down by one, and returns `true` if this call opened
    /// it.
    ///
    /// Exactly one call returns `true`: the one that took the count from one
    /// to zero, which wakes every waiter. On an open latch this does nothing
    /// and returns `false` — the count stays at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// let latch = Latch::new(2);
    /// assert!(!latch.count_down());
    /// assert!(latch.count_down()); // this one opened it
    /// assert!(!latch.count_down()); // already open
    /// assert_eq!(latch.count(), 0);
    /// ```
    pub fn count_down(&self) -> bool {
        self.counter.count_down() == Ok(true)
    }

    /// Returns how many more [`count_down`](Self::count_down) calls the
    /// latch needs to open.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// let latch = Latch::new(2);
    /// latch.count_down();
    /// assert_eq!(latch.count(), 1);
    /// ```
    pub fn count(&self) -> usize {
        self.counter.count()
    }

    /// Returns `true` if the latch is open (its count is zero), without
    /// waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// let latch = Latch::new(1);
    /// assert!(!latch.try_wait());
    /// latch.count_down();
    /// assert!(latch.try_wait());
    /// ```
    pub fn try_wait(&self) -> bool {
        self.count() == 0
    }

    /// Waits until the latch is open. Resolves immediately if it already is.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. Dropping a [`LatchWait`] before it
    /// completes has no effect on the latch or on other waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let latch = Latch::new(1);
    /// let opener = latch.clone();
    /// tokio::spawn(async move { opener.count_down() });
    /// latch.wait().await;
    /// # }
    /// ```
    pub fn wait(&self) -> LatchWait<'_> {
        LatchWait {
            state: WaitState::new(&self.counter),
            counter: &self.counter,
        }
    }

    /// Blocks the current thread until the latch is open.
    ///
    /// For plain threads (`std::thread`, `spawn_blocking`). Calling it from
    /// async code blocks the executor thread; use [`wait`](Self::wait) there.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::Latch;
    ///
    /// let latch = Latch::new(2);
    /// for _ in 0..2 {
    ///     let latch = latch.clone();
    ///     std::thread::spawn(move || latch.count_down());
    /// }
    /// latch.wait_blocking();
    /// assert_eq!(latch.count(), 0);
    /// ```
    pub fn wait_blocking(&self) {
        WaitState::new(&self.counter).wait_blocking(&self.counter);
    }
}

impl fmt::Debug for Latch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch")
            .field("count", &self.count())
            .finish()
    }
}

/// Future returned by [`Latch::wait`].
///
/// # Cancel safety
///
/// Dropping a `LatchWait` before it completes has no effect on the latch or
/// on other waiters.
///
/// # Examples
///
/// ```
/// use weir_core::latch::LatchWait;
/// use weir_core::Latch;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let latch = Latch::new(0);
/// let wait: LatchWait<'_> = latch.wait();
/// wait.await;
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LatchWait<'a> {
    counter: &'a Counter,
    state: WaitState,
}

impl Future for LatchWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.state.poll(this.counter, cx)
    }
}

impl fmt::Debug for LatchWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatchWait")
            .field("state", &self.state)
            .finish()
    }
}
