//! [`Flow::remote_pool`]: Go's worker pool across machines, as a
//! pipeline stage (feature `nats`).

use weir_nats::{Codec, Remote, RemoteError};

use super::flow::Flow;
use super::graph;

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
    /// pipeline: the other jobs go on.
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
        let probe = remote.lag_probe();
        let link = graph::Remote {
            sent_on: remote.pool().jobs_subject().into(),
            back_on: remote.pool().results_subject().into(),
            annotate: Box::new(move |m| m.lag = probe.latest()),
        };
        let flow = self.through("remote_pool", move |scope, jobs| remote.run(scope, jobs));
        flow.shared.graph().set_remote(flow.tail(), link);
        flow
    }
}
