//! A stage's helper tasks: tasks it runs beside its own (a lease renewer,
//! a reader of replies, a last word to a server) that belong to the scope
//! — cancelled with it, joined by its wait — without being stages.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Scope {
    /// Spawns a helper task of the stage this view builds: a task the stage
    /// runs beside its own (a lease renewer, a reader of replies), which is
    /// not a stage. It shows in no statistics and has no name of its own; a
    /// panic in it fails the scope naming the view's stage.
    ///
    /// It runs until it ends, the returned guard is dropped, the scope is
    /// cancelled, or every stage task of the scope has ended (then
    /// [`wait`](OwnedScope::wait) stops the helpers still running, so a
    /// helper never keeps the scope from ending). `wait` returns only once
    /// every helper has ended.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stage = scope.named("fetch");
    /// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    /// let renewer = stage.spawn_helper(async move {
    ///     let _tx = tx; // dropped when the helper ends
    ///     std::future::pending::<()>().await // renews a lease for ever
    /// });
    /// stage.spawn(async move {
    ///     let _renewer = renewer; // the helper lives as long as the stage
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// scope.wait().await.unwrap();
    /// assert!(rx.await.is_err()); // the helper has ended
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_helper<F>(&self, future: F) -> CancelGuard
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (ctx, handle) = self.shared.helpers_ctx.with_cancel();
        self.spawn_tracked(async move {
            tokio::select! {
                biased;
                () = ctx.cancelled() => {}
                () = future => {}
            }
        });
        handle.drop_guard()
    }

    /// Spawns a stage's last word — telling a server that a cancelled run
    /// is over, say — which runs to its end even though the scope is
    /// cancelled: bound it with a timeout of its own. Like a helper, it is
    /// not a stage, and [`wait`](OwnedScope::wait) returns only once it has
    /// ended; a dropped scope leaves it to finish on its own.
    ///
    /// Outside a tokio runtime (one shutting down, say) it does nothing: it
    /// is meant to be called from `Drop`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let said = Arc::new(AtomicBool::new(false));
    /// scope.cancel();
    /// let done = said.clone();
    /// scope.named("remote").spawn_finisher(async move {
    ///     tokio::task::yield_now().await; // "the run is cancelled", to a server
    ///     done.store(true, Ordering::Release);
    /// });
    /// let _ = scope.wait().await;
    /// assert!(said.load(Ordering::Acquire));
    /// # }
    /// ```
    pub fn spawn_finisher<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.spawn_tracked(future);
        }
    }

    /// Spawns `future` as a helper: counted in the scope's helpers until it
    /// ends, a panic recorded against the view's stage.
    #[track_caller]
    fn spawn_tracked<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let running = self.shared.helpers.guard();
        let shared = self.shared.clone();
        let (id, stage) = (self.id, self.config_name("helper"));
        tokio::spawn(async move {
            let _running = running;
            if let Err(payload) = AssertUnwindSafe(future).catch_unwind().await {
                let message = panic_message(&*payload);
                shared.record(id, Error::Panicked { stage, message });
            }
        });
    }
}
