//! [`Context::after_cancel`]: Go's `context.AfterFunc`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::Handle;
use tokio::task::AbortHandle;
use tokio::time::{sleep_until, Instant};

use crate::context::Context;
use crate::loom;
use crate::tree::{CancelHook, Node};

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// The function registered by one `after_cancel` call; whoever takes it
/// first (cancellation, the deadline timer, or `stop`) decides its fate.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    runtime: Handle,
}

struct SlotState {
    callback: Option<Callback>,
    timer: Option<AbortHandle>,
}

impl Slot {
    fn take(&self) -> Option<(Callback, Option<AbortHandle>)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let callback = state.callback.take()?;
        Some((callback, state.timer.take()))
    }

    /// Starts the callback on its own task, unless it was already taken.
    fn start(&self) {
        if let Some((callback, timer)) = self.take() {
            if let Some(timer) = timer {
                timer.abort();
            }
            drop(self.runtime.spawn(async move { callback() }));
        }
    }

    /// Remembers the deadline timer, or stops it at once if the callback is
    /// already gone.
    fn set_timer(&self, timer: AbortHandle) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.callback.is_some() {
            state.timer = Some(timer);
        } else {
            drop(state);
            timer.abort();
        }
    }
}

impl CancelHook for Slot {
    fn fire(&self) {
        self.start();
    }
}

/// Where a slot is registered: the cancel node and its key there.
type Hook = Option<(loom::Arc<Node>, u64)>;

impl Context {
    /// Arranges for `f` to run on its own task once the context is done:
    /// Go's `context.AfterFunc`.
    ///
    /// `f` runs at most once: when the context (or an ancestor) is
    /// cancelled, when its deadline passes, or at once if it is already
    /// done. It never runs for a context that cannot end. Dropping the
    /// returned [`AfterCancel`] does not unregister `f`;
    /// [`AfterCancel::stop`] does.
    ///
    /// No task waits for a cancellation: `f` is stored in the context's
    /// cancel node and spawned by whoever cancels. Only a context with a
    /// deadline spawns one timer task, which ends at the deadline, on
    /// cancellation, or on [`stop`](AfterCancel::stop), whichever is first.
    /// So stopping, or dropping a context without a deadline, leaves no task
    /// behind.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime (`f` is spawned on the
    /// runtime current at this call), like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let _after = ctx.after_cancel(move || {
    ///     let _ = tx.send("closing the connection");
    /// });
    ///
    /// handle.cancel();
    /// assert_eq!(rx.await.unwrap(), "closing the connection");
    /// # }
    /// ```
    #[track_caller]
    pub fn after_cancel<F>(&self, f: F) -> AfterCancel
    where
        F: FnOnce() + Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                callback: Some(Box::new(f)),
                timer: None,
            }),
            runtime: Handle::current(),
        });
        let mut hook: Hook = None;
        if let Some(node) = self.node() {
            match node.add_hook(slot.clone()) {
                Some(key) => hook = Some((node.clone(), key)),
                None => {
                    slot.fire();
                    return AfterCancel { slot, hook };
                }
            }
        }
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                slot.fire();
                unhook(&hook);
            } else {
                let timer = slot.runtime.spawn({
                    let slot = slot.clone();
                    let hook = hook.clone();
                    async move {
                        sleep_until(deadline).await;
                        if let Some((callback, _)) = slot.take() {
                            unhook(&hook);
                            callback();
                        }
                    }
                });
                slot.set_timer(timer.abort_handle());
            }
        }
        AfterCancel { slot, hook }
    }
}

fn unhook(hook: &Hook) {
    if let Some((node, key)) = hook {
        node.remove_hook(*key);
    }
}

/// Handle to a function registered with [`Context::after_cancel`]; its
/// [`stop`](AfterCancel::stop) is Go's `stop` function from
/// `context.AfterFunc`.
///
/// Dropping it leaves the function registered.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// let after = ctx.after_cancel(|| unreachable!("stopped before the cancel"));
/// assert!(after.stop());
/// handle.cancel();
/// # }
/// ```
pub struct AfterCancel {
    slot: Arc<Slot>,
    hook: Hook,
}

impl AfterCancel {
    /// Unregisters the function so it never runs.
    ///
    /// Returns `true` if this call stopped it; `false` if it had already
    /// been started (the context was done) or stopped. Go's
    /// `stop() bool`. Also ends the deadline timer task, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let after = ctx.after_cancel(|| {});
    /// handle.cancel();
    /// assert!(!after.stop(), "already started by the cancel");
    /// # }
    /// ```
    pub fn stop(&self) -> bool {
        match self.slot.take() {
            Some((callback, timer)) => {
                if let Some(timer) = timer {
                    timer.abort();
                }
                unhook(&self.hook);
                drop(callback);
                true
            }
            None => false,
        }
    }
}

impl fmt::Debug for AfterCancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = self
            .slot
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .callback
            .is_some();
        f.debug_struct("AfterCancel")
            .field("pending", &pending)
            .finish()
    }
}
