//! [`ScopeHandle`]: cancel or shut down a [`Scope`](crate::Scope) from
//! anywhere.

use weir_cancel::CancelHandle;

/// Cancels or shuts down a [`Scope`](crate::Scope) without owning it:
/// from [`Scope::handle`](crate::Scope::handle). Cheap to clone; it keeps
/// nothing alive but the two signals.
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
/// let handle = scope.handle();
/// let endless = stage::generate(&scope, 0u64..);
/// let _sink = stage::for_each(&scope, endless, |_| {});
/// handle.cancel();
/// assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ScopeHandle {
    cancel: CancelHandle,
    stop: CancelHandle,
}

impl ScopeHandle {
    pub(crate) fn new(cancel: CancelHandle, stop: CancelHandle) -> ScopeHandle {
        ScopeHandle { cancel, stop }
    }

    /// Stops every stage now, as [`Scope::cancel`](crate::Scope::cancel).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// scope.handle().cancel();
    /// assert!(scope.context().is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Graceful stop, as [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)
    /// begins it: the sources stop producing and what they produced
    /// drains through. Whoever waits on the scope sees it end.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// scope.handle().shutdown();
    /// assert!(scope.shutdown_signal().is_cancelled());
    /// ```
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}
