//! [`Recovery::overload`]: which of a job's errors tell an adaptive
//! [`Limit`](crate::Limit) that the service is overloaded.

use std::sync::Arc;

use super::Recovery;
use crate::error::BoxError;
use crate::limit::{Outcome, Sample};

impl<T> Recovery<T> {
    /// Says which errors mean "the service is overloaded" to the stage's
    /// adaptive [`Limit`](crate::Limit): an attempt that fails with one
    /// brings the limit down, like a latency that climbs; any other error
    /// is a failure unrelated to load, and the limit ignores that attempt.
    ///
    /// Without a predicate every error counts as overload. A per-attempt
    /// [`timeout`](Recovery::timeout) ([`TimedOut`](crate::TimedOut))
    /// always does, whatever the predicate says, and a panic never does.
    /// Under a fixed limit nothing is measured and this changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, BoxError, Limit, Policy, Recovery, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let recovery = Recovery::new()
    ///     .on_error(Policy::skip())
    ///     // a 503 is the service saying "too many"; a 404 says nothing about load
    ///     .overload(|e: &BoxError| e.to_string().contains("503"));
    /// let ids = stage::generate(&scope, 1..=20u32);
    /// let found = stage::try_map_unordered(&scope, ids, Limit::adaptive().max(8), recovery, |id| async move {
    ///     if id % 5 == 0 { Err("404 not found") } else { Ok(id) }
    /// })
    /// .unwrap();
    /// let found = stage::collect::<_, Vec<_>>(&scope, found);
    /// assert_eq!(found.await.unwrap().len(), 16);
    /// # }
    /// ```
    #[must_use]
    pub fn overload<P>(mut self, overloaded: P) -> Recovery<T>
    where
        P: Fn(&BoxError) -> bool + Send + Sync + 'static,
    {
        self.overload = Some(Arc::new(overloaded));
        self
    }

    /// How an attempt that failed with `error` ends, to the limit.
    pub(super) fn outcome_of(&self, error: &BoxError) -> Outcome {
        match &self.overload {
            Some(overloaded) if !overloaded(error) => Outcome::Failed,
            _ => Outcome::Overload,
        }
    }
}

/// Ends an attempt's sample with its outcome, if it took one (under a
/// fixed limit it did not, and nothing is worked out).
pub(super) fn finish(sample: Option<Sample>, outcome: impl FnOnce() -> Outcome) {
    if let Some(sample) = sample {
        sample.finish(outcome());
    }
}
