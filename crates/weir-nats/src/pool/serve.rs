//! [`serve`]: the worker side of the distributed pool.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use weir_cancel::Context;

use super::job::JobCx;
use super::runs::{listen_control, Runs};
use super::Pool;
use crate::codec::Codec;
use crate::delivery::AckShared;
use crate::error::Error;
use crate::future::Serve;
use crate::pull::Fetcher;
use crate::source::{acker_for, bind, with_retries, API_TIMEOUT};
/// Runs this process's share of a distributed worker pool:
/// `workers_per_process` jobs at a time, each through `f`, until `ctx` is
/// cancelled — the worker goroutines of Go's worker pool, in a process of
/// their own.
/// Start it in as many processes, on as many machines, as you like; they
/// compete for the pool's jobs. A process holds at most twice
/// `workers_per_process` jobs: the running ones and as many fetched ahead,
/// so a free worker does not wait for a round trip to the server.
///
/// For each job: the payload is decoded; `f` runs under the job's deadline
/// (from the producer); its value is published as the job's result, and
/// only then is the job acked. While `f` runs, in-progress acks keep the
/// job from being redelivered. When `f` returns an error or panics, the
/// job is naked and retried after the pool's backoff, on any worker; on its
/// [`max_deliver`](Pool::max_deliver)-th failure it is dead-lettered and
/// its result is [`RemoteError::Failed`](crate::RemoteError::Failed). A job
/// that does not decode is dead-lettered at once
/// ([`RemoteError::Decode`](crate::RemoteError::Decode)). When its producer
/// cancels the run, `f`'s future is dropped and the job is dropped.
///
/// On `ctx`'s cancellation, running jobs are dropped and given back to the
/// server (naked) for other workers, and `serve` returns `Ok(())`.
///
/// # Cancel safety
///
/// Dropping the future has the same effect as cancelling `ctx`.
///
/// # Errors
///
/// An [`Error`] naming the stage `nats serve <pool>`: at once when
/// `workers_per_process` is 0 or the pool's streams or consumer exist with
/// settings that don't fit; after 30 s of retries when the server does not
/// answer the setup requests.
///
/// # Examples
///
/// See [`Remote`](crate::Remote) for a worker and a producer together.
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_nats::{Error, Pool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// let pool = Pool::new("idle");
/// let ctx = Context::background().with_timeout(Duration::from_millis(100));
/// let idle = weir_nats::serve(&ctx, client.clone(), &pool, 2, |n: u64| async move {
///     Ok::<_, std::io::Error>(n)
/// });
/// assert!(idle.await.is_ok()); // no jobs; stops at the deadline
///
/// let err = weir_nats::serve(&ctx, client, &pool, 0, |n: u64| async move {
///     Ok::<_, std::io::Error>(n)
/// });
/// assert!(matches!(err.await, Err(Error::Misconfigured { .. })));
/// # }
/// ```
pub fn serve<T, U, E, C, F, Fut>(
    ctx: &Context,
    client: async_nats::Client,
    pool: &Pool<C>,
    workers_per_process: usize,
    f: F,
) -> Serve
where
    T: Send + 'static,
    U: Send + 'static,
    E: Display + Send + 'static,
    C: Codec<T> + Codec<U>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
{
    let (ctx, pool) = (ctx.clone(), pool.clone());
    Serve::new(async move { serve_inner(&ctx, client, &pool, workers_per_process, f).await })
}

async fn serve_inner<T, U, E, C, F, Fut>(
    ctx: &Context,
    client: async_nats::Client,
    pool: &Pool<C>,
    workers_per_process: usize,
    f: F,
) -> Result<(), Error>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Display + Send + 'static,
    C: Codec<T> + Codec<U>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
{
    let stage: Arc<str> = format!("nats serve {}", pool.name).into();
    if workers_per_process == 0 {
        return Err(Error::Misconfigured {
            stage,
            what: "workers_per_process must be at least 1".into(),
        });
    }
    let mut js = async_nats::jetstream::new(client.clone());
    js.set_timeout(API_TIMEOUT);
    let (consumer, control) = tokio::select! {
        r = setup(&client, &js, pool, &stage) => r?,
        () = ctx.cancelled() => return Ok(()),
    };
    let shared = AckShared::new(
        client.clone(),
        js.clone(),
        stage.clone(),
        consumer.cached_info().config.max_deliver,
        Some(pool.dead_subject()),
        pool.backoff,
    );
    let runs = Arc::new(Runs::new(client.clone(), js.clone(), pool));
    let job = Arc::new(JobCx {
        f,
        codec: pool.codec.clone(),
        js: js.clone(),
        stage: stage.clone(),
        runs: runs.clone(),
        max_deliver: pool.max_deliver,
        backoff: pool.backoff,
        results: pool.subject("results", ""),
        ctx: ctx.clone(),
    });
    // The helpers end with the jobs' tasks, when this returns.
    let mut tasks = JoinSet::new();
    let period = (pool.ack_wait / 3).max(Duration::from_millis(50));
    tasks.spawn(AckShared::keep_alive(&shared, period));
    tasks.spawn(listen_control(control, runs));
    let fetch = Fetcher::new(consumer, js.clone());
    let result = fetch_jobs(
        ctx,
        fetch,
        &shared,
        pool,
        workers_per_process,
        job,
        &mut tasks,
    )
    .await;
    // Dropping the tasks drops their ackers: the jobs are naked at once.
    tasks.shutdown().await;
    result
}

/// Makes (or checks) the pool's streams and the workers' consumer, and
/// follows the pool's control subjects.
async fn setup<C>(
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    pool: &Pool<C>,
    stage: &Arc<str>,
) -> Result<(PullConsumer, async_nats::Subscriber), Error> {
    let (consumer, control) = with_retries(|| async {
        pool.ensure_streams(js, stage).await?;
        let jobs = pool.stream_name("JOBS");
        js.get_stream(&jobs)
            .await
            .map_err(|e| Error::nats(stage, e))?
            .get_or_create_consumer(Pool::<C>::WORKERS, pool.workers_config())
            .await
            .map_err(|e| Error::nats(stage, e))?;
        let consumer = bind(js, stage, &jobs, Pool::<C>::WORKERS).await?;
        let control = client
            .subscribe(pool.subject("control", "*"))
            .await
            .map_err(|e| Error::nats(stage, e))?;
        Ok::<_, Error>((consumer, control))
    })
    .await?;
    pool.check_workers(&consumer.cached_info().config, stage)?;
    Ok((consumer, control))
}

/// Pulls jobs while there are free slots and hands each to a task, until
/// `ctx` is cancelled.
async fn fetch_jobs<T, U, E, C, F, Fut>(
    ctx: &Context,
    mut fetch: Fetcher,
    shared: &Arc<AckShared>,
    pool: &Pool<C>,
    workers_per_process: usize,
    job: Arc<JobCx<F, C>>,
    tasks: &mut JoinSet<()>,
) -> Result<(), Error>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Display + Send + 'static,
    C: Codec<T> + Codec<U>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
{
    // A job holds a slot from when it is fetched until `f` returns; it runs
    // once it also has a worker. Twice as many slots as workers: the next
    // jobs are already here when a worker frees up (one pull request per
    // `workers` jobs, not per job), and at most `workers` jobs wait here
    // while another process might have run them.
    let permits = Arc::new(Semaphore::new(workers_per_process * 2));
    let workers = Arc::new(Semaphore::new(workers_per_process));
    let mut stop = std::pin::pin!(ctx.cancelled());
    while !ctx.is_cancelled() {
        let first = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(|e| Error::nats(&job.stage, e))?,
            () = stop.as_mut() => break,
        };
        let mut held = vec![first];
        while held.len() < pool.batch {
            match permits.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        let Some(mut batch) = fetch.next_batch(held.len(), stop.as_mut()).await else {
            break;
        };
        loop {
            let msg = tokio::select! {
                m = batch.next() => m,
                () = stop.as_mut() => None,
            };
            let Some(msg) = msg else { break };
            let Some(acker) = acker_for(shared, msg) else {
                continue;
            };
            let Some(permit) = held.pop() else { break };
            let (job, workers) = (job.clone(), workers.clone());
            tasks.spawn(async move {
                let Ok(worker) = workers.acquire_owned().await else {
                    return;
                };
                job.handle(acker, (permit, worker)).await;
            });
            // Reap finished tasks so the set stays small.
            while tasks.try_join_next().is_some() {}
        }
    }
    Ok(())
}
