//! [`Stage`] and [`StageId`]: what every stage is, whichever door built it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A stage's identity: unique in the process, never reused. Statistics,
/// metrics and graphs are keyed by it; a stage's name only labels it.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::StageId;
///
/// assert_ne!(StageId::next(), StageId::next());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(u64);

impl StageId {
    /// A fresh id, different from every id handed out before.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::StageId;
    ///
    /// let (a, b) = (StageId::next(), StageId::next());
    /// assert!(a < b);
    /// ```
    pub fn next() -> StageId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StageId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage-{}", self.0)
    }
}

/// One stage: its [`StageId`], its kind (`"map"`), its display name and
/// the engine's counters for it. Shared (`Arc`) between the task that runs
/// the stage and whoever watches it (a graph, a metrics exporter).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Stage;
///
/// let a = Stage::new("map", "parse");
/// let b = Stage::new("map", "parse");
/// assert_ne!(a.id(), b.id()); // same name, two stages
/// a.counters().batch(3, 2, std::time::Duration::ZERO);
/// assert_eq!(a.counters().snapshot().items_out, 2);
/// assert_eq!(b.counters().snapshot().items_out, 0);
/// ```
pub struct Stage {
    id: StageId,
    kind: &'static str,
    name: Mutex<Arc<str>>,
    counters: Counters,
}

impl Stage {
    /// A new stage of `kind`, labelled `name`, with a fresh id.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(&*Stage::new("fold", "total").name(), "total");
    /// ```
    pub fn new(kind: &'static str, name: impl Into<Arc<str>>) -> Arc<Stage> {
        Arc::new(Stage {
            id: StageId::next(),
            kind,
            name: Mutex::new(name.into()),
            counters: Counters::default(),
        })
    }

    /// A stage with a known id (the id of the view that builds it).
    pub(crate) fn with_id(id: StageId, kind: &'static str, name: Arc<str>) -> Arc<Stage> {
        Arc::new(Stage {
            id,
            kind,
            name: Mutex::new(name),
            counters: Counters::default(),
        })
    }

    /// Its identity.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// let s = Stage::new("map", "m");
    /// assert_eq!(s.id(), s.id());
    /// ```
    pub fn id(&self) -> StageId {
        self.id
    }

    /// Its kind, the operator it runs (`"map"`, `"fold"`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(Stage::new("map", "m").kind(), "map");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Its name, as errors, spans and graphs show it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(&*Stage::new("map", "m").name(), "m");
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Relabels it (its id, and so its counters, stay the same).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// let s = Stage::new("map", "map#1");
    /// s.rename("parse".into());
    /// assert_eq!(&*s.name(), "parse");
    /// ```
    pub fn rename(&self, name: Arc<str>) {
        *self.name.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }

    /// The engine's counters for this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(Stage::new("map", "m").counters().snapshot().items_in, 0);
    /// ```
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A stage's counters, updated once per batch (cheap enough to keep on
/// every stage, always).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::engine::Counters;
///
/// let c = Counters::default();
/// c.batch(512, 256, Duration::from_micros(3));
/// let s = c.snapshot();
/// assert_eq!((s.items_in, s.items_out), (512, 256));
/// ```
#[derive(Debug, Default)]
pub struct Counters {
    items_in: AtomicU64,
    items_out: AtomicU64,
    errors: AtomicU64,
    busy_ns: AtomicU64,
    send_wait_ns: AtomicU64,
    recv_wait_ns: AtomicU64,
    peak_queue: AtomicUsize,
    running: AtomicBool,
}

impl Counters {
    /// A batch of `items_in` became `items_out` in `busy`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.batch(2, 1, std::time::Duration::ZERO);
    /// assert_eq!(c.snapshot().items_in, 2);
    /// ```
    pub fn batch(&self, items_in: usize, items_out: usize, busy: Duration) {
        self.items_in.fetch_add(items_in as u64, Ordering::Relaxed);
        self.items_out
            .fetch_add(items_out as u64, Ordering::Relaxed);
        self.busy_ns.fetch_add(nanos(busy), Ordering::Relaxed);
    }

    /// A source produced `items_out` in `busy`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.produced(5, std::time::Duration::ZERO);
    /// assert_eq!(c.snapshot().items_out, 5);
    /// ```
    pub fn produced(&self, items_out: usize, busy: Duration) {
        self.batch(0, items_out, busy);
    }

    /// One more error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.error();
    /// assert_eq!(c.snapshot().errors, 1);
    /// ```
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Time spent waiting for room in the output channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.send_wait(std::time::Duration::from_nanos(7));
    /// assert_eq!(c.snapshot().send_wait.as_nanos(), 7);
    /// ```
    pub fn send_wait(&self, waited: Duration) {
        self.send_wait_ns
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }

    /// Time spent waiting for input.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.recv_wait(std::time::Duration::from_nanos(7));
    /// assert_eq!(c.snapshot().recv_wait.as_nanos(), 7);
    /// ```
    pub fn recv_wait(&self, waited: Duration) {
        self.recv_wait_ns
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }

    /// The stage's output channel held `queued` items (sampled after a
    /// send, or before a receive): keeps the largest seen.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.queued(3);
    /// c.queued(1);
    /// assert_eq!(c.snapshot().peak_queue, 3);
    /// ```
    pub fn queued(&self, queued: usize) {
        self.peak_queue.fetch_max(queued, Ordering::Relaxed);
    }

    /// Marks the stage as running (its task is alive) or not.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// let c = Counters::default();
    /// c.set_running(true);
    /// assert!(c.snapshot().running);
    /// ```
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    /// The counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Counters;
    /// assert_eq!(Counters::default().snapshot().errors, 0);
    /// ```
    pub fn snapshot(&self) -> Counts {
        let ns = |a: &AtomicU64| Duration::from_nanos(a.load(Ordering::Relaxed));
        Counts {
            items_in: self.items_in.load(Ordering::Relaxed),
            items_out: self.items_out.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            busy: ns(&self.busy_ns),
            send_wait: ns(&self.send_wait_ns),
            recv_wait: ns(&self.recv_wait_ns),
            peak_queue: self.peak_queue.load(Ordering::Relaxed),
            running: self.running.load(Ordering::Relaxed),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A snapshot of [`Counters`].
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Counters;
///
/// let counts = Counters::default().snapshot();
/// assert!(!counts.running);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counts {
    /// Items taken in.
    pub items_in: u64,
    /// Items sent on.
    pub items_out: u64,
    /// Errors.
    pub errors: u64,
    /// Time spent running the stage's code.
    pub busy: Duration,
    /// Time spent waiting for room downstream.
    pub send_wait: Duration,
    /// Time spent waiting for input.
    pub recv_wait: Duration,
    /// The most items seen queued in its output channel.
    pub peak_queue: usize,
    /// Whether its task is alive.
    pub running: bool,
}
