//! The counter both latches are built on.
//!
//! A [`Counter`] is an atomic count, a *generation* number bumped every time
//! the count reaches zero, and an [`Event`] that wakes the waiters. Waiting
//! follows event-listener's check / listen / re-check protocol, so a wake-up
//! can't be lost between the check and the registration; the listener list
//! removes a dropped listener in O(1), so many waiters never go quadratic.
//!
//! A wait is over when the count is zero *or* the generation moved since the
//! wait began: a waiter that was outstanding when the count touched zero is
//! released even if the count went up again before it ran (group reuse).
//!
//! Moves of the count between non-zero values are a lock-free CAS. Moves
//! onto zero (with the generation bump) and off zero (a re-arm) take a small
//! lock, so that a wait beginning after a re-arm is ordered after the bump of
//! the zero before it, and can't be released by that old zero. Those moves
//! happen once per round, not once per task. (`tests/loom_latch.rs` has the
//! model that found the lock-free version wanting.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use event_listener::{Event, EventListener, Listener};

use std::sync::PoisonError;

use crate::loom::{AtomicUsize, Mutex, Ordering};

/// `count_down` was called on a counter that is already zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Underflow;

/// `add` would overflow `usize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

pub(crate) struct Counter {
    count: AtomicUsize,
    /// Bumped each time `count` reaches zero; written only under
    /// `transitions`, read lock-free by waiters.
    generation: AtomicUsize,
    /// Serialises every move of `count` onto or off zero together with the
    /// generation bump. Moves between non-zero values stay lock-free.
    transitions: Mutex<()>,
    event: Event,
}

impl Counter {
    pub(crate) fn new(count: usize) -> Self {
        Self {
            count: AtomicUsize::new(count),
            generation: AtomicUsize::new(0),
            transitions: Mutex::new(()),
            event: Event::new(),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Compare-and-swap loop applying `f` to the count; `AcqRel` so every
    /// update acquires the ones before it.
    fn update<E>(&self, mut f: impl FnMut(usize) -> Result<usize, E>) -> Result<usize, E> {
        let mut current = self.count.load(Ordering::Relaxed);
        loop {
            let next = f(current)?;
            match self.count.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(previous) => return Ok(previous),
                Err(actual) => current = actual,
            }
        }
    }

    /// Adds `n`; the count never wraps.
    pub(crate) fn add(&self, n: usize) -> Result<(), Overflow> {
        if n == 0 {
            return Ok(());
        }
        // Lock-free while the count is above zero; leaving zero takes the
        // lock, so the re-arm is ordered after the last zero's generation
        // bump (a wait that starts after the re-arm sees that bump).
        let fast = self.update(|current| match current {
            0 => Err(None),
            _ => current.checked_add(n).ok_or(Some(Overflow)),
        });
        match fast {
            Ok(_) => Ok(()),
            Err(Some(overflow)) => Err(overflow),
            Err(None) => {
                let _lock = self
                    .transitions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                self.update(|current| current.checked_add(n).ok_or(Overflow))
                    .map(drop)
            }
        }
    }

    /// Subtracts one; `Ok(true)` when this call brought the count to zero
    /// (and woke every waiter). At zero the count stays at zero.
    pub(crate) fn count_down(&self) -> Result<bool, Underflow> {
        let fast = self.update(|current| match current {
            0 => Err(Some(Underflow)),
            1 => Err(None),
            _ => Ok(current - 1),
        });
        match fast {
            Ok(_) => Ok(false),
            Err(Some(underflow)) => Err(underflow),
            Err(None) => self.count_down_locked(),
        }
    }

    #[cold]
    fn count_down_locked(&self) -> Result<bool, Underflow> {
        let lock = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only a holder of the lock can take the count to zero, but others
        // may have moved it (or taken it to zero) before we got here.
        let previous = self.update(|current| current.checked_sub(1).ok_or(Underflow))?;
        if previous != 1 {
            return Ok(false);
        }
        self.generation.fetch_add(1, Ordering::Release);
        drop(lock);
        // `notify` emits a SeqCst fence first, pairing with the fence
        // `listen` emits after registering: either the waiter's re-check
        // sees the zero, or this notification sees the waiter.
        self.event.notify(usize::MAX);
        Ok(true)
    }

    fn generation(&self) -> usize {
        self.generation.load(Ordering::Acquire)
    }

    fn is_released(&self, since: usize) -> bool {
        self.count.load(Ordering::Acquire) == 0 || self.generation() != since
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter")
            .field("count", &self.count())
            .field("generation", &self.generation())
            .finish()
    }
}

/// The state of one wait: the generation it began in and, once it had to
/// sleep, its listener. Dropping it unregisters the listener and touches
/// nothing else.
pub(crate) struct WaitState {
    since: usize,
    listener: Option<EventListener>,
}

impl WaitState {
    pub(crate) fn new(counter: &Counter) -> Self {
        // Count first, then generation: if the count we read was written
        // after a re-arm, the re-arm (taken under the lock) follows the last
        // zero's generation bump, so we see that bump and are not released
        // by a zero that happened before this wait began.
        let _count = counter.count.load(Ordering::Acquire);
        Self {
            since: counter.generation(),
            listener: None,
        }
    }

    pub(crate) fn poll(&mut self, counter: &Counter, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if counter.is_released(self.since) {
                self.listener = None;
                return Poll::Ready(());
            }
            match &mut self.listener {
                // Register, then loop to re-check before sleeping.
                None => self.listener = Some(counter.event.listen()),
                Some(listener) => {
                    ready!(Pin::new(listener).poll(cx));
                    self.listener = None;
                }
            }
        }
    }

    pub(crate) fn wait_blocking(self, counter: &Counter) {
        loop {
            if counter.is_released(self.since) {
                return;
            }
            let listener = counter.event.listen();
            if counter.is_released(self.since) {
                return;
            }
            listener.wait();
        }
    }
}

impl fmt::Debug for WaitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitState")
            .field("since", &self.since)
            .field("registered", &self.listener.is_some())
            .finish()
    }
}
