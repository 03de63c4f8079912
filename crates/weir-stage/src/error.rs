//! Errors of stages and scopes.

use std::fmt;
use std::sync::Arc;

use weir_cancel::ContextError;

/// A boxed error from user code, as stages carry it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a [`Scope`](crate::Scope) (and so a pipeline) did not finish cleanly.
///
/// Every variant that comes from a stage names it: the name you gave with
/// [`Scope::named`](crate::Scope::named), or a default such as `map#2`.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Error, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 1..=3);
/// let parsed = stage::try_map(&scope.named("parse"), nums, |n: u32| {
///     if n == 2 { Err("bad input") } else { Ok(n) }
/// });
/// let _sink = stage::for_each(&scope, parsed, |_| {});
/// match scope.wait().await {
///     Err(Error::Failed { stage, source }) => {
///         assert_eq!(&*stage, "parse");
///         assert_eq!(source.to_string(), "bad input");
///     }
///     other => panic!("unexpected: {other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A stage's user code returned an error. Its `Display` names the
    /// stage; the error itself is its [`source`](std::error::Error::source)
    /// (so a reporter walking the chain prints it once).
    #[error("stage `{stage}` failed")]
    Failed {
        /// The stage's name.
        stage: Arc<str>,
        /// The error user code returned.
        #[source]
        source: BoxError,
    },
    /// A stage's user code panicked.
    #[error("stage `{stage}` panicked: {message}")]
    Panicked {
        /// The stage's name.
        stage: Arc<str>,
        /// The panic message (or a placeholder when it was not a string).
        message: String,
    },
    /// The scope's context was cancelled or ran out of time while stages were
    /// still running (they were stopped).
    #[error("pipeline stopped: {0}")]
    Cancelled(ContextError),
    /// A stage was configured wrongly (returned when the stage is built;
    /// converted here so `?` works in functions returning [`Error`]).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Several stages failed; with
    /// [`ScopeBuilder::collect_errors`](crate::ScopeBuilder::collect_errors)
    /// every error is kept, in the order they happened.
    #[error("{}", Multiple(.0))]
    Multiple(Vec<Error>),
}

/// How [`Error::Multiple`] reads: how many, and the first (it has no
/// single source).
struct Multiple<'a>(&'a [Error]);

impl fmt::Display for Multiple<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no stage failed"),
            [only] => write!(f, "1 stage failed: {}", Chain(only)),
            [first, ..] => write!(f, "{} stages failed; first: {}", self.0.len(), Chain(first)),
        }
    }
}

/// An error and its sources, joined with `: ` (for an error shown inside
/// another one's message, whose sources no reporter will walk).
struct Chain<'a>(&'a Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

impl From<ContextError> for Error {
    fn from(e: ContextError) -> Error {
        Error::Cancelled(e)
    }
}

impl Error {
    /// The error for a panic caught in stage `stage`: `payload` is what
    /// [`std::panic::catch_unwind`] returned (a `&str` or `String` message
    /// is kept; anything else becomes a placeholder).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Error;
    ///
    /// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// let err = Error::from_panic("parse", &*payload);
    /// assert_eq!(err.to_string(), "stage `parse` panicked: boom");
    /// ```
    pub fn from_panic(stage: impl Into<Arc<str>>, payload: &(dyn std::any::Any + Send)) -> Error {
        Error::Panicked {
            stage: stage.into(),
            message: panic_message(payload),
        }
    }

    /// The name of the stage the error came from, if it came from one.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Error;
    ///
    /// let err = Error::Panicked { stage: "parse".into(), message: "boom".into() };
    /// assert_eq!(err.stage(), Some("parse"));
    /// ```
    pub fn stage(&self) -> Option<&str> {
        match self {
            Error::Failed { stage, .. } | Error::Panicked { stage, .. } => Some(stage),
            Error::Multiple(errors) => errors.first().and_then(Error::stage),
            Error::Config(ConfigError::Zero { stage, .. } | ConfigError::Invalid { stage, .. }) => {
                Some(stage)
            }
            Error::Cancelled(_) => None,
        }
    }

    /// A copy of this error for another reader (every sink of a failed
    /// pipeline reports its first error; a cancel carries it as its
    /// cause): the same variant, stage names and messages. The source of
    /// a [`Failed`](Error::Failed) is copied as its chain of messages (its
    /// type is not kept: downcast the original).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Error;
    ///
    /// let err = Error::Failed { stage: "parse".into(), source: "bad digit".into() };
    /// let copy = err.replicate();
    /// assert_eq!(copy.stage(), Some("parse"));
    /// assert_eq!(std::error::Error::source(&copy).unwrap().to_string(), "bad digit");
    /// ```
    pub fn replicate(&self) -> Error {
        match self {
            Error::Failed { stage, source } => Error::Failed {
                stage: stage.clone(),
                source: Box::new(Copied::of(&**source)),
            },
            Error::Panicked { stage, message } => Error::Panicked {
                stage: stage.clone(),
                message: message.clone(),
            },
            Error::Cancelled(e) => Error::Cancelled(*e),
            Error::Config(e) => Error::Config(e.clone()),
            Error::Multiple(errors) => {
                Error::Multiple(errors.iter().map(Error::replicate).collect())
            }
        }
    }
}

/// An error's message and its sources' messages, copied.
#[derive(Debug)]
struct Copied {
    message: String,
    source: Option<Box<Copied>>,
}

impl Copied {
    fn of(e: &(dyn std::error::Error + 'static)) -> Copied {
        Copied {
            message: e.to_string(),
            source: e.source().map(|s| Box::new(Copied::of(s))),
        }
    }
}

impl fmt::Display for Copied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Copied {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

/// Invalid stage configuration, reported when the stage is built instead of
/// a panic or a hang at run time.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, ConfigError, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let jobs = stage::generate(&scope, 0..10);
/// let err = stage::worker_pool(&scope, jobs, 0, |n: i32| async move { Ok::<_, std::io::Error>(n) })
///     .unwrap_err();
/// assert_eq!(err, ConfigError::Zero { stage: "worker_pool".into(), what: "workers" });
/// assert_eq!(err.to_string(), "stage `worker_pool`: workers must be at least 1");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count (workers, partitions, batch size, concurrency…) was zero.
    #[error("stage `{stage}`: {what} must be at least 1")]
    Zero {
        /// The stage's name.
        stage: Arc<str>,
        /// Which setting was zero.
        what: &'static str,
    },
    /// A setting was out of its range.
    #[error("stage `{stage}`: {what}")]
    Invalid {
        /// The stage's name.
        stage: Arc<str>,
        /// What is wrong.
        what: String,
    },
}

/// A [`route`](crate::route) function chose a branch that does not exist.
/// It reaches you as the source of [`Error::Failed`] naming the route stage.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, BranchOutOfRange, Error, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 0..10usize);
/// let branches = stage::route(&scope.named("router"), nums, 2, |n| *n).unwrap();
/// for b in branches {
///     let _ = stage::for_each(&scope, b, drop);
/// }
/// let Err(Error::Failed { stage, source }) = scope.wait().await else { panic!() };
/// assert_eq!(&*stage, "router");
/// let why = source.downcast_ref::<BranchOutOfRange>().unwrap();
/// assert_eq!((why.index, why.branches), (2, 2));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("item routed to branch {index}, but there are only {branches} branches")]
#[non_exhaustive]
pub struct BranchOutOfRange {
    /// The branch the item was routed to.
    pub index: usize,
    /// How many branches there are (valid indices are `0..branches`).
    pub branches: usize,
}

/// Turns a caught panic payload into a message.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A message as a [`BoxError`].
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}
