//! [`serve`]: the worker side of the distributed pool.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use futures::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use weir_cancel::{CancelHandle, Context, ContextError};

use super::{Pool, H_ATTEMPTS, H_DEADLINE, H_JOB, H_NONCE, H_RUN, H_STATUS};
use crate::delivery::{AckShared, Acker, NakBackoff};
use crate::future::Serve;
use crate::pull::Fetcher;
use crate::source::{acker_for, bind, with_retries, API_TIMEOUT};
use crate::window::{Outgoing, Window};
use crate::{Codec, Error};

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
    let setup = with_retries(|| async {
        pool.ensure_streams(&js, &stage).await?;
        let jobs = pool.stream_name("JOBS");
        js.get_stream(&jobs)
            .await
            .map_err(|e| Error::nats(&stage, e))?
            .get_or_create_consumer(Pool::<C>::WORKERS, pool.workers_config())
            .await
            .map_err(|e| Error::nats(&stage, e))?;
        let consumer = bind(&js, &stage, &jobs, Pool::<C>::WORKERS).await?;
        let control = client
            .subscribe(pool.subject("control", "*"))
            .await
            .map_err(|e| Error::nats(&stage, e))?;
        Ok::<_, Error>((consumer, control))
    });
    let (consumer, control) = tokio::select! {
        r = setup => r?,
        () = ctx.cancelled() => return Ok(()),
    };
    pool.check_workers(&consumer.cached_info().config, &stage)?;

    let shared = AckShared::new(
        client.clone(),
        js.clone(),
        stage.clone(),
        consumer.cached_info().config.max_deliver,
        Some(pool.dead_subject()),
        pool.backoff,
    );
    AckShared::keep_alive(&shared, (pool.ack_wait / 3).max(Duration::from_millis(50)));
    let runs = Arc::new(Runs::default());
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

    let mut tasks = JoinSet::new();
    tasks.spawn(listen_control(control, runs));
    // A job holds a slot from when it is fetched until `f` returns; it runs
    // once it also has a worker. Twice as many slots as workers: the next
    // jobs are already here when a worker frees up (one pull request per
    // `workers` jobs, not per job), and at most `workers` jobs wait here
    // while another process might have run them.
    let permits = Arc::new(Semaphore::new(workers_per_process * 2));
    let workers = Arc::new(Semaphore::new(workers_per_process));
    let mut fetch = Fetcher::new(consumer, js.clone());
    let mut stop = std::pin::pin!(ctx.cancelled());
    loop {
        let first = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(|e| Error::nats(&stage, e))?,
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
            let Some(acker) = acker_for(&shared, msg) else {
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
        if ctx.is_cancelled() {
            break;
        }
    }
    // Dropping the tasks drops their ackers: the jobs are naked at once.
    tasks.shutdown().await;
    Ok(())
}

/// Runs cancelled by their producers, and the jobs running for each run.
#[derive(Default)]
struct Runs {
    inner: Mutex<RunsInner>,
}

#[derive(Default)]
struct RunsInner {
    cancelled: HashSet<String>,
    order: VecDeque<String>,
    running: HashMap<String, HashMap<u64, CancelHandle>>,
}

/// Cancelled runs remembered (oldest forgotten first).
const REMEMBERED: usize = 4096;

impl Runs {
    fn lock(&self) -> std::sync::MutexGuard<'_, RunsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cancel(&self, run: &str) {
        let mut inner = self.lock();
        if inner.cancelled.insert(run.to_owned()) {
            inner.order.push_back(run.to_owned());
            if inner.order.len() > REMEMBERED {
                if let Some(old) = inner.order.pop_front() {
                    inner.cancelled.remove(&old);
                }
            }
        }
        if let Some(jobs) = inner.running.remove(run) {
            for handle in jobs.values() {
                handle.cancel();
            }
        }
    }

    fn is_cancelled(&self, run: &str) -> bool {
        self.lock().cancelled.contains(run)
    }

    /// Registers a running job; `false` if its run is already cancelled.
    fn start(&self, run: &str, job: u64, handle: CancelHandle) -> bool {
        let mut inner = self.lock();
        if inner.cancelled.contains(run) {
            return false;
        }
        inner
            .running
            .entry(run.to_owned())
            .or_default()
            .insert(job, handle);
        true
    }

    fn end(&self, run: &str, job: u64) {
        let mut inner = self.lock();
        if let Some(jobs) = inner.running.get_mut(run) {
            jobs.remove(&job);
            if jobs.is_empty() {
                inner.running.remove(run);
            }
        }
    }
}

async fn listen_control(mut control: async_nats::Subscriber, runs: Arc<Runs>) {
    while let Some(msg) = control.next().await {
        if &msg.payload[..] == b"cancel" {
            if let Some(run) = msg.subject.as_str().rsplit('.').next() {
                runs.cancel(run);
            }
        }
    }
}

/// Everything a job task needs.
struct JobCx<F, C> {
    f: F,
    codec: C,
    js: async_nats::jetstream::Context,
    stage: Arc<str>,
    runs: Arc<Runs>,
    max_deliver: u64,
    backoff: NakBackoff,
    /// The results subject without its run token (ends in `.`).
    results: String,
    ctx: Context,
}

/// How a job ended, as the producer will see it.
enum Settled {
    Ok(bytes::Bytes),
    Failed(String),
    Lost,
    Deadline,
    Decode(String),
}

/// What one attempt at a job came to.
enum Attempt {
    /// A final outcome: publish it as the result.
    Settled(Settled),
    /// `f` failed: retry, unless this was the last attempt.
    Retry(String),
    /// The run was cancelled: drop the job.
    Ack,
    /// This worker is stopping: give the job back.
    GiveBack,
}

impl<F, C> JobCx<F, C> {
    /// Runs one job, then publishes its result and settles it. The worker
    /// and its slot (`permit`) are freed as soon as `f` returns: the next job runs
    /// while this one's result is in flight (the server's
    /// `max_ack_pending` still bounds the jobs held).
    async fn handle<T, U, E, Fut>(
        &self,
        acker: Acker,
        permit: (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) where
        C: Codec<T> + Codec<U>,
        F: Fn(T) -> Fut,
        E: Display,
        Fut: Future<Output = Result<U, E>>,
    {
        let header = |name: &str| {
            acker
                .headers()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        let job = header(H_JOB).and_then(|j| j.parse::<u64>().ok());
        let (Some(job), Some(run), Some(nonce)) = (job, header(H_RUN), header(H_NONCE)) else {
            let _ = acker
                .dead_letter("not a weir job: no Weir-Job, Weir-Run or Weir-Nonce header")
                .await;
            return;
        };
        let deadline = header(H_DEADLINE)
            .and_then(|d| d.parse::<u64>().ok())
            .map(instant_of);
        let attempt = acker.attempt();
        let outcome = self.attempt(&acker, job, &run, deadline).await;
        drop(permit);
        let settled = match outcome {
            Attempt::Settled(settled) => settled,
            Attempt::Retry(reason) if attempt >= self.max_deliver => Settled::Failed(reason),
            Attempt::Retry(_) => {
                let _ = acker.nak(self.backoff.delay(attempt)).await;
                return;
            }
            Attempt::Ack => {
                let _ = acker.ack().await;
                return;
            }
            Attempt::GiveBack => return,
        };
        let (status, payload, dead) = match settled {
            Settled::Ok(bytes) => ("ok", bytes, None),
            Settled::Deadline => ("deadline", bytes::Bytes::new(), None),
            Settled::Failed(reason) => ("failed", reason.clone().into(), Some(reason)),
            Settled::Lost => (
                "lost",
                bytes::Bytes::new(),
                Some(format!("lost by workers {} times", attempt - 1)),
            ),
            Settled::Decode(reason) => (
                "decode",
                reason.clone().into(),
                Some(format!("decode failed: {reason}")),
            ),
        };
        let mut headers = HeaderMap::new();
        headers.insert(H_JOB, job.to_string());
        headers.insert(H_STATUS, status);
        headers.insert(H_ATTEMPTS, attempt.min(self.max_deliver).to_string());
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("{run}.{job}.{nonce}.r"),
        );
        headers.insert(H_NONCE, nonce);
        let msg = Outgoing {
            subject: format!("{}{run}", self.results),
            headers,
            payload,
        };
        let mut window: Window<()> = Window::new(self.js.clone(), self.stage.clone(), 1);
        let published = match window.send((), msg).await {
            Ok(()) => window.next().await.map(|r| r.map(|_| ())),
            Err(e) => Some(Err(e)),
        };
        if !matches!(published, Some(Ok(()))) {
            // No result stored: give the job back to be tried again.
            return;
        }
        let _ = match dead {
            None => acker.ack().await,
            Some(reason) => acker.dead_letter(&reason).await,
        };
    }

    async fn attempt<T, U, E, Fut>(
        &self,
        acker: &Acker,
        job: u64,
        run: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> Attempt
    where
        C: Codec<T> + Codec<U>,
        F: Fn(T) -> Fut,
        E: Display,
        Fut: Future<Output = Result<U, E>>,
    {
        if self.runs.is_cancelled(run) {
            return Attempt::Ack;
        }
        if acker.attempt() > self.max_deliver {
            return Attempt::Settled(Settled::Lost);
        }
        if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
            return Attempt::Settled(Settled::Deadline);
        }
        let item = match Codec::<T>::decode(&self.codec, &acker.raw_payload()) {
            Ok(item) => item,
            Err(e) => return Attempt::Settled(Settled::Decode(e.to_string())),
        };
        let job_ctx = match deadline {
            Some(d) => self.ctx.with_deadline(d),
            None => self.ctx.child(),
        };
        let (job_ctx, handle) = job_ctx.with_cancel();
        if !self.runs.start(run, job, handle) {
            return Attempt::Ack;
        }
        let ran = AssertUnwindSafe(job_ctx.run((self.f)(item)))
            .catch_unwind()
            .await;
        self.runs.end(run, job);
        match ran {
            Ok(Ok(Ok(value))) => match Codec::<U>::encode(&self.codec, &value) {
                Ok(bytes) => Attempt::Settled(Settled::Ok(bytes)),
                Err(e) => Attempt::Retry(format!("result does not encode: {e}")),
            },
            Ok(Ok(Err(e))) => Attempt::Retry(e.to_string()),
            Ok(Err(ContextError::DeadlineExceeded)) => Attempt::Settled(Settled::Deadline),
            Ok(Err(ContextError::Canceled)) if self.runs.is_cancelled(run) => Attempt::Ack,
            Ok(Err(ContextError::Canceled)) => Attempt::GiveBack,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Attempt::Retry(format!("panicked: {message}"))
            }
        }
    }
}

/// Wall-clock Unix milliseconds to a tokio instant.
fn instant_of(unix_ms: u64) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let now = tokio::time::Instant::now();
    if unix_ms >= now_ms {
        now + Duration::from_millis(unix_ms - now_ms)
    } else {
        now.checked_sub(Duration::from_millis(now_ms - unix_ms))
            .unwrap_or(now)
    }
}
