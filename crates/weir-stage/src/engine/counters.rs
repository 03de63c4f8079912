//! [`Counters`]: every counter a stage has, in one record.
//!
//! The record is declared once, by the `record!` list below: each line is
//! a counter (its name, the kind of cell that holds it, the type a
//! snapshot reads). [`Counters`] (the live cells) and [`Counts`] (a
//! snapshot) are both generated from that list, so a new counter is one
//! more line there, and every view ([`StageStats`](crate::StageStats),
//! the `weir` crate's metrics, its Prometheus export) reads it from the
//! same record.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Declares the record: the cells of [`Counters`] and the fields of
/// [`Counts`], from one list.
macro_rules! record {
    ($( $(#[$doc:meta])* $field:ident : $cell:ident => $value:ty, )*) => {
        /// Every counter of one stage, updated by the stage's own code
        /// (the engine per batch, the scope per task, a recovery per
        /// retry) and read as [`Counts`] snapshots. Cheap enough to keep on
        /// every stage, always.
        ///
        /// Each field is a cell of one kind ([`Count`], [`Time`],
        /// [`Gauge`], [`Flag`]); the methods below are the
        /// engine's shorthands for what it counts most.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// use weir_stage::engine::Counters;
        ///
        /// let c = Counters::default();
        /// c.batch(512, 256, Duration::from_micros(3));
        /// c.retries.add(2);
        /// let s = c.snapshot();
        /// assert_eq!((s.items_in, s.items_out, s.retries), (512, 256, 2));
        /// ```
        #[derive(Debug, Default)]
        pub struct Counters {
            $( $(#[$doc])* pub $field: $cell, )*
        }

        /// A snapshot of [`Counters`]: one field per counter.
        ///
        /// # Examples
        ///
        /// ```
        /// use weir_stage::engine::Counters;
        ///
        /// let counts = Counters::default().snapshot();
        /// assert!(!counts.running);
        /// assert_eq!(counts.tasks, 0);
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        #[non_exhaustive]
        pub struct Counts {
            $( $(#[$doc])* pub $field: $value, )*
        }

        impl Counters {
            /// The counts so far.
            ///
            /// # Examples
            ///
            /// ```
            /// # use weir_stage::engine::Counters;
            /// assert_eq!(Counters::default().snapshot().errors, 0);
            /// ```
            pub fn snapshot(&self) -> Counts {
                Counts { $( $field: self.$field.get(), )* }
            }
        }
    };
}

record! {
    /// Items taken in. Counted by the engine for a stage it runs (a fused
    /// step, a sink step); zero for a stage with tasks of its own, whose
    /// input is counted by its channels.
    items_in: Count => u64,
    /// Items sent on (a source's items produced). Counted like `items_in`.
    items_out: Count => u64,
    /// Errors and panics the stage reported, counted where the error was
    /// named after the stage (per-item errors under
    /// [`collect_errors`](crate::ScopeBuilder::collect_errors) included).
    /// Jobs a [`Policy`](crate::Policy) skipped or dead-lettered are not
    /// errors of the stage: they are `skipped` and `dead_lettered`.
    errors: Count => u64,
    /// Retries of failed jobs (a [`Recovery`](crate::Recovery)'s `retry`):
    /// a job that succeeded at its third attempt counts 2.
    retries: Count => u64,
    /// Jobs that failed for good and were dropped
    /// ([`Policy::skip`](crate::Policy::skip)).
    skipped: Count => u64,
    /// Jobs that failed for good and were sent to a dead-letter channel
    /// ([`Policy::dead_letter`](crate::Policy::dead_letter)).
    dead_lettered: Count => u64,
    /// Items dropped on purpose by an overflow policy (a buffer that drops
    /// the newest or the oldest item when full, a sampler, a conflation).
    dropped: Count => u64,
    /// Jobs that took longer than the stage's per-item timeout (each then
    /// goes through the stage's retries and policy like any failure).
    timeouts: Count => u64,
    /// Restarts of a supervised source or sub-flow.
    restarts: Count => u64,
    /// Time spent running the stage's code, counted once: per batch by
    /// the engine for a stage it runs, or as its tasks' poll time for a
    /// stage with tasks of its own (summed over tasks: four workers busy
    /// for a second are busy four seconds). Never both.
    busy: Time => Duration,
    /// Time the engine waited for room in the stage's output channel.
    send_wait: Time => Duration,
    /// Time the engine waited for the stage's input.
    recv_wait: Time => Duration,
    /// Tasks spawned for the stage (a worker pool's workers, grown ones
    /// included; a fused stage that runs in another stage's task has none).
    tasks: Gauge => usize,
    /// Tasks of the stage still running.
    tasks_running: Gauge => usize,
    /// Whether the engine is running the stage now (its task, or the
    /// fused task it is part of, is alive).
    running: Flag => bool,
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
        self.items_in.add(items_in as u64);
        self.items_out.add(items_out as u64);
        self.busy.add(busy);
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
        self.errors.add(1);
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
        self.send_wait.add(waited);
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
        self.recv_wait.add(waited);
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
        self.running.set(running);
    }
}

/// The counts only a stage's own code knows, as the operators count them
/// (through their `StageCx`).
#[allow(dead_code)] // the overflow, timeout and supervision operators use them
impl Counters {
    /// `n` more items dropped on purpose by an overflow policy.
    pub(crate) fn dropped(&self, n: u64) {
        self.dropped.add(n);
    }

    /// One more job that took longer than the stage's per-item timeout.
    pub(crate) fn timed_out(&self) {
        self.timeouts.add(1);
    }

    /// One more restart of a failed (or ended) source or sub-flow.
    pub(crate) fn restarted(&self) {
        self.restarts.add(1);
    }

    /// One more retry of a failed job.
    pub(crate) fn retried(&self) {
        self.retries.add(1);
    }

    /// One more job dropped by [`Policy::skip`](crate::Policy::skip).
    pub(crate) fn skipped(&self) {
        self.skipped.add(1);
    }

    /// One more job sent to a dead-letter channel.
    pub(crate) fn dead_lettered(&self) {
        self.dead_lettered.add(1);
    }
}

/// A count of events or items.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Count;
///
/// let c = Count::default();
/// c.add(3);
/// assert_eq!(c.get(), 3);
/// ```
#[derive(Default)]
pub struct Count(AtomicU64);

impl Count {
    /// Adds `n`.
    ///
    /// # Examples
    ///
    /// See [`Count`].
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count so far.
    ///
    /// # Examples
    ///
    /// See [`Count`].
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A total of time, in nanoseconds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::engine::Time;
///
/// let t = Time::default();
/// t.add(Duration::from_nanos(7));
/// t.add(Duration::from_nanos(3));
/// assert_eq!(t.get(), Duration::from_nanos(10));
/// ```
#[derive(Default)]
pub struct Time(AtomicU64);

impl Time {
    /// Adds `d` (saturating at `u64::MAX` nanoseconds).
    ///
    /// # Examples
    ///
    /// See [`Time`].
    pub fn add(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(ns, Ordering::Relaxed);
    }

    /// The total so far.
    ///
    /// # Examples
    ///
    /// See [`Time`].
    pub fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// A number that goes up and down (tasks running).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Gauge;
///
/// let g = Gauge::default();
/// g.up();
/// g.up();
/// g.down();
/// assert_eq!(g.get(), 1);
/// ```
#[derive(Default)]
pub struct Gauge(AtomicUsize);

impl Gauge {
    /// One more.
    ///
    /// # Examples
    ///
    /// See [`Gauge`].
    pub fn up(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// One less.
    ///
    /// # Examples
    ///
    /// See [`Gauge`].
    pub fn down(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The value now.
    ///
    /// # Examples
    ///
    /// See [`Gauge`].
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// A yes/no state.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Flag;
///
/// let f = Flag::default();
/// f.set(true);
/// assert!(f.get());
/// ```
#[derive(Default)]
pub struct Flag(AtomicBool);

impl Flag {
    /// Sets it.
    ///
    /// # Examples
    ///
    /// See [`Flag`].
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }

    /// Whether it is set.
    ///
    /// # Examples
    ///
    /// See [`Flag`].
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

macro_rules! debug_as_value {
    ($($cell:ident),*) => {$(
        impl fmt::Debug for $cell {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }
    )*};
}

debug_as_value!(Count, Time, Gauge, Flag);
