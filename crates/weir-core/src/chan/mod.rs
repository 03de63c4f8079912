//! Go channels: typed, MPMC, closable, async and blocking on the same channel.
//!
//! A channel is a FIFO queue shared by any number of [`Sender`]s and
//! [`Receiver`]s. Pick a capacity the way you would in Go:
//!
//! | constructor | Go | a send waits while… |
//! |---|---|---|
//! | [`rendezvous()`] / [`bounded(0)`](bounded) | `make(chan T)` | until a receive takes its item |
//! | [`bounded(n)`](bounded) | `make(chan T, n)` | `n` items are buffered |
//! | [`unbounded()`] | — | never: memory grows with a slow consumer |
//! | [`after(d)`](after), [`tick(d)`](tick), [`never()`](never()) | `time.After`, `time.Tick`, a `nil` channel | — a timer task sends (see each) |
//!
//! Prefer `bounded`: a full channel makes a fast producer wait for a slow
//! consumer (backpressure), which keeps memory bounded.
//!
//! # Closing
//!
//! Go's rule "always close channels when done" holds by construction: the
//! channel closes when its last [`Sender`] is dropped. Any sender may also
//! [`close`](Sender::close) it early. Either way, receivers still get every
//! buffered item and then see the end (`None`). A send on a closed channel
//! returns its item in a [`SendError`] instead of panicking, and closing twice
//! is harmless.
//!
//! The other direction has no Go equivalent: when every [`Receiver`] is
//! dropped, sends fail at once (with their item) and buffered items are
//! released, so an upstream stage stops instead of leaking. A producer can
//! also wait for that moment with [`Sender::closed`].
//!
//! # Async and blocking
//!
//! Every operation exists in three forms on the same channel: async
//! ([`send`](Sender::send), [`recv`](Receiver::recv)), blocking for threads
//! ([`send_blocking`](Sender::send_blocking),
//! [`recv_blocking`](Receiver::recv_blocking), with `_timeout` variants), and
//! non-blocking ([`try_send`](Sender::try_send),
//! [`try_recv`](Receiver::try_recv)). Batch forms
//! ([`send_all`](Sender::send_all), [`recv_many`](Receiver::recv_many)) move
//! many items for the bookkeeping of one.
//!
//! # Cooperative scheduling
//!
//! Inside a tokio runtime, sends and receives spend the task's cooperative
//! budget, as tokio's own channels do, but on a sample of operations (one
//! in 64 on a thread) rather than on each: reaching the budget costs about
//! a fifth of a buffered operation, and each forced yield moves tasks
//! between worker threads. A loop that always finds room or items still
//! yields to the scheduler now and then (after about 8,000
//! operations instead of 128), so other tasks run, and a task whose budget
//! is spent stops within its next 64 operations. Outside tokio there is no
//! budget.
//!
//! # Many waiters
//!
//! Blocked senders wait in line, in arrival order; sleeping receivers wait
//! on lists where giving up a wait (a dropped future, a losing `select!`
//! branch) is O(1). A waiter never woken before is woken by every event
//! that may let it through, once, so a future kept alive but never polled
//! again swallows no wake-up; after that, one waiter is woken per item or
//! slot. A worker pool of 100,000 tasks blocked on one jobs channel gets
//! its jobs and shuts down in time linear in the number of tasks.
//!
//! # Examples
//!
//! Go's pipeline pattern: a generator feeding a squaring stage.
//!
//! ```
//! use weir_core::chan::{self, Receiver};
//!
//! fn gen(nums: Vec<u64>) -> Receiver<u64> {
//!     let (tx, rx) = chan::bounded(16);
//!     tokio::spawn(async move {
//!         for n in nums {
//!             if tx.send(n).await.is_err() {
//!                 return; // downstream is gone: stop instead of leaking
//!             }
//!         }
//!     }); // dropping tx closes the channel
//!     rx
//! }
//!
//! fn square(input: Receiver<u64>) -> Receiver<u64> {
//!     let (tx, rx) = chan::bounded(16);
//!     tokio::spawn(async move {
//!         while let Some(n) = input.recv().await {
//!             if tx.send(n * n).await.is_err() {
//!                 return;
//!             }
//!         }
//!     });
//!     rx
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let out = square(gen(vec![1, 2, 3]));
//! let mut got = Vec::new();
//! while let Some(v) = out.recv().await {
//!     got.push(v);
//! }
//! assert_eq!(got, [1, 4, 9]);
//! # }
//! ```

#![doc = include_str!("select.md")]

mod blocking;
mod coop;
mod error;
mod force;
mod ident;
mod lock;
#[cfg(loom)]
mod loom_control;
mod observer;
mod permit;
mod receiver;
mod select;
#[macro_use]
mod select_macro;
mod sender;
mod shared;
mod sink;
mod timer;
mod token;
mod waiters;
mod weak;

#[doc(inline)]
pub use crate::__weir_select as select;
#[doc(inline)]
pub use crate::__weir_select_blocking as select_blocking;
pub use error::{
    RecvTimeoutError, ReserveError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use observer::{Observer, Traffic};
pub use permit::{Permit, Permits, Reserve, ReserveMany};
pub use receiver::{Iter, Receiver, Recv, RecvMany, TryIter};
pub use select::{RecvSource, Select, SelectFuture, Selected, SendSource};

/// What the macros expand to: not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use super::select::{
        __recv, __select, __select_blocking, __send, CaseRef, RecvCase, Selecting, SendCase,
    };
}
pub use sender::{Closed, Send, SendAll, Sender};
pub use sink::SendSink;
pub use timer::{after, never, tick, TickError};
pub use weak::{WeakReceiver, WeakSender};

use crate::loom::Arc;
use shared::Chan;

/// Loom only: switches the channel back to the old wake-up rule (one waiter
/// woken per event), so that the positive-control models can show that
/// loom catches the lost wake-up it causes. Process-wide: call it only in a
/// test binary of its own.
#[cfg(loom)]
#[doc(hidden)]
pub fn __loom_break_wake_rule() {
    loom_control::break_wake_rule();
}

/// Loom only: a broken give-back rule for the positive controls of
/// `tests/loom_select_broken.rs`: `1` drops the item a dropped receive
/// held, `2` queues it behind later senders. Process-wide, like
/// [`__loom_break_wake_rule`].
#[cfg(loom)]
#[doc(hidden)]
pub fn __loom_break_give_back(how: u8) {
    loom_control::break_give_back(how);
}

/// Loom only: counterparts hand over to (and take from) a waiting select
/// without claiming its token, for the positive control of
/// `tests/loom_select_broken.rs`. Process-wide.
#[cfg(loom)]
#[doc(hidden)]
pub fn __loom_break_claim() {
    loom_control::break_claim();
}

fn channel<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (Sender { chan: chan.clone() }, Receiver::new(chan))
}

/// A channel that buffers up to `cap` items: Go's `make(chan T, cap)`.
///
/// `bounded(0)` is a [`rendezvous`] channel, like Go's unbuffered
/// `make(chan T)`: a send waits until a receive takes its item.
///
/// # Examples
///
/// ```
/// use weir_core::chan::{self, TrySendError};
///
/// let (tx, rx) = chan::bounded(2);
/// tx.try_send('a').unwrap();
/// tx.try_send('b').unwrap();
/// assert_eq!(tx.try_send('c'), Err(TrySendError::Full('c')));
/// assert_eq!(rx.try_recv(), Ok('a'));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    channel(Some(cap))
}

/// An unbuffered channel: Go's `make(chan T)`.
///
/// Nothing is buffered: a send completes once a receive has *taken* its
/// item (Go's contract), either handed straight into a receive that was
/// waiting, or taken by a receive from the waiting send. Each hand-off
/// wakes one task. So:
///
/// - [`try_send`](Sender::try_send) succeeds when a receive is waiting,
///   and [`try_recv`](Receiver::try_recv) when a send is waiting (Go's
///   `select` with `default`);
/// - a [`recv`](Receiver::recv) future dropped after an item was handed
///   to it and before it returned (it lost a `tokio::select!`) puts the
///   item back at the head of the line: the next receive returns it,
///   before the items of later senders;
/// - a task never pairs with itself: `tokio::join!(tx.send(v), rx.recv())`
///   in one task waits for other tasks, as one goroutine would (a thread's
///   blocking calls are one task; outside tokio, a future is recognised by
///   its waker);
/// - blocked senders are served in arrival order.
///
/// For Go's `select` over several operations, exactly one of which
/// happens, use [`select!`].
///
/// # Examples
///
/// ```
/// use weir_core::chan::{self, TrySendError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::rendezvous();
/// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1))); // nobody receives
/// let consumer = tokio::spawn(async move { rx.recv().await });
/// tx.send(2).await.unwrap(); // completes once the consumer has taken it
/// assert_eq!(consumer.await.unwrap(), Some(2));
/// # }
/// ```
pub fn rendezvous<T>() -> (Sender<T>, Receiver<T>) {
    channel(Some(0))
}

/// A channel with no capacity limit.
///
/// Sends never wait, so nothing slows a producer down: memory grows with a
/// slow consumer. Prefer [`bounded`] unless the producer is bounded by
/// other means.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(None)
}
