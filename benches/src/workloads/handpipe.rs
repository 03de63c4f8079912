//! Workload 9, the hand-written pipeline: `gen(1..=N) -> square -> sum` the
//! way a Go programmer writes it first — three tasks (gen, square, sum), two
//! channels, one `send(..).await` / `recv().await` per item — on each
//! channel with the same code.
//!
//! Arguments: `<n> [cap] [workers]`. `cap` is the capacity of both channels
//! (default 1024); `0` asks for a rendezvous channel: weir-core's
//! `rendezvous()`, kanal's and flume's `bounded(0)`, and tokio's
//! `mpsc::channel(1)`, since tokio's mpsc has no rendezvous. `workers` is
//! the number of worker threads of tokio's multi-thread runtime (default
//! 2); `0` runs on the current-thread runtime instead.
//!
//! Every implementation also reports the voluntary context switches of the
//! whole process during the timed section ([`voluntary_csw`]).
//!
//! To profile one pipeline on its own (callgrind, `/usr/bin/time -v`, perf):
//!
//! ```text
//! cargo build --release -p weir-benches --bin compare
//! $CARGO_TARGET_DIR/release/compare --child handpipe weir 10000000          # bounded(1024), 2 workers
//! $CARGO_TARGET_DIR/release/compare --child handpipe weir 2000000 0        # rendezvous()
//! $CARGO_TARGET_DIR/release/compare --child handpipe weir 10000000 1024 0  # current-thread runtime
//! ```

use std::future::Future;
use std::time::Instant;

use weir_core::chan;

use crate::work::{square, voluntary_csw};
use crate::Outcome;

/// Default worker threads of the multi-thread runtime.
pub const WORKERS: usize = 2;

/// The runtime a hand-written pipeline runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// tokio's multi-thread runtime with this many worker threads.
    MultiThread(usize),
    /// tokio's current-thread runtime.
    CurrentThread,
}

impl Flavor {
    /// `0` workers means the current-thread runtime.
    pub fn from_workers(workers: usize) -> Flavor {
        if workers == 0 {
            Flavor::CurrentThread
        } else {
            Flavor::MultiThread(workers)
        }
    }

    fn runtime(self) -> tokio::runtime::Runtime {
        let mut b = match self {
            Flavor::MultiThread(w) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(w);
                b
            }
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        b.enable_all().build().expect("build the tokio runtime")
    }
}

/// Runs `pipeline` on `flavor`, timing it and counting the process's
/// voluntary context switches meanwhile. The runtime's threads exist
/// before the first count and until after the last, so no switch is lost
/// with a thread that ended.
pub(crate) fn measure<F>(flavor: Flavor, pipeline: F) -> Outcome
where
    F: Future<Output = u64>,
{
    flavor.runtime().block_on(async move {
        let csw = voluntary_csw();
        let t = Instant::now();
        let sum = pipeline.await;
        let elapsed = t.elapsed();
        Outcome {
            elapsed,
            check: sum,
            vcsw: voluntary_csw().saturating_sub(csw),
            ..Outcome::default()
        }
    })
}

/// weir-core: `chan::bounded(cap)`, or `chan::rendezvous()` for `cap == 0`.
pub fn weir(n: u64, cap: usize, flavor: Flavor) -> Outcome {
    measure(flavor, async move {
        let pair = || {
            if cap == 0 {
                chan::rendezvous::<u64>()
            } else {
                chan::bounded::<u64>(cap)
            }
        };
        let (nums_tx, nums) = pair();
        let (squares_tx, squares) = pair();
        tokio::spawn(async move {
            for i in 1..=n {
                if nums_tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(v) = nums.recv().await {
                if squares_tx.send(square(v)).await.is_err() {
                    return;
                }
            }
        });
        let sum = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = squares.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        sum.await.expect("sum task")
    })
}

/// kanal: `kanal::bounded_async(cap)` (`bounded_async(0)` is its
/// rendezvous).
pub fn tokio_kanal(n: u64, cap: usize, flavor: Flavor) -> Outcome {
    measure(flavor, async move {
        let (nums_tx, nums) = kanal::bounded_async::<u64>(cap);
        let (squares_tx, squares) = kanal::bounded_async::<u64>(cap);
        tokio::spawn(async move {
            for i in 1..=n {
                if nums_tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Ok(v) = nums.recv().await {
                if squares_tx.send(square(v)).await.is_err() {
                    return;
                }
            }
        });
        let sum = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = squares.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        sum.await.expect("sum task")
    })
}

/// flume: `flume::bounded(cap)` with `send_async` / `recv_async`
/// (`bounded(0)` is its rendezvous).
pub fn tokio_flume(n: u64, cap: usize, flavor: Flavor) -> Outcome {
    measure(flavor, async move {
        let (nums_tx, nums) = flume::bounded::<u64>(cap);
        let (squares_tx, squares) = flume::bounded::<u64>(cap);
        tokio::spawn(async move {
            for i in 1..=n {
                if nums_tx.send_async(i).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Ok(v) = nums.recv_async().await {
                if squares_tx.send_async(square(v)).await.is_err() {
                    return;
                }
            }
        });
        let sum = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = squares.recv_async().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        sum.await.expect("sum task")
    })
}

/// tokio's `mpsc::channel(cap)`; it has no rendezvous channel, so
/// `cap == 0` runs `mpsc::channel(1)`, the closest it has.
pub fn tokio_mpsc(n: u64, cap: usize, flavor: Flavor) -> Outcome {
    measure(flavor, async move {
        let cap = cap.max(1);
        let (nums_tx, mut nums) = tokio::sync::mpsc::channel::<u64>(cap);
        let (squares_tx, mut squares) = tokio::sync::mpsc::channel::<u64>(cap);
        tokio::spawn(async move {
            for i in 1..=n {
                if nums_tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(v) = nums.recv().await {
                if squares_tx.send(square(v)).await.is_err() {
                    return;
                }
            }
        });
        let sum = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = squares.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        sum.await.expect("sum task")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::sum_of_squares;

    type Run = fn(u64, usize, Flavor) -> Outcome;

    /// Every implementation computes the same sum, buffered and rendezvous,
    /// on both runtimes.
    #[test]
    fn every_channel_sums_the_squares() {
        let n = 2000;
        let impls: [(&str, Run); 4] = [
            ("weir", weir),
            ("kanal", tokio_kanal),
            ("flume", tokio_flume),
            ("mpsc", tokio_mpsc),
        ];
        for (name, run) in impls {
            for cap in [0, 1024] {
                for flavor in [Flavor::MultiThread(WORKERS), Flavor::CurrentThread] {
                    let o = run(n, cap, flavor);
                    assert_eq!(o.check, sum_of_squares(n), "{name} cap={cap} {flavor:?}");
                }
            }
        }
    }

    #[test]
    fn zero_workers_is_the_current_thread_runtime() {
        assert_eq!(Flavor::from_workers(0), Flavor::CurrentThread);
        assert_eq!(Flavor::from_workers(2), Flavor::MultiThread(2));
    }
}
