//! Probe sources and sinks: the ends of a pipeline under test, watched.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use weir_core::chan::Receiver;

/// Wraps `items` in an iterator that counts what is pulled from it and
/// notices when it is dropped; the [`SourceProbe`] reads those from the
/// test. Feed the [`ProbeSource`] to a source stage
/// ([`generate`](crate::generate), or the facade's `Pipeline::source`).
///
/// # Examples
///
/// A consumer that stops early stops the source: it is dropped having
/// pulled only what the channels could hold.
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::testing::probe_source;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (source, probe) = probe_source(0..u64::MAX);
/// let scope = Scope::builder(&Context::background()).capacity(8).build();
/// let nums = stage::generate(&scope, source);
/// assert_eq!(nums.recv().await, Some(0));
/// drop(nums);
/// scope.wait().await.unwrap();
/// assert!(probe.is_dropped());
/// assert!(!probe.is_exhausted());
/// assert!(probe.pulled() < 1000);
/// # }
/// ```
pub fn probe_source<I: IntoIterator>(items: I) -> (ProbeSource<I::IntoIter>, SourceProbe) {
    let state = Arc::new(SourceState::default());
    let source = ProbeSource {
        items: items.into_iter(),
        state: Arc::clone(&state),
        panic_at: None,
    };
    (source, SourceProbe { state })
}

#[derive(Debug, Default)]
struct SourceState {
    pulled: AtomicUsize,
    exhausted: AtomicBool,
    dropped: AtomicBool,
}

/// The iterator half of [`probe_source`].
///
/// # Examples
///
/// ```
/// use weir_stage::testing::probe_source;
///
/// let (mut source, probe) = probe_source(["a", "b"]);
/// assert_eq!(source.next(), Some("a"));
/// assert_eq!(probe.pulled(), 1);
/// ```
#[derive(Debug)]
pub struct ProbeSource<I> {
    items: I,
    state: Arc<SourceState>,
    panic_at: Option<usize>,
}

impl<I> ProbeSource<I> {
    /// Makes pulling item number `index` (counting from 0) panic instead:
    /// a fault injected into the source.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::testing::probe_source;
    /// use weir_stage::{self as stage, Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (source, probe) = probe_source(0..10);
    /// let scope = Scope::new(&Context::background());
    /// let nums = stage::generate(&scope, source.panic_at(3));
    /// let _all = stage::collect::<_, Vec<_>>(&scope, nums);
    /// let err = scope.wait().await.unwrap_err();
    /// assert!(matches!(err, Error::Panicked { .. }));
    /// assert_eq!(probe.pulled(), 3);
    /// # }
    /// ```
    pub fn panic_at(mut self, index: usize) -> ProbeSource<I> {
        self.panic_at = Some(index);
        self
    }
}

impl<I: Iterator> Iterator for ProbeSource<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let pulled = self.state.pulled.load(Ordering::Relaxed);
        if self.panic_at == Some(pulled) {
            panic!("probe source: injected panic at item {pulled}");
        }
        match self.items.next() {
            Some(item) => {
                self.state.pulled.store(pulled + 1, Ordering::Release);
                Some(item)
            }
            None => {
                self.state.exhausted.store(true, Ordering::Release);
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl<I> Drop for ProbeSource<I> {
    fn drop(&mut self) {
        self.state.dropped.store(true, Ordering::Release);
    }
}

/// The test's view of a [`ProbeSource`].
///
/// # Examples
///
/// ```
/// use weir_stage::testing::probe_source;
///
/// let (source, probe) = probe_source(1..=3);
/// assert_eq!(source.sum::<i32>(), 6);
/// assert_eq!((probe.pulled(), probe.is_exhausted(), probe.is_dropped()), (3, true, true));
/// ```
#[derive(Debug, Clone)]
pub struct SourceProbe {
    state: Arc<SourceState>,
}

impl SourceProbe {
    /// Items pulled from the source so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::probe_source;
    /// let (mut source, probe) = probe_source(0..);
    /// source.nth(4);
    /// assert_eq!(probe.pulled(), 5);
    /// ```
    pub fn pulled(&self) -> usize {
        self.state.pulled.load(Ordering::Acquire)
    }

    /// Whether the source ran out of items.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::probe_source;
    /// let (mut source, probe) = probe_source([1]);
    /// source.next();
    /// assert!(!probe.is_exhausted());
    /// source.next();
    /// assert!(probe.is_exhausted());
    /// ```
    pub fn is_exhausted(&self) -> bool {
        self.state.exhausted.load(Ordering::Acquire)
    }

    /// Whether the source has been dropped: the stage holding it ended.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::probe_source;
    /// let (source, probe) = probe_source(0..);
    /// assert!(!probe.is_dropped());
    /// drop(source);
    /// assert!(probe.is_dropped());
    /// ```
    pub fn is_dropped(&self) -> bool {
        self.state.dropped.load(Ordering::Acquire)
    }
}

/// A consumer task for a pipeline's output that records what it received
/// and can misbehave on purpose: stop reading after some items (a
/// downstream that goes away mid-stream), read slowly, or hold off reading
/// until released (a stalled consumer, to fill the buffers upstream).
///
/// # Examples
///
/// A slow consumer on a paused clock: the producer is held back by the
/// channel's capacity, and everything arrives in order.
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan;
/// use weir_stage::testing::ProbeSink;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// let sink = ProbeSink::new().delay(Duration::from_millis(10)).spawn(rx);
/// for n in 0..20 {
///     tx.send(n).await.unwrap();
///     assert!(tx.len() <= 4);
/// }
/// drop(tx);
/// let probed = sink.finish().await;
/// assert_eq!(probed.items, (0..20).collect::<Vec<_>>());
/// assert!(probed.closed);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProbeSink {
    stop_after: Option<usize>,
    delay: Option<Duration>,
    held: bool,
}

impl ProbeSink {
    /// A sink that reads everything, as fast as it can.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::ProbeSink;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let sink = ProbeSink::new().spawn(rx);
    /// tx.send('x').await.unwrap();
    /// drop(tx);
    /// assert_eq!(sink.finish().await.items, ['x']);
    /// # }
    /// ```
    pub fn new() -> ProbeSink {
        ProbeSink::default()
    }

    /// Drops the receiver after `n` items: the downstream goes away
    /// mid-stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::ProbeSink;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(8);
    /// let sink = ProbeSink::new().stop_after(2).spawn(rx);
    /// for n in 0..3 {
    ///     tx.send(n).await.unwrap();
    /// }
    /// let probed = sink.finish().await;
    /// assert_eq!((probed.items, probed.closed), (vec![0, 1], false));
    /// assert!(tx.send(9).await.is_err()); // nobody listens any more
    /// # }
    /// ```
    pub fn stop_after(mut self, n: usize) -> ProbeSink {
        self.stop_after = Some(n);
        self
    }

    /// Waits `per_item` after each item: a slow consumer. On a paused
    /// clock this costs no real time.
    ///
    /// # Examples
    ///
    /// See [`ProbeSink`].
    pub fn delay(mut self, per_item: Duration) -> ProbeSink {
        self.delay = Some(per_item).filter(|d| !d.is_zero());
        self
    }

    /// Starts without reading until [`SinkProbe::release`]: a stalled
    /// consumer, so that the buffers upstream fill.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::ProbeSink;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(2);
    /// let sink = ProbeSink::new().held().spawn(rx);
    /// tx.send(1).await.unwrap();
    /// tx.send(2).await.unwrap();
    /// assert!(tx.try_send(3).is_err()); // full: the sink isn't reading
    /// sink.release();
    /// tx.send(3).await.unwrap();
    /// drop(tx);
    /// assert_eq!(sink.finish().await.items, [1, 2, 3]);
    /// # }
    /// ```
    pub fn held(mut self) -> ProbeSink {
        self.held = true;
        self
    }

    /// Starts reading `input` on a task of its own.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// See [`ProbeSink::new`].
    #[track_caller]
    pub fn spawn<T: Send + 'static>(self, input: Receiver<T>) -> SinkProbe<T> {
        let received = Arc::new(AtomicUsize::new(0));
        let (gate, mut open) = watch::channel(!self.held);
        let count = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut items = Vec::new();
            loop {
                if self.stop_after == Some(items.len()) {
                    return Probed {
                        items,
                        closed: false,
                    };
                }
                // Held: wait for the gate (a dropped gate counts as open).
                let _ = open.wait_for(|open| *open).await;
                let Some(item) = input.recv().await else {
                    return Probed {
                        items,
                        closed: true,
                    };
                };
                items.push(item);
                count.fetch_add(1, Ordering::Release);
                if let Some(delay) = self.delay {
                    tokio::time::sleep(delay).await;
                }
            }
        });
        SinkProbe {
            received,
            gate,
            task,
        }
    }
}

/// A running [`ProbeSink`]. Dropping it aborts the sink task.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::testing::ProbeSink;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(1);
/// let sink = ProbeSink::new().spawn(rx);
/// tx.send(1).await.unwrap();
/// tx.send(2).await.unwrap();
/// drop(tx);
/// let probed = sink.finish().await;
/// assert_eq!(probed.items, [1, 2]);
/// # }
/// ```
#[derive(Debug)]
pub struct SinkProbe<T> {
    received: Arc<AtomicUsize>,
    gate: watch::Sender<bool>,
    task: JoinHandle<Probed<T>>,
}

impl<T> SinkProbe<T> {
    /// Items received so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::ProbeSink;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let sink = ProbeSink::new().spawn(rx);
    /// assert_eq!(sink.received(), 0);
    /// tx.send(()).await.unwrap();
    /// drop(tx);
    /// assert_eq!(sink.finish().await.items.len(), 1);
    /// # }
    /// ```
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Acquire)
    }

    /// Stops reading until [`release`](SinkProbe::release). A receive
    /// already waiting still takes one more item.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::{settle, ProbeSink};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let sink = ProbeSink::new().spawn(rx);
    /// settle(10).await; // the sink is now waiting in a receive
    /// sink.hold();
    /// tx.send(1).await.unwrap(); // taken by the receive already waiting
    /// settle(10).await;
    /// tx.send(2).await.unwrap(); // fills the buffer
    /// assert!(tx.try_send(3).is_err());
    /// assert_eq!(sink.received(), 1);
    /// drop(tx);
    /// assert_eq!(sink.finish().await.items, [1, 2]);
    /// # }
    /// ```
    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    /// Resumes reading after [`hold`](SinkProbe::hold) or
    /// [`ProbeSink::held`].
    ///
    /// # Examples
    ///
    /// See [`ProbeSink::held`].
    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Releases the sink and waits for it to end: when its input closes or
    /// after [`stop_after`](ProbeSink::stop_after) items.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the sink task.
    ///
    /// # Panics
    ///
    /// If the runtime shut down under the sink task.
    ///
    /// # Examples
    ///
    /// See [`SinkProbe`].
    pub async fn finish(mut self) -> Probed<T> {
        self.release();
        match (&mut self.task).await {
            Ok(probed) => probed,
            Err(err) => panic!("probe sink task failed: {err}"),
        }
    }
}

impl<T> Drop for SinkProbe<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a [`ProbeSink`] received, in order.
///
/// # Examples
///
/// See [`SinkProbe::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probed<T> {
    /// The items, in the order they were received.
    pub items: Vec<T>,
    /// `true` if the sink ended because its input closed (every sender
    /// gone); `false` if it stopped itself
    /// ([`stop_after`](ProbeSink::stop_after)).
    pub closed: bool,
}
