//! Who is waiting: the identity that keeps a task from pairing with itself.
//!
//! A send and a receive of the same task never meet on a rendezvous
//! channel (Go's `TestSelfSelect`: one goroutine cannot be on both ends of
//! one exchange). The identity is chosen so that two waiters alive at the
//! same time share it only when they really belong to one task:
//!
//! - a blocking call (`send_blocking`, `recv_blocking`, `select_blocking!`,
//!   …) is its thread, by a number given to each thread once (a thread
//!   runs one blocking call at a time);
//! - inside a tokio task, the task, by [`tokio::task::try_id`] (unique
//!   among live tasks);
//! - elsewhere (the future a runtime's `block_on` drives, other
//!   executors), the task its waker wakes, compared as
//!   [`Waker::will_wake`] compares them.
//!
//! A `try_*` call outside a tokio task and outside a blocking call has no
//! waker to go by: it is nobody's, and pairs with anyone.

use std::cell::Cell;
use std::task::Waker;

/// Which task an operation belongs to (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) enum TaskId {
    /// A blocking call on this thread.
    Thread(u64),
    /// A tokio task.
    Task(tokio::task::Id),
    /// The task a waker wakes: its (data, vtable) pointers.
    Waker(usize, usize),
    /// Unknown: equal to nothing, not even itself.
    Nobody,
}

impl TaskId {
    /// Whether `self` and `other` are known to be the same task.
    #[inline]
    pub(crate) fn same(self, other: TaskId) -> bool {
        match (self, other) {
            (TaskId::Thread(a), TaskId::Thread(b)) => a == b,
            (TaskId::Task(a), TaskId::Task(b)) => a == b,
            (TaskId::Waker(a, b), TaskId::Waker(c, d)) => a == c && b == d,
            _ => false,
        }
    }

    /// The task polling with `waker` now.
    #[inline]
    pub(crate) fn current(waker: &Waker) -> TaskId {
        match Self::known() {
            TaskId::Nobody => {
                TaskId::Waker(waker.data() as usize, waker.vtable() as *const _ as usize)
            }
            id => id,
        }
    }

    /// The current task when there is no waker (a `try_*` call): the
    /// blocking thread or the tokio task, else [`TaskId::Nobody`].
    #[inline]
    pub(crate) fn known() -> TaskId {
        if let Some(id) = BLOCKING.with(Cell::get) {
            return TaskId::Thread(id);
        }
        match tokio::task::try_id() {
            Some(id) => TaskId::Task(id),
            None => TaskId::Nobody,
        }
    }
}

thread_local! {
    /// While this thread runs a blocking call: its thread number.
    static BLOCKING: Cell<Option<u64>> = const { Cell::new(None) };
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Marks this thread as inside a blocking call until the guard drops.
/// (Under loom, loom's executor runs blocking calls: they go by waker.)
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct InBlocking(Option<u64>);

impl InBlocking {
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn enter() -> InBlocking {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = THREAD.with(|t| {
            if t.get() == 0 {
                t.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            }
            t.get()
        });
        InBlocking(BLOCKING.with(|b| b.replace(Some(id))))
    }
}

impl Drop for InBlocking {
    fn drop(&mut self) {
        BLOCKING.with(|b| b.set(self.0));
    }
}
