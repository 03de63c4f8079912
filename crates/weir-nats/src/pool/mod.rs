//! The distributed worker pool: [`Pool`] (the settings both sides share),
//! [`serve`] (worker processes) and [`Remote`] (the producer's stage).
//!
//! # On the wire
//!
//! A pool named `squares` uses three streams, created on first use by
//! either side:
//!
//! | stream | subjects | retention | holds |
//! |---|---|---|---|
//! | `WEIR_POOL_squares_JOBS` | `weir.pool.squares.jobs.<run>` | work queue | jobs not yet done |
//! | `WEIR_POOL_squares_RESULTS` | `weir.pool.squares.results.<run>` | work queue (1 h max age) | results not yet read |
//! | `WEIR_POOL_squares_DEAD` | `weir.pool.squares.dead` | limits | dead-lettered jobs |
//!
//! Workers share one durable pull consumer, `workers`, on the jobs stream:
//! competing consumers, so each job goes to one worker at a time. Each
//! producer run gets a random `<run>` id and its own durable consumer on
//! the results stream (deleted when the run ends).
//!
//! A job message carries headers `Weir-Job` (its number in the run),
//! `Weir-Run`, `Weir-Nonce` (a keyed hash of the job number under a key
//! the run draws at random: what binds the job to its result),
//! `Weir-Deadline` (Unix milliseconds, when the producer has one) and
//! `Nats-Msg-Id: <run>.<job>.<nonce>`. A result carries `Weir-Job`, the
//! job's `Weir-Nonce` echoed, `Weir-Status` (`ok`, `failed`, `lost`,
//! `deadline`, `decode`) and `Nats-Msg-Id: <run>.<job>.<nonce>.r`; its
//! payload is the encoded value, or the error's text. The producer takes a
//! result only for a job it sent, with that job's nonce; anything else is
//! counted ([`LagProbe::mismatched_results`]) and dropped. Workers
//! dead-letter a job without these headers at once, with no result.
//!
//! On `weir.pool.squares.control.<run>` (core NATS) a producer publishes
//! `alive` every second while its run lasts (the run's lease: workers take
//! a run not heard for 5 s as dead, see `docs/distributed.md`), `done` when
//! it ends, and `cancel` when it is cancelled; workers then drop the run's
//! running jobs and ack its queued ones unrun.

mod caller;
mod cleanup;
mod helpers;
mod job;
mod probe;
mod remote;
mod run;
mod runs;
mod serve;
mod streams;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::stream::StorageType;
use weir_stage::Limit;

pub use caller::Caller;
pub use probe::{GetLag, LagProbe};
pub use remote::{Order, Remote};
pub use serve::serve;

use crate::codec::Json;
use crate::delivery::NakBackoff;
use crate::error::Error;

pub(crate) const H_JOB: &str = "Weir-Job";
pub(crate) const H_RUN: &str = "Weir-Run";
pub(crate) const H_DEADLINE: &str = "Weir-Deadline";
pub(crate) const H_STATUS: &str = "Weir-Status";
pub(crate) const H_ATTEMPTS: &str = "Weir-Attempts";
pub(crate) const H_NONCE: &str = "Weir-Nonce";

/// A pool's consumer lag, from the server: see [`Pool::lag`].
///
/// # Examples
///
/// ```
/// let lag = weir_nats::Lag::default();
/// assert_eq!(lag.pending + lag.ack_pending, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Lag {
    /// Jobs in the stream not yet handed to any worker.
    pub pending: u64,
    /// Jobs handed to workers and not yet acked (running, or held by a
    /// crashed worker until `ack_wait` passes).
    pub ack_pending: u64,
    /// Jobs not yet settled that have been delivered before: retries in
    /// progress (after a failure, a nak or a lost worker).
    pub redelivered: u64,
    /// Jobs in the pool's dead-letter stream.
    pub dead_lettered: u64,
    /// Pull requests waiting on the server: workers with a free slot.
    pub waiting: u64,
}

/// The settings of a distributed worker pool, shared by the producer
/// ([`remote`](Pool::remote)) and the workers ([`serve`]): give both sides
/// the same name and settings.
///
/// | setting | default | JetStream |
/// |---|---|---|
/// | [`ack_wait`](Pool::ack_wait) | 30 s | consumer `ack_wait`: how soon a crashed worker's job is redelivered |
/// | [`max_deliver`](Pool::max_deliver) | 5 | attempts before a failing job is dead-lettered |
/// | [`max_ack_pending`](Pool::max_ack_pending) | 1024 | consumer `max_ack_pending`: jobs running or held by all workers together |
/// | [`batch`](Pool::batch) | 64 | messages per pull request |
/// | [`in_flight`](Pool::in_flight) | 1024 | jobs one producer has submitted and not yet output |
/// | [`backoff`](Pool::backoff) | 100 ms doubling to 5 s | nak delay after a failed attempt |
/// | [`memory`](Pool::memory) | file storage | stream storage |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_nats::Pool;
///
/// let pool = Pool::new("thumbnails")
///     .ack_wait(Duration::from_secs(10))
///     .max_deliver(3)
///     .max_ack_pending(64);
/// assert_eq!(pool.name(), "thumbnails");
/// ```
#[derive(Debug, Clone)]
pub struct Pool<C = Json> {
    pub(crate) name: String,
    pub(crate) codec: C,
    pub(crate) ack_wait: Duration,
    pub(crate) max_deliver: u64,
    pub(crate) max_ack_pending: i64,
    pub(crate) batch: usize,
    pub(crate) in_flight: Limit,
    pub(crate) backoff: NakBackoff,
    pub(crate) storage: StorageType,
}

impl Pool<Json> {
    /// A pool called `name` (letters, digits, `-` and `_`), JSON-encoded,
    /// with the defaults above.
    ///
    /// # Examples
    ///
    /// See [`Pool`].
    pub fn new(name: impl Into<String>) -> Pool<Json> {
        Pool {
            name: name.into(),
            codec: Json,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_ack_pending: 1024,
            batch: 64,
            in_flight: Limit::fixed(1024),
            backoff: NakBackoff::default(),
            storage: StorageType::File,
        }
    }
}

impl<C> Pool<C> {
    /// The pool's name.
    ///
    /// # Examples
    ///
    /// See [`Pool`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Encode jobs and results with `codec` instead of JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = weir_nats::Pool::new("raw").codec(weir_nats::Bytes);
    /// # drop(pool);
    /// ```
    pub fn codec<D>(self, codec: D) -> Pool<D> {
        Pool {
            name: self.name,
            codec,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            max_ack_pending: self.max_ack_pending,
            batch: self.batch,
            in_flight: self.in_flight,
            backoff: self.backoff,
            storage: self.storage,
        }
    }

    /// How long a worker may hold a job without a sign of life before the
    /// server gives it to another worker. Workers send in-progress acks
    /// every third of it while a job runs, so long jobs are fine; what it
    /// bounds is how soon a *crashed* worker's jobs are redelivered.
    ///
    /// # Examples
    ///
    /// See [`Pool`].
    pub fn ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// Attempts per job (at least 1): a job whose function fails this many
    /// times, or whose workers are lost this many times, is dead-lettered
    /// and its result is a [`RemoteError`](crate::RemoteError).
    ///
    /// # Examples
    ///
    /// See [`Pool`].
    pub fn max_deliver(mut self, attempts: u64) -> Self {
        self.max_deliver = attempts.max(1);
        self
    }

    /// Jobs handed to workers and not yet settled, across all workers.
    ///
    /// # Examples
    ///
    /// See [`Pool`].
    pub fn max_ack_pending(mut self, n: usize) -> Self {
        self.max_ack_pending = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        self
    }

    /// Messages per pull request (workers and the producer's result reader).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = weir_nats::Pool::new("p").batch(16);
    /// # drop(pool);
    /// ```
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Jobs one producer keeps submitted but not yet output: bounds the
    /// producer's memory (and, in input order, its reorder buffer). A
    /// number (0 counts as 1), or a [`Limit::adaptive`]: then the window
    /// moves inside its bounds from each job's round-trip latency, a job
    /// that failed, was lost or ran past its deadline counting as
    /// overload (one that did not decode does not). The stage's metrics
    /// show the window's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let fixed = weir_nats::Pool::new("p").in_flight(128);
    /// let adaptive = weir_nats::Pool::new("q").in_flight(Limit::adaptive().min(4).max(512));
    /// # drop((fixed, adaptive));
    /// ```
    pub fn in_flight(mut self, n: impl Into<Limit>) -> Self {
        let n = n.into();
        self.in_flight = if n == Limit::fixed(0) {
            Limit::fixed(1)
        } else {
            n
        };
        self
    }

    /// The delay before a failed attempt is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = weir_nats::Pool::new("p")
    ///     .backoff(weir_nats::NakBackoff::new(Duration::from_millis(10), Duration::from_secs(1)));
    /// # drop(pool);
    /// ```
    pub fn backoff(mut self, backoff: NakBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Keep the pool's streams in memory rather than in files (faster; lost
    /// if the server restarts).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = weir_nats::Pool::new("p").memory();
    /// # drop(pool);
    /// ```
    pub fn memory(mut self) -> Self {
        self.storage = StorageType::Memory;
        self
    }

    /// The subjects the pool's jobs are sent on, as a NATS wildcard: each
    /// producer run publishes under its own last token
    /// (`weir.pool.<name>.jobs.<run>`, see the module docs). What a
    /// pipeline graph shows on the edge into a remote stage.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = weir_nats::Pool::new("squares");
    /// assert_eq!(pool.jobs_subject(), "weir.pool.squares.jobs.*");
    /// ```
    pub fn jobs_subject(&self) -> String {
        self.subject("jobs", "*")
    }

    /// The subjects the pool's results come back on, one per producer run
    /// (`weir.pool.<name>.results.<run>`), as a NATS wildcard.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = weir_nats::Pool::new("squares");
    /// assert_eq!(pool.results_subject(), "weir.pool.squares.results.*");
    /// ```
    pub fn results_subject(&self) -> String {
        self.subject("results", "*")
    }

    pub(crate) fn subject(&self, kind: &str, run: &str) -> String {
        format!("weir.pool.{}.{kind}.{run}", self.name)
    }

    pub(crate) fn dead_subject(&self) -> String {
        format!("weir.pool.{}.dead", self.name)
    }

    pub(crate) fn stream_name(&self, kind: &str) -> String {
        format!("WEIR_POOL_{}_{kind}", self.name)
    }

    /// The jobs consumer's name (shared by all workers).
    pub(crate) const WORKERS: &'static str = "workers";

    /// How far behind the pool's workers are, from the server's counters:
    /// jobs waiting, jobs handed out and not yet settled, retries in
    /// progress, and jobs dead-lettered (kept in the dead-letter stream).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    ///
    /// # Errors
    ///
    /// [`Error::MissingStream`] / [`Error::MissingConsumer`] before any
    /// worker has set the pool up; [`Error::Nats`] when the server does not
    /// answer within 5 s (no retries: it only reads).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let pool = weir_nats::Pool::new("reports");
    /// assert!(pool.lag(&client).await.is_err()); // no worker has set it up yet
    /// # }
    /// ```
    pub fn lag(&self, client: &async_nats::Client) -> GetLag {
        let client = client.clone();
        let names = (self.stream_name("JOBS"), self.stream_name("DEAD"));
        let stage: Arc<str> = format!("nats pool {}", self.name).into();
        GetLag::new(async move { lag(&stage, client, names).await })
    }
}

/// The pool's lag, with errors naming `stage`: the stage that samples it
/// (a [`Remote`] names it after its scope), or `nats pool <name>`.
async fn lag(
    stage: &Arc<str>,
    client: async_nats::Client,
    names: (String, String),
) -> Result<Lag, Error> {
    let mut js = async_nats::jetstream::new(client.clone());
    js.set_timeout(crate::source::API_TIMEOUT);
    let (jobs, dead) = names;
    let mut consumer = crate::source::bind(&js, stage, &jobs, Pool::<Json>::WORKERS).await?;
    let info = consumer.info().await.map_err(|e| Error::nats(stage, e))?;
    let (pending, ack_pending, redelivered, waiting) = (
        info.num_pending,
        info.num_ack_pending as u64,
        info.num_redelivered as u64,
        info.num_waiting as u64,
    );
    let mut dead = js
        .get_stream(dead)
        .await
        .map_err(|e| Error::nats(stage, e))?;
    let dead_lettered = dead
        .info()
        .await
        .map_err(|e| Error::nats(stage, e))?
        .state
        .messages;
    Ok(Lag {
        pending,
        ack_pending,
        redelivered,
        dead_lettered,
        waiting,
    })
}
