//! The `fetcher` example's logic: many simulated fetches, a bounded number
//! in flight, retries with jittered backoff for transient errors only,
//! dead letters for the rest, results in input order, and a deadline after
//! which the fetches in flight finish and the run returns what it has.
//!
//! ```text
//! ids ─▶ fetch (≤ N in flight, retry transient, dead-letter the rest, ordered) ─▶ collect
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Metrics, Pipeline};
use weir::stage::{Backoff, BoxError, Policy};

/// How a simulated fetch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// 503: the server is busy; worth retrying.
    Unavailable,
    /// The request timed out; worth retrying.
    Timeout,
    /// 404: retrying will not help.
    NotFound,
}

impl FetchError {
    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Unavailable | FetchError::Timeout)
    }

    /// Whether `error` (a stage's boxed error) is a transient fetch error:
    /// the retry predicate.
    pub fn transient(error: &BoxError) -> bool {
        error
            .downcast_ref::<FetchError>()
            .is_some_and(FetchError::is_transient)
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FetchError::Unavailable => "503 service unavailable",
            FetchError::Timeout => "timed out",
            FetchError::NotFound => "404 not found",
        })
    }
}

impl std::error::Error for FetchError {}

/// A fetched page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The id asked for.
    pub id: u32,
    /// Its size.
    pub bytes: u32,
}

/// What the simulated server does with id `id` at attempt `attempt`:
/// every 101st id is missing, every 23rd always times out, every 17th is
/// busy for two attempts and then answers.
pub fn outcome(id: u32, attempt: u32) -> Result<Page, FetchError> {
    if id % 101 == 0 {
        Err(FetchError::NotFound)
    } else if id % 23 == 0 {
        Err(FetchError::Timeout)
    } else if id % 17 == 0 && attempt < 3 {
        Err(FetchError::Unavailable)
    } else {
        Ok(Page {
            id,
            bytes: 512 + (id * 7919) % 4096,
        })
    }
}

/// The simulated server: counts attempts per id and requests in flight.
#[derive(Debug)]
pub struct Server {
    attempts: Vec<AtomicU8>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Server {
    /// A server for ids `0..ids`.
    pub fn new(ids: u32) -> Server {
        Server {
            attempts: (0..ids).map(|_| AtomicU8::new(0)).collect(),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Fetches `id`: waits 1 to 20 ms (a different latency per attempt),
    /// then answers as [`outcome`] says.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future ends the request (it no longer counts as in
    /// flight); its attempt stays counted.
    pub async fn fetch(&self, id: u32) -> Result<Page, FetchError> {
        let attempt = u32::from(self.attempts[id as usize].fetch_add(1, Ordering::Relaxed)) + 1;
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let _request = InFlight(&self.in_flight);
        let latency = 1 + (id.wrapping_mul(2_654_435_761) ^ attempt.wrapping_mul(40_503)) % 20;
        tokio::time::sleep(Duration::from_millis(u64::from(latency))).await;
        outcome(id, attempt)
    }

    /// The most requests seen in flight at once.
    pub fn peak_in_flight(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

/// One request in flight, for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Ids `0..fetches` are fetched.
    pub fetches: u32,
    /// At most this many fetches in flight.
    pub in_flight: usize,
    /// Attempts per fetch (1: no retry).
    pub attempts: u32,
    /// The wait before each retry.
    pub backoff: Backoff,
    /// After this long, no new fetch starts; the ones in flight finish.
    pub deadline: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            fetches: 10_000,
            in_flight: 50,
            attempts: 4,
            backoff: Backoff::exponential(Duration::from_millis(5))
                .max(Duration::from_millis(100))
                .jitter(0.5),
            deadline: None,
        }
    }
}

/// What a run returns.
#[derive(Debug)]
pub struct Report {
    /// The pages fetched, in input order.
    pub pages: Vec<Page>,
    /// The ids that failed for good, with why.
    pub dead: Vec<(u32, String)>,
    /// The deadline stopped the run before every id was fetched.
    pub cut_short: bool,
    /// The pipeline's metrics at the end (the `fetch` stage counts the
    /// retries and dead letters).
    pub metrics: Metrics,
}

/// Fetches ids `0..settings.fetches` from `server`.
///
/// # Errors
///
/// A stage failed (a fetch panicked, say); a dead letter is not an error.
pub async fn run(settings: &Settings, server: Arc<Server>) -> Result<Report, weir::Error> {
    let (dead_tx, dead_rx) = chan::unbounded();
    // Channels as small as the window: after the deadline, only what is
    // in flight (and a few queued ids) still runs.
    let mut p = Pipeline::with_capacity(&Context::background(), settings.in_flight);
    if let Some(deadline) = settings.deadline {
        p = p.shutdown_after(deadline);
    }
    let pages = p
        .source(0..settings.fetches)
        .retry(settings.attempts, settings.backoff)
        .retry_if(FetchError::transient)
        .on_error(Policy::dead_letter(dead_tx))
        .map_concurrent(settings.in_flight, move |id| {
            let server = server.clone();
            async move { server.fetch(id).await }
        })
        .named("fetch")
        .collect::<Vec<_>>()
        .await?;
    let mut dead = Vec::new();
    while let Some((id, error)) = dead_rx.recv().await {
        dead.push((id, error.to_string()));
    }
    dead.sort_unstable();
    Ok(Report {
        pages,
        dead,
        cut_short: p.cut_short(),
        metrics: p.metrics(),
    })
}
