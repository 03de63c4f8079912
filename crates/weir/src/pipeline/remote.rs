//! [`Flow::remote_pool`]: Go's worker pool across machines, as a
//! pipeline stage (feature `nats`).

use weir_nats::{Codec, Order, Remote, RemoteError};

use super::flow::Flow;
use super::graph;
use super::recover::{refusal, refuse, Guarded};

impl<T: Send + 'static> Flow<T> {
    /// Sends every item as a job to a distributed worker pool — worker
    /// processes running [`weir_nats::serve`], on any machine — and sends on
    /// each job's `Result<U, RemoteError>`, exactly once: Go's worker pool
    /// (a `processJobs` function with n worker goroutines), across machines,
    /// on NATS JetStream.
    ///
    /// `remote` is the producer's side of the pool, from
    /// [`Pool::remote`](weir_nats::Pool::remote): it says which pool, the
    /// codec, and the order of the output — as workers finish
    /// ([`Order::Completion`](weir_nats::Order::Completion), the default) or
    /// in input order ([`Order::Input`](weir_nats::Order::Input), through a
    /// reorder buffer of at most [`Pool::in_flight`](weir_nats::Pool::in_flight)
    /// results). A job that fails on every attempt, whose workers keep
    /// being lost, that does not decode or that runs past its deadline
    /// comes out as an `Err` ([`RemoteError`]) rather than failing the
    /// pipeline: the other jobs go on. For a per-item timeout, retries and
    /// an error policy on weir's side instead, see
    /// [`Guarded::remote_pool`] (`flow.timeout(d).remote_pool(remote)`).
    ///
    /// The stage takes part in the pipeline like any other: it can be
    /// [`named`](Flow::named); its items are counted in
    /// [`metrics`](super::GraphView::metrics), which also carry the pool's
    /// consumer lag ([`StageMetrics::lag`](super::StageMetrics::lag):
    /// pending, ack-pending, redelivered, dead-lettered, sampled from the
    /// server every second or every
    /// [`lag_every`](weir_nats::Remote::lag_every)); in
    /// [`to_mermaid`](super::GraphView::to_mermaid) and
    /// [`to_dot`](super::GraphView::to_dot) its input edge is labelled with
    /// the jobs subject and its output edge with the results subject. The
    /// pipeline's [`Context`](weir_cancel::Context) travels with every job:
    /// its deadline as a header (workers run the job under it), its
    /// cancellation as a message to the workers.
    ///
    /// # Cancel safety
    ///
    /// [`Pipeline::shutdown`](super::Pipeline::shutdown) (or a drain
    /// deadline) stops the sources; the jobs already sent still finish and
    /// their results come out, then the stage ends. When the pipeline is
    /// cancelled — [`Pipeline::cancel`](super::Pipeline::cancel), its
    /// context's deadline, another stage's error, or the sink's future
    /// dropped — the stage stops at once: the workers drop the run's
    /// running jobs and skip its queued ones. Jobs are
    /// delivered to workers at least once (a job whose worker crashed is
    /// run again elsewhere), so the function the workers run should be
    /// idempotent.
    ///
    /// # Errors
    ///
    /// Per job: an `Err(RemoteError)` item (see above). The stage itself
    /// fails the pipeline with an error naming it (a
    /// [`weir_nats::Error`] as the source of
    /// [`Error::Failed`](weir_stage::Error::Failed)) when the pool's name is
    /// not a valid stream name, a stream of the pool exists with other
    /// settings, a job does not encode, or the server stays away for more
    /// than 30 s.
    ///
    /// # Examples
    ///
    /// A producer whose jobs run on worker processes elsewhere (this
    /// example needs a server with JetStream: `nats-server -js`; see
    /// `examples/distributed_pool.rs` for a runnable one):
    ///
    /// ```no_run
    /// use weir::cancel::Context;
    /// use weir::nats::{self, Order, Pool};
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // On each worker machine:
    /// //     nats::serve(&ctx, client, &Pool::new("squares"), 8, |n: u64| async move {
    /// //         Ok::<_, std::io::Error>(n * n)
    /// //     }).await?;
    /// let client = nats::connect("nats://127.0.0.1:4222").await?;
    /// let pool = Pool::new("squares");
    /// let p = Pipeline::new(&Context::background());
    /// let squares = p
    ///     .source(1..=1_000u64)
    ///     .remote_pool(pool.remote::<u64, u64>(client).order(Order::Input))
    ///     .named("squares")
    ///     .collect::<Vec<_>>()
    ///     .await?;
    /// for (n, square) in (1..).zip(squares) {
    ///     assert_eq!(square?, n * n);
    /// }
    /// println!("{}", p.metrics()); // the `squares` stage: in 1000 / out 1000
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
    pub fn remote_pool<U, C>(self, remote: Remote<T, U, C>) -> Flow<Result<U, RemoteError>>
    where
        U: Send + 'static,
        C: Codec<T> + Codec<U>,
    {
        let link = link(&remote);
        let flow = self.through("remote_pool", move |scope, jobs| remote.run(scope, jobs));
        flow.shared.graph().set_remote(flow.tail(), link);
        flow
    }
}

/// # A remote pool under a recovery
///
/// [`remote_pool`](Guarded::remote_pool): the distributed worker pool with
/// weir's per-item timeout, retries and error policy.
impl<T: Send + 'static> Guarded<T> {
    /// [`Flow::remote_pool`] under this recovery: each item is a job for
    /// the distributed pool's workers, and each job's `Err`
    /// ([`RemoteError`]) is a failure like a `then` job's — retried per
    /// [`retry`](Guarded::retry) (each attempt is a new job) and then
    /// handed to the [`on_error`](Guarded::on_error) policy (by default it
    /// fails the pipeline naming the stage; or skip it, or dead-letter the
    /// item). The output is the jobs' values, as workers finish them
    /// ([`Order::Completion`]) or in input order ([`Order::Input`]).
    ///
    /// **The per-item timeout.** With [`timeout(d)`](Flow::timeout), an
    /// attempt whose answer has not come within `d` of being called — a
    /// worker that hangs, crashed or is cut off, a pool with no free
    /// worker (or, under an adaptive
    /// [`in_flight`](weir_nats::Pool::in_flight) limit, a job still waiting
    /// for a place in the window) — is given up on by this producer: it fails with
    /// [`TimedOut`](weir_stage::TimedOut) naming the stage (the error
    /// every guarded stage's timeout is), counted in the stage's
    /// [`timeouts`](super::StageMetrics::timeouts), and goes through the
    /// retries and the policy; its answer, if one comes later, is dropped.
    /// The worker is not told: the abandoned job runs on until it ends,
    /// until its own deadline, or until the run ends.
    /// [`Remote::job_timeout`] is that deadline: it travels with each job
    /// and workers stop the job at it, answering
    /// [`RemoteError::DeadlineExceeded`] (also counted in `timeouts`, and
    /// a failure like any other here). Keep both: `.timeout(d)` for the
    /// producer's bound on waiting, whatever the workers do, and
    /// `job_timeout` (at most `d`) so that workers drop what the producer
    /// gave up on.
    ///
    /// Up to [`Pool::in_flight`](weir_nats::Pool::in_flight) jobs are out
    /// at once. The pool's subjects, lag and counts show in the metrics
    /// and graphs as [`Flow::remote_pool`]'s do.
    ///
    /// # Cancel safety
    ///
    /// As [`Flow::remote_pool`]'s: a graceful stop lets the jobs sent
    /// finish; cancelling the pipeline stops the stage and tells the
    /// workers.
    ///
    /// # Errors
    ///
    /// A zero timeout or 0 attempts is a
    /// [`ConfigError`](weir_stage::ConfigError) naming the stage, returned
    /// by the sink before anything runs. Under
    /// [`Policy::fail`](weir_stage::Policy::fail), a job that failed for
    /// good fails the pipeline naming this stage; the stage also fails it
    /// as [`Flow::remote_pool`] does (a bad pool, a server away for long,
    /// no workers).
    ///
    /// # Examples
    ///
    /// A pool whose worker may hang: each job gets two seconds per
    /// attempt, two attempts, and a job that failed for good is skipped
    /// (this example needs a server with JetStream: `nats-server -js`):
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::nats::{self, Pool};
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, Policy};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = nats::connect("nats://127.0.0.1:4222").await?;
    /// let remote = Pool::new("squares")
    ///     .remote::<u64, u64>(client)
    ///     .job_timeout(Duration::from_secs(2)); // workers drop what we give up on
    /// let p = Pipeline::new(&Context::background());
    /// let squares = p
    ///     .source(1..=1_000u64)
    ///     .timeout(Duration::from_secs(2))
    ///     .retry(2, Backoff::fixed(Duration::from_millis(100)))
    ///     .on_error(Policy::skip())
    ///     .remote_pool(remote)
    ///     .named("squares")
    ///     .collect::<Vec<_>>()
    ///     .await?;
    /// let stage = p.metrics().stages.into_iter().find(|s| s.name == "squares").unwrap();
    /// assert_eq!(squares.len() as u64 + stage.skipped, 1_000);
    /// println!("{} timed out, {} skipped", stage.timeouts, stage.skipped);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
    pub fn remote_pool<U, C>(self, remote: Remote<T, U, C>) -> Flow<U>
    where
        U: Send + 'static,
        C: Codec<T> + Codec<U>,
    {
        let (flow, recovery) = self.into_parts();
        let shared = flow.shared.clone();
        let refused = refusal(&recovery);
        let link = link(&remote);
        let flow = flow.through("remote_pool", move |scope, jobs| {
            let caller = remote.caller(scope)?;
            let (order, n) = (caller.order(), caller.in_flight());
            let call = move |item| caller.call(item);
            match order {
                Order::Input => weir_stage::try_map_concurrent(scope, jobs, n, recovery, call),
                _ => weir_stage::try_map_unordered(scope, jobs, n, recovery, call),
            }
        });
        flow.shared.graph().set_remote(flow.tail(), link);
        refuse(&shared, flow.tail(), refused);
        flow
    }
}

/// The remote stage's subjects and lag, for the graph and the metrics.
fn link<T, U, C>(remote: &Remote<T, U, C>) -> graph::Remote
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    let probe = remote.lag_probe();
    graph::Remote {
        sent_on: remote.pool().jobs_subject().into(),
        back_on: remote.pool().results_subject().into(),
        annotate: Box::new(move |m| m.lag = probe.latest()),
    }
}
