//! [`LagProbe`]: a pool's consumer lag as a running producer last saw it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::Lag;
use crate::error::Error;

/// The latest [`Lag`] of a pool, as a running [`Remote`](crate::Remote)
/// stage samples it: from its start, every
/// [`lag_every`](crate::Remote::lag_every) (1 s by default) while it runs,
/// and once more when it ends. Cheap to clone (all clones share one
/// value) and read without waiting — what a metrics endpoint or a
/// pipeline's `metrics()` needs, where [`Pool::lag`](crate::Pool::lag)
/// would be a round trip to the server.
///
/// A sample that fails (the server away, or no worker has set the pool up
/// yet) keeps the previous value.
///
/// # Examples
///
/// ```
/// let probe = weir_nats::LagProbe::new();
/// assert_eq!(probe.latest(), None); // no sample yet
/// ```
#[derive(Debug, Clone, Default)]
pub struct LagProbe {
    latest: Arc<Mutex<Option<Lag>>>,
    mismatched: Arc<AtomicU64>,
}

impl LagProbe {
    /// A probe with no sample yet.
    ///
    /// # Examples
    ///
    /// See [`LagProbe`].
    pub fn new() -> LagProbe {
        LagProbe::default()
    }

    /// The last sample, or `None` before the first one.
    ///
    /// # Examples
    ///
    /// See [`LagProbe`] and [`Remote::lag_probe`](crate::Remote::lag_probe).
    pub fn latest(&self) -> Option<Lag> {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Results the producer dropped because they answer no job it sent
    /// with that content: a job number it has not sent, or without the
    /// job's nonce (a stray or forged message on the pool's subjects). Each
    /// is counted here and dropped; it never stands in for the real
    /// result.
    ///
    /// # Examples
    ///
    /// ```
    /// let probe = weir_nats::LagProbe::new();
    /// assert_eq!(probe.mismatched_results(), 0);
    /// ```
    pub fn mismatched_results(&self) -> u64 {
        self.mismatched.load(Ordering::Relaxed)
    }

    pub(crate) fn count_mismatched(&self) {
        self.mismatched.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set(&self, lag: Lag) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(lag);
    }
}

crate::future::named_future! {
    /// The future of [`Pool::lag`](crate::Pool::lag).
    ///
    /// # Examples
    ///
    /// See [`Pool::lag`](crate::Pool::lag).
    GetLag => Result<Lag, Error>
}
