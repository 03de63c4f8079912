//! Go's `select`: one case of several fires, exactly one.
//!
//! The engine under [`select!`](crate::chan::select),
//! [`select_blocking!`](crate::chan::select_blocking) and [`Select`] is
//! Go's `selectgo` in two phases (see `token.rs` for the token):
//!
//! 1. Try every case without waiting, in random order (in order when
//!    biased); the first that can complete does, and the select is over.
//!    A try on a rendezvous channel pairs only with a waiter it can claim.
//!    With a `default` case, the select ends here.
//! 2. Otherwise register a waiter on every case's channel, all holding one
//!    fresh token, and sleep. A counterpart claims the token before it hands
//!    an item to a receive case or takes a send case's item, so at most one
//!    case fires. If a case could complete as it registered (or when the
//!    select is woken without being claimed: a buffered item arrived, a slot
//!    freed, a channel closed), the select aborts its token; if the abort
//!    wins, nothing fired, it leaves every channel and goes back to phase 1;
//!    if it loses, the case that claimed it fired.
//!
//! Leaving, on completion or drop, unregisters every case: a send case's
//! item comes back to it (for the next round), and an item handed to a
//! receive case of a select that is dropped goes back to the head of that
//! channel's line.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::blocking::block_on;
use super::ident::TaskId;
use super::shared::{Chan, PopError, PushError};
use super::token::Token;
use super::{Receiver, SendError, Sender};
use crate::loom::Arc;

/// Rounds of "register, find a case ready, abort, try again" in one poll
/// before the select yields (other tasks move the channels on meanwhile).
const ROUNDS: usize = 16;

/// One case of a select, its item type hidden.
pub(crate) trait Case: Send {
    /// Phase 1: completes the case if it can without waiting.
    fn try_fire(&mut self, me: TaskId) -> bool;
    /// Phase 2: waits on the channel as case `index` of the select holding
    /// `token`; whether the case could complete now.
    fn register(&mut self, me: TaskId, token: &Arc<Token>, index: usize, waker: &Waker) -> bool;
    /// Leaves the channel; `fired`: this case's claim won, take its result.
    fn unregister(&mut self, fired: bool);
}

/// The receive case of a select: `recv(rx)`.
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    key: Option<usize>,
    out: Option<Option<T>>,
}

impl<'a, T> RecvCase<'a, T> {
    pub(crate) fn new(rx: Option<&'a Receiver<T>>) -> Self {
        RecvCase {
            chan: rx.map(|rx| &*rx.chan),
            key: None,
            out: None,
        }
    }

    /// The result, if this case fired.
    #[doc(hidden)]
    pub fn __take(&mut self) -> Option<Option<T>> {
        self.out.take()
    }
}

impl<T: Send> RecvCase<'_, T> {
    /// The macro's handle on this case.
    #[doc(hidden)]
    pub fn __as_case(&mut self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<T: Send> Case for RecvCase<'_, T> {
    fn try_fire(&mut self, me: TaskId) -> bool {
        let Some(chan) = self.chan else { return false };
        match chan.try_pop(me) {
            Ok(item) => self.out = Some(Some(item)),
            Err(PopError::Closed) => self.out = Some(None),
            Err(PopError::Empty) => return false,
        }
        true
    }

    fn register(&mut self, me: TaskId, token: &Arc<Token>, index: usize, waker: &Waker) -> bool {
        let Some(chan) = self.chan else { return false };
        let (key, ready) = chan.register_recv(me, Some((token.clone(), index)), waker);
        self.key = Some(key);
        ready
    }

    fn unregister(&mut self, fired: bool) {
        if let (Some(chan), Some(key)) = (self.chan, self.key.take()) {
            let item = chan.unregister_recv(key, fired);
            if fired {
                debug_assert!(item.is_some(), "a claimed receive holds its item");
                self.out = Some(item);
            }
        }
    }
}

/// The send case of a select: `send(tx, item)`.
#[doc(hidden)]
pub struct SendCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    item: Option<T>,
    key: Option<usize>,
    out: Option<Result<(), SendError<T>>>,
}

impl<'a, T> SendCase<'a, T> {
    pub(crate) fn new(tx: Option<&'a Sender<T>>, item: T) -> Self {
        SendCase {
            chan: tx.map(|tx| &*tx.chan),
            item: Some(item),
            key: None,
            out: None,
        }
    }

    /// The result, if this case fired.
    #[doc(hidden)]
    pub fn __take(&mut self) -> Option<Result<(), SendError<T>>> {
        self.out.take()
    }
}

impl<T: Send> SendCase<'_, T> {
    /// The macro's handle on this case.
    #[doc(hidden)]
    pub fn __as_case(&mut self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<T: Send> Case for SendCase<'_, T> {
    fn try_fire(&mut self, me: TaskId) -> bool {
        let (Some(chan), Some(item)) = (self.chan, self.item.take()) else {
            return false;
        };
        match chan.try_push(item, me) {
            Ok(()) => self.out = Some(Ok(())),
            Err(PushError::Closed(item)) => self.out = Some(Err(SendError(item))),
            Err(PushError::Full(item)) => {
                self.item = Some(item);
                return false;
            }
        }
        true
    }

    fn register(&mut self, me: TaskId, token: &Arc<Token>, index: usize, waker: &Waker) -> bool {
        let Some(chan) = self.chan else { return false };
        let (key, ready) =
            chan.register_send(&mut self.item, me, Some((token.clone(), index)), waker);
        self.key = Some(key);
        ready
    }

    fn unregister(&mut self, fired: bool) {
        if let (Some(chan), Some(key)) = (self.chan, self.key.take()) {
            match chan.cancel_send(key) {
                Ok(()) => {
                    debug_assert!(fired, "only a claimed send is taken");
                    self.out = Some(Ok(()));
                }
                Err(Some(offer)) => self.item = Some(offer),
                Err(None) => {}
            }
        }
    }
}

/// A case of the macro's select, its item type hidden.
#[doc(hidden)]
pub struct CaseRef<'c>(&'c mut dyn Case);

impl fmt::Debug for CaseRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseRef").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvCase").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendCase").finish_non_exhaustive()
    }
}

/// The cases of one select, by index.
pub(crate) trait Cases {
    fn count(&self) -> usize;
    fn case(&mut self, i: usize) -> &mut dyn Case;
}

impl Cases for [CaseRef<'_>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Case {
        &mut *self[i].0
    }
}

/// The order in which phase 1 tries the cases: a uniformly random
/// permutation (Go's fairness), or in order when biased.
enum Order {
    Sequential(std::ops::Range<usize>),
    /// Up to 16 cases: a lazy Fisher–Yates shuffle of the indices packed as
    /// nibbles in `perm`, its choices drawn from one random word (`draw`,
    /// read as the mixed-radix digits of a fraction: each step multiplies
    /// by the number of cases left and keeps the integer part). One
    /// thread-local draw per order, and a multiply and a few shifts per
    /// case tried; the bias against exact uniformity is below 16!/2^64.
    Packed {
        perm: u64,
        next: usize,
        n: usize,
        draw: u64,
    },
    Shuffled(std::vec::IntoIter<usize>),
}

/// The nibbles 0, 1, …, 15 from the lowest up.
const IDENTITY: u64 = 0xFEDC_BA98_7654_3210;

impl Order {
    fn new(n: usize, biased: bool) -> Order {
        // Loom needs the same path on every run of a model.
        if biased || n < 2 || cfg!(loom) {
            Order::Sequential(0..n)
        } else if n <= 16 {
            Order::Packed {
                perm: IDENTITY,
                next: 0,
                n,
                draw: random_word(),
            }
        } else {
            let mut v: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                v.swap(i, random(i + 1));
            }
            Order::Shuffled(v.into_iter())
        }
    }
}

impl Iterator for Order {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Order::Sequential(r) => r.next(),
            Order::Shuffled(v) => v.next(),
            Order::Packed {
                perm,
                next,
                n,
                draw,
            } => {
                if *next == *n {
                    return None;
                }
                let left = (*n - *next) as u128;
                let wide = u128::from(*draw) * left;
                *draw = wide as u64;
                let j = *next + (wide >> 64) as usize; // in next..n
                let (at, to) = (4 * *next as u32, 4 * j as u32);
                let a = (*perm >> at) & 0xF;
                let b = (*perm >> to) & 0xF;
                *perm ^= ((a ^ b) << at) | ((a ^ b) << to); // swap the nibbles
                *next += 1;
                Some(b as usize)
            }
        }
    }
}

/// A random word from a per-thread xorshift.
fn random_word() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            // A different start on each thread.
            let local = 0u8;
            (&local as *const u8 as u64) | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// A random number below `n` (`n ≥ 1`).
fn random(n: usize) -> usize {
    ((random_word() >> 32).wrapping_mul(n as u64) >> 32) as usize
}

/// The state of one select between polls.
#[derive(Debug)]
pub(crate) struct Engine {
    /// While registered: the token every waiter holds.
    token: Option<Arc<Token>>,
    biased: bool,
    default: bool,
}

impl Engine {
    pub(crate) fn new(biased: bool, default: bool) -> Engine {
        Engine {
            token: None,
            biased,
            default,
        }
    }

    /// Phase 1 alone: the case that fired, if any.
    fn try_once<C: Cases + ?Sized>(&self, cases: &mut C, me: TaskId) -> Option<usize> {
        Order::new(cases.count(), self.biased).find(|&i| cases.case(i).try_fire(me))
    }

    /// Leaves every channel; the case that fired meanwhile, if any.
    fn leave<C: Cases + ?Sized>(&mut self, cases: &mut C, keep: bool) -> Option<usize> {
        let token = self.token.take()?;
        let fired = token.abort().err();
        for i in 0..cases.count() {
            cases.case(i).unregister(keep && fired == Some(i));
        }
        fired
    }

    /// One poll: `Ready(Some(i))` when case `i` fired, `Ready(None)` for
    /// `default`.
    pub(crate) fn poll<C: Cases + ?Sized>(
        &mut self,
        cases: &mut C,
        cx: &mut Context<'_>,
    ) -> Poll<Option<usize>> {
        let me = TaskId::current(cx.waker());
        if let Some(i) = self.leave(cases, true) {
            return Poll::Ready(Some(i));
        }
        for _ in 0..ROUNDS {
            if let Some(i) = self.try_once(cases, me) {
                return Poll::Ready(Some(i));
            }
            if self.default {
                return Poll::Ready(None);
            }
            let token = Arc::new(Token::new());
            let mut ready = false;
            // In random order too: on one channel, the case registered
            // first is served first (Go's TestPseudoRandomSend).
            for i in Order::new(cases.count(), self.biased) {
                ready |= cases.case(i).register(me, &token, i, cx.waker());
            }
            self.token = Some(token);
            if !ready {
                // A counterpart that claims the token wakes us.
                return Poll::Pending;
            }
            if let Some(i) = self.leave(cases, true) {
                return Poll::Ready(Some(i));
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// The select is dropped: it fired nothing (an item handed to one of
    /// its receive cases goes back; a send case whose item was taken has
    /// sent it, as a plain `send` future would have).
    pub(crate) fn cancel<C: Cases + ?Sized>(&mut self, cases: &mut C) {
        self.leave(cases, false);
    }
}

/// The future of [`select!`](crate::chan::select): which case fired
/// (`None`: `default`).
#[doc(hidden)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Selecting<'c, 'x> {
    cases: &'c mut [CaseRef<'x>],
    engine: Engine,
}

impl fmt::Debug for Selecting<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selecting").finish_non_exhaustive()
    }
}

impl Future for Selecting<'_, '_> {
    type Output = Option<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let this = &mut *self;
        this.engine.poll(this.cases, cx)
    }
}

impl Drop for Selecting<'_, '_> {
    fn drop(&mut self) {
        self.engine.cancel(self.cases);
    }
}

/// The async select of the macro.
#[doc(hidden)]
pub fn __select<'c, 'x>(
    cases: &'c mut [CaseRef<'x>],
    biased: bool,
    default: bool,
) -> Selecting<'c, 'x> {
    Selecting {
        cases,
        engine: Engine::new(biased, default),
    }
}

/// The blocking select of the macro.
#[doc(hidden)]
pub fn __select_blocking(cases: &mut [CaseRef<'_>], biased: bool, default: bool) -> Option<usize> {
    if default {
        // Never waits: no blocking call, so no thread identity either.
        return Engine::new(biased, true).try_once(cases, TaskId::known());
    }
    match block_on(__select(cases, biased, false), None) {
        Ok(fired) => fired,
        Err(_) => unreachable!("no deadline"),
    }
}

/// The receive case of the macro: `recv(rx)`.
#[doc(hidden)]
pub fn __recv<'a, T, R: RecvSource<T> + ?Sized>(rx: &'a R) -> RecvCase<'a, T> {
    RecvCase::new(rx.receiver())
}

/// The send case of the macro: `send(tx, item)`.
#[doc(hidden)]
pub fn __send<'a, T, S: SendSource<T> + ?Sized>(tx: &'a S, item: T) -> SendCase<'a, T> {
    SendCase::new(tx.sender(), item)
}

/// What a `recv(…)` case of [`select!`](crate::chan::select) receives
/// from: a [`Receiver`], a reference to one, or an `Option` of either,
/// where `None` switches the case off (Go's `nil` channel).
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded(1);
/// tx.try_send(1).unwrap();
/// let off: Option<&chan::Receiver<i32>> = None; // a nil channel
/// let got = chan::select_blocking! {
///     v = recv(off) => v,
///     v = recv(rx) => v,
/// };
/// assert_eq!(got, Some(1));
/// ```
pub trait RecvSource<T> {
    /// The receiver, or `None` for a case that never fires.
    fn receiver(&self) -> Option<&Receiver<T>>;
}

impl<T> RecvSource<T> for Receiver<T> {
    fn receiver(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}

impl<T, R: RecvSource<T> + ?Sized> RecvSource<T> for &R {
    fn receiver(&self) -> Option<&Receiver<T>> {
        (**self).receiver()
    }
}

impl<T, R: RecvSource<T>> RecvSource<T> for Option<R> {
    fn receiver(&self) -> Option<&Receiver<T>> {
        self.as_ref().and_then(R::receiver)
    }
}

/// What a `send(…)` case of [`select!`](crate::chan::select) sends into:
/// a [`Sender`], a reference to one, or an `Option` of either, where
/// `None` switches the case off (Go's `nil` channel).
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded(1);
/// let off: Option<chan::Sender<i32>> = None; // a nil channel
/// chan::select_blocking! {
///     r = send(off, 1) => r.unwrap(),
///     r = send(&tx, 2) => r.unwrap(),
/// }
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub trait SendSource<T> {
    /// The sender, or `None` for a case that never fires.
    fn sender(&self) -> Option<&Sender<T>>;
}

impl<T> SendSource<T> for Sender<T> {
    fn sender(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}

impl<T, S: SendSource<T> + ?Sized> SendSource<T> for &S {
    fn sender(&self) -> Option<&Sender<T>> {
        (**self).sender()
    }
}

impl<T, S: SendSource<T>> SendSource<T> for Option<S> {
    fn sender(&self) -> Option<&Sender<T>> {
        self.as_ref().and_then(S::sender)
    }
}

// ----- the dynamic form ------------------------------------------------------

/// A case of a [`Select`]: its result comes out as `Any`.
trait DynCase: Send {
    fn case(&mut self) -> &mut dyn Case;
    fn take_any(&mut self) -> Box<dyn Any>;
    /// The channel, to check [`Selected::recv`] / [`Selected::send`].
    fn chan_addr(&self) -> usize;
}

impl<T: Send + 'static> DynCase for RecvCase<'_, T> {
    fn case(&mut self) -> &mut dyn Case {
        self
    }
    fn take_any(&mut self) -> Box<dyn Any> {
        Box::new(self.out.take().expect("the case fired"))
    }
    fn chan_addr(&self) -> usize {
        self.chan.map_or(0, |c| c as *const Chan<T> as usize)
    }
}

impl<T: Send + 'static> DynCase for SendCase<'_, T> {
    fn case(&mut self) -> &mut dyn Case {
        self
    }
    fn take_any(&mut self) -> Box<dyn Any> {
        Box::new(self.out.take().expect("the case fired"))
    }
    fn chan_addr(&self) -> usize {
        self.chan.map_or(0, |c| c as *const Chan<T> as usize)
    }
}

impl<'a> Cases for [Box<dyn DynCase + 'a>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Case {
        self[i].case()
    }
}

/// Go's `reflect.Select`: a select over any number of cases, built at run
/// time. [`select!`](crate::chan::select) is the same select with its cases
/// written out.
///
/// Add cases with [`recv`](Select::recv) and [`send`](Select::send) (each
/// returns the case's index), then run it once with
/// [`select`](Select::select) (async), [`select_blocking`](Select::select_blocking)
/// (threads) or [`try_select`](Select::try_select) (Go's `default`: never
/// waits). Exactly one case fires; the [`Selected`] result says which, and
/// hands over its value.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (a_tx, a) = chan::bounded::<u32>(1);
/// let (b_tx, b) = chan::bounded::<&str>(1);
/// b_tx.send("hello").await.unwrap();
///
/// let mut sel = chan::Select::new();
/// let ia = sel.recv(&a);
/// let ib = sel.recv(&b);
/// let done = sel.select().await;
/// assert_eq!(done.index(), ib);
/// assert_ne!(done.index(), ia);
/// assert_eq!(done.recv(&b), Some("hello"));
/// # drop(a_tx);
/// # }
/// ```
pub struct Select<'a> {
    cases: Vec<Box<dyn DynCase + 'a>>,
    biased: bool,
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("biased", &self.biased)
            .finish()
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// An empty select that picks among ready cases at random (Go's
    /// fairness).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// let mut sel = chan::Select::new();
    /// sel.send(&tx, 1);
    /// assert_eq!(sel.try_select().unwrap().index(), 0);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            biased: false,
        }
    }

    /// An empty select that tries its cases in the order they were added
    /// and fires the first ready one (`tokio::select!`'s `biased;`).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(2);
    /// tx.try_send('a').unwrap();
    /// let mut sel = chan::Select::biased();
    /// let first = sel.recv(&rx);
    /// sel.recv(&rx);
    /// let done = sel.try_select().unwrap();
    /// assert_eq!(done.index(), first);
    /// assert_eq!(done.recv(&rx), Some('a'));
    /// ```
    pub fn biased() -> Self {
        Select {
            cases: Vec::new(),
            biased: true,
        }
    }

    /// Adds a receive case on `rx`; returns its index. It fires with
    /// `Some(item)`, or `None` once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// drop(tx);
    /// let mut sel = chan::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.select_blocking().recv(&rx), None); // closed
    /// # let _ = i;
    /// ```
    pub fn recv<T: Send + 'static>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.cases.push(Box::new(RecvCase::new(Some(rx))));
        self.cases.len() - 1
    }

    /// Adds a send case of `item` on `tx`; returns its index. It fires with
    /// `Ok(())` once the item is sent, or `Err` with the item on a closed
    /// channel. If another case fires, `item` is dropped unsent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// let mut sel = chan::Select::new();
    /// let i = sel.send(&tx, "job");
    /// let done = sel.select_blocking();
    /// assert_eq!(done.index(), i);
    /// assert_eq!(done.send(&tx), Ok(()));
    /// assert_eq!(rx.try_recv(), Ok("job"));
    /// ```
    pub fn send<T: Send + 'static>(&mut self, tx: &'a Sender<T>, item: T) -> usize {
        self.cases.push(Box::new(SendCase::new(Some(tx), item)));
        self.cases.len() - 1
    }

    /// Waits until one case fires: the async select.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes fires no case: an item a
    /// send handed to one of its receive cases goes back to the head of
    /// that channel's line. The one exception is a send case on a
    /// rendezvous channel whose item a receive has already taken: that
    /// send happened (as with [`Sender::send`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::rendezvous::<u32>();
    /// tokio::spawn(async move { tx.send(7).await });
    /// let mut sel = chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().await.recv(&rx), Some(7));
    /// # }
    /// ```
    pub fn select(self) -> SelectFuture<'a> {
        SelectFuture {
            cases: self.cases,
            engine: Engine::new(self.biased, false),
        }
    }

    /// Blocks the current thread until one case fires.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::rendezvous::<u32>();
    /// std::thread::spawn(move || tx.send_blocking(7));
    /// let mut sel = chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select_blocking().recv(&rx), Some(7));
    /// ```
    pub fn select_blocking(self) -> Selected {
        match block_on(self.select(), None) {
            Ok(done) => done,
            Err(_) => unreachable!("no deadline"),
        }
    }

    /// Fires a case that can complete now, or returns `None` without
    /// waiting: Go's `select` with `default`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// let mut sel = chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_none()); // nothing ready
    /// ```
    pub fn try_select(mut self) -> Option<Selected> {
        let engine = Engine::new(self.biased, true);
        let index = engine.try_once(&mut self.cases[..], TaskId::known())?;
        Some(Selected::of(&mut self.cases, index))
    }
}

/// The future of [`Select::select`].
///
/// # Cancel safety
///
/// See [`Select::select`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<'a> {
    cases: Vec<Box<dyn DynCase + 'a>>,
    engine: Engine,
}

impl fmt::Debug for SelectFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture")
            .field("cases", &self.cases.len())
            .finish_non_exhaustive()
    }
}

impl Future for SelectFuture<'_> {
    type Output = Selected;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Selected> {
        let this = &mut *self;
        match this.engine.poll(&mut this.cases[..], cx) {
            Poll::Ready(Some(i)) => Poll::Ready(Selected::of(&mut this.cases, i)),
            Poll::Ready(None) => unreachable!("no default case"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for SelectFuture<'_> {
    fn drop(&mut self) {
        self.engine.cancel(&mut self.cases[..]);
    }
}

/// The case of a [`Select`] that fired, with its result.
pub struct Selected {
    index: usize,
    chan: usize,
    out: Box<dyn Any>,
}

impl fmt::Debug for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Selected {
    fn of(cases: &mut [Box<dyn DynCase + '_>], index: usize) -> Selected {
        Selected {
            index,
            chan: cases[index].chan_addr(),
            out: cases[index].take_any(),
        }
    }

    /// The index of the case that fired (as [`Select::recv`] /
    /// [`Select::send`] returned it).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// let mut sel = chan::Select::new();
    /// let r = sel.recv(&rx);
    /// let s = sel.send(&tx, 1);
    /// let done = sel.try_select().unwrap();
    /// assert_eq!(done.index(), s); // nothing to receive yet
    /// # let _ = r;
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The result of the receive case that fired: `Some(item)`, or `None`
    /// for a closed and drained channel.
    ///
    /// # Panics
    ///
    /// If the case that fired is not a receive on `rx`'s channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// tx.try_send(5).unwrap();
    /// let mut sel = chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_select().unwrap().recv(&rx), Some(5));
    /// ```
    pub fn recv<T: 'static>(self, rx: &Receiver<T>) -> Option<T> {
        assert_eq!(
            self.chan, &*rx.chan as *const Chan<T> as usize,
            "the case that fired is not on this receiver's channel"
        );
        *self
            .out
            .downcast::<Option<T>>()
            .expect("the case that fired is not a receive")
    }

    /// The result of the send case that fired: `Ok(())`, or the item back
    /// on a closed channel.
    ///
    /// # Panics
    ///
    /// If the case that fired is not a send on `tx`'s channel.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the item when the channel was closed (or every
    /// receiver gone).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// drop(rx);
    /// let mut sel = chan::Select::new();
    /// sel.send(&tx, 5);
    /// let done = sel.try_select().unwrap(); // a closed channel is ready
    /// assert_eq!(done.send(&tx).unwrap_err().into_inner(), 5);
    /// ```
    pub fn send<T: 'static>(self, tx: &Sender<T>) -> Result<(), SendError<T>> {
        assert_eq!(
            self.chan, &*tx.chan as *const Chan<T> as usize,
            "the case that fired is not on this sender's channel"
        );
        *self
            .out
            .downcast::<Result<(), SendError<T>>>()
            .expect("the case that fired is not a send")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Order;

    /// Every order is a permutation of `0..n`.
    #[test]
    fn orders_are_permutations() {
        for n in 0..=20 {
            for _ in 0..200 {
                let mut seen: Vec<usize> = Order::new(n, false).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
            }
        }
    }

    /// All 24 orders of 4 cases come up about equally often (a wrap-around
    /// from a random start would give only 4 of them), and so does each
    /// case first among a non-contiguous ready set {0, 1, 3}.
    #[test]
    #[cfg_attr(miri, ignore = "statistical: 96,000 draws are too slow under Miri")]
    fn orders_are_uniform() {
        const TRIALS: usize = 48_000;
        let mut perms = std::collections::HashMap::new();
        let mut first_ready = [0usize; 4];
        for _ in 0..TRIALS {
            let order: Vec<usize> = Order::new(4, false).collect();
            let ready = order.iter().copied().find(|&i| i != 2).unwrap();
            first_ready[ready] += 1;
            *perms.entry(order).or_insert(0usize) += 1;
        }
        assert_eq!(perms.len(), 24);
        // 2,000 expected each; sd ≈ 44, so ± 400 is 9 sd.
        for (order, count) in &perms {
            assert!((1_600..=2_400).contains(count), "{order:?}: {count}");
        }
        // 16,000 expected each; sd ≈ 103.
        for (case, count) in first_ready.iter().enumerate() {
            if case != 2 {
                assert!((15_000..=17_000).contains(count), "case {case}: {count}");
            }
        }
    }
}
