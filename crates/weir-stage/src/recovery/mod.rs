//! [`Recovery`]: what an async stage does when a job's future fails —
//! retries with a [`Backoff`], for the errors a predicate calls transient,
//! then a [`Policy`] for the job that failed for good. Written once, run by
//! every async stage that takes one: [`WorkerPool`](crate::WorkerPool),
//! [`try_then`](crate::try_then), [`try_map_concurrent`](crate::try_map_concurrent)
//! and [`try_map_unordered`](crate::try_map_unordered) (and the `weir`
//! builder's doors to them).

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, TryFuture, TryFutureExt};

use crate::error::{panic_message, BoxError, Message};
use crate::limit::{Controller, Outcome};
use crate::scope::StageCx;

mod backoff;
mod overload;
mod policy;
mod timeout;

pub use backoff::Backoff;
pub use policy::Policy;
pub use timeout::TimedOut;

use overload::finish;
use policy::Kind;

/// Which errors are worth retrying.
type Predicate = Arc<dyn Fn(&BoxError) -> bool + Send + Sync>;

/// What an async stage does when a job's future fails: how many attempts
/// a job gets, how long to wait between them ([`Backoff`], with jitter),
/// which errors are worth another attempt, and what to do with a job that
/// failed for good ([`Policy`]: fail the stage, skip the job, or send it to
/// a dead-letter channel).
///
/// The default — one attempt, [`Policy::fail`] — is what a stage without a
/// recovery does: the first failure is a stage error naming the stage.
///
/// A job *fails* when its future returns an `Err` or panics. A panic is
/// retried like an error unless a [`retry_if`](Recovery::retry_if)
/// predicate is set (a predicate names the transient errors; a panic is
/// not one). The stage counts what it did in its statistics
/// ([`StageStats`](crate::StageStats): `retries`, `skipped`,
/// `dead_lettered`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Backoff, BoxError, Policy, Recovery, Scope};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("timed out")]
/// struct Timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let stats = scope.stats();
/// let (dead_tx, dead_rx) = chan::unbounded();
/// let recovery = Recovery::new()
///     .retry(3, Backoff::exponential(Duration::from_millis(10)).jitter(0.5))
///     .retry_if(|e: &BoxError| e.is::<Timeout>()) // only timeouts are transient
///     .on_error(Policy::dead_letter(dead_tx));
/// let ids = stage::generate(&scope, 1..=4u32);
/// let found = stage::try_then(&scope.named("lookup"), ids, recovery, |id| async move {
///     match id {
///         2 => Err(BoxError::from(Timeout)),      // retried, then dead-lettered
///         3 => Err(BoxError::from("no such id")), // dead-lettered at once
///         _ => Ok(id * 10),
///     }
/// })
/// .unwrap();
/// let found = stage::collect::<_, Vec<_>>(&scope, found);
/// scope.wait().await.unwrap();
/// assert_eq!(found.await.unwrap(), [10, 40]);
/// let dead: Vec<u32> = [dead_rx.recv().await, dead_rx.recv().await]
///     .into_iter()
///     .map(|d| d.unwrap().0)
///     .collect();
/// assert_eq!(dead, [2, 3]);
/// let lookup = stats.stage("lookup").unwrap();
/// assert_eq!((lookup.retries, lookup.dead_lettered, lookup.errors), (2, 2, 0));
/// # }
/// ```
pub struct Recovery<T> {
    attempts: u32,
    backoff: Backoff,
    retry_if: Option<Predicate>,
    /// Clones a job before an attempt that may be followed by another.
    clone: Option<fn(&T) -> T>,
    policy: Policy<T>,
    /// The time limit of each attempt ([`Recovery::timeout`]).
    timeout: Option<Duration>,
    /// Which errors say the service is overloaded (for an adaptive
    /// limit); none: every error does.
    overload: Option<Predicate>,
}

/// How a job's attempt failed.
pub(crate) enum Failure {
    Error(BoxError),
    Panic(Box<dyn Any + Send>),
}

impl<T> Recovery<T> {
    /// One attempt per job, and [`Policy::fail`]: a failure fails the
    /// stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Recovery;
    ///
    /// let recovery = Recovery::<u32>::new();
    /// assert_eq!(recovery.attempts(), 1);
    /// ```
    pub fn new() -> Recovery<T> {
        Recovery {
            attempts: 1,
            backoff: Backoff::none(),
            retry_if: None,
            clone: None,
            policy: Policy::fail(),
            timeout: None,
            overload: None,
        }
    }

    /// Retries only the errors for which `transient` is true; any other
    /// error (and a panic) goes to the [`Policy`] at once. Without it,
    /// every failure is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{BoxError, Recovery};
    ///
    /// let recovery = Recovery::<u32>::new()
    ///     .retry_if(|e: &BoxError| e.to_string().contains("timed out"));
    /// # drop(recovery);
    /// ```
    #[must_use]
    pub fn retry_if<P>(mut self, transient: P) -> Recovery<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.retry_if = Some(Arc::new(transient));
        self
    }

    /// What to do with a job that failed for good (default
    /// [`Policy::fail`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Policy, Recovery};
    ///
    /// let recovery = Recovery::<u32>::new().on_error(Policy::skip());
    /// # drop(recovery);
    /// ```
    #[must_use]
    pub fn on_error(mut self, policy: Policy<T>) -> Recovery<T> {
        self.policy = policy;
        self
    }

    /// How many attempts a job gets in all (`1`: no retry).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Backoff, Recovery};
    ///
    /// assert_eq!(Recovery::<u8>::new().retry(4, Backoff::none()).attempts(), 4);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The backoff between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Backoff, Recovery};
    ///
    /// assert_eq!(Recovery::<u8>::new().backoff(), Backoff::none());
    /// ```
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Runs `f` on `job` up to the allowed number of attempts, waiting the
    /// backoff between them and counting each retry on `cx`. On failure,
    /// hands back a copy of the job when the policy needs one. Each attempt
    /// is a sample of `adaptive` (the stage's limit, if adaptive: see
    /// [`adaptive_limit`]).
    pub(crate) async fn run<F, Fut>(
        &self,
        f: &F,
        mut job: T,
        cx: &StageCx,
        adaptive: Option<&Controller>,
    ) -> Result<Fut::Ok, (Option<T>, Failure)>
    where
        F: Fn(T) -> Fut,
        Fut: TryFuture,
        Fut::Error: Into<BoxError>,
    {
        let keep_failed = matches!(self.policy.kind, Kind::DeadLetter(..));
        let clone = match &self.policy.kind {
            Kind::DeadLetter(_, clone) => self.clone.or(Some(*clone)),
            _ => self.clone,
        };
        let mut attempt = 1;
        loop {
            let last = attempt >= self.attempts;
            let copy = match clone {
                Some(clone) if !last || keep_failed => Some(clone(&job)),
                _ => None,
            };
            // Each attempt is one item to an adaptive limit (none is
            // taken under a fixed one).
            let sample = adaptive.map(Controller::start);
            let run = AssertUnwindSafe(async { f(job).into_future().await }).catch_unwind();
            // A temporary, not a variable: the job's error type need not be
            // `Send`, so nothing holding it may live across the backoff.
            let failure = match match self.timeout {
                None => Ok(run.await),
                Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| limit),
            } {
                Ok(Ok(Ok(result))) => {
                    finish(sample, || Outcome::Ok);
                    return Ok(result);
                }
                Ok(Ok(Err(error))) => {
                    let error = error.into();
                    finish(sample, || self.outcome_of(&error));
                    Failure::Error(error)
                }
                Ok(Err(payload)) => {
                    finish(sample, || Outcome::Failed);
                    Failure::Panic(payload)
                }
                Err(after) => {
                    finish(sample, || Outcome::Overload);
                    cx.stats().timed_out();
                    Failure::Error(Box::new(TimedOut {
                        stage: cx.name.clone(),
                        after,
                    }))
                }
            };
            match copy {
                Some(next) if !last && self.transient(&failure) => {
                    cx.stats().retried();
                    tokio::time::sleep(self.backoff.sample(attempt)).await;
                    attempt += 1;
                    job = next;
                }
                copy => return Err((copy.filter(|_| keep_failed), failure)),
            }
        }
    }

    fn transient(&self, failure: &Failure) -> bool {
        match (failure, &self.retry_if) {
            (_, None) => true,
            (Failure::Error(error), Some(transient)) => transient(error),
            (Failure::Panic(_), Some(_)) => false,
        }
    }

    /// Applies the policy to a job that failed for good, counting what it
    /// did on `cx`. A panic under [`Policy::fail`] is handed back, for the
    /// caller to resume once it has done what it must.
    pub(crate) async fn settle(
        &self,
        cx: &StageCx,
        job: Option<T>,
        failure: Failure,
    ) -> Result<(), Box<dyn Any + Send>> {
        let error = match failure {
            Failure::Panic(payload) if matches!(self.policy.kind, Kind::Fail) => {
                return Err(payload)
            }
            Failure::Panic(payload) => Box::new(Message(format!(
                "job panicked: {}",
                panic_message(&*payload)
            ))),
            Failure::Error(error) => error,
        };
        match (&self.policy.kind, job) {
            (Kind::Skip, _) => cx.stats().skipped(),
            (Kind::DeadLetter(dead_letters, _), Some(job)) => {
                match dead_letters.send((job, error)).await {
                    Ok(()) => cx.stats().dead_lettered(),
                    Err(lost) => cx.report(lost.into_inner().1),
                }
            }
            (Kind::Fail | Kind::DeadLetter(..), _) => cx.report(error),
        }
        Ok(())
    }
}

impl<T: Clone> Recovery<T> {
    /// Runs a failed job again, up to `attempts` attempts in all (so `1`
    /// means no retry), waiting [`backoff.sample(n)`](Backoff::sample)
    /// before retry `n`. Only a job that failed on every attempt (or with
    /// an error [`retry_if`](Recovery::retry_if) does not call transient)
    /// goes to the [`Policy`].
    ///
    /// The stage clones each job before an attempt that may be followed by
    /// another (the job function takes it by value), hence `T: Clone`. A
    /// retrying job keeps its place (a pool's worker, a window's slot)
    /// while it waits; the waits are `tokio::time` sleeps and end at once
    /// when the scope is cancelled. `attempts == 0` is a
    /// [`ConfigError::Zero`](crate::ConfigError::Zero) when the stage is
    /// built.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, Recovery};
    ///
    /// let recovery = Recovery::<String>::new()
    ///     .retry(5, Backoff::exponential(Duration::from_millis(50)).jitter(1.0));
    /// assert_eq!(recovery.attempts(), 5);
    /// ```
    #[must_use]
    pub fn retry(mut self, attempts: u32, backoff: Backoff) -> Recovery<T> {
        self.attempts = attempts;
        self.backoff = backoff;
        self.clone = Some(T::clone);
        self
    }
}

impl<T> Default for Recovery<T> {
    /// [`Recovery::new`].
    fn default() -> Recovery<T> {
        Recovery::new()
    }
}

impl<T> fmt::Debug for Recovery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("retry_if", &self.retry_if.is_some())
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("overload", &self.overload.is_some())
            .finish()
    }
}

/// The stage's limit if it is adaptive: what a stage measures its
/// attempts against, looked up once (a fixed limit measures nothing).
pub(crate) fn adaptive_limit(cx: &StageCx) -> Option<Controller> {
    cx.limit().filter(|l| l.is_adaptive()).cloned()
}

/// A job function run under a [`Recovery`] in a stage: what the
/// per-item futures of [`try_then`](crate::try_then) and the window stages
/// share.
pub(crate) struct Attempts<T, F> {
    recovery: Recovery<T>,
    f: F,
    cx: StageCx,
    /// The stage's limit, if adaptive (read once, not per job).
    adaptive: Option<Controller>,
}

impl<T, F, Fut> Attempts<T, F>
where
    F: Fn(T) -> Fut,
    Fut: TryFuture,
    Fut::Error: Into<BoxError>,
{
    pub(crate) fn new(recovery: Recovery<T>, f: F, cx: StageCx) -> Arc<Attempts<T, F>> {
        let adaptive = adaptive_limit(&cx);
        Arc::new(Attempts {
            recovery,
            f,
            cx,
            adaptive,
        })
    }

    /// The job's result, or `None` when it failed for good and the policy
    /// dealt with it. A panic under [`Policy::fail`] unwinds from here
    /// (the stage's task reports it, naming the stage).
    pub(crate) async fn call(self: Arc<Self>, job: T) -> Option<Fut::Ok> {
        match self
            .recovery
            .run(&self.f, job, &self.cx, self.adaptive.as_ref())
            .await
        {
            Ok(result) => Some(result),
            Err((job, failure)) => {
                if let Err(payload) = self.recovery.settle(&self.cx, job, failure).await {
                    std::panic::resume_unwind(payload);
                }
                None
            }
        }
    }
}

/// Fails with [`ConfigError::Zero`](crate::ConfigError::Zero) when a
/// recovery allows no attempt, [`ConfigError::Invalid`](crate::ConfigError::Invalid)
/// when its time limit is zero.
pub(crate) fn check<T>(
    recovery: &Recovery<T>,
    scope: &crate::scope::Scope,
    kind: &str,
) -> Result<(), crate::error::ConfigError> {
    if recovery.attempts == 0 {
        return Err(crate::error::ConfigError::Zero {
            stage: scope.config_name(kind),
            what: "retry attempts",
        });
    }
    if recovery.timeout.is_some_and(|limit| limit.is_zero()) {
        return Err(crate::error::ConfigError::Invalid {
            stage: scope.config_name(kind),
            what: "timeout must be longer than zero".into(),
        });
    }
    Ok(())
}
