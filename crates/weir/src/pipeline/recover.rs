//! [`Flow::retry`], [`Flow::on_error`], [`Flow::timeout`] and
//! [`Guarded`]: retries, an error policy and a per-item time limit for the
//! next async stage. Each of its stages is a door to
//! the `weir_stage` function that runs a [`Recovery`] (`try_then`,
//! `try_map_concurrent`, `try_map_unordered`, a [`WorkerPool`]); nothing
//! is written twice.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use weir_core::chan::Receiver;
use weir_stage::{Backoff, BoxError, ConfigError, Limit, Policy, Recovery, Scope, WorkerPool};

use super::boundary::check_limit;
use super::flow::Flow;
use super::graph::NodeId;
use super::shared::Shared;

/// A [`Flow`] whose next async stage — [`then`](Guarded::then),
/// [`map_concurrent`](Guarded::map_concurrent),
/// [`map_unordered`](Guarded::map_unordered),
/// [`worker_pool`](Guarded::worker_pool) or, with the `nats` feature,
/// `remote_pool` — runs a fallible job function
/// under a [`Recovery`]: retries with backoff and jitter, for the errors a
/// predicate calls transient, then a [`Policy`] for the job that failed
/// for good (fail the pipeline, skip the job, or send it to a dead-letter
/// channel). From [`Flow::retry`] or [`Flow::on_error`].
///
/// The stage counts what it did: [`StageMetrics`](crate::pipeline::StageMetrics)'
/// `retries`, `skipped` and `dead_lettered` (and the `metrics` feature's
/// counters of the same names).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir::cancel::Context;
/// use weir::chan;
/// use weir::pipeline::Pipeline;
/// use weir::stage::{Backoff, BoxError, Policy};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("timed out")]
/// struct Timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (dead_tx, dead_rx) = chan::unbounded();
/// let p = Pipeline::new(&Context::background());
/// let pages = p
///     .source(1..=5u32)
///     .retry(3, Backoff::exponential(Duration::from_millis(100)).jitter(0.5))
///     .retry_if(|e: &BoxError| e.is::<Timeout>())
///     .on_error(Policy::dead_letter(dead_tx))
///     .map_concurrent(2, |id| async move {
///         match id {
///             4 => Err(BoxError::from(Timeout)), // transient: retried, then dead-lettered
///             _ => Ok(format!("page {id}")),
///         }
///     })
///     .named("fetch")
///     .collect::<Vec<_>>()
///     .await
///     .unwrap();
/// assert_eq!(pages, ["page 1", "page 2", "page 3", "page 5"]); // input order
/// assert_eq!(dead_rx.recv().await.unwrap().0, 4);
/// let fetch = p.metrics().stages.into_iter().find(|s| s.name == "fetch").unwrap();
/// assert_eq!((fetch.retries, fetch.dead_lettered), (2, 1));
/// # }
/// ```
#[must_use = "a Guarded flow does nothing until an async stage is added and reaches a sink"]
pub struct Guarded<T> {
    flow: Flow<T>,
    recovery: Recovery<T>,
}

/// # Recovery
///
/// What an async stage does with a failed job: [`retry`](Flow::retry) it
/// (with a backoff), then fail, skip or dead-letter it
/// ([`on_error`](Flow::on_error)). Both return a [`Guarded`] flow, whose
/// async stages run under that recovery; the metrics count each stage's
/// retries, skipped and dead-lettered jobs.
impl<T: Clone + Send + 'static> Flow<T> {
    /// Retries failed jobs of the next async stage: up to `attempts`
    /// attempts in all (`1`: no retry), waiting `backoff` — with its
    /// [`jitter`](Backoff::jitter) — before each retry. Every failure is
    /// retried unless [`retry_if`](Guarded::retry_if) says which are
    /// transient; a job that failed for good goes to the
    /// [`on_error`](Guarded::on_error) policy (by default it fails the
    /// pipeline, naming the stage). See [`Recovery::retry`].
    ///
    /// The job is cloned before each attempt that may be followed by
    /// another (the job function takes it by value), hence `T: Clone`.
    ///
    /// # Errors
    ///
    /// `attempts == 0` is a [`ConfigError`](weir_stage::ConfigError)
    /// naming the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Backoff;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// static TRIES: AtomicU32 = AtomicU32::new(0);
    /// let v = Pipeline::new(&Context::background())
    ///     .source(["job"])
    ///     .retry(5, Backoff::fixed(Duration::from_secs(1)))
    ///     .then(|job| async move {
    ///         // fails twice, then works
    ///         if TRIES.fetch_add(1, Ordering::SeqCst) < 2 { Err("busy") } else { Ok(job) }
    ///     })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!((v, TRIES.load(Ordering::SeqCst)), (vec!["job"], 3));
    /// # }
    /// ```
    pub fn retry(self, attempts: u32, backoff: Backoff) -> Guarded<T> {
        Guarded {
            flow: self,
            recovery: Recovery::new().retry(attempts, backoff),
        }
    }
}

/// # Recovery, without retries
///
/// [`on_error`](Flow::on_error) alone needs no `Clone` items.
impl<T: Send + 'static> Flow<T> {
    /// What the next async stage does with a job that failed for good:
    /// [`Policy::fail`] (the default: the pipeline fails, naming the
    /// stage), [`Policy::skip`] or [`Policy::dead_letter`]. Without
    /// [`retry`](Guarded::retry), each job gets one attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Policy;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let sum = p
    ///     .source(["1", "two", "3"])
    ///     .on_error(Policy::skip())
    ///     .then(|s| async move { s.parse::<u32>() })
    ///     .named("parse")
    ///     .fold(0, |a, n| a + n)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(sum, 4);
    /// let parse = p.metrics().stages.into_iter().find(|s| s.name == "parse").unwrap();
    /// assert_eq!((parse.skipped, parse.errors), (1, 0));
    /// # }
    /// ```
    pub fn on_error(self, policy: Policy<T>) -> Guarded<T> {
        Guarded {
            flow: self,
            recovery: Recovery::new().on_error(policy),
        }
    }
}

/// # Per-item timeout
///
/// A time limit for each job of the next async stage; a slower job is a
/// failure like any other, for the retries and the policy.
impl<T: Send + 'static> Flow<T> {
    /// Gives each job of the next async stage — [`then`](Guarded::then),
    /// [`map_concurrent`](Guarded::map_concurrent),
    /// [`map_unordered`](Guarded::map_unordered),
    /// [`worker_pool`](Guarded::worker_pool) and, with the `nats` feature,
    /// `remote_pool` (whose jobs run on remote workers) — at most `limit`
    /// per attempt:
    /// a job still running then is dropped where it waits and fails with
    /// [`TimedOut`](weir_stage::TimedOut) naming the stage, which goes
    /// through the stage's [`retry`](Guarded::retry) and
    /// [`on_error`](Guarded::on_error) policy like any failure (by default
    /// it fails the pipeline). The stage counts each in
    /// [`StageMetrics`](crate::pipeline::StageMetrics)' `timeouts` (and
    /// `weir_stage_timeouts_total`). See [`Recovery::timeout`].
    ///
    /// # Errors
    ///
    /// A zero `limit` is a [`ConfigError`](weir_stage::ConfigError) naming
    /// the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Policy;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let answered = p
    ///     .source([10u64, 5_000, 20])
    ///     .timeout(Duration::from_secs(1))
    ///     .on_error(Policy::skip())
    ///     .then(|ms| async move {
    ///         tokio::time::sleep(Duration::from_millis(ms)).await; // a call that may hang
    ///         Ok::<_, std::io::Error>(ms)
    ///     })
    ///     .named("call")
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(answered, [10, 20]);
    /// let call = p.metrics().stages.into_iter().find(|s| s.name == "call").unwrap();
    /// assert_eq!((call.timeouts, call.skipped), (1, 1));
    /// # }
    /// ```
    pub fn timeout(self, limit: Duration) -> Guarded<T> {
        Guarded {
            flow: self,
            recovery: Recovery::new().timeout(limit),
        }
    }
}

impl<T: Clone> Guarded<T> {
    /// Sets the retries (see [`Flow::retry`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, Policy};
    ///
    /// let p = Pipeline::new(&Context::background());
    /// let guarded = p.source(0..3).on_error(Policy::skip()).retry(2, Backoff::none());
    /// # let _sink = guarded.then(|n| async move { Ok::<_, std::io::Error>(n) }).count();
    /// ```
    pub fn retry(mut self, attempts: u32, backoff: Backoff) -> Guarded<T> {
        self.recovery = self.recovery.retry(attempts, backoff);
        self
    }
}

impl<T: Send + 'static> Guarded<T> {
    /// Retries only the errors for which `transient` is true; any other
    /// error (and a panic) goes to the policy at once. See
    /// [`Recovery::retry_if`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, BoxError, Policy};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let n = p
    ///     .source(["7", "x"])
    ///     .retry(3, Backoff::fixed(Duration::from_millis(10)))
    ///     .retry_if(|e: &BoxError| e.to_string().contains("timeout"))
    ///     .on_error(Policy::skip())
    ///     .then(|s| async move { s.parse::<u8>() }) // a parse error is not transient
    ///     .named("parse")
    ///     .count()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(n, 1);
    /// let parse = p.metrics().stages.into_iter().find(|s| s.name == "parse").unwrap();
    /// assert_eq!((parse.retries, parse.skipped), (0, 1));
    /// # }
    /// ```
    pub fn retry_if<P>(mut self, transient: P) -> Guarded<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.recovery = self.recovery.retry_if(transient);
        self
    }

    /// Sets the time limit of each attempt (see [`Flow::timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, BoxError, TimedOut};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let err = Pipeline::new(&Context::background())
    ///     .source([60u64])
    ///     .retry(2, Backoff::none())
    ///     .timeout(Duration::from_secs(10))
    ///     .retry_if(|e: &BoxError| e.is::<TimedOut>())
    ///     .map_concurrent(4, |secs| async move {
    ///         tokio::time::sleep(Duration::from_secs(secs)).await;
    ///         Ok::<_, BoxError>(secs)
    ///     })
    ///     .named("slow")
    ///     .count()
    ///     .await
    ///     .unwrap_err(); // timed out twice: the default policy fails
    /// assert_eq!(err.stage(), Some("slow"));
    /// let why = std::error::Error::source(&err).unwrap().to_string();
    /// assert_eq!(why, "job timed out after 10s at stage `slow`");
    /// # }
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Guarded<T> {
        self.recovery = self.recovery.timeout(limit);
        self
    }

    /// Says which errors mean the service is overloaded, for the next
    /// stage's adaptive [`Limit`] (see [`Recovery::overload`]; without it
    /// every error does, and a timeout always does).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{BoxError, Limit, Policy};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let n = Pipeline::new(&Context::background())
    ///     .source(1..=10u32)
    ///     .on_error(Policy::skip())
    ///     .overload(|e: &BoxError| e.to_string().contains("busy"))
    ///     .map_unordered(Limit::adaptive().max(4), |n| async move {
    ///         if n == 3 { Err("not found") } else { Ok(n) }
    ///     })
    ///     .count()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(n, 9);
    /// # }
    /// ```
    pub fn overload<P>(mut self, overloaded: P) -> Guarded<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.recovery = self.recovery.overload(overloaded);
        self
    }

    /// Sets the policy for jobs that failed for good (see
    /// [`Flow::on_error`]).
    ///
    /// # Examples
    ///
    /// See [`Guarded`].
    pub fn on_error(mut self, policy: Policy<T>) -> Guarded<T> {
        self.recovery = self.recovery.on_error(policy);
        self
    }

    /// [`Flow::then`] for a fallible `f`, under this recovery: one job at
    /// a time, in order; a skipped or dead-lettered job leaves no gap. The
    /// door to [`weir_stage::try_then`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling the pipeline drops the job in flight (or its backoff
    /// wait) where it waits; a graceful stop lets it finish.
    ///
    /// # Errors
    ///
    /// 0 attempts is a [`ConfigError`](weir_stage::ConfigError), returned
    /// by the sink before anything runs. Under [`Policy::fail`], a job that
    /// failed for good fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// See [`Flow::retry`] and [`Flow::on_error`].
    pub fn then<U, E, F, Fut>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        let (recovery, shared) = (self.recovery, self.flow.shared.clone());
        let refused = refusal(&recovery);
        let flow = self.flow.through("then", move |scope, input| {
            weir_stage::try_then(scope, input, recovery, f)
        });
        refuse(&shared, flow.tail(), refused);
        flow
    }

    /// [`Flow::map_concurrent`] for a fallible `f`, under this recovery:
    /// up to `n` jobs at once, results in input order; a retrying job
    /// keeps its place in the window. The door to
    /// [`weir_stage::try_map_concurrent`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling the pipeline drops the jobs in flight where they wait.
    ///
    /// # Errors
    ///
    /// `n == 0` or 0 attempts is a [`ConfigError`](weir_stage::ConfigError),
    /// returned by the sink before anything runs. Under [`Policy::fail`], a
    /// job that failed for good fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// See [`Guarded`].
    pub fn map_concurrent<U, E, F, Fut>(self, n: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.window(
            "map_concurrent",
            n.into(),
            f,
            weir_stage::try_map_concurrent::<T, U, E, F, Fut>,
        )
    }

    /// [`Flow::map_unordered`] for a fallible `f`, under this recovery: up
    /// to `n` jobs at once, results as they finish. The door to
    /// [`weir_stage::try_map_unordered`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling the pipeline drops the jobs in flight where they wait.
    ///
    /// # Errors
    ///
    /// `n == 0` or 0 attempts is a [`ConfigError`](weir_stage::ConfigError),
    /// returned by the sink before anything runs. Under [`Policy::fail`], a
    /// job that failed for good fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Policy;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = Pipeline::new(&Context::background())
    ///     .source(["1", "x"])
    ///     .on_error(Policy::fail())
    ///     .map_unordered(4, |s| async move { s.parse::<u8>() })
    ///     .named("parse")
    ///     .count()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.stage(), Some("parse"));
    /// # }
    /// ```
    pub fn map_unordered<U, E, F, Fut>(self, n: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.window(
            "map_unordered",
            n.into(),
            f,
            weir_stage::try_map_unordered::<T, U, E, F, Fut>,
        )
    }

    /// A window stage of `kind` with up to `n` jobs at once, spawned by
    /// `spawn` (one of `weir_stage`'s `try_map_*`) when the pipeline starts.
    fn window<U, F>(self, kind: &'static str, n: Limit, f: F, spawn: Spawn<T, U, F>) -> Flow<U>
    where
        U: Send + 'static,
        F: Send + 'static,
    {
        let (recovery, shared) = (self.recovery, self.flow.shared.clone());
        let refused = refusal(&recovery);
        let limit = n.clone();
        let flow = self.flow.through(kind, move |scope, input| {
            spawn(scope, input, limit, recovery, f)
        });
        check_limit(&shared, flow.tail(), &n, "concurrency");
        refuse(&shared, flow.tail(), refused);
        flow
    }

    /// [`Flow::worker_pool`] under this recovery: `workers` tasks, results
    /// in completion order. The door to [`WorkerPool::with_recovery`]; for
    /// a [`PoolHandle`](weir_stage::PoolHandle) as well, configure a
    /// [`WorkerPool`] and use [`Flow::worker_pool_with`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling the pipeline drops the jobs in progress where they wait.
    ///
    /// # Errors
    ///
    /// `workers == 0` or 0 attempts is a
    /// [`ConfigError`](weir_stage::ConfigError), returned by the sink
    /// before anything runs. Under [`Policy::fail`], a job that failed for
    /// good fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::chan;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, Policy};
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (dead_tx, dead_rx) = chan::unbounded();
    /// let p = Pipeline::new(&Context::background());
    /// let ok = p
    ///     .source(0..200u32)
    ///     .retry(2, Backoff::none())
    ///     .on_error(Policy::dead_letter(dead_tx))
    ///     .worker_pool(4, |n| async move { if n % 10 == 0 { Err("bad") } else { Ok(n) } })
    ///     .named("pool")
    ///     .count()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(ok, 180);
    /// let pool = p.metrics().stages.into_iter().find(|s| s.name == "pool").unwrap();
    /// assert_eq!((pool.retries, pool.dead_lettered, pool.errors), (20, 20, 0));
    /// assert_eq!(dead_rx.len(), 20);
    /// # }
    /// ```
    pub fn worker_pool<U, E, F, Fut>(self, workers: impl Into<Limit>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        let shared = self.flow.shared.clone();
        let workers = workers.into();
        let refused = refusal(&self.recovery);
        let pool = WorkerPool::new(workers.clone()).with_recovery(self.recovery);
        let flow = self.flow.worker_pool_with(pool, f);
        check_limit(&shared, flow.tail(), &workers, "workers");
        refuse(&shared, flow.tail(), refused);
        flow
    }
}

/// The error a recovery's settings are refused with, found while the flow
/// is built so that a refused pipeline runs nothing (the stage checks them
/// again when it starts, as a `weir_stage` function called on its own
/// does): no attempt allowed, or a time limit of zero.
pub(super) fn refusal<T>(recovery: &Recovery<T>) -> Option<fn(Arc<str>) -> ConfigError> {
    if recovery.attempts() == 0 {
        Some(|stage| ConfigError::Zero {
            stage,
            what: "retry attempts",
        })
    } else if recovery.time_limit().is_some_and(|limit| limit.is_zero()) {
        Some(|stage| ConfigError::Invalid {
            stage,
            what: "timeout must be longer than zero".into(),
        })
    } else {
        None
    }
}

/// Fails the pipeline before it starts with `refused`, naming `node`.
pub(super) fn refuse(shared: &Shared, node: NodeId, refused: Option<fn(Arc<str>) -> ConfigError>) {
    if let Some(error) = refused {
        let stage = shared.stage(node);
        shared.fault_with(move || weir_stage::Error::Config(error(stage.name())));
    }
}

impl<T> Guarded<T> {
    /// The flow and the recovery its next stage runs under: for a door
    /// kept beside what it opens (`remote_pool`, with the `nats` feature).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(super) fn into_parts(self) -> (Flow<T>, Recovery<T>) {
        (self.flow, self.recovery)
    }
}

impl<T> fmt::Debug for Guarded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("flow", &self.flow)
            .field("recovery", &self.recovery)
            .finish()
    }
}

/// One of `weir_stage`'s `try_map_*` stage functions (a pointer, so that
/// it does not name the error type).
type Spawn<T, U, F> =
    fn(&Scope, Receiver<T>, Limit, Recovery<T>, F) -> Result<Receiver<U>, ConfigError>;
