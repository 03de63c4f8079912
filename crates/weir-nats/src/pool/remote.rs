//! [`Remote`]: the producer's side of the distributed pool, as a stage.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::consumer::pull;
use async_nats::HeaderMap;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::{ConfigError, Scope};

use super::{LagProbe, Pool, H_ATTEMPTS, H_DEADLINE, H_JOB, H_RUN, H_STATUS};
use crate::delivery::{AckShared, Acker, NakBackoff};
use crate::pull::Fetcher;
use crate::source::{acker_for, bind, with_retries, API_TIMEOUT};
use crate::window::{Outgoing, Window};
use crate::{Codec, Error, RemoteError};

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
///   result whose job it already output.
/// * **Bounded**: at most [`Pool::in_flight`] jobs are submitted and not
///   yet output; a slow pool slows the input down.
/// * **Context**: the scope's deadline (and [`job_timeout`](Remote::job_timeout))
///   travels with each job as a header; workers run the job under it and a
///   job past it yields [`RemoteError::DeadlineExceeded`]. When the scope
///   is cancelled (or the stage dropped), the run's queued jobs are purged
///   and a cancel message on the pool's control subject makes workers drop
///   the run's running jobs.
///
/// Use it with [`run`](Remote::run) under a [`Scope`], or in a `weir`
/// pipeline with `flow.remote_pool(remote)` (the facade's `nats` feature),
/// which also shows the pool's subjects and [lag](Remote::lag_probe) in the
/// pipeline's metrics and graphs.
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
    pool: Pool<C>,
    client: async_nats::Client,
    order: Order,
    job_timeout: Option<Duration>,
    lag: LagProbe,
    lag_every: Duration,
    _types: PhantomData<fn(T) -> U>,
}

impl<T, U, C: std::fmt::Debug> std::fmt::Debug for Remote<T, U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("pool", &self.pool)
            .field("order", &self.order)
            .field("job_timeout", &self.job_timeout)
            .field("lag_every", &self.lag_every)
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
            _types: PhantomData,
        }
    }
}

/// What the stage learnt about one job.
type Outcome<U> = Result<U, RemoteError>;

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
    /// never later than the scope's deadline).
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

    /// How often the running stage samples the pool's consumer lag into
    /// its [`lag_probe`](Remote::lag_probe) (at least every 10 ms; 1 s by
    /// default). Each sample is a few JetStream API requests.
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

    /// Spawns the stage under `scope`, reading jobs from `input`.
    ///
    /// # Errors
    ///
    /// Never a [`ConfigError`] today (the pool's settings are clamped to
    /// valid values); at run time the stage fails through the scope with an
    /// [`Error`] naming it: a pool name that is not a valid stream name,
    /// a stream that exists with another retention, a job that does not
    /// encode, or a server away for more than 30 s.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// See [`Remote`].
    pub fn run(
        self,
        scope: &Scope,
        input: Receiver<T>,
    ) -> Result<Receiver<Outcome<U>>, ConfigError> {
        let (tx, rx) = chan::bounded(self.pool.batch);
        let deadline = scope.context().deadline();
        scope.spawn(self.pump(input, tx, deadline));
        Ok(rx)
    }

    async fn pump(
        self,
        input: Receiver<T>,
        tx: Sender<Outcome<U>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), Error> {
        let pool = &self.pool;
        let stage: Arc<str> = format!("nats remote_pool {}", pool.name).into();
        let mut js = async_nats::jetstream::new(self.client.clone());
        js.set_timeout(API_TIMEOUT);
        with_retries(|| pool.ensure_streams(&js, &stage)).await?;
        let run = self
            .client
            .new_inbox()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let results_consumer = format!("r-{run}");
        let results_stream = pool.stream_name("RESULTS");
        let mut guard = Cleanup {
            client: self.client.clone(),
            js: js.clone(),
            jobs_stream: pool.stream_name("JOBS"),
            results_stream: results_stream.clone(),
            jobs_subject: pool.subject("jobs", &run),
            results_subject: pool.subject("results", &run),
            control_subject: pool.subject("control", &run),
            consumer: results_consumer.clone(),
            finished: false,
        };
        let results_subject = guard.results_subject.clone();
        let consumer = with_retries(|| async {
            js.get_stream(&results_stream)
                .await
                .map_err(|e| Error::nats(&stage, e))?
                .get_or_create_consumer(
                    &results_consumer,
                    pull::Config {
                        durable_name: Some(results_consumer.clone()),
                        filter_subject: results_subject.clone(),
                        ack_wait: Duration::from_secs(30),
                        inactive_threshold: Duration::from_secs(3600),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| Error::nats(&stage, e))?;
            bind(&js, &stage, &results_stream, &results_consumer).await
        })
        .await?;
        let shared = AckShared::new(
            self.client.clone(),
            js.clone(),
            stage.clone(),
            -1,
            None,
            NakBackoff::default(),
        );

        // The result reader: its own task, so that a pull request is never
        // dropped half-way by the select below.
        let (res_tx, res_rx) = chan::bounded::<(u64, Outcome<U>, Acker)>(pool.batch);
        let reader = tokio::spawn(read_results(
            Fetcher::new(consumer, js.clone()),
            shared,
            pool.codec.clone(),
            pool.batch,
            res_tx,
        ));
        let _reader = AbortOnDrop(reader);
        let lag_names = (pool.stream_name("JOBS"), pool.stream_name("DEAD"));
        let sampler = tokio::spawn(sample_lag(
            pool.name.clone(),
            self.client.clone(),
            lag_names.clone(),
            self.lag.clone(),
            self.lag_every,
        ));
        let sampler = AbortOnDrop(sampler);

        let mut window: Window<u64> =
            Window::new(js.clone(), stage.clone(), pool.in_flight.min(256));
        let mut next_job: u64 = 0;
        let mut next_out: u64 = 0;
        let mut outputs: u64 = 0;
        let mut pending: HashSet<u64> = HashSet::new();
        let mut ready: BTreeMap<u64, Outcome<U>> = BTreeMap::new();
        let mut open = true;
        loop {
            let in_flight = next_job - outputs;
            if !open && pending.is_empty() && ready.is_empty() && window.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                result = res_rx.recv() => {
                    let Some((job, outcome, acker)) = result else {
                        return Err(Error::nats(&stage, "result reader stopped"));
                    };
                    if pending.remove(&job) {
                        match self.order {
                            Order::Completion => {
                                outputs += 1;
                                if tx.send(outcome).await.is_err() {
                                    return Ok(());
                                }
                            }
                            Order::Input => {
                                ready.insert(job, outcome);
                                while let Some(outcome) = ready.remove(&next_out) {
                                    next_out += 1;
                                    outputs += 1;
                                    if tx.send(outcome).await.is_err() {
                                        return Ok(());
                                    }
                                }
                            }
                        }
                    }
                    let _ = acker.ack().await;
                }
                done = window.next(), if !window.is_empty() => {
                    if let Some(done) = done {
                        done?;
                    }
                }
                item = input.recv(), if open && !window.is_full() && in_flight < pool.in_flight as u64 => {
                    let Some(item) = item else {
                        open = false;
                        continue;
                    };
                    let payload = pool.codec.encode(&item).map_err(|source| Error::Codec {
                        stage: stage.clone(),
                        source,
                    })?;
                    let job = next_job;
                    next_job += 1;
                    pending.insert(job);
                    let mut headers = HeaderMap::new();
                    headers.insert(H_JOB, job.to_string());
                    headers.insert(H_RUN, run.as_str());
                    headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{run}.{job}"));
                    let job_deadline = match (deadline, self.job_timeout) {
                        (Some(d), Some(t)) => Some(d.min(tokio::time::Instant::now() + t)),
                        (Some(d), None) => Some(d),
                        (None, Some(t)) => Some(tokio::time::Instant::now() + t),
                        (None, None) => None,
                    };
                    if let Some(d) = job_deadline {
                        headers.insert(H_DEADLINE, unix_millis(d).to_string());
                    }
                    let msg = Outgoing { subject: guard.jobs_subject.clone(), headers, payload };
                    window.send(job, msg).await?;
                }
            }
        }
        // A last lag sample, so that a finished run's metrics show the
        // pool as it was left (bounded: the server may be away).
        drop(sampler);
        let last = super::lag(pool.name.clone(), self.client.clone(), lag_names);
        if let Ok(Ok(lag)) = tokio::time::timeout(Duration::from_secs(1), last).await {
            self.lag.set(lag);
        }
        guard.finished = true;
        guard.finish(false).await;
        Ok(())
    }
}

/// Samples the pool's lag into `probe` every `every`, for as long as the
/// stage runs (it aborts this task when it ends).
async fn sample_lag(
    name: String,
    client: async_nats::Client,
    names: (String, String),
    probe: LagProbe,
    every: Duration,
) {
    loop {
        if let Ok(lag) = super::lag(name.clone(), client.clone(), names.clone()).await {
            probe.set(lag);
        }
        tokio::time::sleep(every).await;
    }
}

/// Reads the run's results, hands them to the stage (with their ack) until
/// the stage drops its receiver.
async fn read_results<U, C: Codec<U>>(
    mut fetch: Fetcher,
    shared: Arc<AckShared>,
    codec: C,
    batch: usize,
    tx: Sender<(u64, Outcome<U>, Acker)>,
) {
    let mut closed = std::pin::pin!(tx.closed());
    loop {
        let Some(mut messages) = fetch.next_batch(batch, closed.as_mut()).await else {
            return;
        };
        while let Some(msg) = messages.next().await {
            let Some(acker) = acker_for(&shared, msg) else {
                continue;
            };
            let header = |name: &str| {
                acker
                    .headers()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_owned())
            };
            let Some(job) = header(H_JOB).and_then(|j| j.parse::<u64>().ok()) else {
                let _ = acker.ack().await;
                continue;
            };
            let attempts = header(H_ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0);
            let text = || String::from_utf8_lossy(&acker.raw_payload()).into_owned();
            let outcome = match header(H_STATUS).as_deref() {
                Some("ok") => codec
                    .decode(&acker.raw_payload())
                    .map_err(|e| RemoteError::Decode(format!("result: {e}"))),
                Some("failed") => Err(RemoteError::Failed {
                    message: text(),
                    attempts,
                }),
                Some("lost") => Err(RemoteError::Lost { attempts }),
                Some("deadline") => Err(RemoteError::DeadlineExceeded),
                Some("decode") => Err(RemoteError::Decode(text())),
                other => Err(RemoteError::Decode(format!(
                    "unknown result status {other:?}"
                ))),
            };
            if tx.send((job, outcome, acker)).await.is_err() {
                return;
            }
        }
    }
}

/// Wall-clock Unix milliseconds of a tokio instant (deadlines cross
/// machines as wall-clock time: clocks must be roughly in sync).
pub(crate) fn unix_millis(at: tokio::time::Instant) -> u64 {
    let now = tokio::time::Instant::now();
    let wall = if at >= now {
        SystemTime::now() + (at - now)
    } else {
        SystemTime::now() - (now - at)
    };
    wall.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tidies a run away: on success its consumer and leftovers; on cancel (a
/// drop before `finished`) also its queued jobs, and tells workers to drop
/// its running ones.
struct Cleanup {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    jobs_stream: String,
    results_stream: String,
    jobs_subject: String,
    results_subject: String,
    control_subject: String,
    consumer: String,
    finished: bool,
}

impl Cleanup {
    async fn finish(&self, cancelled: bool) {
        if cancelled {
            let _ = self
                .client
                .publish(self.control_subject.clone(), "cancel".into())
                .await;
            let _ = self.client.flush().await;
            if let Ok(jobs) = self.js.get_stream(&self.jobs_stream).await {
                let _ = jobs.purge().filter(self.jobs_subject.clone()).await;
            }
            // Jobs that were running when the purge came: tell again.
            let _ = self
                .client
                .publish(self.control_subject.clone(), "cancel".into())
                .await;
            let _ = self.client.flush().await;
        }
        if let Ok(results) = self.js.get_stream(&self.results_stream).await {
            let _ = results.delete_consumer(&self.consumer).await;
            let _ = results.purge().filter(self.results_subject.clone()).await;
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let this = Cleanup {
            client: self.client.clone(),
            js: self.js.clone(),
            jobs_stream: std::mem::take(&mut self.jobs_stream),
            results_stream: std::mem::take(&mut self.results_stream),
            jobs_subject: std::mem::take(&mut self.jobs_subject),
            results_subject: std::mem::take(&mut self.results_subject),
            control_subject: std::mem::take(&mut self.control_subject),
            consumer: std::mem::take(&mut self.consumer),
            finished: true,
        };
        self.finished = true;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            // Bounded: a server that is away does not keep this alive.
            handle.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), this.finish(true)).await;
            });
        }
    }
}
