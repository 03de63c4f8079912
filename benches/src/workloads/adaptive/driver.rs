//! The one driver loop every contender of the adaptive workload runs in:
//! it keeps `limit` requests in flight against a [`SimService`] on a
//! paused tokio clock, asks the contender for its limit before every
//! start, and tells it how every request ended.

use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;
use weir_stage::testing::{SimError, SimService};
use weir_stage::{Controller, Outcome, Sample};

/// Width of the buckets the throughput-over-time is counted in.
pub const BUCKET: Duration = Duration::from_millis(100);

/// A concurrency limit under test, as the driver sees it.
pub trait Contender {
    /// What the contender keeps for one request from start to end.
    type Ticket;
    /// The limit now.
    fn limit(&self) -> usize;
    /// A request starts.
    fn begin(&mut self) -> Self::Ticket;
    /// A request ended after `rtt`, `in_flight` others still running.
    fn end(
        &mut self,
        ticket: Self::Ticket,
        rtt: Duration,
        in_flight: usize,
        result: &Result<Duration, SimError>,
    );
}

/// A limit that never moves.
#[derive(Debug)]
pub struct Fixed(pub usize);

impl Contender for Fixed {
    type Ticket = ();
    fn limit(&self) -> usize {
        self.0
    }
    fn begin(&mut self) {}
    fn end(&mut self, (): (), _: Duration, _: usize, _: &Result<Duration, SimError>) {}
}

/// One of tower-acc's algorithms, driven through its `Algorithm` trait
/// (its `ConcurrencyLimit` service times with std's clock, not tokio's).
#[derive(Debug)]
pub struct Tower<A>(pub A);

impl<A: tower_acc::Algorithm> Contender for Tower<A> {
    type Ticket = ();
    fn limit(&self) -> usize {
        self.0.max_concurrency()
    }
    fn begin(&mut self) {}
    fn end(&mut self, (): (), rtt: Duration, n: usize, r: &Result<Duration, SimError>) {
        // tower-acc has no notion of an unrelated failure: every error is
        // an error to it (its default classifier's view of a failed call).
        self.0.update(rtt, n, r.is_err(), false);
    }
}

/// weir's limit through its [`Controller`], told which errors are
/// overload ([`SimError::is_overload`]) and which are not.
#[derive(Debug)]
pub struct Weir(pub Controller);

impl Contender for Weir {
    type Ticket = Sample;
    fn limit(&self) -> usize {
        self.0.limit()
    }
    fn begin(&mut self) -> Sample {
        self.0.start()
    }
    fn end(&mut self, s: Sample, _: Duration, _: usize, r: &Result<Duration, SimError>) {
        s.finish(match r {
            Ok(_) => Outcome::Ok,
            Err(e) if e.is_overload() => Outcome::Overload,
            Err(_) => Outcome::Failed,
        });
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Latency of every successful response, in completion order.
    pub ok_latencies: Vec<Duration>,
    /// Successful responses per [`BUCKET`], from the start.
    pub buckets: Vec<u64>,
    /// Refused (overload) responses.
    pub overloads: u64,
    /// Unrelated failures.
    pub failed: u64,
    /// The limit at the end of every bucket.
    pub limits: Vec<usize>,
    /// The run's length.
    pub run: Duration,
}

impl Trace {
    /// Successful responses per second.
    pub fn throughput(&self) -> f64 {
        self.ok_latencies.len() as f64 / self.run.as_secs_f64()
    }

    /// The 99th percentile of successful responses' latency.
    pub fn p99(&self) -> Duration {
        let mut v = self.ok_latencies.clone();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v.sort_unstable();
        v[(v.len() * 99).div_ceil(100) - 1]
    }

    /// Throughput per p99 millisecond: successful responses per second
    /// divided by the p99 latency in ms.
    pub fn score(&self) -> f64 {
        let p99 = self.p99().as_secs_f64() * 1e3;
        if p99 == 0.0 {
            0.0
        } else {
            self.throughput() / p99
        }
    }

    /// After a step at `at` to `optimum` responses per second: how long
    /// until a bucket's throughput is within 10 % of it (to that bucket's
    /// end), or `None` if none before `until`.
    pub fn recovery(&self, at: Duration, until: Duration, optimum: f64) -> Option<Duration> {
        let per_bucket = optimum * BUCKET.as_secs_f64();
        let first = (at.as_nanos() / BUCKET.as_nanos()) as usize;
        let last = (until.as_nanos() / BUCKET.as_nanos()) as usize;
        (first..last.min(self.buckets.len()))
            .find(|&i| self.buckets[i] as f64 >= 0.9 * per_bucket)
            .map(|i| BUCKET * (i as u32 + 1) - at)
    }
}

/// The runtime every contender runs on: one thread, tokio's paused clock
/// (simulated time that jumps to the next timer when every task waits).
pub(super) fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// How many [`BUCKET`]s `run` holds.
pub(super) fn buckets_in(run: Duration) -> usize {
    (run.as_nanos() / BUCKET.as_nanos()) as usize
}

/// Runs `contender` against `svc` (built by `make` inside the runtime, so
/// its schedule starts with the run) for `run` of simulated time, keeping
/// its limit of requests in flight; responses arriving after `run` are not
/// counted.
pub fn drive<C: Contender>(make: impl FnOnce() -> SimService, mut c: C, run: Duration) -> Trace {
    let rt = paused_runtime();
    rt.block_on(async move {
        let svc = make();
        let start = Instant::now();
        let end = start + run;
        let n_buckets = buckets_in(run);
        let mut t = Trace {
            buckets: vec![0; n_buckets],
            limits: vec![0; n_buckets],
            run,
            ..Trace::default()
        };
        let mut pending = FuturesUnordered::new();
        loop {
            while pending.len() < c.limit() && Instant::now() < end {
                let ticket = c.begin();
                let svc = svc.clone();
                pending.push(async move {
                    let t0 = Instant::now();
                    let r = svc.call().await;
                    (ticket, t0, r)
                });
            }
            let Some((ticket, t0, r)) = pending.next().await else {
                break;
            };
            let now = Instant::now();
            let rtt = now - t0;
            c.end(ticket, rtt, pending.len(), &r);
            if now > end {
                continue;
            }
            let bucket = ((now - start).as_nanos() / BUCKET.as_nanos()) as usize;
            match r {
                Ok(_) => {
                    t.ok_latencies.push(rtt);
                    if let Some(b) = t.buckets.get_mut(bucket) {
                        *b += 1;
                    }
                }
                Err(e) if e.is_overload() => t.overloads += 1,
                Err(_) => t.failed += 1,
            }
            if let Some(l) = t.limits.get_mut(bucket) {
                *l = c.limit();
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_limit_at_the_knee_runs_the_service_flat_out() {
        let t = drive(|| SimService::new(4), Fixed(4), Duration::from_secs(1));
        assert_eq!(t.throughput(), 4000.0);
        assert_eq!(t.p99(), Duration::from_millis(1));
        assert_eq!(t.score(), 4000.0);
        let t = drive(|| SimService::new(4), Fixed(8), Duration::from_secs(1));
        assert_eq!(t.throughput(), 4000.0);
        assert_eq!(t.p99(), Duration::from_millis(2));
        assert_eq!(t.overloads, 0);
        let t = drive(|| SimService::new(4), Fixed(12), Duration::from_secs(1));
        assert!(t.overloads > 0);
    }

    #[test]
    fn recovery_is_the_first_bucket_near_the_optimum() {
        let t = Trace {
            buckets: vec![100, 100, 10, 50, 95, 100],
            ..Trace::default()
        };
        let ms = Duration::from_millis;
        assert_eq!(t.recovery(ms(200), ms(600), 1000.0), Some(ms(300)));
        assert_eq!(t.recovery(ms(200), ms(400), 1000.0), None);
    }
}
