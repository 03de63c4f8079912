//! Lists of waiting operations, stored in a slab so that a waiter can leave
//! from anywhere in O(1) without `unsafe`.
//!
//! Each waiting future owns one node (its key) from the moment it first
//! waits until it completes or is dropped: only the owner frees its node.
//! Being *linked* (asleep in a list) is separate from ownership: the
//! channel unlinks a node, or takes its waker, when it wakes it, and never
//! needs to know whether the future still exists.
//!
//! # Fresh and proven waiters
//!
//! A waiter is *fresh* until it has been woken and then polled again; from
//! then on it is *proven*. A fresh waiter may be a future that will never be
//! polled again (kept alive in a losing `select!` branch, say); a proven
//! one has shown that its owner polls it. The channel wakes every fresh
//! waiter on an event (each is woken at most once per registration, so a
//! forgotten future can never swallow a wake-up meant for a live one), but
//! only one proven waiter per event (so 100,000 idle receivers cost one
//! wake-up per item once each has been woken once).

use std::task::Waker;

const NIL: usize = usize::MAX;

/// The list of waiters never woken yet.
pub(crate) const FRESH: usize = 0;
/// The list of waiters proven alive.
pub(crate) const PROVEN: usize = 1;

struct Node<S> {
    prev: usize,
    next: usize,
    /// Which list it is linked on, if `linked`.
    list: usize,
    linked: bool,
    /// Its waker was taken by a wake-up and it has not been polled since.
    woken: bool,
    proven: bool,
    /// The event count when it was last woken (see [`WaitList::is_stale`]).
    stamp: u64,
    waker: Option<Waker>,
    slot: S,
}

impl<S> Node<S> {
    /// Counted in `fresh_armed`: linked, fresh, and holding a waker.
    fn fresh_armed(&self) -> bool {
        self.linked && !self.proven && self.waker.is_some()
    }

    /// Counted in `armed`: linked and holding a waker.
    fn armed(&self) -> bool {
        self.linked && self.waker.is_some()
    }
}

enum Entry<S> {
    Used(Node<S>),
    Free(usize),
}

/// Waiters of one kind (senders, or receivers), each list oldest first.
///
/// `repr(C)` with the counts first: a send or receive that does not wait
/// reads only `linked` (and `armed`), which then sit on the channel lock's
/// cache line (see `State` in `shared.rs`).
#[repr(C)]
pub(crate) struct WaitList<S> {
    linked: usize,
    /// Linked nodes holding a waker: with none, a wake-up has nobody to wake.
    armed: usize,
    fresh_armed: usize,
    entries: Vec<Entry<S>>,
    free: usize,
    heads: [usize; 2],
    tails: [usize; 2],
}

impl<S> WaitList<S> {
    pub(crate) const fn new() -> Self {
        WaitList {
            entries: Vec::new(),
            free: NIL,
            heads: [NIL; 2],
            tails: [NIL; 2],
            linked: 0,
            fresh_armed: 0,
            armed: 0,
        }
    }

    /// Whether no waiter is linked.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// A new fresh node, not linked yet; the caller owns the returned key.
    pub(crate) fn insert(&mut self, slot: S) -> usize {
        self.place(Node {
            prev: NIL,
            next: NIL,
            list: FRESH,
            linked: false,
            woken: false,
            proven: false,
            stamp: 0,
            waker: None,
            slot,
        })
    }

    /// A new fresh node holding a clone of `waker`, linked at the back of
    /// the fresh list: [`insert`](Self::insert), [`arm`](Self::arm) and
    /// [`link_back`](Self::link_back) in one step, with the counts set
    /// directly (the new node is linked, fresh and armed). The caller owns
    /// the returned key.
    #[inline(always)]
    pub(crate) fn insert_waiting(&mut self, slot: S, waker: &Waker) -> usize {
        let tail = self.tails[FRESH];
        let key = self.place(Node {
            prev: tail,
            next: NIL,
            list: FRESH,
            linked: true,
            woken: false,
            proven: false,
            stamp: 0,
            waker: Some(waker.clone()),
            slot,
        });
        if tail == NIL {
            self.heads[FRESH] = key;
        } else {
            self.node_mut(tail).next = key;
        }
        self.tails[FRESH] = key;
        self.linked += 1;
        self.armed += 1;
        self.fresh_armed += 1;
        key
    }

    /// Stores `node` in a free entry (or a new one); returns its key.
    #[inline(always)]
    fn place(&mut self, node: Node<S>) -> usize {
        if self.free != NIL {
            let key = self.free;
            // Written in place over a known-free entry: no old node to move
            // out and drop.
            let entry = &mut self.entries[key];
            match *entry {
                Entry::Free(next) => self.free = next,
                Entry::Used(_) => unreachable!("free list points at a used entry"),
            }
            *entry = Entry::Used(node);
            key
        } else {
            self.entries.push(Entry::Used(node));
            self.entries.len() - 1
        }
    }

    fn node(&self, key: usize) -> &Node<S> {
        match &self.entries[key] {
            Entry::Used(n) => n,
            Entry::Free(_) => unreachable!("a waiter's key outlived its node"),
        }
    }

    /// The node itself, for changes that leave the counts as they are
    /// (its links): everything else goes through [`WaitList::update`].
    fn node_mut(&mut self, key: usize) -> &mut Node<S> {
        match &mut self.entries[key] {
            Entry::Used(n) => n,
            Entry::Free(_) => unreachable!("a waiter's key outlived its node"),
        }
    }

    /// Changes a node, keeping the counts of armed waiters right.
    fn update<R>(&mut self, key: usize, f: impl FnOnce(&mut Node<S>) -> R) -> R {
        let node = match &mut self.entries[key] {
            Entry::Used(n) => n,
            Entry::Free(_) => unreachable!("a waiter's key outlived its node"),
        };
        let before = (node.fresh_armed(), node.armed());
        let r = f(node);
        let after = (node.fresh_armed(), node.armed());
        if before.0 != after.0 {
            if after.0 {
                self.fresh_armed += 1;
            } else {
                self.fresh_armed -= 1;
            }
        }
        if before.1 != after.1 {
            if after.1 {
                self.armed += 1;
            } else {
                self.armed -= 1;
            }
        }
        r
    }

    pub(crate) fn slot(&self, key: usize) -> &S {
        &self.node(key).slot
    }

    pub(crate) fn slot_mut(&mut self, key: usize) -> &mut S {
        match &mut self.entries[key] {
            Entry::Used(n) => &mut n.slot,
            Entry::Free(_) => unreachable!("a waiter's key outlived its node"),
        }
    }

    /// The owner is about to sleep: stores its waker (cloning only when it
    /// would wake another task). A waiter woken before and polled again is
    /// proven from now on.
    pub(crate) fn arm(&mut self, key: usize, waker: &Waker) {
        self.update(key, |n| {
            if n.woken {
                n.woken = false;
                n.proven = true;
            }
            match &mut n.waker {
                Some(w) if w.will_wake(waker) => {}
                w => *w = Some(waker.clone()),
            }
        });
    }

    /// Links the node at the back of its list (`PROVEN` if proven and
    /// `by_kind`, else `FRESH`); no-op when linked.
    pub(crate) fn link_back(&mut self, key: usize, by_kind: bool) {
        let node = self.node(key);
        if node.linked {
            return;
        }
        let list = if by_kind && node.proven {
            PROVEN
        } else {
            FRESH
        };
        let tail = self.tails[list];
        self.update(key, |n| {
            n.linked = true;
            n.list = list;
            n.prev = tail;
            n.next = NIL;
        });
        if tail == NIL {
            self.heads[list] = key;
        } else {
            self.update(tail, |n| n.next = key);
        }
        self.tails[list] = key;
        self.linked += 1;
    }

    /// Takes the node's waker as a wake-up, leaving it linked.
    pub(crate) fn take_waker(&mut self, key: usize) -> Option<Waker> {
        self.update(key, |n| {
            let w = n.waker.take();
            if w.is_some() {
                n.woken = true;
            }
            w
        })
    }

    /// Takes the node out of its list (no-op when not linked) as a
    /// wake-up; returns its waker when it had one.
    pub(crate) fn unlink(&mut self, key: usize) -> Option<Waker> {
        let node = self.node_mut(key);
        if !node.linked {
            return None;
        }
        // What `update` would count, written out: a linked node is armed
        // while it holds a waker, and fresh-armed if also not proven; once
        // unlinked it is neither.
        node.linked = false;
        let (prev, next, list) = (node.prev, node.next, node.list);
        let waker = node.waker.take();
        if waker.is_some() {
            node.woken = true;
            if !node.proven {
                self.fresh_armed -= 1;
            }
            self.armed -= 1;
        }
        if prev == NIL {
            self.heads[list] = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tails[list] = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
        self.linked -= 1;
        waker
    }

    /// Unlinks and frees the node, dropping its slot where it lies: for a
    /// served waiter whose slot holds nothing the caller still needs. No
    /// copy of the node out of the slab, as [`remove`](Self::remove) makes
    /// (profiling.md §15).
    #[inline(always)]
    pub(crate) fn free(&mut self, key: usize) {
        if self.node(key).linked {
            self.unlink(key);
        }
        let next = self.free;
        self.entries[key] = Entry::Free(next);
        self.free = key;
    }

    /// Unlinks and frees the node, returning its slot.
    pub(crate) fn remove(&mut self, key: usize) -> S {
        // Most nodes removed were unlinked already (woken, or served): the
        // test inlines, the call is made only for a linked node.
        if self.node(key).linked {
            self.unlink(key);
        }
        let entry = std::mem::replace(&mut self.entries[key], Entry::Free(self.free));
        self.free = key;
        match entry {
            Entry::Used(n) => n.slot,
            Entry::Free(_) => unreachable!("a waiter's key outlived its node"),
        }
    }

    /// The oldest node linked on `list`.
    #[inline]
    pub(crate) fn front(&self, list: usize) -> Option<usize> {
        let head = self.heads[list];
        (head != NIL).then_some(head)
    }

    /// The newest node linked on `list`.
    pub(crate) fn back(&self, list: usize) -> Option<usize> {
        let tail = self.tails[list];
        (tail != NIL).then_some(tail)
    }

    /// The node linked before `key` on its list (`None` for the oldest, or
    /// when `key` is not linked).
    pub(crate) fn prev(&self, key: usize) -> Option<usize> {
        let node = self.node(key);
        (node.linked && node.prev != NIL).then_some(node.prev)
    }

    /// Woken at event `stamp` or earlier and not polled since.
    pub(crate) fn is_stale(&self, key: usize, now: u64) -> bool {
        let node = self.node(key);
        node.woken && node.stamp < now
    }

    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.node(key).linked
    }

    /// The node linked after `key` on its list.
    pub(crate) fn next(&self, key: usize) -> Option<usize> {
        let next = self.node(key).next;
        (next != NIL).then_some(next)
    }

    /// Receivers: unlinks every fresh waiter and the `proven` oldest proven
    /// ones, moving their wakers into `out`.
    pub(crate) fn wake_fresh_and(&mut self, mut proven: usize, out: &mut Wakers) {
        while let Some(key) = self.front(FRESH) {
            if let Some(w) = self.unlink(key) {
                out.push(w);
            }
        }
        while proven > 0 {
            let Some(key) = self.front(PROVEN) else { break };
            if let Some(w) = self.unlink(key) {
                out.push(w);
                proven -= 1;
            }
        }
    }

    /// A line (senders): takes the wakers of every armed fresh waiter and
    /// of the `proven` oldest armed proven ones, leaving all in line.
    #[inline]
    pub(crate) fn wake_line(&mut self, proven: usize, stamp: u64, out: &mut Wakers) {
        if self.armed != 0 {
            self.wake_line_armed(proven, stamp, out);
        }
    }

    fn wake_line_armed(&mut self, mut proven: usize, stamp: u64, out: &mut Wakers) {
        let mut at = self.front(FRESH);
        while let Some(key) = at {
            if proven == 0 && self.fresh_armed == 0 {
                break;
            }
            at = self.next(key);
            let node = self.node(key);
            if node.waker.is_none() || (node.proven && proven == 0) {
                continue;
            }
            if node.proven {
                proven -= 1;
            }
            if let Some(w) = self.take_waker(key) {
                self.update(key, |n| n.stamp = stamp);
                out.push(w);
            }
        }
    }

    /// The old, broken rule, for loom's positive control only: wake just the
    /// oldest waiter that holds a waker.
    #[cfg(loom)]
    pub(crate) fn wake_first_only(&mut self, unlink: bool, out: &mut Wakers) {
        for list in [FRESH, PROVEN] {
            let mut at = self.front(list);
            while let Some(key) = at {
                at = self.next(key);
                let w = if unlink {
                    self.unlink(key)
                } else {
                    self.take_waker(key)
                };
                if let Some(w) = w {
                    out.push(w);
                    return;
                }
            }
        }
    }

    /// Unlinks every node of both lists, moving their wakers into `out`.
    pub(crate) fn unlink_all(&mut self, out: &mut Wakers) {
        for list in [FRESH, PROVEN] {
            while let Some(key) = self.front(list) {
                if let Some(w) = self.unlink(key) {
                    out.push(w);
                }
            }
        }
    }
}

/// Wakers collected under the lock, woken after it is released. Nearly
/// always none or one: that one lives inline, more spill to the heap. An
/// enum, so that an empty one (most operations) is known to need no drop.
pub(crate) enum Wakers {
    Empty,
    One(Waker),
    Many(Vec<Waker>),
}

impl Wakers {
    #[inline]
    pub(crate) const fn new() -> Self {
        Wakers::Empty
    }

    /// Adds a waker. The first one (nearly always the only one) is stored
    /// inline; the rest goes out of line.
    #[inline(always)]
    pub(crate) fn push(&mut self, w: Waker) {
        if let Wakers::Empty = self {
            // Not `*self = …`: that drops the old value, which the compiler
            // does not see is `Empty`, through an out-of-line drop glue
            // call (23 instructions per wake; profiling.md §15). Forgetting
            // an `Empty` leaks nothing.
            std::mem::forget(std::mem::replace(self, Wakers::One(w)));
        } else {
            self.push_more(w);
        }
    }

    #[inline(never)]
    fn push_more(&mut self, w: Waker) {
        match self {
            Wakers::Empty => *self = Wakers::One(w),
            Wakers::Many(rest) => rest.push(w),
            Wakers::One(_) => {
                if let Wakers::One(first) = std::mem::replace(self, Wakers::Empty) {
                    *self = Wakers::Many(vec![first, w]);
                }
            }
        }
    }

    /// Whether nothing was collected.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Wakers::Empty)
    }

    /// Wakes everything collected so far, leaving it empty. "Nothing
    /// collected" and "one waker" (nearly every operation that wakes)
    /// inline: the one waker is woken by a direct call through its vtable,
    /// with no call into a helper and no drop glue left for the caller
    /// (profiling.md §15). Several stay out of line.
    #[inline(always)]
    pub(crate) fn wake_all(&mut self) {
        match std::mem::replace(self, Wakers::Empty) {
            Wakers::Empty => {}
            Wakers::One(w) => w.wake(),
            Wakers::Many(all) => Self::wake_many(all),
        }
    }

    #[inline(never)]
    fn wake_many(all: Vec<Waker>) {
        for w in all {
            w.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::{Entry, WaitList, Wakers, FRESH, NIL, PROVEN};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn wake_all_wakes_each_collected_waker_once_and_empties() {
        for n in 0..5 {
            let counts: Vec<Arc<Count>> = (0..n)
                .map(|_| Arc::new(Count(AtomicUsize::new(0))))
                .collect();
            let mut wakers = Wakers::new();
            for c in &counts {
                wakers.push(Waker::from(Arc::clone(c)));
            }
            assert_eq!(wakers.is_empty(), n == 0);
            wakers.wake_all();
            assert!(wakers.is_empty());
            wakers.wake_all();
            for c in &counts {
                assert_eq!(c.0.load(Ordering::Relaxed), 1, "n = {n}");
            }
        }
    }

    /// The counts and links the list keeps, recomputed from its nodes.
    fn check<S>(l: &WaitList<S>) {
        let nodes = || {
            l.entries.iter().filter_map(|e| match e {
                Entry::Used(n) => Some(n),
                Entry::Free(_) => None,
            })
        };
        assert_eq!(l.linked, nodes().filter(|n| n.linked).count());
        assert_eq!(l.armed, nodes().filter(|n| n.armed()).count());
        assert_eq!(l.fresh_armed, nodes().filter(|n| n.fresh_armed()).count());
        for list in [FRESH, PROVEN] {
            // Walk each list both ways: the same nodes, in opposite order.
            let mut forward = Vec::new();
            let mut at = l.heads[list];
            while at != NIL {
                forward.push(at);
                at = l.node(at).next;
            }
            let mut backward = Vec::new();
            let mut at = l.tails[list];
            while at != NIL {
                backward.push(at);
                at = l.node(at).prev;
            }
            backward.reverse();
            assert_eq!(forward, backward);
            assert!(forward
                .iter()
                .all(|&k| l.node(k).linked && l.node(k).list == list));
        }
    }

    /// `insert_waiting` and `unlink` set the counts directly instead of
    /// through `update`, and `remove` and `free` unlink only a linked
    /// node: after any mix of operations, the counts equal
    /// what the nodes say, and both lists link the same way both ways.
    #[test]
    fn counts_and_links_stay_right_under_every_operation() {
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut l: WaitList<u32> = WaitList::new();
        let mut owned: Vec<usize> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut both_lists = false;
        // Fewer steps under Miri: the check walks every node after each.
        let steps = if cfg!(miri) { 300 } else { 2_000u32 };
        for step in 0..steps {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pick = |n: usize| (x >> 32) as usize % n.max(1);
            match x % 8 {
                0 => owned.push(l.insert_waiting(step, &waker)),
                2 => {
                    let k = l.insert(step);
                    l.arm(k, &waker);
                    l.link_back(k, true);
                    owned.push(k);
                }
                3 if !owned.is_empty() => {
                    let _ = l.unlink(owned[pick(owned.len())]);
                }
                4 if !owned.is_empty() => {
                    let _ = l.take_waker(owned[pick(owned.len())]);
                }
                5 if !owned.is_empty() => {
                    // A woken waiter polled again: proven, back in line.
                    let k = owned[pick(owned.len())];
                    l.arm(k, &waker);
                    l.link_back(k, true);
                }
                1 if !owned.is_empty() => {
                    let k = owned.swap_remove(pick(owned.len()));
                    l.remove(k);
                }
                6 if !owned.is_empty() => {
                    // A served waiter's node, freed in place (linked or
                    // not, as it comes).
                    let k = owned.swap_remove(pick(owned.len()));
                    l.free(k);
                }
                7 => {
                    let mut out = Wakers::new();
                    l.wake_fresh_and(1, &mut out);
                }
                _ => {}
            }
            check(&l);
            both_lists |= l.heads[FRESH] != NIL && l.heads[PROVEN] != NIL;
        }
        // The run reached waiters on both lists at once.
        assert!(both_lists);
    }
}
