//! The state one channel's senders and receivers share, and the rules by
//! which waiting senders and receivers are served.
//!
//! # One lock, two FIFO lists
//!
//! Everything that decides whether an operation may complete lives under
//! one lock: the buffered items, the reserved slots, the two end flags
//! (`closed`, `rx_gone`), and two lists of waiters ([`WaitList`]): blocked
//! senders (each holding its item, or a reservation) and sleeping
//! receivers. An operation checks and acts in one critical section, so an
//! item whose send returned `Ok` was stored before the channel closed and
//! is always received, and "closed and drained" is decided atomically.
//! Wakers are collected under the lock and woken after it is released.
//!
//! # Senders: in line, in arrival order, cancel safe
//!
//! A send that finds no room joins the back of the senders' line; its item
//! stays inside its own future until the poll in which it is pushed, so a
//! send future dropped or abandoned in line has sent nothing and holds no
//! slot. When room frees, senders in line are woken so that a future kept
//! alive but never polled again cannot swallow the wake-up meant for the
//! others, and admission keeps arrival order: a sender may take a slot
//! ahead of older senders still in line only while each of them has been
//! overtaken by fewer than `capacity` items, so a blocked sender is never
//! overtaken by more than `capacity` items from senders that came after
//! it. A new send that arrives while others are in line obeys the same
//! rule. One exception keeps the channel live: a sender woken for a freed
//! slot that is still not polled when another slot frees has had its
//! chance (it may be a future nobody polls any more) and no longer holds
//! the others back; it keeps its place and goes first when it is polled. Which senders a freed slot wakes follows the receivers' rule
//! below: every fresh one, and the oldest proven one.
//!
//! # Receivers: never a lost or swallowed wake-up
//!
//! A receive that finds nothing sleeps on the receivers' lists. An event
//! that makes `n` items available wakes (and unlinks) every *fresh*
//! receiver — one never woken since it started waiting, which may be a
//! future nobody will poll again — and the `n` oldest *proven* ones (woken
//! before and polled again: alive). A woken receiver that finds nothing
//! links itself again. So a future kept alive but never polled again is
//! woken once and then never counted on again: it cannot swallow the
//! wake-up meant for a live receiver, and 100,000 idle receivers cost one
//! wake-up per item once each has been woken once (see `waiters.rs`).
//!
//! # Rendezvous: Go's contract
//!
//! A rendezvous channel has no buffer; a send completes once a receive has
//! *taken* its item, in one of two ways, each costing one wake-up:
//!
//! - a receive is sleeping: the send hands the item into the receive's
//!   node, unlinks it and wakes it, and returns `Ok` at once (proven
//!   receivers first, then fresh ones, each oldest first);
//! - nobody is: the send waits in line with its item in its node (an
//!   offer); a receive takes the oldest offer and returns it in the same
//!   poll, then wakes the sender, whose future then returns `Ok`.
//!
//! A receive future dropped after an item was handed to it and before it
//! returned (it lost a `tokio::select!`) gives the item back: it goes to
//! `items`, which on a rendezvous channel holds only such given-back items,
//! and which every receive takes from first, before any offer; while it is
//! not empty a send does not hand over, so a given-back item is received
//! before the items of later senders. Once the last receiver is gone they
//! are released like buffered items. A `Receiver`'s own wait (its `Stream`
//! and `poll_recv_many`) lives as long as the receiver and may never be
//! polled again, so it is never handed an item: a send that finds only
//! such waits offers its item and wakes them.
//!
//! A task never pairs with itself (Go's `TestSelfSelect`): a send does not
//! hand to, and a receive does not take from, a waiter of its own task
//! (see `ident.rs` for what a task is). A select's waiters carry its token
//! and are claimed before an item moves (see `token.rs` and `select.rs`);
//! a waiter whose token is claimed or aborted is skipped.
//!
//! `tests/loom_chan.rs`, `tests/loom_wake.rs` and `tests/loom_select.rs`
//! model-check these rules with loom.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::Duration;

use event_listener::Event;

use super::ident::TaskId;
use super::lock::Side;
#[cfg(loom)]
use super::loom_control;
use super::token::{claimable, try_claim, Claim};
use super::waiters::{WaitList, Wakers, FRESH, PROVEN};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};

mod displace;

const CLOSED: usize = 0b01;
/// How many stale senders admission looks past (see `Chan::admit`).
const STALE_WALK: usize = 64;
const RX_GONE: usize = 0b10;
/// Something may be there to take: set under the lock by everything that
/// buffers an item or offers one, cleared only by a non-blocking pop that
/// found the buffer empty and no sender in line. While it is clear (and
/// the channel open) [`Chan::try_pop`] answers `Empty` without the lock.
const STOCKED: usize = 0b100;

/// Why a non-blocking push did not happen.
pub(crate) enum PushError<T> {
    Full(T),
    Closed(T),
}

/// Why a non-blocking pop found nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PopError {
    Empty,
    Closed,
}

/// Why a reservation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReserveFail {
    Closed,
    Full,
}

/// A sender in line: a send, or a reservation of `want` slots.
pub(crate) struct SendSlot<T> {
    /// Rendezvous only: the offered item, `None` once a receive took it.
    offer: Option<T>,
    /// The task that waits (see `ident.rs`): a receive never takes an
    /// offer of its own task.
    owner: TaskId,
    /// A select's send case: its token must be claimed before the offer is
    /// taken (see `token.rs`).
    claim: Claim,
    /// A receive took the offer: the send is done.
    taken: bool,
    /// Items admitted ahead of this waiter and every older one since they
    /// joined, not yet counted on the waiter before it: the waiter's
    /// "overtaken" count is the sum of this over itself and every younger
    /// waiter (see `State::head_overtaken`), so charging all older waiters
    /// is one addition.
    overtaken: usize,
}

impl<T> SendSlot<T> {
    fn new(offer: Option<T>, owner: TaskId, claim: Claim) -> Self {
        SendSlot {
            offer,
            owner,
            claim,
            taken: false,
            overtaken: 0,
        }
    }
}

/// A sleeping receive.
pub(crate) struct RecvSlot<T> {
    /// Rendezvous only: the item a send handed straight to this receive.
    handed: Option<T>,
    /// The task that waits: a send never hands an item to its own task.
    owner: TaskId,
    /// A select's receive case: its token must be claimed before an item
    /// is handed to it.
    claim: Claim,
    /// Whether a send may hand it an item. A `Receiver`'s own wait (its
    /// `Stream` and `poll_recv_many`) lives as long as the receiver and may
    /// never be polled again while the receiver is used otherwise: it is
    /// woken for an offer and takes it when polled, as before Go's contract.
    handable: bool,
}

/// What the lock protects.
///
/// `repr(C)`, hot fields first: everything a send or receive that does not
/// wait reads or writes (the buffer, the reservations, the end flags and
/// the head of the senders' line) shares the lock's cache line, so an
/// operation on one core pulls one line from the other, not five.
#[repr(C)]
pub(crate) struct State<T> {
    items: VecDeque<T>,
    /// Slots held by permits ([`Sender::reserve`](super::Sender::reserve)).
    reserved: usize,
    /// No new push may succeed (a `close`, or the last sender dropped).
    closed: bool,
    /// Every receiver is gone: pushes fail and nothing is stored any more.
    rx_gone: bool,
    senders: WaitList<SendSlot<T>>,
    receivers: WaitList<RecvSlot<T>>,
    /// Items ever sent: pushed into the buffer, or taken from a rendezvous
    /// offer (see [`Observer::sent`](super::Observer::sent)).
    sent: u64,
    /// The most items seen buffered, kept by every push from the first
    /// [`Observer`](super::Observer) on; `usize::MAX` until then, so that a
    /// push on a channel nobody observes only compares (never stores).
    peak: usize,
    /// How many items have overtaken the oldest sender in line: the largest
    /// such count of any sender in line (an older sender has been overtaken
    /// by everything that overtook a younger one).
    head_overtaken: usize,
    /// Events that freed room for senders in line.
    room_events: u64,
    /// Items dropped unreceived because every receiver went away.
    discarded: u64,
}

impl<T> State<T> {
    fn shut(&self) -> bool {
        self.closed || self.rx_gone
    }

    /// After a push: keeps the buffer's fill if it is the most seen (a
    /// compare, and no store, on a channel nobody observes).
    #[inline(always)]
    fn note_peak(&mut self) {
        let n = self.items.len();
        if n > self.peak {
            self.peak = n;
        }
    }

    /// Takes a sender out of the line, keeping the overtaken counts of the
    /// others right, and frees its node.
    fn leave_line(&mut self, key: usize) -> SendSlot<T> {
        if self.senders.is_linked(key) {
            let own = self.senders.slot(key).overtaken;
            match self.senders.prev(key) {
                Some(older) => self.senders.slot_mut(older).overtaken += own,
                None => self.head_overtaken -= own,
            }
        }
        self.senders.remove(key)
    }
}

/// `repr(C)` and cache-line aligned: the lock and the hot part of its
/// state start a line of their own (see [`State`]).
#[repr(C, align(64))]
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    cap: Option<usize>,
    /// `CLOSED | RX_GONE | STOCKED`, written only under the lock, for
    /// lock-free reads.
    flags: AtomicUsize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// [`Sender::closed`](super::Sender::closed) waits here.
    pub(crate) close_ops: Event,
    /// Statistics, not synchronisation (std atomics even under loom).
    pub(crate) stats: Stats,
    /// Which side last took the lock ([`Side`] as a byte): a hint for the
    /// lock's backoff, not synchronisation (std atomic even under loom).
    holder: std::sync::atomic::AtomicU8,
}

/// Time spent waiting, for [`Observer`](super::Observer).
pub(crate) struct Stats {
    recv_wait_ns: std::sync::atomic::AtomicU64,
    send_wait_ns: std::sync::atomic::AtomicU64,
    /// Whether waits are timed: set by the first observer.
    timed: std::sync::atomic::AtomicBool,
}

impl Stats {
    /// When a wait starts, if waits are timed. Only waits read the clock
    /// (an operation that completes at once never does), and only once
    /// someone may read the totals: from the first [`Observer`] of the
    /// channel on (see [`Stats::time_waits`]).
    ///
    /// [`Observer`]: super::Observer
    #[inline]
    pub(crate) fn start(&self) -> Option<std::time::Instant> {
        if self.timed.load(std::sync::atomic::Ordering::Relaxed) {
            Some(std::time::Instant::now())
        } else {
            None
        }
    }

    /// Times every wait that starts from now on (an observer exists).
    pub(crate) fn time_waits(&self) {
        self.timed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds a finished wait to the receive (or send) total.
    #[inline]
    pub(crate) fn waited(&self, recv: bool, since: Option<std::time::Instant>) {
        if let Some(since) = since {
            let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let total = if recv {
                &self.recv_wait_ns
            } else {
                &self.send_wait_ns
            };
            total.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Collected wakers, woken when this guard is dropped (after the lock).
struct Wake(Wakers);

impl Drop for Wake {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.wake_all();
    }
}

impl<T> Chan<T> {
    /// `cap`: `Some(0)` is a rendezvous channel, `None` unbounded.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        Chan {
            state: Mutex::new(State {
                items: VecDeque::new(),
                reserved: 0,
                sent: 0,
                peak: usize::MAX,
                discarded: 0,
                closed: false,
                rx_gone: false,
                senders: WaitList::new(),
                head_overtaken: 0,
                room_events: 0,
                receivers: WaitList::new(),
            }),
            cap,
            flags: AtomicUsize::new(0),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            close_ops: Event::new(),
            stats: Stats {
                recv_wait_ns: std::sync::atomic::AtomicU64::new(0),
                send_wait_ns: std::sync::atomic::AtomicU64::new(0),
                timed: std::sync::atomic::AtomicBool::new(false),
            },
            holder: std::sync::atomic::AtomicU8::new(Side::Other as u8),
        }
    }

    /// Locks for something that is neither a send nor a receive.
    #[inline(always)]
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.lock_as(Side::Other)
    }

    /// Locks for an operation of `side`, and notes that side as the
    /// holder: a send or receive backs off behind the other side, and
    /// everything else takes std's lock at once (see `lock.rs`).
    #[inline(always)]
    fn lock_as(&self, side: Side) -> MutexGuard<'_, State<T>> {
        let guard = super::lock::lock(&self.state, || {
            let holder = Side::from_u8(self.holder.load(std::sync::atomic::Ordering::Relaxed));
            side.rival(holder)
        });
        self.holder
            .store(side as u8, std::sync::atomic::Ordering::Relaxed);
        guard
    }

    /// Under the lock: an item was buffered or offered (see [`STOCKED`]).
    /// Stores only when the bit was clear, so a busy channel does not
    /// write the word on every push.
    #[inline(always)]
    fn stock(&self) {
        if self.flags.load(Ordering::Relaxed) & STOCKED == 0 {
            self.flags.fetch_or(STOCKED, Ordering::Release);
        }
    }

    #[inline]
    pub(crate) fn is_rendezvous(&self) -> bool {
        self.cap == Some(0)
    }

    /// The capacity as the user asked for it (`Some(0)` for rendezvous).
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }

    /// Whether the buffer can take one more item now.
    #[inline]
    fn has_room(&self, s: &State<T>) -> bool {
        self.cap.is_none_or(|c| s.items.len() + s.reserved < c)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Items ever sent (see `State::sent`).
    pub(crate) fn sent(&self) -> u64 {
        self.lock().sent
    }

    /// Starts keeping the peak fill (an observer exists): from the fill
    /// now on.
    pub(crate) fn keep_peak(&self) {
        let mut s = self.lock();
        if s.peak == usize::MAX {
            s.peak = s.items.len();
        }
    }

    /// `(sent, received, buffered, peak)`, read under one lock, so that
    /// `sent == received + buffered` holds in every reading. Received is
    /// what left the buffer (or a rendezvous offer) into a receive: every
    /// item sent, less those still buffered and those dropped because
    /// every receiver went away. The peak is `None` until the channel is
    /// observed.
    pub(crate) fn traffic(&self) -> (u64, u64, usize, Option<usize>) {
        let s = self.lock();
        let len = s.items.len();
        let received = s.sent.saturating_sub(len as u64 + s.discarded);
        let peak = (s.peak != usize::MAX).then_some(s.peak);
        (s.sent, received, len, peak)
    }

    pub(crate) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Relaxed)
    }

    pub(crate) fn receiver_count(&self) -> usize {
        self.receivers.load(Ordering::Relaxed)
    }

    /// Sends can no longer succeed: closed, or every receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.flags.load(Ordering::Acquire) & (CLOSED | RX_GONE) != 0
    }

    /// Closed and nothing buffered: no item can ever be received again.
    pub(crate) fn is_drained(&self) -> bool {
        let s = self.lock();
        s.closed && s.items.is_empty()
    }

    /// Whether a send would have to wait now.
    pub(crate) fn is_full(&self) -> bool {
        let s = self.lock();
        // On a rendezvous channel a send waits unless a receive of another
        // task sleeps; elsewhere senders in line come first.
        if self.is_rendezvous() {
            return !s.shut() && !self.send_ready(&s, TaskId::known());
        }
        !self.has_room(&s) || !s.senders.is_empty()
    }

    pub(crate) fn recv_waited(&self) -> Duration {
        Duration::from_nanos(
            self.stats
                .recv_wait_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    pub(crate) fn send_waited(&self) -> Duration {
        Duration::from_nanos(
            self.stats
                .send_wait_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    // ----- under the lock -------------------------------------------------

    /// `n` items became available: wake every fresh receiver and `n`
    /// proven ones (see `waiters.rs`).
    #[inline]
    fn wake_receivers(s: &mut State<T>, n: usize, wake: &mut Wake) {
        #[cfg(loom)]
        if loom_control::broken() {
            s.receivers.wake_first_only(true, &mut wake.0);
            return;
        }
        if !s.receivers.is_empty() {
            s.receivers.wake_fresh_and(n, &mut wake.0);
        }
    }

    /// Room was freed (or a waiter left the line): wake the senders in line
    /// that may take it (every fresh one, and as many proven ones as there
    /// are free slots).
    #[inline]
    fn room_freed(&self, s: &mut State<T>, wake: &mut Wake) {
        #[cfg(loom)]
        if loom_control::broken() {
            if self.has_room(s) {
                s.senders.wake_first_only(false, &mut wake.0);
            }
            return;
        }
        if !s.senders.is_empty() && self.has_room(s) {
            let free = self
                .cap
                .map_or(usize::MAX, |c| c - s.items.len() - s.reserved);
            s.room_events += 1;
            s.senders.wake_line(free, s.room_events, &mut wake.0);
        }
    }

    /// Whether a sender may take `want` slots now: there is room, and no
    /// older sender still in line (those before `me`; all of them for a new
    /// send) would then have been overtaken by more than `capacity` items.
    /// The oldest sender has been overtaken the most, so only its count is
    /// checked; when admitted, every older sender is charged at once.
    fn admit(&self, s: &mut State<T>, me: Option<usize>, want: usize) -> bool {
        let Some(cap) = self.cap else { return true };
        if s.items.len() + s.reserved + want > cap {
            return false;
        }
        let younger_than = match me {
            Some(key) => s.senders.prev(key),
            None => s.senders.back(FRESH),
        };
        if let Some(older) = younger_than {
            // The most-overtaken older sender that still holds its place: a
            // sender woken for a freed slot and still not polled when
            // another slot freed has had its chance and is passed over
            // (liveness: it may be a future nobody polls any more). It
            // keeps its place and goes first when it is polled again.
            // The walk is bounded: past `STALE_WALK` stale senders at the
            // front of the line, the line is taken as held by futures
            // nobody polls, and the sender is admitted (liveness first; this
            // keeps admission O(1) with 100,000s of senders in line).
            let mut overtaken = s.head_overtaken;
            let mut at = s.senders.front(FRESH);
            let mut walked = 0;
            while overtaken + want > cap {
                match at {
                    // Every older sender was passed over: none holds us back.
                    None => break,
                    Some(key) if Some(key) == me => break,
                    Some(_) if walked == STALE_WALK => break,
                    Some(key) if s.senders.is_stale(key, s.room_events) => {
                        overtaken -= s.senders.slot(key).overtaken;
                        at = s.senders.next(key);
                        walked += 1;
                    }
                    Some(_) => return false,
                }
            }
            s.senders.slot_mut(older).overtaken += want;
            s.head_overtaken += want;
        }
        true
    }

    /// Takes one item: from the buffer (on a rendezvous channel, the items
    /// given back by dropped receives), or on a rendezvous channel from the
    /// oldest offer that a task other than `me` made and that can be
    /// claimed (a select's offer whose token is claimed or aborted is
    /// skipped).
    #[inline(always)]
    fn take(&self, s: &mut State<T>, me: TaskId, wake: &mut Wake) -> Option<T> {
        if let Some(item) = s.items.pop_front() {
            self.room_freed(s, wake);
            return Some(item);
        }
        if !self.is_rendezvous() {
            return None;
        }
        let mut at = s.senders.front(FRESH);
        while let Some(key) = at {
            at = s.senders.next(key);
            let slot = s.senders.slot(key);
            if slot.offer.is_none() || slot.owner.same(me) || !try_claim(&slot.claim) {
                continue;
            }
            let slot = s.senders.slot_mut(key);
            let item = slot.offer.take();
            slot.taken = true;
            s.sent += 1;
            // Out of line as it is woken (like a receive that is handed an
            // item): its next poll only frees the node.
            if let Some(w) = s.senders.unlink(key) {
                wake.0.push(w);
            }
            return item;
        }
        None
    }

    /// Rendezvous: hands `item` straight to a sleeping receive of another
    /// task than `me` (claiming it, if it is a select's), unlinks it and
    /// wakes it: the send is done. Proven receivers first (they have shown
    /// that they are polled), then fresh ones, each oldest first. Items
    /// given back and not yet taken go first: then nothing is handed.
    #[inline(always)]
    fn hand(&self, s: &mut State<T>, item: T, me: TaskId, wake: &mut Wake) -> Result<(), T> {
        if !s.items.is_empty() || s.receivers.is_empty() {
            return Err(item);
        }
        for list in [PROVEN, FRESH] {
            let mut at = s.receivers.front(list);
            while let Some(key) = at {
                at = s.receivers.next(key);
                let slot = s.receivers.slot(key);
                if !slot.handable || slot.owner.same(me) || !try_claim(&slot.claim) {
                    continue;
                }
                s.receivers.slot_mut(key).handed = Some(item);
                s.sent += 1;
                if let Some(w) = s.receivers.unlink(key) {
                    wake.0.push(w);
                }
                return Ok(());
            }
        }
        Err(item)
    }

    /// Whether a receive of `me` could complete now (for a select that has
    /// just registered: see `select.rs`).
    fn recv_ready(&self, s: &State<T>, me: TaskId) -> bool {
        if !s.items.is_empty() || s.closed {
            return true;
        }
        if !self.is_rendezvous() {
            return false;
        }
        let mut at = s.senders.front(FRESH);
        while let Some(key) = at {
            let slot = s.senders.slot(key);
            if slot.offer.is_some() && !slot.owner.same(me) && claimable(&slot.claim) {
                return true;
            }
            at = s.senders.next(key);
        }
        false
    }

    /// Whether a send of `me` could complete now (see [`Chan::recv_ready`]).
    fn send_ready(&self, s: &State<T>, me: TaskId) -> bool {
        if s.shut() {
            return true;
        }
        if !self.is_rendezvous() {
            return self.has_room(s) && s.senders.is_empty();
        }
        if !s.items.is_empty() {
            return false;
        }
        for list in [PROVEN, FRESH] {
            let mut at = s.receivers.front(list);
            while let Some(key) = at {
                let slot = s.receivers.slot(key);
                if slot.handable && !slot.owner.same(me) && claimable(&slot.claim) {
                    return true;
                }
                at = s.receivers.next(key);
            }
        }
        false
    }

    // ----- fast paths -------------------------------------------------------

    /// The common send: room in the buffer, nobody in line, open. Pushes
    /// the item (taking it out of `item`) and returns `true`; otherwise
    /// leaves everything as it was and returns `false`, and the caller
    /// takes the general path ([`Chan::poll_send`]).
    #[inline(always)]
    pub(crate) fn push_fast(&self, item: &mut Option<T>) -> bool {
        // A rendezvous send always waits: don't even take the lock.
        if self.is_rendezvous() {
            return false;
        }
        let mut s = self.lock_as(Side::Send);
        if s.shut() || !s.senders.is_empty() || !self.has_room(&s) {
            return false;
        }
        let Some(it) = item.take() else { return false };
        // A non-empty buffer is stocked already (the hint is cleared only
        // when the buffer is empty): the common busy case reads no flag.
        if s.items.is_empty() {
            self.stock();
        }
        s.items.push_back(it);
        s.sent += 1;
        s.note_peak();
        if s.receivers.is_empty() {
            return true;
        }
        let mut wake = Wake(Wakers::new());
        Self::wake_receivers(&mut s, 1, &mut wake);
        drop(s);
        true
    }

    /// The common receive: an item buffered. Takes the oldest one, waking
    /// the senders in line that the freed slot lets in.
    #[inline(always)]
    pub(crate) fn pop_fast(&self) -> Option<T> {
        // A rendezvous channel buffers nothing: its items come from offers.
        if self.is_rendezvous() {
            return None;
        }
        let mut s = self.lock_as(Side::Recv);
        let item = s.items.pop_front()?;
        if s.senders.is_empty() {
            return Some(item);
        }
        let mut wake = Wake(Wakers::new());
        self.room_freed(&mut s, &mut wake);
        drop(s);
        Some(item)
    }

    // ----- non-blocking operations ----------------------------------------

    /// Pushes without waiting; on a rendezvous channel, hands the item to
    /// a sleeping receive of another task than `me`.
    pub(crate) fn try_push(&self, item: T, me: TaskId) -> Result<(), PushError<T>> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Other);
        if s.shut() {
            return Err(PushError::Closed(item));
        }
        if self.is_rendezvous() {
            return self
                .hand(&mut s, item, me, &mut wake)
                .map_err(PushError::Full);
        }
        if !self.admit(&mut s, None, 1) {
            return Err(PushError::Full(item));
        }
        s.items.push_back(item);
        s.sent += 1;
        s.note_peak();
        self.stock();
        Self::wake_receivers(&mut s, 1, &mut wake);
        drop(s);
        Ok(())
    }

    /// Moves items from the front of `from` while there is room; returns
    /// how many, or `Err(())` (nothing moved) when the channel is closed.
    pub(crate) fn try_push_many(&self, from: &mut VecDeque<T>) -> Result<usize, ()> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Other);
        if s.shut() {
            return Err(());
        }
        let room = match self.cap {
            None => from.len(),
            Some(c) => c.saturating_sub(s.items.len() + s.reserved).min(from.len()),
        };
        // Senders in line come first (see `admit`): take what the line
        // allows, one slot at a time.
        let room = if s.senders.is_empty() {
            room
        } else {
            (0..room)
                .take_while(|_| self.admit(&mut s, None, 1))
                .count()
        };
        if room == 0 {
            return Ok(0);
        }
        if room == from.len() {
            s.items.append(from);
        } else {
            s.items.extend(from.drain(..room));
        }
        s.sent += room as u64;
        s.note_peak();
        self.stock();
        Self::wake_receivers(&mut s, room, &mut wake);
        drop(s);
        Ok(room)
    }

    /// Pops without waiting (on a rendezvous channel, from a blocked
    /// sender of another task than `me`).
    ///
    /// An open channel on which nothing was buffered or offered since a
    /// pop last found it empty answers `Empty` without the lock (a select
    /// polls its never-ready `done` channel this way): the answer is the
    /// state at the moment of the load, as under the lock.
    pub(crate) fn try_pop(&self, me: TaskId) -> Result<T, PopError> {
        if self.flags.load(Ordering::Acquire) & (STOCKED | CLOSED) == 0 {
            return Err(PopError::Empty);
        }
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Other);
        match self.take(&mut s, me, &mut wake) {
            Some(item) => Ok(item),
            None if s.closed => Err(PopError::Closed),
            None => {
                // Nothing buffered and no offer in line: clear the hint.
                // An offer of `me`'s own, or one whose select is claimed
                // elsewhere, keeps it set.
                if s.items.is_empty() && s.senders.is_empty() {
                    self.flags.fetch_and(!STOCKED, Ordering::Relaxed);
                }
                Err(PopError::Empty)
            }
        }
    }

    fn pop_many_locked(
        &self,
        s: &mut State<T>,
        buf: &mut Vec<T>,
        limit: usize,
        me: TaskId,
        wake: &mut Wake,
    ) -> Result<usize, PopError> {
        if limit == 0 {
            return Ok(0);
        }
        let n = s.items.len().min(limit);
        if n == s.items.len() && n > 0 && buf.is_empty() {
            // Taking everything into an empty buffer: swap the storage.
            let spare = VecDeque::from(std::mem::take(buf));
            *buf = Vec::from(std::mem::replace(&mut s.items, spare));
        } else if n > 0 {
            // A prefix: move it in bulk. `rotate_left` and `split_off`
            // copy with memmove/memcpy inside std whatever LLVM inlines,
            // where `buf.extend(s.items.drain(..n))` is a memcpy only when
            // inlined and ~34 instructions per item when not (profiling.md
            // §10-11).
            s.items.rotate_left(n);
            let at = s.items.len() - n;
            let mut head = Vec::from(s.items.split_off(at));
            buf.append(&mut head);
        }
        let mut got = n;
        if n > 0 {
            self.room_freed(s, wake);
        }
        if self.is_rendezvous() {
            while got < limit {
                match self.take(s, me, wake) {
                    Some(item) => {
                        buf.push(item);
                        got += 1;
                    }
                    None => break,
                }
            }
        }
        match got {
            0 if s.closed => Err(PopError::Closed),
            0 => Err(PopError::Empty),
            n => Ok(n),
        }
    }

    // ----- waiting operations (one poll each) ----------------------------

    /// One poll of a send. `key` is the sender's place in line once it
    /// waits; `item` stays with the caller unless it is pushed (or, on a
    /// rendezvous channel, handed to a sleeping receive or offered in line).
    #[inline(always)]
    pub(crate) fn poll_send(
        &self,
        item: &mut Option<T>,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> SendPoll<T> {
        if self.is_rendezvous() {
            self.poll_send_rendezvous(item, key, waker)
        } else {
            self.poll_send_buffered(item, key, waker)
        }
    }

    /// [`Chan::poll_send`] on a channel with a buffer.
    #[inline(never)]
    fn poll_send_buffered(
        &self,
        item: &mut Option<T>,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> SendPoll<T> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        if s.shut() {
            return match key.take() {
                Some(k) => {
                    s.leave_line(k);
                    SendPoll::Closed(item.take().expect("a waiting send holds its item"))
                }
                None => SendPoll::Closed(item.take().expect("`Send` polled after completion")),
            };
        }
        if self.admit(&mut s, *key, 1) {
            let it = item.take().expect("`Send` polled after completion");
            s.items.push_back(it);
            s.sent += 1;
            s.note_peak();
            self.stock();
            if let Some(k) = key.take() {
                s.leave_line(k);
                // Leaving the line may let the others in.
                self.room_freed(&mut s, &mut wake);
            }
            Self::wake_receivers(&mut s, 1, &mut wake);
            return SendPoll::Sent;
        }
        match *key {
            Some(k) => {
                s.senders.arm(k, waker);
                SendPoll::Pending
            }
            None => {
                *key = Some(self.join_line(&mut s, item, TaskId::Nobody, None, waker));
                SendPoll::Waiting
            }
        }
    }

    /// [`Chan::poll_send`] on a rendezvous channel. Inlined into its
    /// callers (each send future's general path): one call layer less per
    /// rendezvous poll (profiling.md §15).
    #[inline(always)]
    fn poll_send_rendezvous(
        &self,
        item: &mut Option<T>,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> SendPoll<T> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        if let Some(k) = *key {
            if s.senders.slot(k).taken {
                // A taken offer was unlinked when it was taken (see
                // `take`): out of the line already, no overtaken counts
                // to settle; its slot holds nothing.
                s.senders.free(k);
                *key = None;
                return SendPoll::Sent;
            }
            if s.shut() {
                *key = None;
                let slot = s.leave_line(k);
                let back = slot.offer.or_else(|| item.take());
                return SendPoll::Closed(back.expect("a waiting send holds its item"));
            }
            s.senders.arm(k, waker);
            s.senders.slot_mut(k).owner = TaskId::current(waker);
            return SendPoll::Pending;
        }
        if s.shut() {
            return SendPoll::Closed(item.take().expect("`Send` polled after completion"));
        }
        let me = TaskId::current(waker);
        if !s.receivers.is_empty() {
            // Go's send to a waiting receiver: the item goes straight into
            // the receive, which is woken; the send is done.
            let it = item.take().expect("`Send` polled after completion");
            match self.hand(&mut s, it, me, &mut wake) {
                Ok(()) => return SendPoll::Sent,
                Err(it) => *item = Some(it),
            }
        }
        *key = Some(self.join_line(&mut s, item, me, None, waker));
        if !s.receivers.is_empty() {
            // Receives that cannot be handed an item (a receiver's stream)
            // take the offer when polled.
            Self::wake_receivers(&mut s, 1, &mut wake);
        }
        SendPoll::Waiting
    }

    /// Leaves the line: `Ok(())` if a receive already took the offered
    /// item (the send happened), else the offered item back (`Err(None)`
    /// when the item stayed with the caller).
    pub(crate) fn cancel_send(&self, key: usize) -> Result<(), Option<T>> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        let slot = s.leave_line(key);
        self.room_freed(&mut s, &mut wake);
        if slot.taken {
            Ok(())
        } else {
            Err(slot.offer)
        }
    }

    /// One poll of a receive of one item. `key` is the receiver's node once
    /// it sleeps. Inlined into its one caller, the receive's general path
    /// (profiling.md §15).
    #[inline(always)]
    pub(crate) fn poll_recv(
        &self,
        key: &mut Option<usize>,
        waker: &Waker,
        handable: bool,
    ) -> RecvPoll<T> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Recv);
        if let Some(k) = *key {
            // A send handed this receive its item: it is ours.
            if let Some(item) = s.receivers.slot_mut(k).handed.take() {
                s.receivers.free(k);
                *key = None;
                return RecvPoll::Item(Some(item));
            }
        }
        let me = if self.is_rendezvous() {
            TaskId::current(waker)
        } else {
            TaskId::Nobody
        };
        let got = match self.take(&mut s, me, &mut wake) {
            Some(item) => Ok(Some(item)),
            None => Err(PopError::Empty),
        };
        self.settle_recv(&mut s, got, key, me, waker, handable)
    }

    /// One poll of a receive of up to `limit` items into `buf`. `key` is
    /// the receiver's node once it sleeps.
    pub(crate) fn poll_recv_many(
        &self,
        key: &mut Option<usize>,
        waker: &Waker,
        buf: &mut Vec<T>,
        limit: usize,
        handable: bool,
    ) -> RecvPoll<T> {
        let mut wake = Wake(Wakers::new());
        // A batch receive holds the lock longer and waits less often: like
        // the `try_*` forms, it takes std's lock at once (see `lock.rs`).
        let mut s = self.lock_as(Side::Other);
        // A send handed this receive its item: it is ours.
        let handed = match *key {
            Some(k) => s.receivers.slot_mut(k).handed.take(),
            None => None,
        };
        let me = if self.is_rendezvous() {
            TaskId::current(waker)
        } else {
            TaskId::Nobody
        };
        let had = handed.is_some();
        if let Some(item) = handed {
            buf.push(item);
        }
        let more = self.pop_many_locked(
            &mut s,
            buf,
            limit.saturating_sub(usize::from(had)),
            me,
            &mut wake,
        );
        let got = match more {
            Err(_) if had => Ok(None),
            other => other.map(|_| None),
        };
        self.settle_recv(&mut s, got, key, me, waker, handable)
    }

    /// The end of a receive's poll: done (its node freed), closed, or
    /// asleep on the receivers' lists (`me` its task).
    #[inline(always)]
    fn settle_recv(
        &self,
        s: &mut State<T>,
        got: Result<Option<T>, PopError>,
        key: &mut Option<usize>,
        me: TaskId,
        waker: &Waker,
        handable: bool,
    ) -> RecvPoll<T> {
        match got {
            Ok(item) => {
                if let Some(k) = key.take() {
                    s.receivers.free(k);
                }
                RecvPoll::Item(item)
            }
            Err(_) if s.closed => {
                if let Some(k) = key.take() {
                    s.receivers.free(k);
                }
                RecvPoll::Closed
            }
            Err(_) => {
                match *key {
                    Some(k) => {
                        s.receivers.slot_mut(k).owner = me;
                        s.receivers.arm(k, waker);
                        s.receivers.link_back(k, true);
                    }
                    None => {
                        // A new receive: fresh, so it joins the fresh list.
                        let k = s.receivers.insert_waiting(
                            RecvSlot {
                                handed: None,
                                owner: me,
                                claim: None,
                                handable,
                            },
                            waker,
                        );
                        *key = Some(k);
                    }
                }
                RecvPoll::Pending
            }
        }
    }

    /// A waiting receive goes away (dropped, or done by other means). An
    /// item a send handed to it goes back to the head of the line: the next
    /// receive takes it before any later sender's item.
    pub(crate) fn leave_recv(&self, key: usize) {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Recv);
        let handed = s.receivers.slot_mut(key).handed.take();
        s.receivers.free(key);
        if let Some(item) = handed {
            self.give_back(&mut s, item, &mut wake);
        }
    }

    /// An item handed to a receive that did not return it: back to the
    /// head of the line (the given-back items are the rendezvous channel's
    /// only buffered items), and a sleeping receive is woken for it.
    fn give_back(&self, s: &mut State<T>, item: T, wake: &mut Wake) {
        #[cfg(loom)]
        match loom_control::give_back_rule() {
            loom_control::GiveBack::Drop => {
                s.sent -= 1;
                return;
            }
            loom_control::GiveBack::Tail => {
                // Behind the offers of the senders in line: queue it as an
                // offer at the back, owned by nobody.
                let k = s
                    .senders
                    .insert(SendSlot::new(Some(item), TaskId::Nobody, None));
                s.senders.link_back(k, false);
                self.stock();
                s.sent -= 1;
                Self::wake_receivers(s, 1, wake);
                return;
            }
            loom_control::GiveBack::Head => {}
        }
        // A receive exists only while its receiver does, so the receivers
        // are not all gone (`remove_receiver` releases the items later).
        s.items.push_back(item);
        self.stock();
        Self::wake_receivers(s, 1, wake);
    }

    // ----- select cases (see `select.rs`) ---------------------------------

    /// A select's receive case joins the receivers' lists, holding the
    /// select's `claim`; returns its key and whether a receive of `me`
    /// could complete now.
    pub(crate) fn register_recv(&self, me: TaskId, claim: Claim, waker: &Waker) -> (usize, bool) {
        let mut s = self.lock_as(Side::Recv);
        let k = s.receivers.insert_waiting(
            RecvSlot {
                handed: None,
                owner: me,
                claim,
                handable: true,
            },
            waker,
        );
        let ready = self.recv_ready(&s, me);
        (k, ready)
    }

    /// A select's receive case leaves: the item handed to it, if any. With
    /// `keep` false (the select is dropped, or another case fired) that
    /// item goes back to the head of the line instead.
    pub(crate) fn unregister_recv(&self, key: usize, keep: bool) -> Option<T> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Recv);
        // Only the handed item is needed: the node is freed in place.
        let item = s.receivers.slot_mut(key).handed.take();
        s.receivers.free(key);
        match item {
            Some(item) if !keep => {
                self.give_back(&mut s, item, &mut wake);
                None
            }
            item => item,
        }
    }

    /// A select's send case joins the senders' line, holding the select's
    /// `claim` (on a rendezvous channel with its item as the offer: `item`
    /// is taken); returns its key and whether a send of `me` could complete
    /// now.
    pub(crate) fn register_send(
        &self,
        item: &mut Option<T>,
        me: TaskId,
        claim: Claim,
        waker: &Waker,
    ) -> (usize, bool) {
        let mut s = self.lock_as(Side::Send);
        let ready = self.send_ready(&s, me);
        let k = self.join_line(&mut s, item, me, claim, waker);
        (k, ready)
    }

    /// A send (or a select's send case, holding its `claim`) joins the back
    /// of the senders' line, armed with `waker`; on a rendezvous channel its
    /// item goes with it as the offer (`item` is taken). Returns its key.
    fn join_line(
        &self,
        s: &mut State<T>,
        item: &mut Option<T>,
        me: TaskId,
        claim: Claim,
        waker: &Waker,
    ) -> usize {
        let offer = if self.is_rendezvous() {
            item.take()
        } else {
            None
        };
        if offer.is_some() {
            self.stock();
        }
        s.senders
            .insert_waiting(SendSlot::new(offer, me, claim), waker)
    }

    // ----- reservations ----------------------------------------------------

    /// One poll of a reservation of `want` slots (`1 ..= capacity`).
    pub(crate) fn poll_reserve(
        &self,
        want: usize,
        key: &mut Option<usize>,
        waker: &Waker,
    ) -> Result<bool, ReserveFail> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        if s.shut() {
            if let Some(k) = key.take() {
                s.leave_line(k);
            }
            return Err(ReserveFail::Closed);
        }
        let Some(cap) = self.cap else {
            return Ok(true); // unbounded: nothing to count
        };
        if want > cap || cap == 0 {
            return Err(ReserveFail::Full);
        }
        if self.admit(&mut s, *key, want) {
            s.reserved += want;
            if let Some(k) = key.take() {
                s.leave_line(k);
                self.room_freed(&mut s, &mut wake);
            }
            return Ok(true);
        }
        let k = match *key {
            Some(k) => k,
            None => {
                let k = s.senders.insert(SendSlot::new(None, TaskId::Nobody, None));
                s.senders.link_back(k, false);
                *key = Some(k);
                k
            }
        };
        s.senders.arm(k, waker);
        Ok(false)
    }

    /// Gives up a waiting reservation.
    pub(crate) fn cancel_reserve(&self, key: usize) {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        s.leave_line(key);
        self.room_freed(&mut s, &mut wake);
    }

    /// Sends through a held slot: never waits.
    pub(crate) fn push_reserved(&self, item: T) -> Result<(), T> {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        if self.cap.is_some() {
            s.reserved -= 1;
        }
        if s.shut() {
            return Err(item);
        }
        s.items.push_back(item);
        s.sent += 1;
        s.note_peak();
        self.stock();
        Self::wake_receivers(&mut s, 1, &mut wake);
        drop(s);
        Ok(())
    }

    /// Returns `n` unused reserved slots.
    pub(crate) fn release_reserved(&self, n: usize) {
        if self.cap.is_none() || n == 0 {
            return;
        }
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        s.reserved -= n;
        self.room_freed(&mut s, &mut wake);
    }

    // ----- ends ------------------------------------------------------------

    /// Wakes every waiter of both lists (after releasing the lock).
    fn wake_everyone(&self) {
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock();
        s.senders.unlink_all(&mut wake.0);
        s.receivers.unlink_all(&mut wake.0);
    }

    /// Closes the channel to new sends. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        {
            let mut s = self.lock();
            if s.closed {
                return false;
            }
            s.closed = true;
            self.flags.fetch_or(CLOSED, Ordering::Release);
        }
        self.wake_everyone();
        self.close_ops.notify(usize::MAX);
        true
    }

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// A new sender from a weak one: only while some sender is alive.
    pub(crate) fn upgrade_sender(&self) -> bool {
        let mut n = self.senders.load(Ordering::Relaxed);
        while n != 0 {
            match self
                .senders
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    /// A new receiver from a weak one: only while some receiver is alive.
    pub(crate) fn upgrade_receiver(&self) -> bool {
        let mut n = self.receivers.load(Ordering::Relaxed);
        while n != 0 {
            match self.receivers.compare_exchange_weak(
                n,
                n + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    pub(crate) fn remove_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // No receiver can ever take the buffered items: drop them (outside
        // the lock), and fail every later push and every blocked sender.
        let items = {
            let mut s = self.lock();
            s.rx_gone = true;
            self.flags.fetch_or(RX_GONE, Ordering::Release);
            s.discarded += s.items.len() as u64;
            std::mem::take(&mut s.items)
        };
        drop(items);
        self.wake_everyone();
        self.close_ops.notify(usize::MAX);
    }
}

/// What one poll of a send found.
pub(crate) enum SendPoll<T> {
    /// The item is in the channel (or a receive returned it).
    Sent,
    /// Closed: the item comes back.
    Closed(T),
    /// Now waiting in line (first time).
    Waiting,
    /// Still waiting in line.
    Pending,
}

/// What one poll of a receive found.
pub(crate) enum RecvPoll<T> {
    /// An item (`Some`), or items moved into the caller's buffer (`None`).
    Item(Option<T>),
    /// Closed and drained.
    Closed,
    /// Sleeping until woken.
    Pending,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use futures::task::noop_waker;

    use crate::chan::{bounded, rendezvous, unbounded, TryRecvError};

    /// Polls `f` once with a waker that does nothing.
    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        let waker = noop_waker();
        f.poll(&mut Context::from_waker(&waker))
    }

    // `try_recv` answers `Empty` without the lock while nothing was stocked
    // since it last found the channel empty: every way an item arrives
    // must be seen after such an `Empty`.

    #[test]
    fn try_recv_sees_buffered_items_after_finding_it_empty() {
        for (tx, rx) in [bounded(4), unbounded()] {
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            futures::executor::block_on(tx.send(1)).unwrap();
            assert_eq!(rx.try_recv(), Ok(1));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            tx.try_send(2).unwrap();
            assert_eq!(rx.try_recv(), Ok(2));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            futures::executor::block_on(tx.reserve())
                .unwrap()
                .send(3)
                .unwrap();
            assert_eq!(rx.try_recv(), Ok(3));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            drop(tx);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }
    }

    #[test]
    fn try_recv_sees_a_waiting_send_after_finding_it_empty() {
        let (tx, rx) = rendezvous();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let mut send = pin!(tx.send(7));
        assert!(poll_once(send.as_mut()).is_pending());
        // Outside a task and a blocking call, `try_recv` is nobody's and
        // may take this offer.
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(poll_once(send.as_mut()), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn try_recv_sees_a_given_back_item_after_finding_it_empty() {
        let (tx, rx) = rendezvous();
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_once(recv.as_mut()).is_pending());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // Handed straight into the sleeping receive...
            assert_eq!(tx.try_send(9), Ok(()));
            // ...which is dropped without returning it.
        }
        assert_eq!(rx.try_recv(), Ok(9));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}
