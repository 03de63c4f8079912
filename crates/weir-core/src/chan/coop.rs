//! Spending tokio's cooperative budget on a sample of operations.
//!
//! Reaching tokio's budget costs two accesses to its thread-local context
//! per operation, about a fifth of a buffered send or receive. A channel
//! operation therefore asks for budget on one operation in [`SAMPLE`]: a
//! loop that always finds room or items still yields to the scheduler
//! (after about `128 × SAMPLE` operations instead of 128), and a task whose
//! budget is spent elsewhere stops at one of its next `SAMPLE` channel
//! operations.
//!
//! A single send or receive counts with [`tick`] and sends the sampled
//! operation down its general path, which asks tokio (see
//! [`poll_budget`]); the fast path stays small enough to inline into
//! the caller. Waits, batch operations and reservations ask with
//! [`poll_proceed`].

use std::cell::Cell;
use std::task::{Context, Poll};

use tokio::task::coop::RestoreOnPending;

/// One operation in this many spends a unit of the task's budget. Each
/// forced yield lets the other workers steal the yielding task (a hand
/// pipeline ran about 12% faster at 64 than at 16, and as fast as with no
/// budget at all).
pub(crate) const SAMPLE: u32 = 64;

thread_local! {
    static TICKS: Cell<u32> = const { Cell::new(0) };
}

/// The budget unit an operation took, if it was sampled.
pub(crate) struct Unit(Option<RestoreOnPending>);

impl Unit {
    /// The operation completed: the unit stays spent.
    #[inline]
    pub(crate) fn made_progress(&self) {
        if let Some(r) = &self.0 {
            r.made_progress();
        }
    }
}

/// Like [`tokio::task::coop::poll_proceed`], on one call in [`SAMPLE`] per
/// thread; `Pending` (with the task woken to run again) when the task's
/// budget is spent.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<Unit> {
    let due = TICKS.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n % SAMPLE == 0
    });
    if !due {
        return Poll::Ready(Unit(None));
    }
    spend(cx)
}

/// Spends a unit of the task's budget, or `Pending` when it is spent.
#[inline]
fn spend(cx: &mut Context<'_>) -> Poll<Unit> {
    tokio::task::coop::poll_proceed(cx).map(|r| Unit(Some(r)))
}

/// Counts an operation; `false` when it is the sampled one.
///
/// Under loom, never: loom's threads share this thread's counter across
/// its runs, so sampling would make a model take another path on each run
/// (loom requires a deterministic model). There is no budget outside tokio
/// anyway.
#[inline(always)]
pub(crate) fn tick() -> bool {
    if cfg!(loom) {
        return true;
    }
    TICKS.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n % SAMPLE != 0
    })
}

/// How one poll of a single send or receive stands with the budget.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Budget {
    /// [`tick`] sampled this operation: it spends a unit.
    Spend,
    /// [`tick`] counted this operation and did not sample it: nothing to
    /// ask (a rendezvous operation, which skips the buffered fast path,
    /// is not counted twice).
    Counted,
    /// Not counted yet (a buffered operation after its fast path, or a
    /// later poll of a buffered wait): [`poll_proceed`].
    Count,
}

impl Budget {
    /// The general path after a fast path that did not complete (counted
    /// by [`tick`], not sampled). A rendezvous operation skips its fast
    /// path altogether: it is not counted again. A buffered one that
    /// found the buffer full (or empty) is counted again, as before
    /// `Budget` existed: this keeps the sampling rate of waits, which the
    /// buffered hand pipeline's scheduling is sensitive to (§7 and §12 of
    /// docs/profiling.md).
    #[inline(always)]
    pub(crate) fn after_fast_path(rendezvous: bool) -> Budget {
        if rendezvous {
            Budget::Counted
        } else {
            Budget::Count
        }
    }

    /// A later poll of a wait (the first poll counted the operation, by
    /// [`tick`]). A rendezvous operation is counted once, on its first
    /// poll: its later polls (the one that finds the item handed over or
    /// the offer taken) ask nothing, which saves a thread-local access per
    /// hand-off (profiling.md §15). So a rendezvous operation that waited
    /// spends no unit even when its first poll was the sampled one (that
    /// poll returned `Pending`, which gives the unit back, as tokio's own
    /// channels do): the budget is there for a task that never returns
    /// `Pending`, and a task whose operation waited did. An operation that
    /// completes on its first poll is sampled as before. A buffered wait
    /// is counted again, as before (see [`Budget::after_fast_path`]).
    #[inline(always)]
    pub(crate) fn later_poll(rendezvous: bool) -> Budget {
        Budget::after_fast_path(rendezvous)
    }
}

/// Asks for budget as `budget` says: [`tokio::task::coop::poll_proceed`]
/// itself for [`Budget::Spend`], nothing for [`Budget::Counted`], and
/// [`poll_proceed`] for [`Budget::Count`]. Inlined, so that the common
/// [`Budget::Counted`] costs nothing (out of line it cost ~22 instructions
/// a call, most of them the call itself).
#[inline(always)]
pub(crate) fn poll_budget(budget: Budget, cx: &mut Context<'_>) -> Poll<Unit> {
    match budget {
        Budget::Spend => spend(cx),
        Budget::Counted => Poll::Ready(Unit(None)),
        Budget::Count => poll_proceed(cx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `SAMPLE`-th call spends budget: with tokio's 128 units, a
    /// task that always proceeds is told to yield within `129 × SAMPLE`
    /// calls, and never before `128` calls.
    #[tokio::test(flavor = "current_thread")]
    async fn a_busy_loop_is_told_to_yield() {
        let calls = std::future::poll_fn(|cx| {
            let mut calls = 0u32;
            loop {
                calls += 1;
                match poll_proceed(cx) {
                    Poll::Ready(unit) => unit.made_progress(),
                    Poll::Pending => return Poll::Ready(calls),
                }
                assert!(calls <= 129 * SAMPLE, "never told to yield");
            }
        })
        .await;
        assert!(calls >= 128, "yielded after {calls} calls");
    }
}
