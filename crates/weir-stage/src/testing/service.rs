//! [`SimService`]: a simulated downstream service with a concurrency knee,
//! for testing and benchmarking concurrency limits on a paused clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Why a [`SimService::call`] failed.
///
/// # Examples
///
/// ```
/// use weir_stage::testing::SimError;
///
/// let err = SimError::Overloaded { in_flight: 17, knee: 8 };
/// assert_eq!(err.to_string(), "service overloaded: 17 in flight, knee 8");
/// assert!(err.is_overload());
/// assert!(!SimError::Failed.is_overload());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// More than twice the knee were in flight: the service refused the
    /// request (after its no-load latency).
    #[error("service overloaded: {in_flight} in flight, knee {knee}")]
    Overloaded {
        /// Requests in flight, counting the refused one.
        in_flight: usize,
        /// The knee at the time.
        knee: usize,
    },
    /// A random failure unrelated to load (see [`SimBuilder::errors`]).
    #[error("service failed (unrelated to load)")]
    Failed,
}

impl SimError {
    /// Whether this is an overload (as opposed to an unrelated failure):
    /// what a limit should read as "too many in flight".
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::SimError;
    ///
    /// assert!(SimError::Overloaded { in_flight: 3, knee: 1 }.is_overload());
    /// ```
    pub fn is_overload(&self) -> bool {
        matches!(self, SimError::Overloaded { .. })
    }
}

/// A simulated service whose capacity is a concurrency knee `c*`.
///
/// It works like `c*` servers in front of a FIFO queue: each request
/// holds a server for the no-load latency (1 ms by default), so up to
/// `c*` in flight every request takes exactly that, and above `c*` the
/// extra ones wait in the queue — latency rises linearly with the number
/// in flight (about 1 ms × in flight ÷ `c*`) while throughput stays at
/// `c*` per millisecond. A request arriving when more than `2·c*` are
/// already admitted is refused with [`SimError::Overloaded`] (after the
/// no-load latency, as a real service takes a moment to say no).
///
/// The knee can change on a schedule ([`SimBuilder::step`]), and a fraction
/// of requests can fail for reasons unrelated to load
/// ([`SimBuilder::errors`], seeded, so runs repeat).
///
/// It runs on tokio time, so on a paused clock (`start_paused`) a test of
/// many simulated seconds finishes at once and the same every time. (On a
/// paused clock, tokio's timer wheel moves in whole milliseconds, so
/// latencies are whole multiples of the no-load latency when that is.)
/// Clones share the service.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::testing::{SimError, SimService};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let svc = SimService::new(2);
/// // Two at once: both take the no-load latency.
/// let (a, b) = tokio::join!(svc.call(), svc.call());
/// assert_eq!((a, b), (Ok(Duration::from_millis(1)), Ok(Duration::from_millis(1))));
/// // Four at once: two wait in the queue for a server.
/// let r = futures::future::join_all((0..4).map(|_| svc.call())).await;
/// let slow = r.iter().filter(|r| **r == Ok(Duration::from_millis(2))).count();
/// assert_eq!(slow, 2);
/// // Five at once: the fifth is above 2 × 2 and is refused.
/// let r = futures::future::join_all((0..5).map(|_| svc.call())).await;
/// assert_eq!(r[4], Err(SimError::Overloaded { in_flight: 5, knee: 2 }));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SimService {
    inner: Arc<Inner>,
}

/// The settings of a [`SimService`]: its knee's schedule, its no-load
/// latency, and its unrelated failures.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::testing::SimService;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let svc = SimService::builder(24)
///     .step(Duration::from_secs(5), 8)
///     .step(Duration::from_secs(10), 40)
///     .errors(0.05, 7)
///     .build();
/// assert_eq!(svc.knee(), 24);
/// tokio::time::sleep(Duration::from_secs(6)).await;
/// assert_eq!(svc.knee(), 8);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SimBuilder {
    knee: usize,
    steps: Vec<(Duration, usize)>,
    base: Duration,
    error_rate: f64,
    seed: u64,
}

#[derive(Debug)]
struct Inner {
    base: Duration,
    error_rate: f64,
    started: Instant,
    /// `(offset from start, knee)`, sorted, the first at offset zero.
    schedule: Vec<(Duration, usize)>,
    servers: Semaphore,
    admitted: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The knee the servers are sized for now.
    knee: usize,
    /// Servers still to retire after a step down (taken as they free up).
    debt: usize,
    rng: u64,
}

impl SimService {
    /// A service with knee `knee` (at least 1), a 1 ms no-load latency, no
    /// schedule and no unrelated failures.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with the time driver enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// assert_eq!(SimService::new(24).knee(), 24);
    /// # }
    /// ```
    pub fn new(knee: usize) -> SimService {
        SimService::builder(knee).build()
    }

    /// Settings for a service starting with knee `knee` (at least 1).
    ///
    /// # Examples
    ///
    /// See [`SimBuilder`].
    pub fn builder(knee: usize) -> SimBuilder {
        SimBuilder {
            knee: knee.max(1),
            steps: Vec::new(),
            base: Duration::from_millis(1),
            error_rate: 0.0,
            seed: 0,
        }
    }

    /// Sends one request: waits for a server, holds it for the no-load
    /// latency, and returns how long the whole call took.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped call leaves the queue or frees its server.
    ///
    /// # Errors
    ///
    /// [`SimError::Overloaded`] when more than twice the knee were already
    /// in flight; [`SimError::Failed`] for the configured fraction of
    /// requests, after the same wait and service as a success.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let svc = SimService::new(4);
    /// assert_eq!(svc.call().await, Ok(Duration::from_millis(1)));
    /// # }
    /// ```
    pub async fn call(&self) -> Result<Duration, SimError> {
        let inner = &*self.inner;
        let start = Instant::now();
        let (knee, fails) = {
            let mut s = inner.lock();
            inner.sync(&mut s, start);
            (s.knee, inner.draw(&mut s))
        };
        let in_flight = inner.admitted.fetch_add(1, Ordering::AcqRel) + 1;
        let admitted = Admitted(inner);
        if in_flight > 2 * knee {
            drop(admitted);
            tokio::time::sleep(inner.base).await;
            return Err(SimError::Overloaded { in_flight, knee });
        }
        let permit = match inner.servers.acquire().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the service never closes its servers"),
        };
        let server = Server(inner, Some(permit));
        tokio::time::sleep(inner.base).await;
        let done = Instant::now();
        drop(server);
        inner.sync(&mut inner.lock(), done);
        drop(admitted);
        if fails {
            Err(SimError::Failed)
        } else {
            Ok(done.saturating_duration_since(start))
        }
    }

    /// The knee now, by the schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// assert_eq!(SimService::new(0).knee(), 1);
    /// # }
    /// ```
    pub fn knee(&self) -> usize {
        self.inner.knee_at(Instant::now())
    }

    /// Requests admitted and not yet answered (waiting or being served).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let svc = SimService::new(1);
    /// let call = svc.call();
    /// assert_eq!(svc.in_flight(), 0);
    /// call.await.unwrap();
    /// # }
    /// ```
    pub fn in_flight(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }
}

impl SimBuilder {
    /// From `at` after [`build`](SimBuilder::build), the knee is `knee`
    /// (at least 1). Steps may be given in any order.
    ///
    /// # Examples
    ///
    /// See [`SimBuilder`].
    pub fn step(mut self, at: Duration, knee: usize) -> SimBuilder {
        self.steps.push((at, knee.max(1)));
        self
    }

    /// The latency of a request with a free server (default 1 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let svc = SimService::builder(4).base(Duration::from_millis(5)).build();
    /// assert_eq!(svc.call().await, Ok(Duration::from_millis(5)));
    /// # }
    /// ```
    pub fn base(mut self, latency: Duration) -> SimBuilder {
        self.base = latency;
        self
    }

    /// Each request fails with [`SimError::Failed`] with probability
    /// `rate` (clamped to `0..=1`), drawn from a generator seeded with
    /// `seed`, so the same calls fail every run.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::SimService;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let svc = SimService::builder(4).errors(1.0, 1).build();
    /// assert!(svc.call().await.is_err());
    /// # }
    /// ```
    pub fn errors(mut self, rate: f64, seed: u64) -> SimBuilder {
        self.error_rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self.seed = seed;
        self
    }

    /// The service, its schedule starting now.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with the time driver enabled.
    ///
    /// # Examples
    ///
    /// See [`SimBuilder`].
    pub fn build(self) -> SimService {
        let mut schedule = vec![(Duration::ZERO, self.knee)];
        let mut steps = self.steps;
        steps.sort_by_key(|(at, _)| *at);
        schedule.extend(steps);
        SimService {
            inner: Arc::new(Inner {
                base: self.base,
                error_rate: self.error_rate,
                started: Instant::now(),
                schedule,
                servers: Semaphore::new(self.knee),
                admitted: AtomicUsize::new(0),
                state: Mutex::new(State {
                    knee: self.knee,
                    debt: 0,
                    rng: self.seed,
                }),
            }),
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn knee_at(&self, now: Instant) -> usize {
        let offset = now.saturating_duration_since(self.started);
        self.schedule
            .iter()
            .take_while(|(at, _)| *at <= offset)
            .last()
            .map_or(1, |(_, knee)| *knee)
    }

    /// Resizes the servers to the schedule's knee at `now`.
    fn sync(&self, s: &mut State, now: Instant) {
        let knee = self.knee_at(now);
        if knee > s.knee {
            let more = knee - s.knee;
            let forgiven = more.min(s.debt);
            s.debt -= forgiven;
            self.servers.add_permits(more - forgiven);
        } else if knee < s.knee {
            s.debt += s.knee - knee;
        }
        s.knee = knee;
        while s.debt > 0 {
            match self.servers.try_acquire() {
                Ok(permit) => {
                    permit.forget();
                    s.debt -= 1;
                }
                Err(_) => break,
            }
        }
    }

    /// Whether the next request fails for an unrelated reason.
    fn draw(&self, s: &mut State) -> bool {
        if self.error_rate <= 0.0 {
            return false;
        }
        // splitmix64: small, seeded, good enough for a test service.
        s.rng = s.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < self.error_rate
    }
}

/// A server held by a request, retired instead of freed when the knee
/// stepped down meanwhile.
struct Server<'a>(&'a Inner, Option<tokio::sync::SemaphorePermit<'a>>);

impl Drop for Server<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        if let Some(permit) = self.1.take() {
            if s.debt > 0 {
                s.debt -= 1;
                permit.forget();
            }
        }
    }
}

/// Counts a request out of the service however its call ends.
struct Admitted<'a>(&'a Inner);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::join_all;

    const MS: Duration = Duration::from_millis(1);

    async fn burst(svc: &SimService, n: usize) -> Vec<Result<Duration, SimError>> {
        join_all((0..n).map(|_| svc.call())).await
    }

    #[tokio::test(start_paused = true)]
    async fn flat_up_to_the_knee() {
        let svc = SimService::new(24);
        assert!(burst(&svc, 24).await.iter().all(|r| *r == Ok(MS)));
        assert_eq!(svc.in_flight(), 0);
    }

    #[cfg_attr(miri, ignore = "thousands of simulated requests: too slow under Miri")]
    #[tokio::test(start_paused = true)]
    async fn a_queue_above_the_knee_and_refusals_above_twice_it() {
        let svc = SimService::new(8);
        let r = burst(&svc, 16).await;
        assert_eq!(r.iter().filter(|r| **r == Ok(MS)).count(), 8);
        assert_eq!(r.iter().filter(|r| **r == Ok(2 * MS)).count(), 8);
        let r = burst(&svc, 20).await;
        let refused = r.iter().filter(|r| matches!(r, Err(e) if e.is_overload()));
        assert_eq!(refused.count(), 4);
        assert_eq!(
            r[16],
            Err(SimError::Overloaded {
                in_flight: 17,
                knee: 8
            })
        );
    }

    /// Closed loop at `n` in flight for `secs`: answers per millisecond
    /// and the mean latency (Little's law: n ÷ throughput).
    async fn closed_loop(svc: &SimService, n: usize, run: Duration) -> (f64, f64) {
        let end = Instant::now() + run;
        let workers = (0..n).map(|_| async {
            let (mut count, mut total) = (0u64, Duration::ZERO);
            while Instant::now() < end {
                let r = svc.call().await;
                if let (Ok(d), true) = (r, Instant::now() <= end) {
                    count += 1;
                    total += d;
                }
            }
            (count, total)
        });
        let r = join_all(workers).await;
        let count: u64 = r.iter().map(|(c, _)| c).sum();
        let total: Duration = r.iter().map(|(_, t)| *t).sum();
        let per_ms = count as f64 / run.as_millis() as f64;
        (per_ms, total.as_secs_f64() * 1e3 / count as f64)
    }

    #[cfg_attr(miri, ignore = "thousands of simulated requests: too slow under Miri")]
    #[tokio::test(start_paused = true)]
    async fn throughput_is_the_knee_and_latency_grows_linearly() {
        let svc = SimService::new(10);
        let second = Duration::from_secs(1);
        let (tput, lat) = closed_loop(&svc, 5, second).await;
        assert_eq!((tput, lat), (5.0, 1.0));
        let (tput, lat) = closed_loop(&svc, 10, second).await;
        assert_eq!((tput, lat), (10.0, 1.0));
        let (tput, lat) = closed_loop(&svc, 20, second).await;
        assert_eq!(tput, 10.0);
        assert!((lat - 2.0).abs() < 0.01, "{lat}");
        let (tput, lat) = closed_loop(&svc, 15, second).await;
        assert_eq!(tput, 10.0);
        assert!((lat - 1.5).abs() < 0.01, "{lat}");
    }

    #[cfg_attr(miri, ignore = "thousands of simulated requests: too slow under Miri")]
    #[tokio::test(start_paused = true)]
    async fn the_knee_follows_its_schedule() {
        let svc = SimService::builder(4)
            .step(Duration::from_secs(2), 12)
            .step(Duration::from_secs(1), 2)
            .build();
        let second = Duration::from_secs(1);
        assert_eq!(closed_loop(&svc, 12, second).await.0, 4.0);
        assert_eq!(svc.knee(), 2);
        let (tput, _) = closed_loop(&svc, 4, second).await;
        assert!((tput - 2.0).abs() < 0.01, "{tput}");
        assert_eq!(svc.knee(), 12);
        let (tput, _) = closed_loop(&svc, 12, second).await;
        assert!((tput - 12.0).abs() < 0.1, "{tput}");
    }

    #[cfg_attr(miri, ignore = "thousands of simulated requests: too slow under Miri")]
    #[tokio::test(start_paused = true)]
    async fn unrelated_failures_at_their_rate_and_repeatable() {
        let run = |seed| async move {
            let svc = SimService::builder(100).errors(0.05, seed).build();
            let mut failed = Vec::new();
            for _ in 0..100 {
                failed.extend(
                    burst(&svc, 100)
                        .await
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, r)| (r == Err(SimError::Failed)).then_some(i)),
                );
            }
            failed
        };
        let failed = run(3).await;
        assert!(
            (400..=600).contains(&failed.len()),
            "{} of 10000",
            failed.len()
        );
        assert_eq!(run(3).await, failed);
        assert_ne!(run(4).await, failed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_call_frees_its_place() {
        let svc = SimService::new(1);
        let mut first = Box::pin(svc.call());
        let mut second = Box::pin(svc.call());
        assert!(futures::poll!(first.as_mut()).is_pending());
        assert!(futures::poll!(second.as_mut()).is_pending());
        assert_eq!(svc.in_flight(), 2);
        drop(first);
        assert_eq!(svc.in_flight(), 1);
        assert_eq!(second.await, Ok(MS));
        assert_eq!(svc.in_flight(), 0);
    }
}
