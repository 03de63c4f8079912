//! Taking the channel's lock: one attempt, then a randomised exponential
//! backoff, then the standard library's parking lock.
//!
//! A producer and a consumer on two cores take one channel's lock for every
//! item. With [`std::sync::Mutex::lock`] alone, the loser of a race spins
//! briefly and then parks in the kernel, and the cache line holding the
//! lock and the buffer's ends moves between the cores on nearly every
//! operation. Backing off instead (a random [`BASE`]`·2^r` to
//! `2·BASE·2^r` spin-loop hints before attempt `r`) lets the holder run a
//! stretch of operations with the line in its own cache, as Go's runtime
//! and kanal do, while the first attempts stay close together for the many
//! workers of a pool that each hold the lock only briefly. After [`ROUNDS`]
//! failed rounds the caller parks in `lock()` like any std user, so a
//! holder that was preempted costs the waiter a sleep, not a spinning core.
//!
//! Measured (`compare --child handpipe weir 2000000 1024 2` and `compare
//! --child pool weir 1000000 2 56`, 2 cores, alternating builds): no
//! backoff 196 ms and 113 ms; a flat 64–191 hints 93 ms and 172 ms; this
//! backoff 93–103 ms and 109–130 ms. See `docs/profiling.md`.

use std::cell::Cell;
use std::sync::{PoisonError, TryLockError};

use crate::loom::{Mutex, MutexGuard};

/// Backoff rounds before parking.
const ROUNDS: u32 = 8;
/// Spin-loop hints before the first retry (at least; at most twice as
/// many), doubling every round.
const BASE: u32 = 8;

thread_local! {
    /// A per-thread xorshift state for the backoff lengths (never zero).
    static SEED: Cell<u32> = const { Cell::new(0x9e37_79b9) };
}

/// Locks `m`. Nothing panics while the channel's lock is held except an
/// allocation failure, after which the state is still consistent, so a
/// poisoned lock is taken as it is.
#[inline(always)]
pub(crate) fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    match m.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => contended(m),
    }
}

#[cold]
#[inline(never)]
fn contended<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    // Loom explores the interleavings of `lock()` itself: spinning would
    // only add states.
    if !cfg!(loom) {
        for round in 0..ROUNDS {
            for _ in 0..pause_len(round) {
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

/// `BASE · 2^round` to twice that many spin-loop hints, chosen at random so
/// two waiters don't retry in step.
fn pause_len(round: u32) -> u32 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        let base = BASE << round;
        base + (x % base)
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_lengths_stay_in_range_and_vary() {
        for round in 0..ROUNDS {
            let base = BASE << round;
            let lens: Vec<u32> = (0..256).map(|_| pause_len(round)).collect();
            assert!(
                lens.iter().all(|n| (base..2 * base).contains(n)),
                "{lens:?}"
            );
            let distinct: std::collections::BTreeSet<_> = lens.iter().collect();
            assert!(distinct.len() >= (base as usize).min(32), "{distinct:?}");
        }
    }

    #[test]
    fn a_held_lock_is_taken_once_released() {
        let m = std::sync::Arc::new(Mutex::new(0u64));
        let held = lock(&m);
        let t = {
            let m = std::sync::Arc::clone(&m);
            std::thread::spawn(move || {
                *lock(&m) += 1;
            })
        };
        drop(held);
        t.join().unwrap();
        assert_eq!(*lock(&m), 1);
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
        assert_eq!(*lock(&m), 7);
    }
}
