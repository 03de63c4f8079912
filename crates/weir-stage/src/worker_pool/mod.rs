//! [`worker_pool`] and [`WorkerPool`]: Go's worker pool, n workers
//! competing for jobs on one channel.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use weir_core::chan::Receiver;

use crate::error::{BoxError, ConfigError};
use crate::limit::Limit;
use crate::scope::Scope;

mod adaptive;
mod handle;
mod worker;

pub use handle::PoolHandle;

use crate::recovery::{self, Backoff, Policy, Recovery};
use handle::{Control, Grow};
use worker::Pool;

/// Runs `f` on every job with `workers` workers competing for jobs: Go's
/// worker pool (a `processJobs(jobs, results, n)` function with n worker
/// goroutines).
///
/// Each worker is its own task in the scope, so on a multi-thread runtime
/// the workers run in parallel, each on one job at a time; `f` is shared by
/// all of them (hence `Fn + Sync`). The results channel closes exactly when
/// every worker has ended: when the jobs channel is closed and drained, or
/// when every receiver of the results is dropped (the workers stop at once,
/// dropping the jobs they were running, and the jobs receiver is dropped,
/// so the producer sees its receivers gone).
///
/// This is [`WorkerPool::new(workers)`](WorkerPool::new)`.spawn(…)` with
/// the default settings — a failed job fails the stage — and without the
/// [`PoolHandle`]; use [`WorkerPool`] to skip, retry or dead-letter failed
/// jobs, or to resize the pool while it runs.
///
/// `workers` is a number or a [`Limit`]: with [`Limit::adaptive`] the pool
/// starts with the limit's initial number of workers and grows and shrinks
/// as the limit moves (see [`WorkerPool::new`]).
///
/// Order: results come in the order jobs finish, not the order they came
/// in. Use [`map_concurrent`](crate::map_concurrent) to keep the order.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `workers` is 0, and the errors of
/// [`Limit::check`] for an adaptive limit that does not hold. At run time, a job that
/// returns an error is an [`Error::Failed`](crate::Error::Failed) naming
/// the pool, handled by the scope's policy (see [`try_map`](crate::try_map));
/// a job that panics is an [`Error::Panicked`](crate::Error::Panicked)
/// naming the pool.
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
/// let jobs = stage::generate(&scope, 1..=9u64);
/// let results = stage::worker_pool(&scope, jobs, 3, |job| async move {
///     Ok::<_, std::io::Error>(job * 2) // the work done on each job
/// })
/// .unwrap();
/// let sum = stage::fold(&scope, results, 0, |a, n| a + n);
/// assert_eq!(sum.await, Ok(90));
/// scope.wait().await.unwrap();
/// # }
/// ```
pub fn worker_pool<T, U, E, F, Fut>(
    scope: &Scope,
    jobs: Receiver<T>,
    workers: impl Into<Limit>,
    f: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
{
    WorkerPool::new(workers)
        .spawn(scope, jobs, f)
        .map(|(results, _)| results)
}

/// Builds a worker pool with a failure policy, retries, a results capacity,
/// and a [`PoolHandle`] to resize it while it runs.
///
/// The pool behaves as [`worker_pool`] describes; the builder adds:
///
/// * [`retry`](WorkerPool::retry): run a failed job again, up to a number
///   of attempts, waiting a [`Backoff`] between them;
/// * [`on_error`](WorkerPool::on_error): what to do with a job that failed
///   for good — fail the stage, skip it, or send it to a dead-letter
///   channel ([`Policy`]);
/// * [`capacity`](WorkerPool::capacity): the results channel's capacity;
/// * [`PoolHandle::resize`]: change the number of workers while it runs.
///
/// A job fails when its future returns an error or panics; both go through
/// the same retries and policy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Backoff, Policy, Scope, WorkerPool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (dead_tx, dead_rx) = chan::unbounded();
/// let jobs = stage::generate(&scope, 1..=4u32);
/// let (results, pool) = WorkerPool::new(2)
///     .retry(3, Backoff::exponential(Duration::from_millis(1)))
///     .on_error(Policy::dead_letter(dead_tx))
///     .capacity(16)
///     .spawn(&scope.named("fetch"), jobs, |n| async move {
///         if n == 3 { Err("unreachable host") } else { Ok(n * 10) }
///     })
///     .unwrap();
/// let mut got = stage::collect::<_, Vec<_>>(&scope, results).await.unwrap();
/// got.sort();
/// assert_eq!(got, [10, 20, 40]);
/// let (job, err) = dead_rx.recv().await.unwrap();
/// assert_eq!((job, err.to_string()), (3, "unreachable host".to_string()));
/// assert_eq!(pool.failed(), 1);
/// scope.wait().await.unwrap();
/// # }
/// ```
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct WorkerPool<T> {
    recovery: Recovery<T>,
    capacity: Option<usize>,
    /// Shared with the handles taken before it runs.
    control: Arc<Control>,
    limit: Limit,
    _jobs: PhantomData<fn(T)>,
}

impl<T> WorkerPool<T> {
    /// A pool of `workers` workers (checked when it is spawned) that fails
    /// the stage on a failed job, never retries, and has the scope's
    /// channel capacity.
    ///
    /// `workers` is a number (a [`Limit::fixed`]) or a [`Limit::adaptive`]:
    /// then the pool starts with the limit's initial number of workers, each
    /// attempt of a job is measured (its latency, and whether it failed with
    /// an [`overload`](WorkerPool::overload) error or timed out), and a
    /// helper task of the pool resizes it, through the same path as
    /// [`PoolHandle::resize`], whenever the limit moves. A shrinking pool
    /// never drops a job: a worker over the number leaves only between
    /// jobs. (A manual `resize` of an adaptive pool holds until the limit
    /// next moves.)
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::WorkerPool;
    ///
    /// let pool = WorkerPool::<u32>::new(4);
    /// # drop(pool);
    /// ```
    pub fn new(workers: impl Into<Limit>) -> WorkerPool<T> {
        let limit = workers.into();
        // A limit that does not hold is reported by `spawn`; until then
        // the pool is sized as if it had one worker.
        let initial = match limit.check("worker_pool", "workers") {
            Ok(()) => limit.initial(),
            Err(_) => 1,
        };
        WorkerPool {
            recovery: Recovery::new(),
            capacity: None,
            control: Arc::new(Control::new(initial)),
            limit,
            _jobs: PhantomData,
        }
    }

    /// A [`PoolHandle`] to the pool this builder will spawn, before it
    /// runs: resizing it now sets the number of workers the pool starts
    /// with, and once the pool runs it resizes the running pool. It is the
    /// same handle [`spawn`](WorkerPool::spawn) returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let pool = WorkerPool::new(2);
    /// let handle = pool.handle();
    /// handle.resize(3).unwrap(); // not running yet: it will start with 3
    /// let jobs = stage::generate(&scope, 0..10u32);
    /// let (results, _same) = pool
    ///     .spawn(&scope, jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// assert_eq!(handle.running(), 3);
    /// assert_eq!(stage::collect::<_, Vec<_>>(&scope, results).await.unwrap().len(), 10);
    /// # }
    /// ```
    pub fn handle(&self) -> PoolHandle {
        PoolHandle {
            control: self.control.clone(),
        }
    }

    /// What to do with a job that failed for good (default
    /// [`Policy::fail`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Policy, WorkerPool};
    ///
    /// let pool = WorkerPool::<u32>::new(4).on_error(Policy::skip());
    /// # drop(pool);
    /// ```
    pub fn on_error(mut self, policy: Policy<T>) -> WorkerPool<T> {
        self.recovery = self.recovery.on_error(policy);
        self
    }

    /// Retries only the errors for which `transient` is true (see
    /// [`Recovery::retry_if`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, BoxError, WorkerPool};
    ///
    /// let pool = WorkerPool::<u32>::new(4)
    ///     .retry(3, Backoff::fixed(Duration::from_millis(100)).jitter(0.5))
    ///     .retry_if(|e: &BoxError| e.to_string() == "busy");
    /// # drop(pool);
    /// ```
    pub fn retry_if<P>(mut self, transient: P) -> WorkerPool<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.recovery = self.recovery.retry_if(transient);
        self
    }

    /// Gives each attempt of a job at most `limit`; a slower one fails
    /// with [`TimedOut`](crate::TimedOut), is retried (see
    /// [`retry`](WorkerPool::retry)) and then goes to the [`Policy`], and
    /// is counted in the pool's `timeouts` statistic. See
    /// [`Recovery::timeout`]; a zero `limit` is a
    /// [`ConfigError::Invalid`] when the pool is spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Policy, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stats = scope.stats();
    /// let jobs = stage::generate(&scope, [10u64, 3_000, 20]);
    /// let (done, _pool) = WorkerPool::new(2)
    ///     .timeout(Duration::from_secs(1))
    ///     .on_error(Policy::skip())
    ///     .spawn(&scope.named("pool"), jobs, |ms| async move {
    ///         tokio::time::sleep(Duration::from_millis(ms)).await;
    ///         Ok::<_, std::io::Error>(ms)
    ///     })
    ///     .unwrap();
    /// let mut done = stage::collect::<_, Vec<_>>(&scope, done).await.unwrap();
    /// done.sort();
    /// assert_eq!(done, [10, 20]);
    /// assert_eq!(stats.stage("pool").unwrap().timeouts, 1);
    /// # }
    /// ```
    pub fn timeout(mut self, limit: std::time::Duration) -> WorkerPool<T> {
        self.recovery = self.recovery.timeout(limit);
        self
    }

    /// Says which errors mean the service is overloaded, for an adaptive
    /// limit (see [`Recovery::overload`]; without it, every error does).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{BoxError, Limit, WorkerPool};
    ///
    /// let pool = WorkerPool::<u32>::new(Limit::adaptive().max(32))
    ///     .overload(|e: &BoxError| e.to_string().contains("503"));
    /// # drop(pool);
    /// ```
    pub fn overload<P>(mut self, overloaded: P) -> WorkerPool<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.recovery = self.recovery.overload(overloaded);
        self
    }

    /// Sets retries, backoff, predicate and policy at once, from a
    /// [`Recovery`] (what the `weir` builder's `Flow::retry` builds).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Backoff, Policy, Recovery, WorkerPool};
    ///
    /// let recovery = Recovery::new().retry(3, Backoff::none()).on_error(Policy::skip());
    /// let pool = WorkerPool::<u32>::new(4).with_recovery(recovery);
    /// # drop(pool);
    /// ```
    pub fn with_recovery(mut self, recovery: Recovery<T>) -> WorkerPool<T> {
        self.recovery = recovery;
        self
    }

    /// The capacity of the results channel (default: the scope's).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, 0..10u32);
    /// let (results, _pool) = WorkerPool::new(2)
    ///     .capacity(4)
    ///     .spawn(&scope, jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// assert_eq!(results.capacity(), Some(4));
    /// # }
    /// ```
    pub fn capacity(mut self, capacity: usize) -> WorkerPool<T> {
        self.capacity = Some(capacity);
        self
    }

    /// Spawns the workers into `scope` and returns the results channel and
    /// a [`PoolHandle`]. The workers share `f`.
    ///
    /// The pool is one stage: its name ([`Scope::named`], or a default
    /// `worker_pool#N`) is what its errors report. Its behaviour is
    /// described at [`worker_pool`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] when the pool has 0 workers or 0 retry
    /// attempts, [`ConfigError::Invalid`] when its timeout is zero.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like `tokio::spawn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, ["a", "b"]);
    /// let (results, pool) = WorkerPool::new(2)
    ///     .spawn(&scope, jobs, |s| async move { Ok::<_, std::io::Error>(s.to_uppercase()) })
    ///     .unwrap();
    /// assert_eq!(pool.name(), "worker_pool#1");
    /// let mut got = stage::collect::<_, Vec<_>>(&scope, results).await.unwrap();
    /// got.sort();
    /// assert_eq!(got, ["A", "B"]);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<U, E, F, Fut>(
        self,
        scope: &Scope,
        jobs: Receiver<T>,
        f: F,
    ) -> Result<(Receiver<U>, PoolHandle), ConfigError>
    where
        T: Send + 'static,
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.limit
            .check(&scope.config_name("worker_pool"), "workers")?;
        recovery::check(&self.recovery, scope, "worker_pool")?;
        let name = scope.stage_name("worker_pool");
        let scope = scope.renamed(name.clone());
        let (results, rx) = match self.capacity {
            Some(capacity) => scope.with_capacity(capacity).channel(),
            None => scope.channel(),
        };
        let control = self.control;
        let limit = self.limit.controller();
        let resizer = limit.is_adaptive().then(|| {
            let handle = PoolHandle {
                control: control.clone(),
            };
            scope.spawn_helper(adaptive::follow(limit.clone(), handle))
        });
        let pool = Arc::new(Pool {
            limit,
            _resizer: resizer,
            f,
            jobs,
            results,
            recovery: self.recovery,
            control: control.clone(),
            scope,
        });
        let workers = control.start(name, Arc::downgrade(&pool) as std::sync::Weak<dyn Grow>);
        pool.clone().grow(workers);
        Ok((rx, PoolHandle { control }))
    }
}

impl<T: Clone> WorkerPool<T> {
    /// Runs a failed job again, up to `attempts` attempts in all (so `1`
    /// means no retry), waiting `backoff` (with its jitter) before each
    /// retry. Only a job that failed on every attempt goes to the
    /// [`Policy`]; see [`Recovery::retry`].
    ///
    /// The pool clones each job before an attempt that may be followed by
    /// another (the job function takes it by value), hence `T: Clone`. The
    /// worker holds on to the job while it waits, so a retrying job takes a
    /// worker's place; the waits are `tokio::time` sleeps and end at once
    /// when the scope is cancelled.
    ///
    /// `attempts` is checked when the pool is spawned: 0 is a
    /// [`ConfigError::Zero`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Backoff, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let tries = Arc::new(AtomicU32::new(0));
    /// let jobs = stage::generate(&scope, ["flaky"]);
    /// let counter = tries.clone();
    /// let (results, _pool) = WorkerPool::new(1)
    ///     .retry(5, Backoff::exponential(Duration::from_secs(1)))
    ///     .spawn(&scope, jobs, move |job| {
    ///         let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    ///         async move { if n < 3 { Err("try again") } else { Ok(job) } }
    ///     })
    ///     .unwrap();
    /// assert_eq!(results.recv().await, Some("flaky"));
    /// assert_eq!(tries.load(Ordering::SeqCst), 3); // waited 1 s, then 2 s
    /// # }
    /// ```
    pub fn retry(mut self, attempts: u32, backoff: Backoff) -> WorkerPool<T> {
        self.recovery = self.recovery.retry(attempts, backoff);
        self
    }
}

impl<T> fmt::Debug for WorkerPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.control.target())
            .field("limit", &self.limit)
            .field("recovery", &self.recovery)
            .field("capacity", &self.capacity)
            .finish()
    }
}
