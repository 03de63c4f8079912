//! A tiny shim so the synchronisation weir owns can be model-checked.
//!
//! Under `--cfg loom` the atomics, locks and `Arc` come from [`loom`]; in a
//! normal build they are the standard library's. Code that owns
//! synchronisation imports from here, never from `std::sync` directly.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};
