//! The door of a stage with tasks of its own: how its task takes batches
//! from its input channel and sends on, noticing a downstream that went
//! away even while its input is idle. Every such stage goes through it
//! instead of writing its own `select!` over a receive and `closed()`.
//!
//! Inside this crate that is the `Door` type (input and output) and its
//! output half, `Exit` (a stage with several inputs, like `merge`, has only
//! that); the downstream behind it is one channel, a split's branches (gone
//! once every branch is), or no channel at all (a sink, never gone). Other
//! crates' stages that pull a [`BatchSource`](super::BatchSource) rather
//! than a channel use [`unless_closed`].

use std::future::{Future, Pending};
use std::ops::Deref;
use std::pin::Pin;

use futures::future::{join_all, Either, FutureExt, JoinAll, Map};
use weir_core::chan::{Closed, Receiver, Sender};

/// What a stage sends to: something that can go away.
pub(crate) trait Outlet {
    /// Resolves once downstream is gone.
    type Closed<'a>: Future<Output = ()>
    where
        Self: 'a;

    /// Downstream's end; cancel safe.
    fn closed(&self) -> Self::Closed<'_>;
}

impl<U> Outlet for Sender<U> {
    type Closed<'a>
        = Closed<'a, U>
    where
        U: 'a;

    fn closed(&self) -> Closed<'_, U> {
        Sender::closed(self)
    }
}

/// A split's branches (`None`: a dead branch): gone once every live one is.
impl<U> Outlet for [Option<Sender<U>>] {
    type Closed<'a>
        = Map<JoinAll<Closed<'a, U>>, fn(Vec<()>)>
    where
        U: 'a;

    fn closed(&self) -> Self::Closed<'_> {
        join_all(self.iter().flatten().map(Sender::closed)).map(drop as fn(Vec<()>))
    }
}

/// An output that may be missing (a sink): a missing one is never gone.
impl<U> Outlet for Option<Sender<U>> {
    type Closed<'a>
        = Either<Closed<'a, U>, Pending<()>>
    where
        U: 'a;

    fn closed(&self) -> Self::Closed<'_> {
        match self {
            Some(tx) => Either::Left(tx.closed()),
            None => Either::Right(std::future::pending()),
        }
    }
}

/// A stage's output side, as its task sees it.
pub(crate) struct Exit<'a, O: ?Sized> {
    output: &'a O,
}

/// A stage's input and output, as its task sees them; derefs to its
/// [`Exit`] for sending.
pub(crate) struct Door<'a, T, O: ?Sized> {
    input: &'a Receiver<T>,
    exit: Exit<'a, O>,
}

/// What [`Door::take_or`] brought: the stage's own future's output, or
/// this many items taken in (`0`: the input ended).
pub(crate) enum Turn<O> {
    Done(O),
    Took(usize),
}

/// What [`Door::recv_or`] (`R`: a count of items) or
/// [`Door::recv_one_or`] (`R`: the item, `None` once the input ended) got.
pub(crate) enum Received<R = usize> {
    /// This many items were appended (`0`: the input ended), or this item.
    Items(R),
    /// The other future finished first (a timer, say).
    Other,
    /// Downstream is gone: the stage should end (dropping its input, which
    /// stops upstream in turn).
    Closed,
}

impl<'a, O: Outlet + ?Sized> Exit<'a, O> {
    pub(crate) fn new(output: &'a O) -> Self {
        Exit { output }
    }

    /// Resolves once downstream is gone; cancel safe.
    fn closed(&self) -> O::Closed<'a> {
        self.output.closed()
    }

    /// As [`unless_closed`](Exit::unless_closed), but downstream's end is
    /// checked first: for a stage whose `fut` would start new work (take
    /// input, call the user's function) that nobody is left to receive.
    pub(crate) async fn closed_or<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = self.output.closed() => None,
            out = fut => Some(out),
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
}

impl<U> Exit<'_, Sender<U>> {
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

impl<'a, T, O: ?Sized> Deref for Door<'a, T, O> {
    type Target = Exit<'a, O>;

    fn deref(&self) -> &Exit<'a, O> {
        &self.exit
    }
}

impl<'a, T, O: Outlet + ?Sized> Door<'a, T, O> {
    pub(crate) fn new(input: &'a Receiver<T>, output: &'a O) -> Self {
        Door {
            input,
            exit: Exit::new(output),
        }
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
            () = self.exit.closed() => Received::Closed,
        }
    }

    /// One item (`Items(None)` once the input ended), unless `other`
    /// ends first (checked first) or downstream goes away (checked next):
    /// for a stage that takes one job at a time.
    ///
    /// Cancel safe: dropped while waiting, it took nothing.
    pub(crate) async fn recv_one_or(&self, other: impl Future<Output = ()>) -> Received<Option<T>> {
        tokio::select! {
            biased;
            () = other => Received::Other,
            () = self.exit.closed() => Received::Closed,
            item = self.input.recv() => Received::Items(item),
        }
    }

    /// Appends up to `max` items to `buf` without checking downstream:
    /// for a stage that races the receive against work of its own and
    /// watches downstream itself ([`Exit::closed_or`]). Returns how many (`0`: the input
    /// ended).
    ///
    /// Cancel safe: dropped while waiting, it took nothing.
    pub(crate) async fn take(&self, buf: &mut Vec<T>, max: usize) -> usize {
        self.input.recv_many(buf, max).await
    }

    /// Waits for the first of: downstream closed (`None`: checked first,
    /// so a stage stops as soon as nobody listens, even while work of its
    /// own is pending); `own`, a future of the stage's own (the next
    /// finished one of its window: done work goes out before more comes
    /// in); up to `max` items of input, appended to `buf`. No `own` waits
    /// for none; `max` 0 takes nothing.
    ///
    /// Cancel safe if `own` is: dropped while waiting, it took nothing.
    pub(crate) async fn take_or<F: Future>(
        &self,
        own: Option<F>,
        buf: &mut Vec<T>,
        max: usize,
    ) -> Option<Turn<F::Output>> {
        let (waits, takes) = (own.is_some(), max > 0);
        let own = async {
            match own {
                Some(own) => own.await,
                None => std::future::pending().await,
            }
        };
        self.closed_or(async {
            tokio::select! {
                biased;
                out = own, if waits => Turn::Done(out),
                n = self.take(buf, max), if takes => Turn::Took(n),
                else => std::future::pending().await,
            }
        })
        .await
    }
}

/// Runs `fut` unless every receiver of `output` goes away first (`None`):
/// the door for a stage that pulls something other than a channel (a
/// [`BatchSource`](super::BatchSource), say) and sends into `output`.
/// `fut` is polled first, so what is ready wins over an ended downstream.
///
/// # Cancel safety
///
/// As cancel safe as `fut`: watching `output` takes nothing.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::door;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded::<u32>(1);
/// assert_eq!(door::unless_closed(&tx, async { 7 }).await, Some(7));
/// drop(rx); // downstream is gone: a pending pull ends at once
/// assert_eq!(door::unless_closed(&tx, std::future::pending::<u32>()).await, None);
/// # }
/// ```
pub async fn unless_closed<U, F: Future>(output: &Sender<U>, fut: F) -> Option<F::Output> {
    Exit::new(output).unless_closed(fut).await
}

/// [`unless_closed`] over a `closed` wait the caller keeps across calls
/// (`Sender::closed`, pinned once), so that its listener is registered once
/// for the whole loop instead of once per call.
pub(crate) async fn unless_pinned<C, F>(closed: Pin<&mut C>, fut: F) -> Option<F::Output>
where
    C: Future<Output = ()>,
    F: Future,
{
    tokio::select! {
        biased;
        out = fut => Some(out),
        () = closed => None,
    }
}

/// Appends up to `limit` items that are ready on `input` to `buf`, without
/// waiting; returns whether the input has ended (closed and drained). For a
/// stage with several inputs that takes turns over them.
pub(crate) fn take_ready<T>(input: &Receiver<T>, buf: &mut Vec<T>, limit: usize) -> bool {
    if input.is_empty() && !input.is_closed() {
        return false;
    }
    input.recv_many(buf, limit).now_or_never() == Some(0)
}
