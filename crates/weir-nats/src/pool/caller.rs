//! [`Caller`]: a distributed worker pool called job by job, for a stage
//! that runs each job under a `weir_stage` [`Recovery`](weir_stage::Recovery)
//! (retries, a per-attempt timeout, a policy for jobs that failed for good).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;
use weir_core::chan::{self, Sender};
use weir_stage::{ConfigError, Scope};

use super::remote::{Order, Remote};
use super::run::{pump, Input, Reply};
use crate::codec::Codec;
use crate::error::RemoteError;

/// A [`Remote`] pool's producer run, called one job at a time:
/// [`call`](Caller::call) sends a job and resolves to its
/// `Result<U, RemoteError>`. Dropping the call's future gives up on the
/// job: it leaves the in-flight window within 100 ms, and its answer, if
/// one comes, is dropped. This is what lets a stage put each job under a
/// [`Recovery`](weir_stage::Recovery) — a per-attempt
/// [`timeout`](weir_stage::Recovery::timeout) that gives up on a job whose
/// worker never answers, retries (each attempt a new job), and a
/// [`Policy`](weir_stage::Policy) — as `weir`'s guarded `remote_pool`
/// does.
///
/// The run is the same as [`Remote::run`]'s (one per caller, however many
/// clones): the jobs' [`RemoteError::job`] numbers count the calls (each
/// attempt is a job of its own), and the run ends once every clone of the
/// caller is dropped and the jobs still wanted are answered. The run's
/// errors fail the stage named by the scope, as [`Remote::run`]'s do.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_nats::Pool;
/// use weir_stage::Scope;
///
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// # let url = server.url();
/// let pool = Pool::new("doubler").memory();
/// let (ctx, stop_workers) = Context::background().with_cancel();
/// let worker = tokio::spawn({
///     let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
///     async move { weir_nats::serve(&ctx, client, &pool, 2, |n: u64| async move { Ok::<_, std::io::Error>(2 * n) }).await }
/// });
///
/// let scope = Scope::new(&Context::background());
/// let caller = pool
///     .remote::<u64, u64>(weir_nats::connect(&url).await.unwrap())
///     .caller(&scope.named("double"))
///     .unwrap();
/// assert_eq!(caller.call(21).await.unwrap(), 42);
/// drop(caller);
/// scope.wait().await.unwrap();
/// stop_workers.cancel();
/// worker.await.unwrap().unwrap();
/// # }
/// ```
pub struct Caller<T, U> {
    jobs: Sender<(T, Reply<U>)>,
    /// Calls made through this caller and its clones, for
    /// [`RemoteError::Stopped`]'s number.
    calls: Arc<AtomicU64>,
    order: Order,
    in_flight: usize,
}

impl<T, U, C> Remote<T, U, C>
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    /// Spawns the stage's run under `scope`, driven by the [`Caller`]
    /// returned rather than an input channel.
    ///
    /// # Errors
    ///
    /// What [`run`](Remote::run) returns: a [`ConfigError`] for an
    /// adaptive [`in_flight`](super::Pool::in_flight) limit that does not
    /// hold. At run time the stage fails through the scope, as
    /// [`run`](Remote::run)'s does.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// See [`Caller`].
    pub fn caller(self, scope: &Scope) -> Result<Caller<T, U>, ConfigError> {
        let view = scope.stage_or(format!("nats remote_pool {}", self.pool.name));
        self.pool
            .in_flight
            .check(&view.name(), "in-flight window")?;
        let in_flight = self.pool.in_flight.max();
        let (jobs, calls) = chan::bounded(in_flight.clamp(1, 1024));
        // Outcomes go to the callers; this output is never written.
        let (unused, _) = chan::bounded(1);
        let (order, deadline) = (self.order, scope.context().deadline());
        view.spawn(pump(
            self,
            Input::Calls(calls),
            unused,
            deadline,
            view.clone(),
        ));
        Ok(Caller {
            jobs,
            calls: Arc::new(AtomicU64::new(0)),
            order,
            in_flight,
        })
    }
}

impl<T: Send + 'static, U: Send + 'static> Caller<T, U> {
    /// Sends `item` as a job and resolves to its outcome. The future is
    /// `'static` (it holds what it needs), so it can be spawned, raced
    /// against a timer, or dropped to give up on the job. It waits for a
    /// place in the in-flight window first.
    ///
    /// # Errors
    ///
    /// The job's [`RemoteError`], as [`Remote::run`] reports it; and
    /// [`RemoteError::Stopped`] if the run has stopped (it failed, or its
    /// scope was cancelled) before the job was answered — a call never
    /// waits on a run that is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up on the job (see [`Caller`]); a job
    /// already sent still runs on its worker until it finishes, the job's
    /// deadline ([`Remote::job_timeout`]) passes, or the run ends.
    ///
    /// # Examples
    ///
    /// See [`Caller`].
    pub fn call(&self, item: T) -> impl Future<Output = Result<U, RemoteError>> + Send + 'static {
        let jobs = self.jobs.clone();
        let job = self.calls.fetch_add(1, Ordering::Relaxed);
        async move {
            let (reply, answer) = oneshot::channel();
            if jobs.send((item, reply)).await.is_err() {
                return Err(RemoteError::Stopped { job });
            }
            drop(jobs);
            // A reply dropped unanswered: the run stopped (its error is
            // the scope's).
            answer.await.unwrap_or(Err(RemoteError::Stopped { job }))
        }
    }

    /// The [`Remote::order`] it was made with, for a stage that keeps
    /// input order itself.
    ///
    /// # Examples
    ///
    /// See [`Caller`].
    pub fn order(&self) -> Order {
        self.order
    }

    /// The most jobs the pool's [`in_flight`](super::Pool::in_flight)
    /// limit lets the run have submitted and not yet answered: as many
    /// calls as are worth running at once.
    ///
    /// # Examples
    ///
    /// See [`Caller`].
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

impl<T, U> Clone for Caller<T, U> {
    fn clone(&self) -> Caller<T, U> {
        Caller {
            jobs: self.jobs.clone(),
            calls: Arc::clone(&self.calls),
            order: self.order,
            in_flight: self.in_flight,
        }
    }
}

impl<T, U> std::fmt::Debug for Caller<T, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("order", &self.order)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}
