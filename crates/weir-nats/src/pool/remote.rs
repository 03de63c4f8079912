//! [`Remote`]: the producer's side of the distributed pool, as a stage.

use std::marker::PhantomData;
use std::time::Duration;

use super::{LagProbe, Pool};
use crate::codec::Codec;

/// In which order a [`Remote`] outputs results.
///
/// # Examples
///
/// ```
/// use weir_nats::{Order, Pool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// # let client = weir_nats::connect(&server.url()).await.unwrap();
/// let remote = Pool::new("p").remote::<u64, u64>(client).order(Order::Input);
/// # drop(remote);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// As workers finish them (the default): lowest latency.
    #[default]
    Completion,
    /// In input order: a result waits for all earlier ones (at most
    /// [`Pool::in_flight`] are held).
    Input,
}

/// The producer's side of a distributed worker pool: a stage that sends
/// each input item as a job to the pool's workers (processes running
/// [`serve`](crate::serve), anywhere) and outputs each job's
/// `Result<U, RemoteError>` exactly once — Go's worker pool (a `processJobs`
/// function with n worker goroutines), across machines.
///
/// * **Exactly once**: jobs are delivered at least once (a crashed worker's
///   job is redelivered after `ack_wait`, a failed one after a backoff),
///   and results are deduplicated by job id: the stream's duplicate window
///   drops a second result for the same job, and the stage drops any
///   result whose job it already output. A result is taken only for a job
///   this run sent, with that job's nonce (see the module docs); anything
///   else is counted ([`LagProbe::mismatched_results`]) and dropped.
/// * **Bounded**: at most [`Pool::in_flight`] jobs are submitted and not
///   yet output; a slow pool slows the input down.
/// * **Context**: the scope's deadline (and [`job_timeout`](Remote::job_timeout))
///   travels with each job as a header; workers run the job under it and a
///   job past it yields [`RemoteError::DeadlineExceeded`](crate::RemoteError::DeadlineExceeded). When the scope
///   is cancelled (or the stage dropped), a cancel message on the pool's
///   control subject makes workers drop the run's running jobs and skip
///   its queued ones.
/// * **Lease**: while the stage runs it renews its run's lease every
///   second; if its process dies, workers stop serving the run within 5 s
///   and tidy its results away.
///
/// Use it with [`run`](Remote::run) under a [`Scope`](weir_stage::Scope), or in a `weir`
/// pipeline with `flow.remote_pool(remote)` (the facade's `nats` feature),
/// which also shows the pool's subjects and [lag](Remote::lag_probe) in the
/// pipeline's metrics and graphs. [`caller`](Remote::caller) runs it job by
/// job instead (a [`Caller`](crate::Caller)): what `weir`'s
/// `flow.timeout(d).remote_pool(remote)` uses to put each job under a
/// per-attempt timeout, retries and an error policy.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_nats::Pool;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let pool = Pool::new("squares").memory();
/// let ctx = Context::background();
///
/// // A worker (usually another process, on another machine).
/// let worker_client = weir_nats::connect(&server.url()).await.unwrap();
/// let (worker_ctx, stop) = ctx.with_cancel();
/// let worker = tokio::spawn({
///     let pool = pool.clone();
///     async move {
///         weir_nats::serve(&worker_ctx, worker_client, &pool, 4, |n: u64| async move {
///             Ok::<_, std::io::Error>(n * n)
///         })
///         .await
///     }
/// });
///
/// // The producer.
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// let scope = Scope::new(&ctx);
/// let jobs = stage::generate(&scope, 1..=10u64);
/// let results = pool.remote::<u64, u64>(client).run(&scope, jobs).unwrap();
/// let sum = stage::fold(&scope, results, 0, |sum, r| sum + r.unwrap());
/// scope.wait().await.unwrap();
/// assert_eq!(sum.await.unwrap(), 385);
///
/// stop.cancel();
/// worker.await.unwrap().unwrap();
/// # }
/// ```
pub struct Remote<T, U, C> {
    pub(super) pool: Pool<C>,
    pub(super) client: async_nats::Client,
    pub(super) order: Order,
    pub(super) job_timeout: Option<Duration>,
    pub(super) lag: LagProbe,
    pub(super) lag_every: Duration,
    pub(super) no_worker_after: Option<Duration>,
    _types: PhantomData<fn(T) -> U>,
}

impl<T, U, C: std::fmt::Debug> std::fmt::Debug for Remote<T, U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("pool", &self.pool)
            .field("order", &self.order)
            .field("job_timeout", &self.job_timeout)
            .field("lag_every", &self.lag_every)
            .field("no_worker_after", &self.no_worker_after)
            .finish_non_exhaustive()
    }
}

impl<C: Clone> Pool<C> {
    /// The producer's stage for this pool: see [`Remote`].
    ///
    /// # Examples
    ///
    /// See [`Remote`].
    pub fn remote<T, U>(&self, client: async_nats::Client) -> Remote<T, U, C>
    where
        T: Send + 'static,
        U: Send + 'static,
        C: Codec<T> + Codec<U>,
    {
        Remote {
            pool: self.clone(),
            client,
            order: Order::Completion,
            job_timeout: None,
            lag: LagProbe::new(),
            lag_every: Duration::from_secs(1),
            no_worker_after: Some(NO_WORKER_AFTER),
            _types: PhantomData,
        }
    }
}

/// The default of [`Remote::no_worker_after`].
const NO_WORKER_AFTER: Duration = Duration::from_secs(10);

impl<T, U, C> Remote<T, U, C>
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    /// The order of the output: see [`Order`].
    ///
    /// # Examples
    ///
    /// See [`Order`].
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Each job's deadline is at most `timeout` after it is submitted (and
    /// never later than the scope's deadline): the per-item timeout of a
    /// remote stage, enforced by the workers (for the producer's own
    /// bound on waiting, whatever the workers do, see `weir`'s
    /// `flow.timeout(d).remote_pool(remote)`). A job past it comes out as
    /// [`RemoteError::DeadlineExceeded`](crate::RemoteError::DeadlineExceeded)
    /// (the worker's retries are the pool's `max_deliver`), and the stage
    /// counts it in its `timeouts` (the `weir` metrics, the graph exports
    /// and `weir_stage_timeouts_total`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// use std::time::Duration;
    /// let remote = weir_nats::Pool::new("p")
    ///     .remote::<u64, u64>(client)
    ///     .job_timeout(Duration::from_secs(2));
    /// # drop(remote);
    /// # }
    /// ```
    pub fn job_timeout(mut self, timeout: Duration) -> Self {
        self.job_timeout = Some(timeout);
        self
    }

    /// Fail the stage with [`Error::NoWorkers`](crate::Error::NoWorkers)
    /// when it has jobs waiting and, for `after`, the server has answered
    /// that no worker is there: no pull request waiting and no job held by
    /// a worker (10 s by default; `None` waits for workers for ever).
    /// Time the server is away does not count.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let remote = weir_nats::Pool::new("nobody")
    ///     .memory()
    ///     .remote::<u64, u64>(client)
    ///     .no_worker_after(Some(Duration::from_millis(300)));
    /// let scope = Scope::new(&Context::background());
    /// let results = remote.run(&scope, stage::generate(&scope, 0..3u64)).unwrap();
    /// let _sink = stage::for_each(&scope, results, |_| {});
    /// let err = scope.wait().await.unwrap_err();
    /// let cause = std::error::Error::source(&err).unwrap().to_string();
    /// assert!(cause.contains("no worker has pulled from pool `nobody`"), "{cause}");
    /// # }
    /// ```
    pub fn no_worker_after(mut self, after: Option<Duration>) -> Self {
        self.no_worker_after = after;
        self
    }

    /// How often the running stage samples the pool's consumer lag into
    /// its [`lag_probe`](Remote::lag_probe) (at least every 10 ms; 1 s by
    /// default; at least every second while a
    /// [`no_worker_after`](Remote::no_worker_after) bound is set). Each
    /// sample is a few JetStream API requests.
    ///
    /// # Examples
    ///
    /// See [`lag_probe`](Remote::lag_probe).
    pub fn lag_every(mut self, every: Duration) -> Self {
        self.lag_every = every.max(Duration::from_millis(10));
        self
    }

    /// The pool's consumer lag as this stage last sampled it (when it
    /// starts, every [`lag_every`](Remote::lag_every) while it runs, and
    /// when it ends): a handle to read it while the stage runs and after.
    /// A `weir` pipeline shows it in the remote stage's metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_nats::Pool;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "multi_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let url = server.url();
    /// let pool = Pool::new("probed").memory();
    /// let (ctx, stop_workers) = Context::background().with_cancel();
    /// let worker = tokio::spawn({
    ///     let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
    ///     async move { weir_nats::serve(&ctx, client, &pool, 2, |n: u64| async move { Ok::<_, std::io::Error>(n) }).await }
    /// });
    ///
    /// let remote = pool
    ///     .remote::<u64, u64>(weir_nats::connect(&url).await.unwrap())
    ///     .lag_every(Duration::from_millis(100));
    /// let probe = remote.lag_probe();
    /// let scope = Scope::new(&Context::background());
    /// let results = remote.run(&scope, stage::generate(&scope, 0..10u64)).unwrap();
    /// let n = stage::count(&scope, results);
    /// scope.wait().await.unwrap();
    /// assert_eq!(n.await.unwrap(), 10);
    /// let lag = probe.latest().expect("sampled when the stage ended");
    /// assert_eq!(lag.dead_lettered, 0);
    /// stop_workers.cancel();
    /// worker.await.unwrap().unwrap();
    /// # }
    /// ```
    pub fn lag_probe(&self) -> LagProbe {
        self.lag.clone()
    }

    /// The pool this stage sends its jobs to.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let remote = weir_nats::Pool::new("p").remote::<u64, u64>(client);
    /// assert_eq!(remote.pool().name(), "p");
    /// # }
    /// ```
    pub fn pool(&self) -> &Pool<C> {
        &self.pool
    }
}
