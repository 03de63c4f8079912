//! Go's concurrency patterns for Rust: channels, WaitGroups, contexts,
//! worker pools, fan-out/fan-in and pipelines, typed and leak-free, on tokio.
//!
//! `weir` is the crate to start from. It re-exports the sub-crates as
//! modules, so one dependency gives you everything; each sub-crate can also
//! be used alone.
//!
//! | module | crate | Go |
//! |---|---|---|
//! | [`chan`] | `weir-core` | `chan T`, `close`, `range`, `select` with `default` |
//! | [`latch`] | `weir-core` | `sync.WaitGroup`, a countdown latch |
//! | [`cancel`] | `weir-cancel` | `context.Context` |
//!
//! # Example
//!
//! The seed's `processWithTimeout`: run an expensive operation, give up
//! after a deadline.
//!
//! ```
//! use std::time::Duration;
//! use weir::cancel::{Context, ContextError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ctx = Context::background().with_timeout(Duration::from_secs(5));
//! let result: Result<u64, ContextError> = ctx.run(async { 6 * 7 }).await;
//! assert_eq!(result, Ok(42));
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub use weir_core::chan;
pub use weir_core::latch;

/// Go's `context`: cancellation trees, deadlines, timeouts and values
/// (re-exported from `weir-cancel`).
pub mod cancel {
    pub use weir_cancel::*;
}

/// The most used items, for a glob import: `use weir::prelude::*;`.
///
/// # Examples
///
/// ```
/// use weir::prelude::*;
///
/// let (tx, rx) = chan::bounded::<u8>(1);
/// let wg = WaitGroup::new();
/// let ctx = Context::background();
/// # drop((tx, rx, wg, ctx));
/// ```
pub mod prelude {
    pub use crate::chan::{self, Receiver, Sender};
    pub use crate::latch::{Latch, WaitGroup};
    pub use weir_cancel::{Context, ContextError};
}
