//! [`Error`]: why a pipeline did not produce its result.

use std::time::Duration;

use weir_cancel::ContextError;

use crate::observe::Diagnosis;

/// Why a pipeline did not produce its result.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = Pipeline::new(&Context::background())
///     .source(["7", "x"])
///     .try_map(str::parse::<u8>).named("parse")
///     .for_each(drop)
///     .await
///     .unwrap_err();
/// assert_eq!(err.stage(), Some("parse"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A stage failed, panicked or was misconfigured, or the pipeline was
    /// cancelled: see [`weir_stage::Error`].
    #[error(transparent)]
    Stage(#[from] weir_stage::Error),
    /// The pipeline did not stop within the time given to
    /// [`join_timeout`](crate::pipeline::RunHandle::join_timeout).
    #[error("pipeline did not stop within {timeout:?}: {diagnosis}")]
    Stuck {
        /// The time it was given.
        timeout: Duration,
        /// What was still running, and how full the channels were.
        diagnosis: Diagnosis,
    },
}

impl Error {
    /// The name of the stage the error came from, if it came from one.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::Error;
    ///
    /// let err = Error::from(weir::stage::Error::Panicked { stage: "parse".into(), message: "boom".into() });
    /// assert_eq!(err.stage(), Some("parse"));
    /// ```
    pub fn stage(&self) -> Option<&str> {
        match self {
            Error::Stage(e) => e.stage(),
            Error::Stuck { .. } => None,
        }
    }
}

impl Error {
    /// Why the pipeline's context ended, if that is what stopped it: a
    /// deadline ([`ContextError::DeadlineExceeded`]) or a cancel.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::{Context, ContextError};
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ctx = Context::background().with_timeout(Duration::ZERO);
    /// let err = Pipeline::new(&ctx).source(0u64..).for_each(drop).await.unwrap_err();
    /// assert_eq!(err.cancelled(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    pub fn cancelled(&self) -> Option<ContextError> {
        match self {
            Error::Stage(weir_stage::Error::Cancelled(e)) => Some(*e),
            _ => None,
        }
    }

    /// The configuration error, if the pipeline was refused for one.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = Pipeline::new(&Context::background())
    ///     .source(0..3)
    ///     .worker_pool(0, |n: i32| async move { Ok::<_, std::io::Error>(n) })
    ///     .named("pool")
    ///     .for_each(drop)
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.config().unwrap().to_string(), "stage `pool`: workers must be at least 1");
    /// # }
    /// ```
    pub fn config(&self) -> Option<&weir_stage::ConfigError> {
        match self {
            Error::Stage(weir_stage::Error::Config(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<weir_stage::ConfigError> for Error {
    fn from(e: weir_stage::ConfigError) -> Self {
        Error::Stage(e.into())
    }
}
