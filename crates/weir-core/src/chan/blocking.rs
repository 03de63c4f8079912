//! Blocking forms of the channel operations: the async future, driven on
//! the calling thread (async-channel's `send(msg).wait()` shape), so each
//! operation is written once.

use std::future::Future;
use std::time::Instant;

/// Polls `fut` on this thread, parking between polls, until it completes
/// or `deadline` passes; on timeout the future comes back (still pending)
/// so the caller can withdraw it and recover what it holds.
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future + Unpin>(
    mut fut: F,
    deadline: Option<Instant>,
) -> Result<F::Output, F> {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    }

    // Receives and sends of this call belong to this thread (see `ident.rs`).
    let _blocking = super::ident::InBlocking::enter();
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = Pin::new(&mut fut).poll(&mut cx) {
                return Ok(out);
            }
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(fut);
                    }
                    std::thread::park_timeout(d - now);
                }
            }
        }
    })
}

/// Under loom, loom's executor drives the future; the models use no
/// deadlines.
#[cfg(loom)]
pub(crate) fn block_on<F: Future + Unpin>(
    fut: F,
    deadline: Option<Instant>,
) -> Result<F::Output, F> {
    assert!(deadline.is_none(), "loom models use no deadlines");
    Ok(loom::future::block_on(fut))
}
