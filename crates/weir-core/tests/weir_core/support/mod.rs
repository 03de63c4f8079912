//! Helpers shared by the channel test files.
#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::task::{waker, ArcWake};

/// A waker that remembers whether it was woken.
#[derive(Default)]
pub(crate) struct WakeFlag(AtomicBool);

impl ArcWake for WakeFlag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::SeqCst);
    }
}

impl WakeFlag {
    pub(crate) fn was_woken(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `fut` once with a waker that sets `flag`.
pub(crate) fn poll_with<F: Future>(fut: Pin<&mut F>, flag: &Arc<WakeFlag>) -> Poll<F::Output> {
    let waker = waker(flag.clone());
    fut.poll(&mut Context::from_waker(&waker))
}
