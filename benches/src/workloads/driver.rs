//! Where the loop that times a trial runs (workloads 5 and 7).
//!
//! In Go the driver — the loop that sleeps, sends one item or calls
//! `cancel`, and waits — is the main goroutine: it runs on a P, so the
//! goroutines it readies run on its own thread as soon as it blocks, and no
//! OS thread has to wake. The faithful translation of a goroutine is a
//! spawned task ([`Driver::Spawned`]). `#[tokio::main]`'s body is not one:
//! it runs in `block_on` on the main thread, which is not a worker, so every
//! trial pays a main → worker and a worker → main thread wake-up
//! ([`Driver::BlockOn`], `docs/profiling.md` §13, §14, §16).

use std::time::Duration;

/// Where the driver of a latency trial runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// On the main thread in `Runtime::block_on`, as `#[tokio::main]`'s
    /// body: idles with `std::thread::sleep`, blocks in `block_on` to wait.
    BlockOn,
    /// The whole trial loop is one `tokio::spawn`ed task (the main thread
    /// only waits for it): idles with `tokio::time::sleep` (the timer's
    /// granularity is 1 ms, so an idle gap is about a millisecond, as Go's
    /// `time.Sleep` on Linux), takes `t0` inside the task after the sleep.
    Spawned,
}

impl Driver {
    /// The number `compare --child` passes for this shape (0 or 1).
    pub fn arg(self) -> u64 {
        match self {
            Driver::BlockOn => 0,
            Driver::Spawned => 1,
        }
    }

    /// The shape a `--child` argument names (`None`: [`Driver::BlockOn`]).
    ///
    /// # Errors
    ///
    /// Anything but 0 or 1.
    pub fn from_arg(arg: Option<u64>) -> Result<Driver, String> {
        match arg {
            None | Some(0) => Ok(Driver::BlockOn),
            Some(1) => Ok(Driver::Spawned),
            Some(n) => Err(format!("driver shape 0 (block_on) or 1 (spawned), not {n}")),
        }
    }

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Driver::BlockOn => "driver on block_on (`#[tokio::main]`'s body)",
            Driver::Spawned => "driver in a spawned task (Go's main goroutine)",
        }
    }
}

/// The spawned driver's idle wait: `tokio::time::sleep`.
pub async fn idle(d: Duration) {
    tokio::time::sleep(d).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_argument_names_the_shape() {
        for d in [Driver::BlockOn, Driver::Spawned] {
            assert_eq!(Driver::from_arg(Some(d.arg())), Ok(d));
        }
        assert_eq!(Driver::from_arg(None), Ok(Driver::BlockOn));
        assert!(Driver::from_arg(Some(2)).is_err());
    }
}
