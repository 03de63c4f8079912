//! [`ScopeStats`]: the scope's registry of stage records, one per
//! [`StageId`], and [`StageStats`], a snapshot of one.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::engine::{Stage, StageId};

/// The scope's registry of stage records: one [`Stage`] (its
/// [`Counters`](crate::engine::Counters)) per [`StageId`], made when the
/// stage's first task is spawned and shared by every task of the stage.
/// What [`Scope::stats`] returns: a live view, cheap to clone, that keeps
/// reporting after the scope and its stages ended.
///
/// Time *busy* is counted once per stage: for a stage the engine runs (a
/// step or sink stage, a source) it is the time spent in the stage's code,
/// per batch; for a stage with tasks of its own (a worker pool, a split)
/// it is the time its tasks spent being polled, summed over its tasks (a
/// worker pool of four, all busy for a second, is busy four seconds). Time
/// spent waiting on channels is not busy: the channels count it
/// themselves ([`Observer::recv_waited`](weir_core::chan::Observer::recv_waited),
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

/// The records in the order their stages were first spawned, and an index
/// by id.
type Stages = (Vec<Arc<Stage>>, HashMap<StageId, usize>);

impl ScopeStats {
    /// A snapshot of every stage, in the order they were first spawned.
    ///
    /// # Examples
    ///
    /// See [`ScopeStats`].
    pub fn stages(&self) -> Vec<StageStats> {
        let stages = self.lock();
        stages.0.iter().map(|stage| StageStats::of(stage)).collect()
    }

    /// A snapshot of the first stage called `name`, if it has a record
    /// (a task of it was spawned, or it was [adopted](ScopeStats::adopt)). Names may repeat; [`by_id`](ScopeStats::by_id) finds one
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
        let stage = stages.0.iter().find(|s| &*s.name() == name)?;
        Some(StageStats::of(stage))
    }

    /// The statistics of the stage with id `id`, if it has a record.
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
        self.record_of(id).map(|stage| StageStats::of(&stage))
    }

    /// The record of the stage with id `id` itself (every counter, live),
    /// if it has one.
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
    /// let view = scope.named("double");
    /// let nums = stage::generate(&scope, 0..3);
    /// let doubled = stage::map(&view, nums, |n| n * 2);
    /// let _sink = stage::for_each(&scope, doubled, |_| {});
    /// let stats = scope.stats();
    /// scope.wait().await.unwrap();
    /// let counts = stats.record_of(view.id()).unwrap().counters().snapshot();
    /// assert_eq!((counts.items_in, counts.items_out), (3, 3));
    /// # }
    /// ```
    pub fn record_of(&self, id: StageId) -> Option<Arc<Stage>> {
        let stages = self.lock();
        let i = *stages.1.get(&id)?;
        Some(Arc::clone(&stages.0[i]))
    }

    /// The record of stage `id`, made (of `kind`, named `name`) on first
    /// use.
    pub(crate) fn record(&self, id: StageId, kind: &'static str, name: &Arc<str>) -> Arc<Stage> {
        let mut stages = self.lock();
        if let Some(&i) = stages.1.get(&id) {
            return Arc::clone(&stages.0[i]);
        }
        let stage = Stage::with_id(id, kind, Arc::clone(name));
        insert(&mut stages, &stage);
        stage
    }

    /// Registers `stage` as the record of its id, unless that id has one
    /// already, and returns the id's record: what the `weir` builder does
    /// for each stage of its graph, so that the stage's tasks (spawned
    /// through [`Scope::stage`](crate::Scope::stage)) and its fused parts
    /// count into one record.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::engine::Stage;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// let stats = scope.stats();
    /// let parse = Stage::new("map", "parse");
    /// let record = stats.adopt(&parse);
    /// assert!(std::sync::Arc::ptr_eq(&record, &parse));
    /// assert_eq!(stats.stage("parse").unwrap().id, parse.id());
    /// ```
    pub fn adopt(&self, stage: &Arc<Stage>) -> Arc<Stage> {
        let mut stages = self.lock();
        if let Some(&i) = stages.1.get(&stage.id()) {
            return Arc::clone(&stages.0[i]);
        }
        insert(&mut stages, stage);
        Arc::clone(stage)
    }

    /// Counts an error against stage `id`.
    pub(crate) fn error(&self, id: StageId) {
        if let Some(stage) = self.record_of(id) {
            stage.counters().error();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stages> {
        self.registry
            .stages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn insert(stages: &mut Stages, stage: &Arc<Stage>) {
    let i = stages.0.len();
    stages.0.push(Arc::clone(stage));
    stages.1.insert(stage.id(), i);
}

impl fmt::Debug for ScopeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.stages()).finish()
    }
}

/// A snapshot of one stage's statistics (see [`ScopeStats`]): a view of
/// its record, [`Counts`](crate::engine::Counts) in full.
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
    /// Time spent running its code, counted once (see [`ScopeStats`]).
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
    /// A concurrent stage's current concurrency limit (its
    /// [`Limit`](crate::Limit): a fixed one too); `None` for other stages.
    pub concurrency_limit: Option<usize>,
    /// Whether that limit is [adaptive](crate::Limit::adaptive): the stage
    /// moves it.
    pub adaptive_limit: bool,
    /// The no-load latency an adaptive limit compares against, once
    /// measured.
    pub latency_baseline: Option<Duration>,
    /// The recent latency (the last round's mean) an adaptive limit is moved by, once
    /// measured.
    pub latency_recent: Option<Duration>,
}

impl StageStats {
    fn of(stage: &Stage) -> StageStats {
        let c = stage.counters().snapshot();
        let limit = stage.limit().map(|l| l.stats());
        StageStats {
            id: stage.id(),
            name: stage.name().to_string(),
            tasks: c.tasks,
            running: c.tasks_running,
            busy: c.busy,
            errors: c.errors,
            retries: c.retries,
            skipped: c.skipped,
            dead_lettered: c.dead_lettered,
            dropped: c.dropped,
            timeouts: c.timeouts,
            restarts: c.restarts,
            concurrency_limit: limit.map(|l| l.limit),
            adaptive_limit: stage.limit().is_some_and(|l| l.is_adaptive()),
            latency_baseline: limit.and_then(|l| l.baseline),
            latency_recent: limit.and_then(|l| l.recent),
        }
    }
}

/// The counters a stage's own code adds to (its retries, skipped, dropped
/// items…), as operators name them: the stage's one record,
/// [`Counters`](crate::engine::Counters).
#[allow(dead_code)] // the operators that take one by name come next
pub(crate) type Cell = crate::engine::Counters;

/// Counts a task of a stage: one more task, running until dropped, and,
/// if `poll_timed`, its poll time as the stage's busy time (a task whose
/// stage the engine runs counts its busy time per batch instead).
pub(crate) fn track<F: Future>(stage: Arc<Stage>, task: F, poll_timed: bool) -> Timed<F> {
    let counters = stage.counters();
    counters.tasks.up();
    counters.tasks_running.up();
    Timed {
        task,
        poll_timed,
        stage: Running(stage),
    }
}

/// Marks the task ended when dropped — finished, cancelled or aborted.
struct Running(Arc<Stage>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.counters().tasks_running.down();
    }
}

#[pin_project::pin_project]
/// A stage task, counted (see [`track`]).
pub(crate) struct Timed<F> {
    #[pin]
    task: F,
    poll_timed: bool,
    stage: Running,
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.poll_timed {
            return this.task.poll(cx);
        }
        let started = Instant::now();
        let poll = this.task.poll(cx);
        this.stage.0.counters().busy.add(started.elapsed());
        poll
    }
}
