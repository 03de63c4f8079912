//! The adaptive limit's rule: a per-round latency gradient with a held
//! probe (see [`Adaptive`](super::Adaptive) for why this one).
//!
//! A *round* is one limit's worth of finished items started under the
//! current limit. At the end of each round:
//!
//! 1. the round's mean latency (of [`Outcome::Ok`] items) feeds the
//!    baseline, the lowest round mean of the last one to two windows;
//! 2. an overload ends the round at once and cuts the limit to the
//!    smaller of `in flight × baseline ÷ mean` and `limit × BACKOFF`;
//! 3. else a mean above `tolerance × baseline` cuts it to
//!    `in flight × baseline ÷ mean` — Little's law: the number the service
//!    was actually serving, the rest were queued — unless the last two
//!    cuts did not bring the latency down, which means the service itself
//!    got slower: then the baseline moves to the mean (the round right
//!    after a cut only drains what queued before it, and is not judged);
//! 4. else, `hold` rounds after a cut (counted as at least
//!    [`HOLD_ROUND`] items each, so a small limit does not probe more
//!    often per item than a large one), a stage using its limit probes up:
//!    +1, then +2, +4, … (at most doubling) while the rounds stay clean.

use std::time::Duration;

use tokio::time::Instant;

use super::adaptive::Adaptive;
use super::outcome::Outcome;

/// The cut on an overload when the latencies alone ask for less.
const BACKOFF: f64 = 0.75;
/// The fewest items a round of the hold counts for.
pub(super) const HOLD_ROUND: usize = 25;
/// A second cut that lowered the latency by less than this is no cut:
/// the service's own latency moved.
const NO_EFFECT: f64 = 0.95;

#[derive(Debug)]
pub(super) struct Gradient {
    /// The limit as a real number, so small steps add up.
    level: f64,
    /// Items started before this ran under an older limit: not counted.
    round_start: Option<Instant>,
    round: Round,
    /// Lowest round mean (seconds) in the current and the previous window.
    floor_now: Option<f64>,
    floor_prev: Option<f64>,
    window_start: Option<Instant>,
    recent: Option<Duration>,
    /// Clean rounds to wait before probing up again.
    hold: usize,
    /// Consecutive probes (the next one adds `2^streak`).
    streak: u32,
    /// The ratio that caused the last cut, until a round after it was
    /// judged.
    last_cut: Option<f64>,
    /// Cuts in a row that did not bring the latency down.
    ineffective: u32,
    /// The round after a cut drains what queued before it: not judged.
    settling: bool,
}

#[derive(Debug, Default)]
struct Round {
    finished: usize,
    ok: usize,
    sum: f64,
    overloads: usize,
    /// Most items in flight seen (counting the one finishing).
    peak: usize,
}

impl Gradient {
    pub(super) fn new(config: &Adaptive) -> Gradient {
        Gradient {
            level: config.initial_value() as f64,
            round_start: None,
            round: Round::default(),
            floor_now: None,
            floor_prev: None,
            window_start: None,
            recent: None,
            hold: 0,
            streak: 0,
            last_cut: None,
            settling: false,
            ineffective: 0,
        }
    }

    pub(super) fn baseline(&self) -> Option<Duration> {
        let floor = match (self.floor_now, self.floor_prev) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        floor.map(Duration::from_secs_f64)
    }

    pub(super) fn recent(&self) -> Option<Duration> {
        self.recent
    }

    fn limit(&self, config: &Adaptive) -> usize {
        (self.level.floor() as usize).clamp(config.min, config.max)
    }

    /// One item finished `latency` after it started, `in_flight` others
    /// still running; returns the limit.
    pub(super) fn update(
        &mut self,
        config: &Adaptive,
        latency: Duration,
        outcome: Outcome,
        in_flight: usize,
        now: Instant,
    ) -> usize {
        let limit = self.limit(config);
        let started = now.checked_sub(latency).unwrap_or(now);
        if self.round_start.is_some_and(|t| started < t) {
            return limit;
        }
        let r = &mut self.round;
        r.finished += 1;
        r.peak = r.peak.max(in_flight + 1);
        match outcome {
            Outcome::Ok => {
                r.ok += 1;
                r.sum += latency.as_secs_f64();
            }
            Outcome::Overload => r.overloads += 1,
            Outcome::Failed => {}
        }
        // An overload ends the round at once: the cut comes now, once per
        // item started since the last change.
        if r.finished < limit.max(1) && outcome != Outcome::Overload {
            return limit;
        }
        self.end_round(config, now);
        self.limit(config)
    }

    fn end_round(&mut self, config: &Adaptive, now: Instant) {
        let round = std::mem::take(&mut self.round);
        let limit = self.limit(config) as f64;
        let mean = (round.ok > 0).then(|| round.sum / round.ok as f64);
        if let Some(m) = mean {
            let window_start = *self.window_start.get_or_insert(now);
            if now.saturating_duration_since(window_start) >= config.window {
                self.floor_prev = self.floor_now.take();
                self.window_start = Some(now);
            }
            self.floor_now = Some(self.floor_now.map_or(m, |f| f.min(m)));
            self.recent = Some(Duration::from_secs_f64(m));
        }
        let base = self.baseline().map(|b| b.as_secs_f64());
        let ratio = match (mean, base) {
            (Some(m), Some(b)) if b > 0.0 => Some(m / b),
            _ => None,
        };
        // What the service was serving, by Little's law.
        let serving = |r: f64| (round.peak as f64).min(limit) / r;
        let (min, max) = (config.min as f64, config.max as f64);
        let before = self.level;
        let mut cut = None;
        if round.overloads > 0 {
            self.level = ratio.map_or(limit, serving).min(limit * BACKOFF);
            cut = Some(ratio.unwrap_or(f64::INFINITY));
        } else if self.settling {
            self.settling = false;
            return;
        } else if let Some(r) = ratio.filter(|&r| r > config.tolerance) {
            let no_effect = self.last_cut.is_some_and(|prev| r >= prev * NO_EFFECT);
            self.ineffective = if no_effect { self.ineffective + 1 } else { 0 };
            if self.ineffective >= 2 {
                // Two cuts did not bring the latency down: not a queue.
                self.floor_now = mean;
                self.floor_prev = None;
                self.ineffective = 0;
            } else {
                self.level = serving(r);
                cut = Some(r);
            }
        } else if self.hold > 0 {
            self.hold = self.hold.saturating_sub(round.finished);
        } else if round.peak as f64 * 2.0 >= limit {
            let step = f64::from(1u32 << self.streak.min(20)).min(limit.max(1.0));
            self.level = limit + step;
            self.streak += 1;
        }
        if cut.is_some() {
            let after = (self.level.floor() as usize).clamp(config.min, config.max);
            self.hold = config.hold as usize * after.max(HOLD_ROUND);
            self.streak = 0;
            self.settling = true;
        }
        if cut.is_none() {
            self.ineffective = 0;
        }
        self.last_cut = cut;
        self.level = self.level.clamp(min, max);
        if self.level.floor() != before.floor() {
            self.round_start = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::time::Duration;

    use futures::stream::{FuturesUnordered, StreamExt};
    use tokio::time::Instant;

    use crate::testing::{SimError, SimService};
    use crate::{Controller, Limit, Outcome};

    const MS: Duration = Duration::from_millis(1);

    /// A controller made without `Limit::check` from bounds it refuses
    /// (min above max, min 0, a NaN tolerance, a zero window) still runs:
    /// it keeps to `max(min, 1)..=max(max, min)` and never panics.
    #[tokio::test(start_paused = true)]
    async fn unchecked_bad_bounds_never_panic() {
        let bad = Limit::adaptive()
            .min(10)
            .max(5)
            .initial(7)
            .tolerance(f64::NAN)
            .window(Duration::ZERO);
        let ctl = bad.into_controller();
        assert_eq!(ctl.limit(), 10);
        for i in 0..60 {
            let s = ctl.start();
            tokio::time::sleep(MS * (1 + i % 3)).await;
            s.finish(if i % 7 == 0 {
                Outcome::Overload
            } else {
                Outcome::Ok
            });
            assert_eq!(ctl.limit(), 10);
        }
        let zero = Limit::adaptive().min(0).max(0).into_controller();
        for _ in 0..20 {
            zero.start().finish(Outcome::Overload);
            assert_eq!(zero.limit(), 1);
        }
    }

    fn outcome(r: &Result<Duration, SimError>) -> Outcome {
        match r {
            Ok(_) => Outcome::Ok,
            Err(e) if e.is_overload() => Outcome::Overload,
            Err(_) => Outcome::Failed,
        }
    }

    /// Keeps `ctl.limit()` calls of `call` in flight for `run`; returns
    /// every result's latency (Ok only) and the limit at every finish.
    async fn closed_loop<F, Fut>(ctl: &Controller, run: Duration, call: F) -> Vec<(Duration, usize)>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = (Duration, Outcome)>,
    {
        let end = Instant::now() + run;
        let mut pending = FuturesUnordered::new();
        let mut seen = Vec::new();
        loop {
            while pending.len() < ctl.limit() && Instant::now() < end {
                let sample = ctl.start();
                let fut = call();
                pending.push(async move { (fut.await, sample) });
            }
            let Some(((latency, outcome), sample)) = pending.next().await else {
                return seen;
            };
            sample.finish(outcome);
            if outcome == Outcome::Ok {
                seen.push((latency, ctl.limit()));
            }
        }
    }

    async fn against(ctl: &Controller, svc: &SimService, run: Duration) -> Vec<(Duration, usize)> {
        closed_loop(ctl, run, || {
            let svc = svc.clone();
            async move {
                let r = svc.call().await;
                (r.unwrap_or(MS), outcome(&r))
            }
        })
        .await
    }

    fn slow_share(seen: &[(Duration, usize)]) -> f64 {
        seen.iter().filter(|(d, _)| *d > MS).count() as f64 / seen.len() as f64
    }

    fn adaptive() -> Controller {
        Limit::from(Limit::adaptive().max(128)).controller()
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn converges_to_the_knee_and_keeps_the_queue_short() {
        let (ctl, svc) = (adaptive(), SimService::new(24));
        let seen = against(&ctl, &svc, Duration::from_secs(5)).await;
        let late = &seen[seen.len() / 2..];
        assert!(
            late.iter().all(|(_, l)| (24..=26).contains(l)),
            "{:?}",
            ctl.stats()
        );
        // Probing above the knee queues under 1 % of the requests.
        assert!(slow_share(&seen) < 0.01, "{}", slow_share(&seen));
        let served = seen.len() as f64 / 5.0;
        assert!(served > 0.95 * 24_000.0, "{served}");
        assert_eq!(ctl.stats().baseline, Some(MS));
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn follows_the_knee_down_and_up() {
        let second = Duration::from_secs(1);
        let ctl = adaptive();
        let svc = SimService::builder(24)
            .step(2 * second, 8)
            .step(4 * second, 40)
            .build();
        let limit_at_end = |seen: Vec<(Duration, usize)>| seen.last().map(|s| s.1);
        let _ = against(&ctl, &svc, 2 * second).await;
        assert!((24..=26).contains(&ctl.limit()), "{}", ctl.limit());
        let down = limit_at_end(against(&ctl, &svc, second / 2).await);
        assert!(down.is_some_and(|l| (8..=9).contains(&l)), "{down:?}");
        let _ = against(&ctl, &svc, 3 * second / 2).await;
        let up = limit_at_end(against(&ctl, &svc, second / 2).await);
        assert!(up.is_some_and(|l| (40..=43).contains(&l)), "{up:?}");
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn unrelated_failures_do_not_bring_it_down() {
        let ctl = adaptive();
        let svc = SimService::builder(24).errors(0.05, 11).build();
        let seen = against(&ctl, &svc, Duration::from_secs(3)).await;
        let late = &seen[seen.len() / 2..];
        // No collapse: never far under the knee (a round with a failure
        // has fewer latencies, so one queued request weighs more), and a
        // probe above it is brief (under 1 % of requests queued).
        let lowest = late.iter().map(|s| s.1).min();
        assert!(lowest.is_some_and(|l| l >= 22), "{lowest:?}");
        assert!(slow_share(&seen) < 0.01, "{}", slow_share(&seen));

        // Nothing but failures: not a measurement, the limit stays.
        let ctl = Limit::from(Limit::adaptive().initial(20)).controller();
        for _ in 0..1000 {
            let sample = ctl.start();
            tokio::time::sleep(5 * MS).await;
            sample.finish(Outcome::Failed);
        }
        assert_eq!(ctl.limit(), 20);
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn overload_brings_it_down() {
        let ctl = Limit::from(Limit::adaptive().initial(40)).controller();
        for _ in 0..40 {
            let sample = ctl.start();
            tokio::time::sleep(MS).await;
            sample.finish(Outcome::Overload);
        }
        assert!(ctl.limit() <= 30, "{}", ctl.limit());
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn stays_within_its_bounds() {
        let ctl = Limit::from(Limit::adaptive().min(10).max(12).initial(11)).controller();
        let second = Duration::from_secs(1);
        // A tiny service pushes it down, a huge one up: never past either.
        let seen = against(&ctl, &SimService::new(2), second).await;
        assert!(seen.iter().all(|(_, l)| (10..=12).contains(l)));
        assert_eq!(ctl.limit(), 10);
        let seen = against(&ctl, &SimService::new(1000), second).await;
        assert!(seen.iter().all(|(_, l)| (10..=12).contains(l)));
        assert_eq!(ctl.limit(), 12);
    }

    #[cfg_attr(
        miri,
        ignore = "simulates seconds of a service, item by item: too slow under Miri"
    )]
    #[tokio::test(start_paused = true)]
    async fn the_baseline_follows_a_slower_service() {
        let ctl = Limit::from(Limit::adaptive().max(64)).controller();
        let slower_at = Instant::now() + Duration::from_secs(1);
        let call = || async move {
            // No queue at all: only the no-load latency moves, 1 → 5 ms.
            let latency = if Instant::now() < slower_at {
                MS
            } else {
                5 * MS
            };
            tokio::time::sleep(latency).await;
            (latency, Outcome::Ok)
        };
        let _ = closed_loop(&ctl, Duration::from_secs(1), call).await;
        assert_eq!((ctl.limit(), ctl.stats().baseline), (64, Some(MS)));
        let _ = closed_loop(&ctl, Duration::from_secs(2), call).await;
        assert_eq!((ctl.limit(), ctl.stats().baseline), (64, Some(5 * MS)));
    }

    #[tokio::test(start_paused = true)]
    async fn changed_wakes_a_waiter() {
        let ctl = adaptive();
        let first = ctl.limit();
        let waiter = tokio::spawn({
            let ctl = ctl.clone();
            async move { ctl.changed(first).await }
        });
        let _ = against(&ctl, &SimService::new(24), Duration::from_millis(50)).await;
        let new = crate::testing::within(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert_ne!(new, first);
    }
}
