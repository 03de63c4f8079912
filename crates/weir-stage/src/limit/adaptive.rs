//! [`Adaptive`]: the settings of a limit a stage moves itself.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;

/// The settings of an adaptive [`Limit`](super::Limit): its bounds, where it
/// starts, and how much latency growth it reads as a queue forming.
///
/// Built by [`Limit::adaptive`](super::Limit::adaptive); every setting has
/// a default, so `Limit::adaptive()` alone is a complete limit.
///
/// # How it moves
///
/// The limit is a latency *gradient measured per round, with a held
/// probe*. A round is one limit's worth of items finished that started
/// under the current limit. At the end of each round:
///
/// * the round's mean latency feeds the **baseline**, the lowest round
///   mean of the last one to two [`window`](Adaptive::window)s — so a
///   baseline measured before the service got slower expires;
/// * an **overload** ([`Outcome::Overload`](super::Outcome::Overload): an
///   overload error or a per-item timeout) ends the round at once and cuts
///   the limit to what the service was serving (below), and at least by a
///   quarter — once per item started since the last change;
/// * a mean above [`tolerance`](Adaptive::tolerance) × baseline means a
///   queue: the limit is **cut to what the service was serving**, by
///   Little's law `in flight × baseline ÷ mean` (with 32 in flight and a
///   mean 1.33× the baseline, about 24 were being served and 8 queued). If
///   two cuts in a row do not bring the latency down, it was not a queue
///   but a slower service, and the baseline moves to the new latency;
/// * otherwise, [`hold`](Adaptive::hold) rounds (of at least 25 items)
///   after the last cut, a
///   stage that uses at least half its limit **probes up**: +1, then +2,
///   +4, … (at most doubling per round) while the rounds stay clean.
///
/// [`Outcome::Failed`](super::Outcome::Failed) items (errors unrelated to
/// load) count towards a round but are no measurement: they never lower
/// the limit. The limit always stays within [`min`](Adaptive::min) and
/// [`max`](Adaptive::max).
///
/// # Why this rule
///
/// Measured with `compare --only adaptive` (workload 12 of
/// `benches/`, table in `docs/benchmarks.md`) against a simulated service
/// (`testing::SimService`: 1 ms up to a knee `c*` in flight, a queue
/// above it, refusals above `2·c*`), 20 s simulated, limits 1…128 from 8:
///
/// | `c* = 24` | ok/s | p99 | ok/s ÷ p99 ms |
/// |---|---:|---:|---:|
/// | best fixed limit (24, found by a sweep) | 24000 | 1 ms | 24000 |
/// | this rule (through a `try_map_unordered` stage) | 23997 | 1 ms | 23997 |
/// | the first rule (AIMD on latency, tolerance 1.5; 4 s `--quick` run) | 23962 | 2 ms | 11981 |
/// | tower-acc `Aimd` | 23999 | 2 ms | 11999 |
/// | tower-acc `Vegas` | 21726 | 2 ms | 10863 |
/// | tower-acc `Gradient2` | 23997 | 2 ms | 11999 |
///
/// Above the knee a queue keeps throughput at `c*` but every queued
/// request is slow, so a rule that settles anywhere above the knee — AIMD
/// until its latency threshold, Gradient2 with its 1.5× tolerance and
/// queue allowance, Vegas between its α and β queue sizes — pays in p99
/// (Vegas, which reads every error as overload, also loses 11 % of the
/// throughput when 5 % of requests fail for other reasons). Cutting
/// straight to the served number lands on the knee in one or two rounds:
/// with `c*` stepping 24 → 8 → 40 → 24 every 5 s this rule serves 23913
/// ok/s at p99 1 ms (the best fixed limit, 40: 24000 at 2 ms), back within
/// 10 % of each new optimum in 0.1–0.2 s; with 5 % unrelated failures,
/// 22355 ok/s at 1 ms (best fixed: 22802 at 1 ms). Holding before each
/// probe keeps the requests it queues under 1 %: a hold of 16 rounds
/// queued 1.45 % in the stepping scenario (p99 2 ms), 24 queues 0.30 %,
/// hence the default. `compare --only adaptive` prints every scenario.
///
/// # Examples
///
/// ```
/// use weir_stage::Limit;
///
/// let limit: Limit = Limit::adaptive().min(1).max(128).initial(8).into();
/// assert_eq!(limit.initial(), 8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adaptive {
    pub(super) min: usize,
    pub(super) max: usize,
    pub(super) initial: usize,
    pub(super) tolerance: f64,
    pub(super) hold: u32,
    pub(super) window: Duration,
}

impl Default for Adaptive {
    fn default() -> Adaptive {
        Adaptive {
            min: 1,
            max: 256,
            initial: 8,
            tolerance: 1.02,
            hold: 24,
            window: Duration::from_secs(10),
        }
    }
}

impl Adaptive {
    /// The lowest the limit goes (default 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().min(4);
    /// ```
    pub fn min(mut self, n: usize) -> Adaptive {
        self.min = n;
        self
    }

    /// The highest the limit goes (default 256).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().max(64);
    /// ```
    pub fn max(mut self, n: usize) -> Adaptive {
        self.max = n;
        self
    }

    /// Where the limit starts (default 8, raised to `min` or lowered to
    /// `max` when outside them).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().initial(16);
    /// ```
    pub fn initial(mut self, n: usize) -> Adaptive {
        self.initial = n;
        self
    }

    /// How many times the baseline (no-load) latency a round's mean
    /// latency may reach before the limit is cut (default 1.02; at least
    /// 1). The default reads any lasting queue as one; raise it for a
    /// service whose latency is noisy at no load, so noise is not read as
    /// a queue (e.g. 1.2 for ±20 % jitter).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().tolerance(2.0);
    /// ```
    pub fn tolerance(mut self, ratio: f64) -> Adaptive {
        self.tolerance = ratio;
        self
    }

    /// How many rounds after a cut the limit waits before it probes up
    /// again (default 24). A round is one limit's worth of finished
    /// items, and counts as at least 25 here, so a small limit waits as
    /// many items as a limit of 25 would. Longer holds mean fewer queued items above the service's
    /// capacity (a lower p99) and slower growth when capacity appears.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().hold(32);
    /// ```
    pub fn hold(mut self, rounds: u32) -> Adaptive {
        self.hold = rounds;
        self
    }

    /// How long the no-load latency (the baseline) is remembered: it is
    /// the lowest round's mean latency over the last one to two windows
    /// (default 10 s), so a baseline measured before the service got
    /// slower expires. (A cut that does not bring latency down moves the
    /// baseline sooner.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().window(Duration::from_secs(30));
    /// ```
    pub fn window(mut self, window: Duration) -> Adaptive {
        self.window = window;
        self
    }

    pub(super) fn initial_value(&self) -> usize {
        // Never panics, even on bounds `check` would refuse (min > max).
        self.initial.max(self.min.max(1)).min(self.max.max(1))
    }

    /// The settings a controller runs on: the ones [`check`](Self::check)
    /// would refuse are brought into range (min at least 1, max at least
    /// min, a tolerance of at least 1, a window of at least 1 ms), so a
    /// controller made without a check never panics.
    pub(super) fn bounded(mut self) -> Adaptive {
        self.min = self.min.max(1);
        self.max = self.max.max(self.min);
        if !(self.tolerance >= 1.0 && self.tolerance.is_finite()) {
            self.tolerance = 1.0;
        }
        self.window = self.window.max(Duration::from_millis(1));
        self
    }

    pub(super) fn max_value(&self) -> usize {
        self.max
    }

    pub(super) fn check(&self, stage: &str, what: &'static str) -> Result<(), ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            stage: Arc::from(stage),
            what: format!("{what}: {why}"),
        };
        if self.min == 0 {
            return Err(ConfigError::Zero {
                stage: Arc::from(stage),
                what,
            });
        }
        if self.min > self.max {
            return Err(invalid(format!(
                "adaptive min {} is above max {}",
                self.min, self.max
            )));
        }
        if !(self.tolerance >= 1.0 && self.tolerance.is_finite()) {
            return Err(invalid(format!(
                "adaptive tolerance {} must be a finite ratio of at least 1",
                self.tolerance
            )));
        }
        if self.window.is_zero() {
            return Err(invalid("adaptive window must be longer than zero".into()));
        }
        Ok(())
    }
}

impl Adaptive {
    /// A controller for one stage, as
    /// [`Limit::controller`](super::Limit::controller) makes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::adaptive().initial(6).into_controller().limit(), 6);
    /// ```
    pub fn into_controller(self) -> super::Controller {
        super::Controller::adaptive(self)
    }
}
