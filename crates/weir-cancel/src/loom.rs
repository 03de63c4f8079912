//! A tiny shim so the synchronisation this crate owns can be model-checked.
//!
//! Under `--cfg loom` the atomic flag, the locks and the `Arc` of the cancel
//! tree come from [`loom`]; in a normal build they are the standard
//! library's. The cancel tree imports from here, never from `std::sync`.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, MutexGuard,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, MutexGuard,
};

/// Locks `mutex`, ignoring poisoning: no user code runs while the tree's
/// locks are held, so a poisoned lock still guards consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
