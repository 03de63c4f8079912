//! Per-stage statistics: tasks, time busy, errors.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::engine::StageId;

/// A live view of the statistics of every stage of a [`Scope`]: what
/// [`Scope::stats`] returns. Cheap to clone; it does not keep the scope or
/// its stages alive, and keeps reporting after they ended.
///
/// Time *busy* is the time a stage's tasks spent being polled — running
/// its code and the user's closures — summed over its tasks (a worker pool
/// of four, all busy for a second, is busy four seconds). Time spent
/// waiting on channels is not busy: the channels count it themselves
/// ([`Observer::recv_waited`](weir_core::chan::Observer::recv_waited),
/// [`Observer::send_waited`](weir_core::chan::Observer::send_waited)).
///
/// [`Scope`]: crate::Scope
/// [`Scope::stats`]: crate::Scope::stats
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let stats = scope.stats();
/// let nums = stage::generate(&scope, 1..=100u64);
/// let squares = stage::worker_pool(&scope, nums, 4, |n| async move { Ok::<_, std::io::Error>(n * n) }).unwrap();
/// let _sum = stage::fold(&scope, squares, 0, |a, n| a + n);
/// scope.wait().await.unwrap();
///
/// let pool = stats.stage("worker_pool#1").unwrap();
/// assert_eq!((pool.tasks, pool.running, pool.errors), (4, 0, 0));
/// assert!(pool.busy > std::time::Duration::ZERO);
/// assert_eq!(stats.stages().len(), 3);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ScopeStats {
    registry: Arc<Registry>,
}

#[derive(Default)]
struct Registry {
    stages: Mutex<Stages>,
}

/// The stages in the order they were first spawned, and an index by name.
type Stages = (Vec<Arc<Cell>>, HashMap<StageId, usize>);

/// One stage's counters, shared by its tasks.
pub(crate) struct Cell {
    id: StageId,
    name: Arc<str>,
    tasks: AtomicUsize,
    running: AtomicUsize,
    busy_ns: AtomicU64,
    errors: AtomicU64,
    retries: AtomicU64,
    skipped: AtomicU64,
    dead_lettered: AtomicU64,
    dropped: AtomicU64,
    timeouts: AtomicU64,
    restarts: AtomicU64,
}

impl ScopeStats {
    /// A snapshot of every stage, in the order they were first spawned.
    ///
    /// # Examples
    ///
    /// See [`ScopeStats`].
    pub fn stages(&self) -> Vec<StageStats> {
        let stages = self.lock();
        stages.0.iter().map(|cell| cell.snapshot()).collect()
    }

    /// A snapshot of the first stage called `name`, if a task of it was
    /// spawned. Names may repeat; [`by_id`](ScopeStats::by_id) finds one
    /// stage for sure.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stats = scope.stats();
    /// let nums = stage::generate(&scope.named("numbers"), 0..10);
    /// let _all = stage::collect::<_, Vec<_>>(&scope, nums);
    /// scope.wait().await.unwrap();
    /// assert_eq!(stats.stage("numbers").unwrap().tasks, 1);
    /// assert!(stats.stage("nothing").is_none());
    /// # }
    /// ```
    pub fn stage(&self, name: &str) -> Option<StageStats> {
        let stages = self.lock();
        let cell = stages.0.iter().find(|c| &*c.name == name)?;
        Some(cell.snapshot())
    }

    /// The statistics of the stage with id `id`, if it has spawned a task.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let view = scope.named("numbers");
    /// let nums = stage::generate(&view, 0..3);
    /// let _sink = stage::for_each(&scope, nums, |_| {});
    /// let stats = scope.stats();
    /// scope.wait().await.unwrap();
    /// assert_eq!(stats.by_id(view.id()).unwrap().tasks, 1);
    /// # }
    /// ```
    pub fn by_id(&self, id: StageId) -> Option<StageStats> {
        let stages = self.lock();
        let i = *stages.1.get(&id)?;
        Some(stages.0[i].snapshot())
    }

    /// The counters of the stage called `name`, made on first use.
    pub(crate) fn cell(&self, id: StageId, name: &Arc<str>) -> Arc<Cell> {
        let mut stages = self.lock();
        if let Some(&i) = stages.1.get(&id) {
            return Arc::clone(&stages.0[i]);
        }
        let cell = Arc::new(Cell {
            id,
            name: Arc::clone(name),
            tasks: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            busy_ns: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        });
        let i = stages.0.len();
        stages.0.push(Arc::clone(&cell));
        stages.1.insert(id, i);
        cell
    }

    /// Counts an error against the stage called `name`.
    pub(crate) fn error(&self, id: StageId) {
        let stages = self.lock();
        if let Some(&i) = stages.1.get(&id) {
            stages.0[i].errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stages> {
        self.registry
            .stages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ScopeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.stages()).finish()
    }
}

impl Cell {
    fn snapshot(&self) -> StageStats {
        StageStats {
            id: self.id,
            name: self.name.to_string(),
            tasks: self.tasks.load(Ordering::Relaxed),
            running: self.running.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed)),
            errors: self.errors.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
        }
    }

    /// One more retry of a failed job.
    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// One more job dropped by [`Policy::skip`](crate::Policy::skip).
    pub(crate) fn skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// One more job sent to a dead-letter channel.
    pub(crate) fn dead_lettered(&self) {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` more items dropped on purpose by an overflow policy.
    #[allow(dead_code)] // the overflow stages are its first users
    pub(crate) fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// One more job that took longer than the stage's per-item timeout.
    #[allow(dead_code)] // the per-item timeout is its first user
    pub(crate) fn timed_out(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// One more restart of a failed (or ended) source or sub-flow.
    #[allow(dead_code)] // supervision is its first user
    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Wraps one task of the stage: counts it, and its poll time as busy.
    pub(crate) fn track<F: Future>(self: Arc<Self>, task: F) -> Timed<F> {
        self.tasks.fetch_add(1, Ordering::Relaxed);
        self.running.fetch_add(1, Ordering::Relaxed);
        Timed {
            task,
            cell: Running(self),
        }
    }
}

/// A snapshot of one stage's statistics (see [`ScopeStats`]).
///
/// # Examples
///
/// See [`ScopeStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageStats {
    /// The stage's identity (two stages may share a name, never an id).
    pub id: StageId,
    /// The stage's name, as in errors (`map#2`, or the name given with
    /// [`Scope::named`](crate::Scope::named)).
    pub name: String,
    /// Tasks spawned for it (a worker pool's workers, grown ones included).
    pub tasks: usize,
    /// Tasks of it still running.
    pub running: usize,
    /// Time its tasks spent being polled, summed over tasks.
    pub busy: Duration,
    /// Errors and panics it reported (per-item errors under
    /// [`collect_errors`](crate::ScopeBuilder::collect_errors) included).
    /// Jobs a [`Policy`](crate::Policy) skipped or dead-lettered are not
    /// errors of the stage: they are counted in `skipped` and
    /// `dead_lettered`.
    pub errors: u64,
    /// Retries of failed jobs (a [`Recovery`](crate::Recovery)'s `retry`):
    /// a job that succeeded at its third attempt counts 2.
    pub retries: u64,
    /// Jobs that failed for good and were dropped
    /// ([`Policy::skip`](crate::Policy::skip)).
    pub skipped: u64,
    /// Jobs that failed for good and were sent to a dead-letter channel
    /// ([`Policy::dead_letter`](crate::Policy::dead_letter)).
    pub dead_lettered: u64,
    /// Items dropped on purpose by an overflow policy (a buffer that drops
    /// the newest or the oldest item when full, a sampler, a conflation).
    pub dropped: u64,
    /// Jobs that took longer than the stage's per-item timeout (each then
    /// goes through the stage's retries and policy like any failure).
    pub timeouts: u64,
    /// Restarts of a supervised source or sub-flow.
    pub restarts: u64,
}

/// Marks the task ended when dropped — finished, cancelled or aborted.
struct Running(Arc<Cell>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[pin_project::pin_project]
/// A stage task whose poll time is counted as the stage's busy time.
pub(crate) struct Timed<F> {
    #[pin]
    task: F,
    cell: Running,
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = Instant::now();
        let poll = this.task.poll(cx);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        this.cell.0.busy_ns.fetch_add(ns, Ordering::Relaxed);
        poll
    }
}
