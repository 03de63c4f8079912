//! Taking the channel's lock: one attempt, then a short randomised backoff,
//! then the standard library's parking lock.
//!
//! A producer and a consumer on two cores take one channel's lock for every
//! item. With [`std::sync::Mutex::lock`] alone, the loser of a race spins
//! on the lock word and takes it the moment it frees, so the cache line
//! holding the lock and the buffer's ends moves between the cores on
//! nearly every operation. Backing off for a random 64–191 spin-loop hints
//! instead lets the holder run a stretch of operations with the line in its
//! own cache, as Go's runtime and kanal do. After [`ROUNDS`] failed rounds
//! the caller parks in `lock()` like any std user, so a holder that was
//! preempted costs the waiter a sleep, not a spinning core.
//!
//! Measured on the hand-written two-hop pipeline (`compare --child handpipe
//! weir 2000000 1024 2`, 2 cores): about 110 → 60 ns per item; see
//! `docs/profiling.md`.

use std::cell::Cell;
use std::sync::{PoisonError, TryLockError};

use crate::loom::{Mutex, MutexGuard};

/// Backoff rounds before parking.
const ROUNDS: u32 = 8;

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

/// 64 to 191 spin-loop hints, chosen at random so two waiters don't retry
/// in step.
fn pause_len() -> u32 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        64 + (x & 0x7f)
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_lengths_stay_in_range_and_vary() {
        let lens: Vec<u32> = (0..256).map(|_| pause_len()).collect();
        assert!(lens.iter().all(|n| (64..192).contains(n)));
        let distinct: std::collections::BTreeSet<_> = lens.iter().collect();
        assert!(distinct.len() > 32, "{distinct:?}");
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
