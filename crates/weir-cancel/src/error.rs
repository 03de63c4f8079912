//! Errors: why a context ended ([`ContextError`]) and the richer [`Cause`].

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Why a context is done: Go's `context.Canceled` and
/// `context.DeadlineExceeded`, with Go's messages.
///
/// [`Context::err`](crate::Context::err) returns it once the context is done;
/// [`Context::run`](crate::Context::run) returns it when the context ends
/// before the future.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::{Context, ContextError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// handle.cancel();
/// assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// assert_eq!(ContextError::Canceled.to_string(), "context canceled");
///
/// let ctx = Context::background().with_timeout(Duration::ZERO);
/// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ContextError {
    /// The context was cancelled: by its [`CancelHandle`](crate::CancelHandle)
    /// or an ancestor's, before any deadline passed.
    #[error("context canceled")]
    Canceled,
    /// The context's deadline (or an ancestor's) passed before any cancel.
    #[error("context deadline exceeded")]
    DeadlineExceeded,
}

/// Why a context was cancelled, in detail: Go's `context.Cause`.
///
/// A cheap-to-clone, shared `dyn Error`. It is whatever was passed to
/// [`CancelHandle::cancel_with`](crate::CancelHandle::cancel_with), or, when
/// none was given, [`ContextError::Canceled`]; a context that ran out of time
/// reports [`ContextError::DeadlineExceeded`]. A context cancelled because
/// its parent was reports the parent's cause.
///
/// Any `E: Error + Send + Sync + 'static` converts into a `Cause` with
/// `From`/`Into`; [`Cause::msg`] makes one from a message. Like `anyhow::Error`,
/// `Cause` itself does not implement [`Error`] (that would clash with the
/// blanket `From`); it derefs to `dyn Error` and [`Cause::into_inner`] hands
/// out the shared error.
///
/// # Examples
///
/// ```
/// use weir_cancel::{Cause, Context, ContextError};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("shutting down")]
/// struct Shutdown;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// handle.cancel_with(Shutdown);
///
/// let cause: Cause = ctx.cause().unwrap();
/// assert!(cause.is::<Shutdown>());
/// assert_eq!(cause.to_string(), "shutting down");
/// assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// # }
/// ```
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync + 'static>);

impl Cause {
    /// Wraps an error as a cause.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{Cause, ContextError};
    ///
    /// let cause = Cause::new(ContextError::Canceled);
    /// assert_eq!(cause.downcast_ref::<ContextError>(), Some(&ContextError::Canceled));
    /// ```
    pub fn new<E: Error + Send + Sync + 'static>(error: E) -> Self {
        Cause(Arc::new(error))
    }

    /// Makes a cause from a plain message.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Cause;
    ///
    /// let cause = Cause::msg("client went away");
    /// assert_eq!(cause.to_string(), "client went away");
    /// ```
    pub fn msg<M>(message: M) -> Self
    where
        M: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        Cause(Arc::new(Message(message)))
    }

    /// Returns `true` if the cause is an `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{Cause, ContextError};
    ///
    /// assert!(Cause::new(ContextError::DeadlineExceeded).is::<ContextError>());
    /// assert!(!Cause::msg("bye").is::<ContextError>());
    /// ```
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.0.is::<E>()
    }

    /// Returns the cause as an `E`, if it is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{Cause, ContextError};
    ///
    /// let cause = Cause::new(ContextError::DeadlineExceeded);
    /// assert_eq!(
    ///     cause.downcast_ref::<ContextError>(),
    ///     Some(&ContextError::DeadlineExceeded),
    /// );
    /// ```
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }

    /// Returns the shared error inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error;
    /// use std::sync::Arc;
    /// use weir_cancel::Cause;
    ///
    /// let error: Arc<dyn Error + Send + Sync> = Cause::msg("bye").into_inner();
    /// assert_eq!(error.to_string(), "bye");
    /// ```
    pub fn into_inner(self) -> Arc<dyn Error + Send + Sync + 'static> {
        self.0
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for Cause {
    fn from(error: E) -> Self {
        Cause::new(error)
    }
}

impl std::ops::Deref for Cause {
    type Target = dyn Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl AsRef<dyn Error + Send + Sync + 'static> for Cause {
    fn as_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

/// The error behind [`Cause::msg`].
struct Message<M>(M);

impl<M: fmt::Debug> fmt::Debug for Message<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<M: fmt::Display> fmt::Display for Message<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<M: fmt::Display + fmt::Debug> Error for Message<M> {}
