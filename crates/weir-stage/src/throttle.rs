//! [`throttle`]: limits how many items pass per period.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::Door;
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// A rate limit for [`throttle`]: at most [`items`](Rate::items) per
/// [`period`](Rate::period).
///
/// Making a `Rate` never fails; [`throttle`] rejects a rate of zero items or
/// a zero period with a [`ConfigError`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::Rate;
///
/// assert_eq!(Rate::per_second(100), Rate::new(100, Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    items: usize,
    period: Duration,
}

impl Rate {
    /// At most `items` per `period`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Rate;
    ///
    /// let rate = Rate::new(5, Duration::from_millis(100));
    /// assert_eq!(rate.items(), 5);
    /// ```
    pub const fn new(items: usize, period: Duration) -> Rate {
        Rate { items, period }
    }

    /// At most `items` per second.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Rate;
    ///
    /// assert_eq!(Rate::per_second(10).period(), Duration::from_secs(1));
    /// ```
    pub const fn per_second(items: usize) -> Rate {
        Rate::new(items, Duration::from_secs(1))
    }

    /// How many items may pass per [`period`](Rate::period).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Rate;
    ///
    /// assert_eq!(Rate::per_second(10).items(), 10);
    /// ```
    pub const fn items(&self) -> usize {
        self.items
    }

    /// The length of the sliding window the limit applies to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Rate;
    ///
    /// assert_eq!(Rate::new(1, Duration::from_millis(20)).period(), Duration::from_millis(20));
    /// ```
    pub const fn period(&self) -> Duration {
        self.period
    }
}

/// Lets items through at no more than `rate`: in every window of
/// [`rate.period()`](Rate::period) — a sliding window, not one aligned to a
/// clock — at most [`rate.items()`](Rate::items) items enter the output.
///
/// Items pass as soon as the limit allows: a burst of up to `items` goes
/// out at once, then the stage waits until the oldest item of the window
/// is `period` old. Time is [`tokio::time`], so a paused test clock
/// controls it. The guarantee is strict (it holds for every window, which
/// is what a server enforcing "N requests per second" checks); to keep its
/// memory small, items sent within `period / 128` of each other are
/// counted together as if sent at the latest of their times, which can
/// lower the throughput by up to that fraction, never raise it.
///
/// The rate is measured where items enter the output channel. A consumer
/// that falls behind and then catches up reads buffered items faster; give
/// the stage a small capacity ([`Scope::with_capacity`]) when the reader
/// must see the rate too.
///
/// Order: output order is input order; no item is dropped.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while it waits for the rate or for input) and drops its input, which
/// stops the upstream stage in turn.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `rate.items()` is 0, [`ConfigError::Invalid`]
/// when `rate.period()` is zero; both name the stage.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Rate, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let requests = stage::generate(&scope, 1..=3);
/// let paced = stage::throttle(&scope, requests, Rate::per_second(100)).unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, paced);
/// assert_eq!(all.await.unwrap(), [1, 2, 3]);
/// # }
/// ```
pub fn throttle<T>(
    scope: &Scope,
    input: Receiver<T>,
    rate: Rate,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
{
    if rate.items == 0 {
        return Err(ConfigError::Zero {
            stage: scope.config_name("throttle"),
            what: "rate items",
        });
    }
    if rate.period.is_zero() {
        return Err(ConfigError::Invalid {
            stage: scope.config_name("throttle"),
            what: "rate period must be longer than zero".into(),
        });
    }
    let (tx, rx) = scope.channel();
    scope.spawn_stage("throttle", Role::Stage, move |_| async move {
        let mut window = Window::new(rate);
        let mut buf = Vec::with_capacity(BATCH.min(rate.items));
        let door = Door::new(&input, &tx);
        loop {
            let allowed = window.allowed(Instant::now());
            if allowed == 0 {
                let free_at = window.next_free();
                let timer = async move {
                    match free_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await, // `period` of ~forever
                    }
                };
                match door.unless_closed(timer).await {
                    Some(()) => continue,
                    None => return Ok(()),
                }
            }
            let received = match door.recv(&mut buf, allowed.min(BATCH)).await {
                Some(0) | None => return Ok(()),
                Some(n) => n,
            };
            let items = std::mem::replace(&mut buf, Vec::with_capacity(BATCH.min(rate.items)));
            if !door.send(items).await {
                return Ok(());
            }
            // After the send: the items entered the channel by now, so
            // counting them from now is never too early.
            window.record(Instant::now(), received);
        }
    });
    Ok(rx)
}

/// The items sent during the last `period`, as groups sent close together.
struct Window {
    rate: Rate,
    /// Groups closer than this are merged (bounds `sent` to ~130 entries).
    grain: Duration,
    /// `(first send, last send, count)`, oldest first.
    sent: VecDeque<(Instant, Instant, usize)>,
    in_window: usize,
}

impl Window {
    fn new(rate: Rate) -> Window {
        Window {
            rate,
            grain: rate.period / 128,
            sent: VecDeque::new(),
            in_window: 0,
        }
    }

    /// Forgets the groups older than `period`; how many items may go now.
    fn allowed(&mut self, now: Instant) -> usize {
        while let Some(&(_, last, count)) = self.sent.front() {
            match last.checked_add(self.rate.period) {
                Some(end) if end <= now => {
                    self.sent.pop_front();
                    self.in_window -= count;
                }
                _ => break,
            }
        }
        self.rate.items - self.in_window
    }

    /// When the oldest group leaves the window (`None`: too far to represent).
    fn next_free(&self) -> Option<Instant> {
        let &(_, last, _) = self.sent.front()?;
        last.checked_add(self.rate.period)
    }

    fn record(&mut self, now: Instant, count: usize) {
        self.in_window += count;
        match self.sent.back_mut() {
            Some((first, last, n)) if now.saturating_duration_since(*first) <= self.grain => {
                *last = now;
                *n += count;
            }
            _ => self.sent.push_back((now, now, count)),
        }
    }
}
