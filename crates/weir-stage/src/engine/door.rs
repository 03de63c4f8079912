//! [`Door`]: how a stage with tasks of its own takes batches from its input
//! channel and sends on, noticing a downstream that went away even while
//! its input is idle. Every such stage goes through it instead of writing
//! its own `select!` over a receive and `closed()`.

use std::future::Future;

use weir_core::chan::{Receiver, Sender};

/// A stage's input and output, as its task sees them.
pub(crate) struct Door<'a, T, U> {
    input: &'a Receiver<T>,
    output: &'a Sender<U>,
}

/// What [`Door::recv_or`] got.
pub(crate) enum Received {
    /// This many items were appended (`0`: the input ended).
    Items(usize),
    /// The other future finished first (a timer, say).
    Other,
    /// Downstream is gone: the stage should end (dropping its input, which
    /// stops upstream in turn).
    Closed,
}

impl<'a, T, U> Door<'a, T, U> {
    pub(crate) fn new(input: &'a Receiver<T>, output: &'a Sender<U>) -> Self {
        Door { input, output }
    }

    /// Appends up to `max` items to `buf`: `Some(n)` (`0` once the input
    /// ended), or `None` once downstream is gone.
    ///
    /// Cancel safe: dropped while waiting, it took nothing.
    pub(crate) async fn recv(&self, buf: &mut Vec<T>, max: usize) -> Option<usize> {
        match self.recv_or(buf, max, std::future::pending()).await {
            Received::Items(n) => Some(n),
            Received::Other | Received::Closed => None,
        }
    }

    /// As [`recv`](Door::recv), but also ends when `other` does (checked
    /// after the input, before downstream's end).
    pub(crate) async fn recv_or(
        &self,
        buf: &mut Vec<T>,
        max: usize,
        other: impl Future<Output = ()>,
    ) -> Received {
        tokio::select! {
            biased;
            n = self.input.recv_many(buf, max) => Received::Items(n),
            () = other => Received::Other,
            () = self.output.closed() => Received::Closed,
        }
    }

    /// Runs `fut` unless downstream goes away first (`None`).
    pub(crate) async fn unless_closed<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = fut => Some(out),
            () = self.output.closed() => None,
        }
    }

    /// Sends `items` on, in order; `false` once downstream is gone.
    pub(crate) async fn send(&self, items: Vec<U>) -> bool {
        self.output.send_all(items).await.is_ok()
    }

    /// Sends what `out` holds, if anything, leaving it empty (it grows
    /// again to what the next batch needs); `false` once downstream is
    /// gone.
    pub(crate) async fn flush(&self, out: &mut Vec<U>) -> bool {
        if out.is_empty() {
            return true;
        }
        self.send(std::mem::take(out)).await
    }

    /// Sends one item on; `false` once downstream is gone.
    pub(crate) async fn send_one(&self, item: U) -> bool {
        self.output.send(item).await.is_ok()
    }
}
