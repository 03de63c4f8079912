//! [`Recovery::timeout`]: a per-attempt time limit, and [`TimedOut`], the
//! error a job that ran out of time fails with.

use std::sync::Arc;
use std::time::Duration;

use super::Recovery;

/// The error a job fails with when an attempt takes longer than its
/// stage's [`Recovery::timeout`]: it goes through the stage's retries and
/// [`Policy`](crate::Policy) like any failure (a
/// [`retry_if`](Recovery::retry_if) predicate sees it: `e.is::<TimedOut>()`),
/// and the stage counts it in its `timeouts` statistic
/// ([`StageStats`](crate::StageStats)). Under [`Policy::fail`](crate::Policy::fail)
/// it reaches you as the source of [`Error::Failed`](crate::Error::Failed)
/// naming the stage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::TimedOut;
///
/// let e = TimedOut { stage: "fetch".into(), after: Duration::from_millis(250) };
/// assert_eq!(e.to_string(), "job timed out after 250ms at stage `fetch`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job timed out after {after:?} at stage `{stage}`")]
pub struct TimedOut {
    /// The stage's name.
    pub stage: Arc<str>,
    /// The time limit the attempt ran past.
    pub after: Duration,
}

impl<T> Recovery<T> {
    /// Gives each attempt of a job at most `limit`: an attempt still
    /// running then is dropped where it waits (tokio's `timeout`; time is
    /// [`tokio::time`], so a paused test clock controls it) and fails with
    /// [`TimedOut`], which is retried and then handed to the
    /// [`Policy`](crate::Policy) like any other failure. Each is counted
    /// in the stage's `timeouts` statistic. The limit is per attempt: a
    /// job with retries may take up to `attempts × limit` plus the
    /// backoff waits. A zero `limit` is a
    /// [`ConfigError::Invalid`](crate::ConfigError::Invalid) when the
    /// stage is built.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Backoff, BoxError, Policy, Recovery, Scope, TimedOut};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stats = scope.stats();
    /// let recovery = Recovery::new()
    ///     .timeout(Duration::from_secs(3))
    ///     .retry(2, Backoff::none())
    ///     .retry_if(|e: &BoxError| e.is::<TimedOut>())
    ///     .on_error(Policy::skip());
    /// let ids = stage::generate(&scope, [1u64, 5, 2]);
    /// let done = stage::try_then(&scope.named("call"), ids, recovery, |secs| async move {
    ///     tokio::time::sleep(Duration::from_secs(secs)).await; // 5 s: too slow, twice
    ///     Ok::<_, BoxError>(secs)
    /// })
    /// .unwrap();
    /// assert_eq!(stage::collect::<_, Vec<_>>(&scope, done).await.unwrap(), [1, 2]);
    /// let call = stats.stage("call").unwrap();
    /// assert_eq!((call.timeouts, call.retries, call.skipped), (2, 1, 1));
    /// # }
    /// ```
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> Recovery<T> {
        self.timeout = Some(limit);
        self
    }

    /// The time limit of each attempt, if one was set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Recovery;
    ///
    /// let recovery = Recovery::<u32>::new().timeout(Duration::from_secs(2));
    /// assert_eq!(recovery.time_limit(), Some(Duration::from_secs(2)));
    /// assert_eq!(Recovery::<u32>::new().time_limit(), None);
    /// ```
    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout
    }
}
