//! [`WaitGroup`]: Go's `sync.WaitGroup`, with RAII guards and `go`.

use std::any::Any;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::PoisonError;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use super::counter::{Counter, WaitState};
use super::error::{WaitError, WaitGroupError};
use crate::loom::{Arc, Mutex};

/// Waits for a group of tasks to finish: Go's `sync.WaitGroup`.
///
/// A `WaitGroup` is a counter. [`add`](Self::add) raises it,
/// [`done`](Self::done) lowers it, and [`wait`](Self::wait) (or
/// [`wait_blocking`](Self::wait_blocking) on a thread) resolves once it is
/// zero. Rather than pairing `add` and `done` by hand, take a
/// [`guard`](Self::guard): it adds one, and dropping it is the `Done` — on
/// return, on `?`, on panic, on task abort. Or let [`go`](Self::go) spawn
/// the task and track it for you, panics included.
///
/// A `WaitGroup` is a cheap handle: a clone is another handle to the *same*
/// counter (cloning does not add). A group can be reused after it reaches
/// zero. See the [module docs](super) for the Go ↔ weir mapping.
///
/// # Examples
///
/// ```
/// use weir_core::WaitGroup;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// for i in 0..3 {
///     wg.go(async move { i * 2 });
/// }
/// wg.wait().await.unwrap();
/// assert_eq!(wg.count(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    counter: Counter,
    panics: Mutex<Option<Panics>>,
}

/// What panicked tasks left behind: how many, and the first message.
struct Panics {
    count: usize,
    first: String,
}

impl Inner {
    fn record_panic(&self, payload: &(dyn Any + Send)) {
        let message = panic_message(payload);
        let mut panics = self.panics.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *panics {
            Some(p) => p.count += 1,
            None => {
                *panics = Some(Panics {
                    count: 1,
                    first: message,
                })
            }
        }
    }

    fn panics(&self, take: bool) -> Option<WaitError> {
        let mut panics = self.panics.lock().unwrap_or_else(PoisonError::into_inner);
        let p = if take {
            panics.take()?
        } else {
            let p = panics.as_ref()?;
            Panics {
                count: p.count,
                first: p.first.clone(),
            }
        };
        Some(WaitError::Panicked {
            count: p.count,
            message: p.first,
        })
    }

    fn outcome(&self) -> Result<(), WaitError> {
        self.panics(false).map_or(Ok(()), Err)
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

impl WaitGroup {
    /// Creates a group with a counter of zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                counter: Counter::new(0),
                panics: Mutex::new(None),
            }),
        }
    }

    /// Adds `n` to the counter: Go's `wg.Add(n)`.
    ///
    /// Every `add` must be matched by as many [`done`](Self::done) calls.
    /// Prefer [`guard`](Self::guard) or [`go`](Self::go), which can't miss
    /// theirs. Unlike Go, an `add` racing with a `wait` is not a misuse: a
    /// wait resolves once the counter is zero, or was zero at some point
    /// after the wait began.
    ///
    /// # Panics
    ///
    /// Panics if the counter would overflow `usize` (the counter is left
    /// unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// wg.done().unwrap();
    /// wg.done().unwrap();
    /// assert_eq!(wg.count(), 0);
    /// ```
    #[track_caller]
    pub fn add(&self, n: usize) {
        if self.inner.counter.add(n).is_err() {
            panic!("wait group counter overflow");
        }
    }

    /// Subtracts one from the counter: Go's `wg.Done()`.
    ///
    /// When the counter reaches zero every pending wait is woken.
    ///
    /// # Errors
    ///
    /// Returns [`WaitGroupError::Negative`] if the counter is already zero
    /// (more `done`s than `add`s; Go panics here). The counter stays at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::latch::WaitGroupError;
    /// use weir_core::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// assert_eq!(wg.done(), Ok(()));
    /// assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    /// ```
    pub fn done(&self) -> Result<(), WaitGroupError> {
        match self.inner.counter.count_down() {
            Ok(_) => Ok(()),
            Err(_) => Err(WaitGroupError::Negative),
        }
    }

    /// Adds one to the counter and returns a guard whose drop is the `Done`.
    ///
    /// Move the guard into the task it stands for. However the task ends —
    /// returning, `?`, panicking, being aborted — the guard is dropped and
    /// the group counts down: a missing `Done` is impossible by construction.
    ///
    /// # Panics
    ///
    /// Panics if the counter would overflow `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// tokio::spawn(async move {
    ///     // ... work ...
    ///     drop(guard); // or just let it go out of scope
    /// });
    /// wg.wait().await.unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn guard(&self) -> WaitGroupGuard {
        self.add(1);
        WaitGroupGuard { wg: self.clone() }
    }

    /// Returns the current value of the counter.
    ///
    /// The value may be stale by the time it is read; use it for checks and
    /// metrics, and [`wait`](Self::wait) to synchronise.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// assert_eq!(wg.count(), 1);
    /// drop(guard);
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.inner.counter.count()
    }

    /// Waits until the counter is zero: Go's `wg.Wait()`.
    ///
    /// Resolves immediately if the counter is zero when polled. A wait that
    /// was pending when the counter reached zero resolves even if the counter
    /// has gone up again since (the group was reused). The returned [`Wait`]
    /// is a named future: store it, or `select!` on it.
    ///
    /// The wait *completes* in every case; the `Result` reports whether tasks
    /// spawned with [`go`](Self::go) panicked.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. Dropping a [`Wait`] before it completes
    /// has no effect on the counter or on other waiters.
    ///
    /// # Errors
    ///
    /// Returns [`WaitError::Panicked`] if any task spawned with
    /// [`go`](Self::go) has panicked and the record has not been cleared with
    /// [`take_panics`](Self::take_panics). Panic records are kept, so every
    /// wait reports them, until taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// tokio::spawn(async move { drop(guard) });
    /// wg.wait().await.unwrap();
    /// # }
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            state: WaitState::new(&self.inner.counter),
            inner: &self.inner,
        }
    }

    /// Like [`wait`](Self::wait), but the future owns a handle to the group,
    /// so it is `'static` and can be moved into a spawned task.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. Dropping a [`WaitOwned`] before it
    /// completes has no effect on the counter or on other waiters.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait): [`WaitError::Panicked`] if tasks spawned with
    /// [`go`](Self::go) panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// let watcher = tokio::spawn(wg.wait_owned());
    /// drop(guard);
    /// watcher.await.unwrap().unwrap();
    /// # }
    /// ```
    pub fn wait_owned(&self) -> WaitOwned {
        WaitOwned {
            state: WaitState::new(&self.inner.counter),
            inner: self.inner.clone(),
        }
    }

    /// Blocks the current thread until the counter is zero.
    ///
    /// For plain threads (`std::thread`, `spawn_blocking`). Calling it from
    /// async code blocks the executor thread; use [`wait`](Self::wait) there.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait): [`WaitError::Panicked`] if tasks spawned with
    /// [`go`](Self::go) panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// for _ in 0..4 {
    ///     let guard = wg.guard();
    ///     std::thread::spawn(move || drop(guard));
    /// }
    /// wg.wait_blocking().unwrap();
    /// ```
    pub fn wait_blocking(&self) -> Result<(), WaitError> {
        WaitState::new(&self.inner.counter).wait_blocking(&self.inner.counter);
        self.inner.outcome()
    }

    /// Spawns `fut` on the current tokio runtime and tracks it: Go 1.25's
    /// `wg.Go(f)`.
    ///
    /// Adds one before spawning; the task counts down when it ends, whether
    /// it completes, panics, or is aborted through the returned handle. A
    /// panic is recorded — the message and a count — and reported by
    /// [`wait`](Self::wait) as [`WaitError::Panicked`] instead of being lost;
    /// the panic still reaches the [`JoinHandle`] as usual.
    ///
    /// # Cancel safety
    ///
    /// Not an async fn; dropping the returned [`JoinHandle`] detaches the
    /// task (it keeps running and still counts down when it ends), as with
    /// [`tokio::spawn`]. Abort it through the handle to stop it.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime, like [`tokio::spawn`] (the
    /// counter is left unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let answer = wg.go(async { 42 });
    /// wg.wait().await.unwrap();
    /// assert_eq!(answer.await.unwrap(), 42);
    /// # }
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // The guard lives in the task: an abort drops it, and so does an
        // unwinding `tokio::spawn` outside a runtime.
        let guard = self.guard();
        tokio::spawn(async move {
            let guard = guard;
            let outcome = {
                let mut fut = pin!(fut);
                poll_fn(
                    |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                        Ok(poll) => poll.map(Ok),
                        Err(payload) => Poll::Ready(Err(payload)),
                    },
                )
                .await
            };
            match outcome {
                Ok(output) => output,
                Err(payload) => {
                    // Record before counting down, so the wait this panic
                    // releases is sure to report it.
                    guard.wg.inner.record_panic(&*payload);
                    drop(guard);
                    resume_unwind(payload)
                }
            }
        })
    }

    /// Returns the panics recorded by [`go`](Self::go) tasks and clears them.
    ///
    /// Panic records are sticky: once a `go` task panics, every wait reports
    /// [`WaitError::Panicked`] until the records are taken. Take them to
    /// reuse the group for a fresh round of work.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let _ = wg.go(async { panic!("boom") }).await;
    /// assert!(wg.wait().await.is_err());
    /// assert!(wg.take_panics().is_some());
    /// assert!(wg.wait().await.is_ok());
    /// assert!(wg.take_panics().is_none());
    /// # }
    /// ```
    pub fn take_panics(&self) -> Option<WaitError> {
        self.inner.panics(true)
    }
}

impl Default for WaitGroup {
    /// Same as [`WaitGroup::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::WaitGroup;
    ///
    /// assert_eq!(WaitGroup::default().count(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let panicked = match self.inner.panics(false) {
            Some(WaitError::Panicked { count, .. }) => count,
            None => 0,
        };
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .field("panicked", &panicked)
            .finish()
    }
}

/// A unit of work in a [`WaitGroup`]: dropping it is Go's `wg.Done()`.
///
/// Created by [`WaitGroup::guard`], which adds one to the counter. The drop
/// counts down even while unwinding from a panic. If the counter is already
/// zero at that point (someone called [`WaitGroup::done`] once too often),
/// the drop does nothing.
///
/// # Examples
///
/// ```
/// use weir_core::WaitGroup;
///
/// let wg = WaitGroup::new();
/// let guard = wg.guard();
/// let worker = std::thread::spawn(move || {
///     let _guard = guard;
///     panic!("the guard still counts down");
/// });
/// assert!(worker.join().is_err());
/// assert_eq!(wg.count(), 0);
/// ```
#[must_use = "dropping the guard immediately counts the work as done"]
pub struct WaitGroupGuard {
    wg: WaitGroup,
}

impl Drop for WaitGroupGuard {
    fn drop(&mut self) {
        // Can only fail if `done` was called by hand once too often; the
        // counter is at zero then, which is where this guard would leave it.
        let _ = self.wg.done();
    }
}

impl fmt::Debug for WaitGroupGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroupGuard")
            .field("wait_group", &self.wg)
            .finish()
    }
}

/// Future returned by [`WaitGroup::wait`].
///
/// # Cancel safety
///
/// Dropping a `Wait` before it completes has no effect on the counter or on
/// other waiters.
///
/// # Examples
///
/// ```
/// use weir_core::WaitGroup;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// let _guard = wg.guard();
/// let wait = wg.wait();
/// tokio::select! {
///     _ = wait => unreachable!("the guard is still alive"),
///     _ = std::future::ready(()) => {}
/// }
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<'a> {
    inner: &'a Inner,
    state: WaitState,
}

impl Future for Wait<'_> {
    type Output = Result<(), WaitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.state
            .poll(&this.inner.counter, cx)
            .map(|()| this.inner.outcome())
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("state", &self.state).finish()
    }
}

/// Future returned by [`WaitGroup::wait_owned`]: a `'static` [`Wait`].
///
/// # Cancel safety
///
/// Dropping a `WaitOwned` before it completes has no effect on the counter
/// or on other waiters.
///
/// # Examples
///
/// ```
/// use weir_core::latch::WaitOwned;
/// use weir_core::WaitGroup;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// let wait: WaitOwned = wg.wait_owned();
/// drop(wg); // the future keeps the group alive
/// wait.await.unwrap();
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitOwned {
    inner: Arc<Inner>,
    state: WaitState,
}

impl Future for WaitOwned {
    type Output = Result<(), WaitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.state
            .poll(&this.inner.counter, cx)
            .map(|()| this.inner.outcome())
    }
}

impl fmt::Debug for WaitOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOwned")
            .field("state", &self.state)
            .finish()
    }
}
