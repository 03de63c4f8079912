//! Supervision: [`Restart`] settings, and the stages that restart what
//! fails — [`restart_source`](crate::restart_source) and
//! [`restart_flow`](crate::restart_flow) — with exponential backoff and
//! jitter, at most so many restarts within a window (Akka's
//! `RestartSource.withBackoff` and `RestartFlow.withBackoff`).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use weir_core::chan::Sender;

use crate::engine::door::Exit;
use crate::engine::Counters;
use crate::error::{BoxError, ConfigError};
use crate::recovery::Backoff;

mod flow;
mod source;

pub use flow::restart_flow;
pub use source::restart_source;

/// How a supervised source or sub-flow is restarted: the [`Backoff`]
/// between restarts, at most how many restarts within how long, and
/// whether a source that *ends* is restarted too.
///
/// The `k`-th restart within the window waits the backoff's `k`-th delay
/// (its [`sample`](Backoff::sample), so jitter applies): a burst of
/// failures backs off further and further, and once the window has passed
/// without restarts the delays start from the first again. One restart
/// more than the window allows fails the stage with [`TooManyRestarts`].
///
/// Defaults: at most 10 restarts within a minute; a source that ends is
/// not restarted. A [`Backoff`] converts into these defaults, so
/// `restart_source(…, Backoff::exponential(d))` works as it is.
///
/// **No setting makes a busy loop.** Every restart waits at least
/// [`Restart::MIN_DELAY`] (1 ms), whatever the backoff and its jitter say,
/// so a source that fails (or ends) at once is restarted at most a
/// thousand times a second, its task asleep in between. And a *zero*
/// backoff ([`Backoff::none`], or a first delay of zero) needs a limit
/// that such a source reaches: fewer restarts than the window holds
/// milliseconds (`max_restarts × 1 ms < within`), so that it fails with
/// [`TooManyRestarts`] within the window instead of restarting for ever;
/// otherwise [`check`](Restart::check) refuses it when the stage is built
/// (with a backoff, restarting for ever is a choice: `usize::MAX` restarts
/// means no limit).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::{Backoff, Restart};
///
/// let secs = Duration::from_secs;
/// let restart = Restart::new(Backoff::exponential(secs(1)).max(secs(30)).jitter(0.2))
///     .max_restarts(5, secs(60))
///     .on_end(true);
/// assert_eq!(restart.limit(), (5, secs(60)));
/// assert!(restart.restarts_on_end());
/// assert_eq!(Restart::from(Backoff::fixed(secs(1))).limit(), (10, secs(60)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    backoff: Backoff,
    max_restarts: usize,
    within: Duration,
    on_end: bool,
}

impl Restart {
    /// Restarts after `backoff`'s delays, at most 10 times within a
    /// minute, on failure only.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, Restart};
    ///
    /// let restart = Restart::new(Backoff::exponential(Duration::from_millis(100)));
    /// assert_eq!(restart.backoff().delay(2), Duration::from_millis(200));
    /// ```
    pub const fn new(backoff: Backoff) -> Restart {
        Restart {
            backoff,
            max_restarts: 10,
            within: Duration::from_secs(60),
            on_end: false,
        }
    }

    /// At most `n` restarts within any `within` of time; the next failure
    /// fails the stage with [`TooManyRestarts`]. A count or window of zero
    /// is a [`ConfigError`] when the stage is built.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, Restart};
    ///
    /// let restart = Restart::new(Backoff::fixed(Duration::from_secs(1)))
    ///     .max_restarts(3, Duration::from_secs(10));
    /// assert_eq!(restart.limit(), (3, Duration::from_secs(10)));
    /// ```
    #[must_use = "it returns the changed settings"]
    pub const fn max_restarts(mut self, n: usize, within: Duration) -> Restart {
        self.max_restarts = n;
        self.within = within;
        self
    }

    /// Whether a source that ends (rather than fails) is restarted too:
    /// for a feed that should run forever, such as a subscription whose
    /// server closes idle connections. Sub-flows ignore it: a sub-flow
    /// ends when its input does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, Restart};
    ///
    /// let restart = Restart::new(Backoff::fixed(Duration::from_secs(1))).on_end(true);
    /// assert!(restart.restarts_on_end());
    /// ```
    #[must_use = "it returns the changed settings"]
    pub const fn on_end(mut self, restart: bool) -> Restart {
        self.on_end = restart;
        self
    }

    /// The delays between restarts.
    ///
    /// # Examples
    ///
    /// See [`Restart::new`].
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// At most how many restarts within how long.
    ///
    /// # Examples
    ///
    /// See [`Restart::max_restarts`].
    pub const fn limit(&self) -> (usize, Duration) {
        (self.max_restarts, self.within)
    }

    /// Whether a source that ends is restarted.
    ///
    /// # Examples
    ///
    /// See [`Restart::on_end`].
    pub const fn restarts_on_end(&self) -> bool {
        self.on_end
    }

    /// The shortest wait before any restart, whatever the backoff (and its
    /// jitter) says: a source or sub-flow that fails at once is restarted
    /// at most once a millisecond, never in a busy loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Restart;
    ///
    /// assert_eq!(Restart::MIN_DELAY, Duration::from_millis(1));
    /// ```
    pub const MIN_DELAY: Duration = Duration::from_millis(1);

    /// Checks the settings before anything runs, for a stage named
    /// `stage` (what [`restart_source`](crate::restart_source) and
    /// [`restart_flow`](crate::restart_flow) do when they are built).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] naming `stage` for a restart count or window
    /// of zero; [`ConfigError::Invalid`] for a zero backoff without a
    /// limit (`usize::MAX` restarts) or with one a stage failing at once
    /// would never reach (`max_restarts ×` [`MIN_DELAY`](Restart::MIN_DELAY)
    /// `≥ within`): it would restart for ever, as fast as it may.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::{Backoff, ConfigError, Restart};
    ///
    /// let secs = Duration::from_secs;
    /// // Three immediate restarts, then the stage fails: fine.
    /// assert!(Restart::new(Backoff::none()).max_restarts(3, secs(60)).check("feed").is_ok());
    /// // Immediate restarts without a limit that can run out: refused.
    /// let forever = Restart::new(Backoff::none()).max_restarts(usize::MAX, secs(60));
    /// assert!(matches!(forever.check("feed"), Err(ConfigError::Invalid { .. })));
    /// // With a backoff, restarting for ever is allowed.
    /// assert!(Restart::new(Backoff::fixed(secs(1))).max_restarts(usize::MAX, secs(60)).check("feed").is_ok());
    /// ```
    pub fn check(&self, stage: &str) -> Result<(), ConfigError> {
        let what = match (self.max_restarts, self.within) {
            (0, _) => "max restarts",
            (_, Duration::ZERO) => "restart window",
            _ if self.backoff.delay(1).is_zero() && !self.runs_out_at_once() => {
                return Err(ConfigError::Invalid {
                    stage: stage.into(),
                    what: format!(
                        "a zero restart backoff needs a limit that runs out: {} restarts within \
                         {:?} never do at one restart per {:?}; give a backoff, or fewer \
                         restarts or a longer window",
                        self.max_restarts,
                        self.within,
                        Restart::MIN_DELAY
                    ),
                })
            }
            _ => return Ok(()),
        };
        Err(ConfigError::Zero {
            stage: stage.into(),
            what,
        })
    }

    /// Whether a stage failing at once, restarted every
    /// [`MIN_DELAY`](Restart::MIN_DELAY), uses up its restarts within the
    /// window (and so gives up instead of restarting for ever).
    fn runs_out_at_once(&self) -> bool {
        if self.max_restarts == usize::MAX {
            return false; // no limit
        }
        let n = u128::try_from(self.max_restarts).unwrap_or(u128::MAX);
        n.saturating_mul(Restart::MIN_DELAY.as_nanos()) < self.within.as_nanos()
    }
}

impl From<Backoff> for Restart {
    fn from(backoff: Backoff) -> Restart {
        Restart::new(backoff)
    }
}

/// Why a supervised stage gave up: one restart more than
/// [`Restart::max_restarts`] allows. It is the
/// [`source`](std::error::Error::source) of the
/// [`Error::Failed`](crate::Error::Failed) naming the stage, and its own
/// source is the last failure.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures::stream;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Backoff, Restart, Scope, TooManyRestarts};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let restart = Restart::new(Backoff::fixed(Duration::from_millis(10)))
///     .max_restarts(2, Duration::from_secs(1));
/// let feed = stage::restart_source(&scope.named("feed"), || {
///     stream::iter([Err::<u32, _>("connection refused")])
/// }, restart)
/// .unwrap();
/// let _sink = stage::for_each(&scope, feed, drop);
/// let err = scope.wait().await.unwrap_err();
/// assert_eq!(err.stage(), Some("feed"));
/// let cause = std::error::Error::source(&err).unwrap();
/// let gave_up = cause.downcast_ref::<TooManyRestarts>().unwrap();
/// assert_eq!(gave_up.restarts(), 2);
/// assert_eq!(cause.to_string(), "gave up after 2 restarts within 1s");
/// assert_eq!(std::error::Error::source(cause).unwrap().to_string(), "connection refused");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("gave up after {restarts} restarts within {within:?}")]
pub struct TooManyRestarts {
    restarts: usize,
    within: Duration,
    #[source]
    last: BoxError,
}

impl TooManyRestarts {
    /// How many restarts the window allowed (all used up).
    ///
    /// # Examples
    ///
    /// See [`TooManyRestarts`].
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// The window.
    ///
    /// # Examples
    ///
    /// See [`TooManyRestarts`].
    pub fn within(&self) -> Duration {
        self.within
    }
}

/// What a supervisor has left: the times of the restarts within the
/// window.
pub(crate) struct Budget {
    restart: Restart,
    recent: VecDeque<Instant>,
}

impl Budget {
    pub(crate) fn new(restart: Restart) -> Budget {
        Budget {
            restart,
            recent: VecDeque::new(),
        }
    }

    /// After `failure`: waits the backoff, unless every reader of `tx` is
    /// gone first, and counts the restart on `counters`. `Ok(true)`:
    /// restart now; `Ok(false)`: nobody reads any more, stop.
    ///
    /// # Errors
    ///
    /// [`TooManyRestarts`] when the window has no restart left.
    pub(crate) async fn wait<U>(
        &mut self,
        failure: BoxError,
        tx: &Sender<U>,
        counters: &Counters,
    ) -> Result<bool, TooManyRestarts> {
        let delay = self.next(failure)?;
        let exit = Exit::new(tx);
        if exit
            .unless_closed(tokio::time::sleep(delay))
            .await
            .is_none()
        {
            return Ok(false);
        }
        counters.restarted();
        Ok(true)
    }

    /// The wait before restarting after `failure`, now — the backoff's,
    /// and never less than [`Restart::MIN_DELAY`]; or the error that ends
    /// the stage when the window has no restart left.
    pub(crate) fn next(&mut self, failure: BoxError) -> Result<Duration, TooManyRestarts> {
        let now = Instant::now();
        let within = self.restart.within;
        while let Some(&at) = self.recent.front() {
            if now.saturating_duration_since(at) < within {
                break;
            }
            self.recent.pop_front();
        }
        if self.recent.len() >= self.restart.max_restarts {
            return Err(TooManyRestarts {
                restarts: self.restart.max_restarts,
                within,
                last: failure,
            });
        }
        self.recent.push_back(now);
        let k = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        Ok(self.restart.backoff.sample(k).max(Restart::MIN_DELAY))
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("recent", &self.recent.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn the_kth_restart_in_the_window_waits_the_kth_delay_and_the_window_slides() {
        let restart = Restart::new(Backoff::exponential(10 * MS)).max_restarts(3, 100 * MS);
        let mut budget = Budget::new(restart);
        assert_eq!(budget.next("a".into()).unwrap(), 10 * MS);
        assert_eq!(budget.next("b".into()).unwrap(), 20 * MS);
        assert_eq!(budget.next("c".into()).unwrap(), 40 * MS);
        let err = budget.next("d".into()).unwrap_err();
        assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "d");
        // Once the window has passed, the delays start from the first.
        tokio::time::advance(100 * MS).await;
        assert_eq!(budget.next("e".into()).unwrap(), 10 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_is_shorter_than_the_floor() {
        let mut zero =
            Budget::new(Restart::new(Backoff::none()).max_restarts(3, Duration::from_secs(1)));
        for _ in 0..3 {
            assert_eq!(zero.next("x".into()).unwrap(), Restart::MIN_DELAY);
        }
        assert!(zero.next("x".into()).is_err());
        let tiny = Backoff::exponential(Duration::from_nanos(1)).jitter(1.0);
        let mut tiny = Budget::new(Restart::new(tiny).max_restarts(usize::MAX, Duration::MAX));
        for k in 0..40 {
            assert!(tiny.next("x".into()).unwrap() >= Restart::MIN_DELAY, "{k}");
        }
    }

    #[test]
    fn a_zero_backoff_needs_a_limit_it_reaches_at_the_floor_pace() {
        let zero = |n, within| {
            Restart::new(Backoff::none())
                .max_restarts(n, within)
                .check("s")
        };
        assert!(zero(9, 10 * MS).is_ok()); // 9 restarts 1 ms apart: within 10 ms
        assert!(matches!(
            zero(10, 10 * MS),
            Err(ConfigError::Invalid { .. })
        ));
        let forever = zero(usize::MAX, Duration::MAX);
        assert!(matches!(forever, Err(ConfigError::Invalid { .. })));
        let none = zero(0, 10 * MS);
        assert!(matches!(
            none,
            Err(ConfigError::Zero {
                what: "max restarts",
                ..
            })
        ));
        let no_window = zero(1, Duration::ZERO);
        assert!(matches!(
            no_window,
            Err(ConfigError::Zero {
                what: "restart window",
                ..
            })
        ));
        let paced = Restart::new(Backoff::fixed(MS)).max_restarts(usize::MAX, Duration::MAX);
        assert!(paced.check("s").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_shortens_a_delay_by_at_most_its_share() {
        let backoff = Backoff::fixed(100 * MS).jitter(0.5);
        let mut budget = Budget::new(Restart::new(backoff).max_restarts(1000, Duration::MAX));
        for _ in 0..200 {
            let d = budget.next("x".into()).unwrap();
            assert!((50 * MS..=100 * MS).contains(&d), "{d:?}");
        }
    }
}
