//! Taking the channel's lock: one attempt; then, behind the other side of
//! the channel, a randomised backoff; then the standard library's lock.
//!
//! A producer and a consumer on two cores take one channel's lock for every
//! item. With [`std::sync::Mutex::lock`] alone, the loser of a race spins
//! briefly and takes the lock the moment it frees, or parks in the kernel,
//! and the cache line holding the lock and the buffer's ends moves between
//! the cores on nearly every operation. Backing off instead, for 64–191
//! spin-loop hints a round, lets the other side run a batch of operations
//! with the line in its own cache, and then lets us run ours, as Go's
//! runtime and kanal do. After [`ROUNDS`] failed rounds the caller parks in
//! `lock()` like any std user, so a holder that was preempted costs the
//! waiter a sleep, not a spinning core.
//!
//! That backoff is only for a single-item send (or receive) that finds a
//! single-item receive (or send) holding the lock ([`Contenders::Pair`]; the
//! channel notes the [`Side`] of each holder). Everything else goes straight
//! to std's `lock()`: a worker pool's workers racing each other for the next
//! job (`try_recv`) or to flush results (batches) each hold the lock
//! briefly, and any backoff idles a worker while the lock is free.
//!
//! Measured (`compare --child handpipe weir 2000000 1024 2` and `compare
//! --child pool weir 1000000 2 56`, 2 cores, medians of 7 alternating
//! runs, ms):
//!
//! | lock | hand pipeline | pool |
//! |---|---:|---:|
//! | std `lock()` only (before) | 235 | 120 |
//! | a flat 64–191 backoff for all | 92 | 160 |
//! | a backoff doubling from 8–15 for all | 98 | 128 |
//! | as here | 97 | 118 |
//!
//! See `docs/profiling.md` for the rest of the story.

use std::cell::Cell;
use std::sync::{PoisonError, TryLockError};

use crate::loom::{Mutex, MutexGuard};

/// Backoff rounds before parking.
const ROUNDS: u32 = 8;
/// Spin-loop hints per round, at least (at most twice as many).
const PAUSE: u32 = 64;

/// Whom a waiter for a channel's lock is racing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contenders {
    /// A single-item operation of the other side: back off.
    Pair,
    /// Anyone else: std's `lock()` at once.
    Many,
}

/// Which end of the channel an operation is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Side {
    /// Not a single-item send or receive: closing, counting, dropping the
    /// last handle, the `try_*` operations (a pool's workers taking the
    /// next job) and the batch operations (a pool flushing its results),
    /// whose callers want the lock the moment it frees.
    Other = 0,
    Send = 1,
    Recv = 2,
}

impl Side {
    pub(crate) fn from_u8(b: u8) -> Side {
        match b {
            1 => Side::Send,
            2 => Side::Recv,
            _ => Side::Other,
        }
    }

    /// Whom an operation of this side waits behind when `holder` holds the
    /// lock.
    pub(crate) fn rival(self, holder: Side) -> Contenders {
        match (self, holder) {
            (Side::Send, Side::Recv) | (Side::Recv, Side::Send) => Contenders::Pair,
            _ => Contenders::Many,
        }
    }
}

thread_local! {
    /// A per-thread xorshift state for the backoff lengths (never zero).
    static SEED: Cell<u32> = const { Cell::new(0x9e37_79b9) };
}

/// Locks `m`; `who` is asked only when the lock is contended. Nothing
/// panics while the channel's lock is held except an allocation failure,
/// after which the state is still consistent, so a poisoned lock is taken
/// as it is.
#[inline(always)]
pub(crate) fn lock<S>(m: &Mutex<S>, who: impl FnOnce() -> Contenders) -> MutexGuard<'_, S> {
    match m.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => contended(m, who()),
    }
}

#[cold]
#[inline(never)]
fn contended<S>(m: &Mutex<S>, who: Contenders) -> MutexGuard<'_, S> {
    // Loom explores the interleavings of `lock()` itself: spinning would
    // only add states.
    if !cfg!(loom) && who == Contenders::Pair {
        for _ in 0..ROUNDS {
            for _ in 0..pause_len() {
                std::hint::spin_loop();
            }
            match m.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
    }
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `PAUSE` to `2 · PAUSE - 1` spin-loop hints, chosen at random so two
/// waiters don't retry in step.
fn pause_len() -> u32 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        PAUSE + x % PAUSE
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_lengths_stay_in_range_and_vary() {
        let lens: Vec<u32> = (0..256).map(|_| pause_len()).collect();
        assert!(
            lens.iter().all(|n| (PAUSE..2 * PAUSE).contains(n)),
            "{lens:?}"
        );
        let distinct: std::collections::BTreeSet<_> = lens.iter().collect();
        assert!(distinct.len() >= 32, "{distinct:?}");
    }

    #[test]
    fn only_the_other_side_is_a_pair() {
        assert_eq!(Side::Send.rival(Side::Recv), Contenders::Pair);
        assert_eq!(Side::Recv.rival(Side::Send), Contenders::Pair);
        assert_eq!(Side::Send.rival(Side::Send), Contenders::Many);
        assert_eq!(Side::Recv.rival(Side::Recv), Contenders::Many);
        assert_eq!(Side::Other.rival(Side::Send), Contenders::Many);
        assert_eq!(Side::Recv.rival(Side::Other), Contenders::Many);
        for side in [Side::Other, Side::Send, Side::Recv] {
            assert_eq!(Side::from_u8(side as u8), side);
        }
    }

    #[test]
    fn a_held_lock_is_taken_once_released() {
        for who in [Contenders::Pair, Contenders::Many] {
            let m = std::sync::Arc::new(Mutex::new(0u64));
            let held = lock(&m, || who);
            let t = {
                let m = std::sync::Arc::clone(&m);
                std::thread::spawn(move || {
                    *lock(&m, || who) += 1;
                })
            };
            drop(held);
            t.join().unwrap();
            assert_eq!(*lock(&m, || who), 1);
        }
    }

    #[test]
    fn a_poisoned_lock_is_still_taken() {
        let m = std::sync::Arc::new(Mutex::new(7u64));
        let m2 = std::sync::Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m, || Contenders::Many), 7);
    }
}
