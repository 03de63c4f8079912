//! [`Backoff`]: how long a stage waits before retrying a failed job, with
//! optional jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a stage with a [`Recovery`](crate::Recovery) (a
/// [`WorkerPool`](crate::WorkerPool), [`try_then`](crate::try_then), …)
/// waits before retrying a failed job: a fixed delay, or one that grows
/// exponentially up to a cap, optionally with [`jitter`](Backoff::jitter)
/// so that jobs that failed together do not all retry at the same moment.
///
/// [`delay`](Backoff::delay) is the nominal delay; [`sample`](Backoff::sample)
/// is what a stage actually waits (the nominal delay less a random part,
/// with jitter). The waits are `tokio::time` sleeps, so tests can drive
/// them with a paused clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::Backoff;
///
/// let ms = Duration::from_millis;
/// let backoff = Backoff::exponential(ms(10)).max(ms(50));
/// assert_eq!(backoff.delay(1), ms(10)); // before the first retry
/// assert_eq!(backoff.delay(2), ms(20));
/// assert_eq!(backoff.delay(3), ms(40));
/// assert_eq!(backoff.delay(4), ms(50)); // capped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backoff {
    initial: Duration,
    factor: u32,
    max: Duration,
    /// The share of each delay that is random, in millionths.
    jitter_ppm: u32,
}

/// One million: the denominator of [`Backoff::jitter_ppm`].
const PPM: u32 = 1_000_000;

impl Backoff {
    /// The same `delay` before every retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::fixed(Duration::from_secs(1));
    /// assert_eq!(backoff.delay(5), Duration::from_secs(1));
    /// ```
    pub const fn fixed(delay: Duration) -> Backoff {
        Backoff {
            initial: delay,
            factor: 1,
            max: delay,
            jitter_ppm: 0,
        }
    }

    /// `initial` before the first retry, then twice as long before each
    /// next one, without a cap unless [`max`](Backoff::max) sets one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(100));
    /// assert_eq!(backoff.delay(4), Duration::from_millis(800));
    /// ```
    pub const fn exponential(initial: Duration) -> Backoff {
        Backoff {
            initial,
            factor: 2,
            max: Duration::MAX,
            jitter_ppm: 0,
        }
    }

    /// No delay between retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// assert_eq!(Backoff::none().delay(3), Duration::ZERO);
    /// ```
    pub const fn none() -> Backoff {
        Backoff::fixed(Duration::ZERO)
    }

    /// Caps every delay at `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_secs(1)).max(Duration::from_secs(5));
    /// assert_eq!(backoff.delay(10), Duration::from_secs(5));
    /// ```
    pub const fn max(mut self, max: Duration) -> Backoff {
        self.max = max;
        self
    }

    /// Makes each wait random: a stage waits the nominal
    /// [`delay`](Backoff::delay) less a random part of up to `ratio` of
    /// it, drawn uniformly, so the wait before a retry lies in
    /// `[delay × (1 − ratio), delay]`. `1.0` is "full jitter" (anywhere
    /// from zero to the delay); `0.0`, the default, waits exactly the
    /// delay. `ratio` is clamped to `0.0..=1.0` (NaN counts as `0.0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let ms = Duration::from_millis;
    /// let backoff = Backoff::exponential(ms(100)).jitter(0.5);
    /// for _ in 0..100 {
    ///     let wait = backoff.sample(2); // nominal 200 ms
    ///     assert!(wait >= ms(100) && wait <= ms(200));
    /// }
    /// ```
    #[must_use]
    pub fn jitter(mut self, ratio: f64) -> Backoff {
        let ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        // In range by the clamp: at most one million.
        self.jitter_ppm = (ratio * f64::from(PPM)).round() as u32;
        self
    }

    /// The jitter ratio set with [`jitter`](Backoff::jitter) (`0.0` by
    /// default), to a millionth.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// assert_eq!(Backoff::none().jitter_ratio(), 0.0);
    /// assert_eq!(Backoff::fixed(Duration::from_secs(1)).jitter(0.25).jitter_ratio(), 0.25);
    /// assert_eq!(Backoff::none().jitter(7.0).jitter_ratio(), 1.0);
    /// ```
    pub fn jitter_ratio(&self) -> f64 {
        f64::from(self.jitter_ppm) / f64::from(PPM)
    }

    /// What a stage waits before retry number `retry`: the nominal
    /// [`delay`](Backoff::delay), less a random part of it when
    /// [`jitter`](Backoff::jitter) is set (each call draws again).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let exact = Backoff::fixed(Duration::from_secs(1));
    /// assert_eq!(exact.sample(3), Duration::from_secs(1)); // no jitter: the delay
    /// let wait = exact.jitter(1.0).sample(3);
    /// assert!(wait <= Duration::from_secs(1));
    /// ```
    pub fn sample(&self, retry: u32) -> Duration {
        let delay = self.delay(retry);
        if self.jitter_ppm == 0 || delay.is_zero() {
            return delay;
        }
        // A uniform draw in [0, jitter_ppm] millionths of the delay.
        let off = random() % (u64::from(self.jitter_ppm) + 1);
        // At most 2^94 × 10^6: no overflow in u128.
        let cut = delay.as_nanos() * u128::from(off) / u128::from(PPM);
        delay.saturating_sub(Duration::from_nanos(u64::try_from(cut).unwrap_or(u64::MAX)))
    }

    /// The delay before retry number `retry` (`1` is the first retry,
    /// after the first failed attempt).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(1));
    /// assert_eq!(backoff.delay(1), Duration::from_millis(1));
    /// assert_eq!(backoff.delay(11), Duration::from_millis(1024));
    /// ```
    pub fn delay(&self, retry: u32) -> Duration {
        let grown = self
            .factor
            .checked_pow(retry.saturating_sub(1))
            .and_then(|factor| self.initial.checked_mul(factor))
            .unwrap_or(self.max);
        grown.min(self.max)
    }
}

/// A random number: the process's random hash keys (std's `RandomState`)
/// over a counter. Good enough to spread retries; not for cryptography.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}
