//! Go's channels and `sync.WaitGroup`, for async and blocking Rust.
//!
//! `weir-core` is the foundation of [weir]: the two primitives every Go
//! concurrency pattern is built from, with Go's semantics and Rust's
//! guarantees. Depend on it alone when you only need a channel or a
//! `WaitGroup`; the stage combinators and the pipeline builder live in
//! `weir-stage` and `weir`.
//!
//! | Go | weir-core | what is different |
//! |---|---|---|
//! | `make(chan T)` | [`chan::rendezvous()`] (or [`chan::bounded(0)`](chan::bounded)) | |
//! | `make(chan T, n)` | [`chan::bounded(n)`](chan::bounded) | both ends are `Clone` (MPMC) |
//! | — | [`chan::unbounded()`] | memory is not bounded: prefer `bounded` |
//! | `ch <- v` | [`Sender::send`](chan::Sender::send)`(v).await`, [`send_blocking`](chan::Sender::send_blocking) | a send on a closed channel returns the item in an error instead of panicking |
//! | `v, ok := <-ch` | [`Receiver::recv`](chan::Receiver::recv)`().await` → `Option<T>` | |
//! | `for v := range ch` | `while let Some(v) = rx.recv().await`, or [`Receiver`](chan::Receiver) as a `Stream` | |
//! | `close(ch)` | drop the last [`Sender`](chan::Sender), or [`Sender::close`](chan::Sender::close) | closing can't be forgotten, and closing twice is not a panic |
//! | `select { … }` | [`chan::select!`] (async), [`chan::select_blocking!`] (threads), [`chan::Select`] (`reflect.Select`) | exactly one case fires, as in Go |
//! | `select` with `default` | `default =>` in [`chan::select!`], or [`try_send`](chan::Sender::try_send) / [`try_recv`](chan::Receiver::try_recv) | |
//! | `sync.WaitGroup` | [`WaitGroup`] | `Done` is a guard's drop, so it can't be missed; too many `Done`s is an error |
//! | `wg.Go(f)` (Go 1.25) | [`WaitGroup::go`] | a panic in the task is reported by [`wait`](WaitGroup::wait) |
//! | — | [`Latch`] | a one-shot countdown |
//!
//! # Example
//!
//! Go's worker pool (a `processJobs` function with n worker goroutines),
//! by hand: three workers drain a jobs channel,
//! a `WaitGroup` closes the results when the last one is done.
//!
//! ```
//! use weir_core::{chan, WaitGroup};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (jobs_tx, jobs) = chan::bounded::<u64>(16);
//! let (results_tx, results) = chan::bounded::<u64>(16);
//! let wg = WaitGroup::new();
//! for _ in 0..3 {
//!     let (jobs, results_tx) = (jobs.clone(), results_tx.clone());
//!     wg.go(async move {
//!         while let Some(job) = jobs.recv().await {
//!             results_tx.send(job * 2).await.unwrap();
//!         }
//!     });
//! }
//! drop(results_tx); // the workers hold the only senders now
//! tokio::spawn(async move {
//!     for job in 1..=10 {
//!         jobs_tx.send(job).await.unwrap();
//!     } // dropping jobs_tx closes the jobs channel: Go's close(jobs)
//! });
//! let mut sum = 0;
//! while let Some(r) = results.recv().await {
//!     sum += r;
//! }
//! wg.wait().await.unwrap();
//! assert_eq!(sum, 110);
//! # }
//! ```
//!
//! [weir]: https://docs.rs/weir
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub mod chan;
pub mod latch;
mod loom;

pub use latch::{Latch, WaitGroup};
