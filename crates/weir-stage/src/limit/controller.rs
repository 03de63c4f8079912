//! [`Controller`]: one stage's live limit, moved by what its items report.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::adaptive::Adaptive;
use super::gradient::Gradient;
use super::outcome::Outcome;

/// What a [`Controller`] knows now: its limit, and the latencies it is
/// moved by.
///
/// # Examples
///
/// ```
/// use weir_stage::Limit;
///
/// let stats = Limit::fixed(4).controller().stats();
/// assert_eq!(stats.limit, 4);
/// assert_eq!(stats.baseline, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitStats {
    /// The current limit.
    pub limit: usize,
    /// Items started and not yet finished.
    pub in_flight: usize,
    /// The no-load latency the limit compares against, once measured.
    pub baseline: Option<Duration>,
    /// The recent latency (the last round's mean), once measured.
    pub recent: Option<Duration>,
}

/// One stage's live limit. Clones share it.
///
/// A stage asks [`limit`](Controller::limit) before it starts an item,
/// starts a [`Sample`] for it, and finishes the sample with the item's
/// [`Outcome`]; an adaptive controller moves the limit from those. A fixed
/// one never moves and measures nothing.
///
/// # Examples
///
/// ```
/// use weir_stage::{Limit, Outcome};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ctl = Limit::adaptive().min(1).max(16).initial(4).into_controller();
/// for _ in 0..100 {
///     let sample = ctl.start();
///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
///     sample.finish(Outcome::Ok);
/// }
/// let stats = ctl.stats();
/// assert!((1..=16).contains(&stats.limit));
/// assert_eq!(stats.baseline, Some(std::time::Duration::from_millis(1)));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Controller {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    changed: Notify,
    adaptive: Option<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    config: Adaptive,
    rule: Gradient,
}

/// One item's measurement, from [`Controller::start`] to
/// [`Sample::finish`]. Dropping it unfinished (a cancelled item) only
/// counts the item out of [`LimitStats::in_flight`].
///
/// # Examples
///
/// ```
/// use weir_stage::{Limit, Outcome};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ctl = Limit::fixed(2).controller();
/// let sample = ctl.start();
/// assert_eq!(ctl.stats().in_flight, 1);
/// sample.finish(Outcome::Ok);
/// assert_eq!(ctl.stats().in_flight, 0);
/// # }
/// ```
#[must_use = "finish the sample with the item's outcome"]
#[derive(Debug)]
pub struct Sample {
    controller: Controller,
    started: Option<Instant>,
    done: bool,
}

impl Controller {
    pub(super) fn fixed(n: usize) -> Controller {
        Controller::with(n, None)
    }

    pub(super) fn adaptive(config: Adaptive) -> Controller {
        let config = config.bounded();
        let start = config.initial_value();
        let state = State {
            rule: Gradient::new(&config),
            config,
        };
        Controller::with(start, Some(Mutex::new(state)))
    }

    fn with(limit: usize, adaptive: Option<Mutex<State>>) -> Controller {
        Controller {
            inner: Arc::new(Inner {
                limit: AtomicUsize::new(limit),
                in_flight: AtomicUsize::new(0),
                changed: Notify::new(),
                adaptive,
            }),
        }
    }

    /// The current limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::fixed(5).controller().limit(), 5);
    /// ```
    pub fn limit(&self) -> usize {
        self.inner.limit.load(Ordering::Acquire)
    }

    /// Whether this controller moves its limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert!(Limit::adaptive().into_controller().is_adaptive());
    /// ```
    pub fn is_adaptive(&self) -> bool {
        self.inner.adaptive.is_some()
    }

    /// Starts measuring one item.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Limit, Outcome};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let ctl = Limit::fixed(1).controller();
    /// ctl.start().finish(Outcome::Failed);
    /// # }
    /// ```
    pub fn start(&self) -> Sample {
        self.inner.in_flight.fetch_add(1, Ordering::Relaxed);
        Sample {
            controller: self.clone(),
            started: self.inner.adaptive.as_ref().map(|_| Instant::now()),
            done: false,
        }
    }

    /// The limit, the number in flight and the latencies, now.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::fixed(3).controller().stats().limit, 3);
    /// ```
    pub fn stats(&self) -> LimitStats {
        let (baseline, recent) = match &self.inner.adaptive {
            Some(state) => {
                let s = state.lock().unwrap_or_else(|e| e.into_inner());
                (s.rule.baseline(), s.rule.recent())
            }
            None => (None, None),
        };
        LimitStats {
            limit: self.limit(),
            in_flight: self.inner.in_flight.load(Ordering::Relaxed),
            baseline,
            recent,
        }
    }

    /// Waits until the limit is no longer `seen`, and returns the new one.
    /// A fixed controller's never changes, so this waits forever.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Limit;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let ctl = Limit::fixed(3).controller();
    /// let waited = tokio::time::timeout(Duration::from_secs(1), ctl.changed(3)).await;
    /// assert!(waited.is_err());
    /// # }
    /// ```
    pub async fn changed(&self, seen: usize) -> usize {
        loop {
            let notified = self.inner.changed.notified();
            let now = self.limit();
            if now != seen {
                return now;
            }
            notified.await;
        }
    }

    fn finished(&self, started: Option<Instant>, outcome: Outcome) {
        let in_flight = self.inner.in_flight.load(Ordering::Relaxed);
        let (Some(state), Some(started)) = (&self.inner.adaptive, started) else {
            return;
        };
        let now = Instant::now();
        let latency = now.saturating_duration_since(started);
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let next = s.update(latency, outcome, in_flight, now);
        drop(s);
        if self.inner.limit.swap(next, Ordering::AcqRel) != next {
            self.inner.changed.notify_waiters();
        }
    }
}

impl State {
    /// The rule lives in [`Gradient`](super::gradient); see
    /// [`Adaptive`] for what it does and why.
    fn update(
        &mut self,
        latency: Duration,
        outcome: Outcome,
        in_flight: usize,
        now: Instant,
    ) -> usize {
        self.rule
            .update(&self.config, latency, outcome, in_flight, now)
    }
}

impl Sample {
    /// Ends the measurement with the item's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{Limit, Outcome};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// Limit::adaptive().into_controller().start().finish(Outcome::Overload);
    /// # }
    /// ```
    pub fn finish(mut self, outcome: Outcome) {
        self.done = true;
        self.controller
            .inner
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
        self.controller.finished(self.started, outcome);
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        if !self.done {
            self.controller
                .inner
                .in_flight
                .fetch_sub(1, Ordering::Relaxed);
        }
    }
}
