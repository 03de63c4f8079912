//! Waiting for work to finish: [`WaitGroup`] (Go's `sync.WaitGroup`) and
//! [`Latch`] (a one-shot countdown).
//!
//! # Go ↔ weir
//!
//! | Go | weir | what is different |
//! |---|---|---|
//! | `var wg sync.WaitGroup` | [`WaitGroup::new()`] | a handle: clones share one counter (cloning does not add) |
//! | `wg.Add(n)` | [`wg.add(n)`](WaitGroup::add) | |
//! | `wg.Add(1)` + `defer wg.Done()` | [`let _guard = wg.guard();`](WaitGroup::guard) | the guard's drop is the `Done`: it runs on return, `?`, panic and abort |
//! | `wg.Done()` | [`wg.done()`](WaitGroup::done) | one `Done` too many is [`WaitGroupError::Negative`], not a panic |
//! | `wg.Wait()` | [`wg.wait().await`](WaitGroup::wait), [`wg.wait_blocking()`](WaitGroup::wait_blocking) | a named future: store it, `select!` on it, drop it freely |
//! | `wg.Go(f)` (Go 1.25) | [`wg.go(fut)`](WaitGroup::go) | returns the `JoinHandle`; a panic is reported by `wait` as [`WaitError::Panicked`] |
//! | — | [`Latch::new(n)`](Latch::new), [`count_down`](Latch::count_down), [`wait`](Latch::wait) | |
//!
//! # Why RAII
//!
//! In Go, every `Add` must be paired with a `Done` on every path out of the
//! goroutine, which is why `defer wg.Done()` is idiom — and a forgotten
//! `Done` is a `Wait` that never returns. Here the pairing is a value: a
//! [`WaitGroupGuard`] adds one when created and counts down when dropped.
//! Move it into the task and the task can't end without counting down, even
//! by panicking or by being aborted. [`WaitGroup::go`] goes one step
//! further: it spawns the task, holds the guard for you, and catches a panic
//! so that [`wait`](WaitGroup::wait) reports it instead of it being lost in
//! a `JoinHandle` nobody awaits.
//!
//! ```
//! use weir_core::WaitGroup;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let wg = WaitGroup::new();
//! for url in ["a", "b", "c"] {
//!     wg.go(async move {
//!         // fetch(url).await ...
//!         let _ = url;
//!     });
//! }
//! wg.wait().await.unwrap(); // every fetch has finished
//! # }
//! ```
//!
//! # `WaitGroup` or `Latch`?
//!
//! Use a [`WaitGroup`] when the amount of work is discovered as you go: each
//! task adds itself (with a guard or `go`) and the group can be reused once
//! it reaches zero. Use a [`Latch`] when the number of events is known up
//! front and the gate opens once: "start when all five workers are ready",
//! "continue after three replies". A latch's count only goes down, and
//! counting down an open latch is harmless (it returns `false`).
//!
//! # Reuse, and when a wait is over
//!
//! A wait resolves when the counter is zero. A wait that was pending when
//! the counter reached zero resolves even if the counter went up again
//! before the waiter ran, so reusing a group for a second round of work
//! never strands a waiter of the first round. Go forbids that overlap; weir
//! defines it.
//!
//! # Panics in `go` tasks
//!
//! A panic in a task spawned with [`WaitGroup::go`] still counts down, and
//! is recorded: its message and how many tasks panicked. Every later
//! [`wait`](WaitGroup::wait) (and `wait_blocking`) then completes with
//! [`WaitError::Panicked`] — the records are sticky, so no waiter misses
//! them — until [`WaitGroup::take_panics`] clears them. The panic itself is
//! resumed, so the task's `JoinHandle` reports it as usual.
//!
//! # Cancel safety
//!
//! Every wait future ([`Wait`], [`WaitOwned`], [`LatchWait`]) is cancel
//! safe: dropping one only unregisters the waiter (in constant time); it
//! never changes a counter.

mod counter;
mod error;
// The layout names the file after the type it holds, like `wait_group.rs`.
#[allow(clippy::module_inception)]
mod latch;
mod wait_group;

pub use error::{WaitError, WaitGroupError};
pub use latch::{Latch, LatchWait};
pub use wait_group::{Wait, WaitGroup, WaitGroupGuard, WaitOwned};
