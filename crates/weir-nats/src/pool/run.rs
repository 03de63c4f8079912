//! One producer run of a [`Remote`](super::Remote) stage: set up, submit
//! jobs, take results, tidy away.
//!
//! Each job is bound to its result by a nonce (`Weir-Nonce`): a keyed hash
//! of the job's number under a key drawn at random for the run, which the
//! worker echoes with the result. A result is taken only for a job this run
//! sent, with that job's nonce; anything else is counted
//! ([`LagProbe::mismatched_results`](super::LagProbe::mismatched_results))
//! and dropped. The nonce is also part of the jobs' and results' message
//! ids, so a stray message cannot make the server drop the real one as a
//! duplicate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::consumer::{pull, PullConsumer};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::HeaderMap;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::engine::Stage;
use weir_stage::{ConfigError, Controller, Sample, Scope, ScopeView};

use super::cleanup::Cleanup;
use super::helpers::{spawn_reader_and_sampler, Answer, RESULT_ACK_WAIT};
use super::remote::{Order, Remote};
use super::{Pool, H_DEADLINE, H_JOB, H_NONCE, H_RUN};
use crate::codec::Codec;
use crate::error::Error;
use crate::error::RemoteError;
use crate::source::{bind, with_retries, API_TIMEOUT};
use crate::window::{Outgoing, Window};

type Outcome<U> = Result<U, RemoteError>;

/// Where a job's outcome goes when its run is driven by callers (see
/// [`Caller`](super::Caller)) rather than an output channel.
pub(super) type Reply<U> = tokio::sync::oneshot::Sender<Outcome<U>>;

/// Where a run's jobs come from: the stage's input (outcomes go to its
/// output channel), or callers, each job with its reply.
pub(super) enum Input<T, U> {
    Items(Receiver<T>),
    Calls(Receiver<(T, Reply<U>)>),
}

impl<T, U> Input<T, U> {
    async fn recv(&self) -> Option<(T, Option<Reply<U>>)> {
        match self {
            Input::Items(rx) => rx.recv().await.map(|item| (item, None)),
            Input::Calls(rx) => rx.recv().await.map(|(item, reply)| (item, Some(reply))),
        }
    }

    fn calls(&self) -> bool {
        matches!(self, Input::Calls(_))
    }
}

/// The per-run key that makes each job's nonce.
pub(super) struct Binding(RandomState);

impl Binding {
    pub(super) fn new() -> Binding {
        Binding(RandomState::new())
    }

    pub(super) fn nonce(&self, job: u64) -> String {
        format!("{:016x}", self.0.hash_one(job))
    }
}

/// Running a remote stage: its [`run`](Remote::run) starts the pump
/// below (here rather than beside the builder, so the builder's file does
/// not reach up into the run).
impl<T, U, C> Remote<T, U, C>
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    /// Spawns the stage under `scope`, reading jobs from `input`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for an adaptive [`in_flight`](Pool::in_flight)
    /// limit that does not hold ([`Limit::check`](weir_stage::Limit::check);
    /// the other settings are clamped to valid values); at run time the stage fails through the scope with an
    /// [`Error`](crate::Error) naming it: a pool name that is not a valid stream name,
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
        let view = scope.stage_or(format!("nats remote_pool {}", self.pool.name));
        self.pool
            .in_flight
            .check(&view.name(), "in-flight window")?;
        view.spawn(pump(self, Input::Items(input), tx, deadline, view.clone()));
        Ok(rx)
    }
}

/// The stage's task: runs the producer's side until the input is drained
/// and every job's result output, or the output is dropped.
/// `view` builds the stage (its name comes from the scope,
/// `Scope::stage_or`), and runs its helper tasks: the result reader, the
/// lag sampler, the lease's beat and, if the run is cut short, its
/// cleanup.
pub(super) async fn pump<T, U, C>(
    remote: Remote<T, U, C>,
    input: Input<T, U>,
    tx: Sender<Outcome<U>>,
    deadline: Option<tokio::time::Instant>,
    view: ScopeView,
) -> Result<(), Error>
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    let stage = view.name();
    let (js, mut guard, consumer) = open(&remote, &view).await?;
    let (res_rx, helpers, seen) = spawn_reader_and_sampler(&remote, &js, &view, consumer);
    // The first beat goes out before any job, on the same connection.
    let _ = remote
        .client
        .publish(guard.control_subject.clone(), "alive".into())
        .await;
    let _beat = view.spawn_helper(super::runs::beat(
        remote.client.clone(),
        guard.control_subject.clone(),
    ));
    let window = Window::new(
        js.clone(),
        stage.clone(),
        remote.pool.in_flight.max().min(256),
    );
    let record = view.stats().record_of(view.id());
    let limit = remote.pool.in_flight.controller();
    if let Some(record) = &record {
        record.set_limit(limit.clone());
    }
    let mut run = Run {
        remote: &remote,
        stage: &stage,
        jobs_subject: guard.jobs_subject.clone(),
        run: guard.run.clone(),
        deadline,
        binding: Binding::new(),
        window,
        tx,
        next_job: 0,
        next_out: 0,
        outputs: 0,
        pending: HashSet::new(),
        ready: BTreeMap::new(),
        seen,
        record,
        limit,
        samples: HashMap::new(),
        replies: HashMap::new(),
        calls: input.calls(),
    };
    if !run.drive(&input, &res_rx).await? {
        return Ok(());
    }
    // A last lag sample, so that a finished run's metrics show the pool
    // as it was left (bounded: the server may be away).
    drop(helpers);
    let lag_names = (
        remote.pool.stream_name("JOBS"),
        remote.pool.stream_name("DEAD"),
    );
    let last = super::lag(&stage, remote.client.clone(), lag_names);
    if let Ok(Ok(lag)) = tokio::time::timeout(Duration::from_secs(1), last).await {
        remote.lag.set(lag);
    }
    guard.finished = true;
    guard.finish(false).await;
    Ok(())
}

/// Makes the pool's streams and this run's result consumer; the guard
/// tidies the run away however it ends.
async fn open<T, U, C>(
    remote: &Remote<T, U, C>,
    view: &ScopeView,
) -> Result<(async_nats::jetstream::Context, Cleanup, PullConsumer), Error> {
    let (pool, stage) = (&remote.pool, &view.name());
    let mut js = async_nats::jetstream::new(remote.client.clone());
    js.set_timeout(API_TIMEOUT);
    with_retries(|| async {
        pool.ensure_streams(&js, stage).await?;
        check_workers(pool, &js, stage).await
    })
    .await?;
    let run = remote
        .client
        .new_inbox()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let guard = Cleanup::new(remote.client.clone(), js.clone(), pool, run).in_scope(view);
    let (results_stream, results_consumer) = (pool.stream_name("RESULTS"), guard.consumer.clone());
    let config = pull::Config {
        durable_name: Some(results_consumer.clone()),
        filter_subject: guard.results_subject.clone(),
        ack_wait: RESULT_ACK_WAIT,
        inactive_threshold: Duration::from_secs(3600),
        ..Default::default()
    };
    let consumer = with_retries(|| async {
        js.get_stream(&results_stream)
            .await
            .map_err(|e| Error::nats(stage, e))?
            .get_or_create_consumer(&results_consumer, config.clone())
            .await
            .map_err(|e| Error::nats(stage, e))?;
        bind(&js, stage, &results_stream, &results_consumer).await
    })
    .await?;
    Ok((js, guard, consumer))
}

/// Checks the workers' consumer, if a worker has made it, against this
/// producer's pool settings.
async fn check_workers<C>(
    pool: &Pool<C>,
    js: &async_nats::jetstream::Context,
    stage: &Arc<str>,
) -> Result<(), Error> {
    let jobs = js
        .get_stream(pool.stream_name("JOBS"))
        .await
        .map_err(|e| Error::nats(stage, e))?;
    match jobs.consumer_info(Pool::<C>::WORKERS).await {
        Ok(info) => pool.check_workers(&info.config, stage),
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::nats(stage, e)),
    }
}

/// A run's state while it submits jobs and takes results.
struct Run<'a, T, U, C> {
    remote: &'a Remote<T, U, C>,
    stage: &'a Arc<str>,
    jobs_subject: String,
    run: String,
    deadline: Option<tokio::time::Instant>,
    binding: Binding,
    window: Window<u64>,
    tx: Sender<Outcome<U>>,
    next_job: u64,
    next_out: u64,
    outputs: u64,
    /// Jobs sent and not yet answered.
    pending: HashSet<u64>,
    /// Answers held back for input order.
    ready: BTreeMap<u64, Outcome<U>>,
    /// When a worker was last seen (or the server last away).
    seen: super::helpers::Seen,
    /// The stage's record, which counts the jobs that ran out of time as
    /// its `timeouts`.
    record: Option<Arc<Stage>>,
    /// The in-flight window's limit, read before each submit.
    limit: Controller,
    /// The jobs an adaptive limit is measuring (none under a fixed one).
    samples: HashMap<u64, Sample>,
    /// Under callers: each pending job's reply.
    replies: HashMap<u64, Reply<U>>,
    /// Whether callers drive the run (the watchdog then also forgets the
    /// jobs whose callers gave up).
    calls: bool,
}

impl<T, U, C> Run<'_, T, U, C>
where
    T: Send + 'static,
    U: Send + 'static,
    C: Codec<T> + Codec<U>,
{
    /// Submits jobs and outputs results until both sides are done:
    /// `Ok(true)`; `Ok(false)` when the output was dropped.
    async fn drive(
        &mut self,
        input: &Input<T, U>,
        results: &Receiver<Answer<U>>,
    ) -> Result<bool, Error> {
        let mut open = true;
        let mut watchdog = tokio::time::interval(Duration::from_millis(100));
        loop {
            let in_flight = self.next_job - self.outputs;
            let cap = self.limit.limit() as u64;
            if !open && self.pending.is_empty() && self.ready.is_empty() && self.window.is_empty() {
                return Ok(true);
            }
            tokio::select! {
                biased;
                answer = results.recv() => {
                    let Some(answer) = answer else {
                        return Err(Error::nats(self.stage, "result reader stopped"));
                    };
                    if !self.take(answer).await {
                        return Ok(false);
                    }
                }
                done = self.window.next(), if !self.window.is_empty() => {
                    if let Some(done) = done {
                        done?;
                    }
                }
                item = input.recv(), if open && !self.window.is_full() && in_flight < cap => {
                    match item {
                        Some((item, reply)) => self.submit(item, reply).await?,
                        None => open = false,
                    }
                }
                _ = watchdog.tick(), if self.remote.no_worker_after.is_some() || self.calls => {
                    self.forget_abandoned();
                    self.no_worker()?;
                }
            }
        }
    }

    /// Forgets the jobs whose callers gave up on them (a per-item timeout
    /// dropped the call): they no longer hold a place in the in-flight
    /// window, and their answers, if any come, are dropped as answered.
    /// An adaptive limit counts each as an overload.
    fn forget_abandoned(&mut self) {
        let gone: Vec<u64> = self
            .replies
            .iter()
            .filter(|(_, reply)| reply.is_closed())
            .map(|(&job, _)| job)
            .collect();
        for job in gone {
            self.replies.remove(&job);
            self.pending.remove(&job);
            if let Some(sample) = self.samples.remove(&job) {
                sample.finish(weir_stage::Outcome::Overload);
            }
            self.outputs += 1;
        }
    }

    /// Fails when jobs wait and no worker has been seen for the bound.
    fn no_worker(&self) -> Result<(), Error> {
        let (Some(after), false) = (self.remote.no_worker_after, self.pending.is_empty()) else {
            return Ok(());
        };
        let waited = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed();
        if waited < after {
            return Ok(());
        }
        Err(Error::NoWorkers {
            stage: self.stage.clone(),
            pool: self.remote.pool.name.clone(),
            waited,
        })
    }

    /// Takes one result: output if it answers a pending job with that
    /// job's nonce, dropped if it repeats an answered one, counted and
    /// dropped if it answers nothing this run sent. `false` when the
    /// output was dropped.
    async fn take(&mut self, answer: Answer<U>) -> bool {
        let Answer {
            job,
            nonce,
            outcome,
            acker,
        } = answer;
        let bound = job < self.next_job && nonce.as_deref() == Some(&*self.binding.nonce(job));
        let open = if !bound {
            self.remote.lag.count_mismatched();
            true
        } else if self.pending.remove(&job) {
            self.output(job, outcome).await
        } else {
            true
        };
        let _ = acker.ack().await;
        open
    }

    async fn output(&mut self, job: u64, outcome: Outcome<U>) -> bool {
        if let Some(sample) = self.samples.remove(&job) {
            sample.finish(match &outcome {
                Ok(_) => weir_stage::Outcome::Ok,
                Err(RemoteError::Decode { .. }) => weir_stage::Outcome::Failed,
                Err(_) => weir_stage::Outcome::Overload,
            });
        }
        let reply = self.replies.remove(&job);
        if reply.as_ref().is_some_and(Reply::is_closed) {
            self.outputs += 1; // its caller gave up on it: a timeout counted there
            return true;
        }
        if let (Err(RemoteError::DeadlineExceeded { .. }), Some(record)) = (&outcome, &self.record)
        {
            record.counters().timeouts.add(1);
        }
        if let Some(reply) = reply {
            self.outputs += 1;
            let _ = reply.send(outcome);
            return true;
        }
        match self.remote.order {
            Order::Completion => {
                self.outputs += 1;
                self.tx.send(outcome).await.is_ok()
            }
            Order::Input => {
                self.ready.insert(job, outcome);
                while let Some(outcome) = self.ready.remove(&self.next_out) {
                    self.next_out += 1;
                    self.outputs += 1;
                    if self.tx.send(outcome).await.is_err() {
                        return false;
                    }
                }
                true
            }
        }
    }

    /// Encodes and publishes one job (whose outcome goes to `reply`, if
    /// callers drive the run).
    async fn submit(&mut self, item: T, reply: Option<Reply<U>>) -> Result<(), Error> {
        let payload = self
            .remote
            .pool
            .codec
            .encode(&item)
            .map_err(|source| Error::Codec {
                stage: self.stage.clone(),
                source,
            })?;
        drop(item);
        let job = self.next_job;
        self.next_job += 1;
        self.pending.insert(job);
        if let Some(reply) = reply {
            self.replies.insert(job, reply);
        }
        if self.limit.is_adaptive() {
            self.samples.insert(job, self.limit.start());
        }
        let nonce = self.binding.nonce(job);
        let mut headers = HeaderMap::new();
        headers.insert(H_JOB, job.to_string());
        headers.insert(H_RUN, self.run.as_str());
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("{}.{job}.{nonce}", self.run),
        );
        headers.insert(H_NONCE, nonce);
        let now = tokio::time::Instant::now();
        let job_deadline = match (self.deadline, self.remote.job_timeout) {
            (Some(d), Some(t)) => Some(d.min(now + t)),
            (Some(d), None) => Some(d),
            (None, Some(t)) => Some(now + t),
            (None, None) => None,
        };
        if let Some(d) = job_deadline {
            headers.insert(H_DEADLINE, unix_millis(d).to_string());
        }
        let subject = self.jobs_subject.clone();
        self.window
            .send(
                job,
                Outgoing {
                    subject,
                    headers,
                    payload,
                },
            )
            .await
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
