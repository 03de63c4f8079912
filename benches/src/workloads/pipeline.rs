//! Workload 1, the seed pipeline: `gen(1..=N) -> square -> sum`.
//! Also run at two sizes for workload 8 (bounded memory).

use std::hint::black_box;
use std::time::Instant;

use weir_core::{chan, WaitGroup};

use crate::work::{runtime, square, CAP};
use crate::Outcome;

/// Items per `send_all` / `recv_many` in [`weir_batch`].
pub const BATCH: usize = 512;

/// weir, as a user writes it: the facade's `Pipeline` on defaults.
/// `source` and `square` fuse into one task with the sum; items move a
/// batch at a time inside it.
pub fn weir(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let sum = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
            .source(1..=n)
            .map(square)
            .fold(0u64, u64::wrapping_add)
            .await
            .expect("the pipeline runs");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// [`weir()`] with a `buffer(cap, overflow)` between the fused `map` and
/// the `fold`: what an overflow stage costs a pipeline that never
/// overflows (issue 21: at most 5 %). The buffer is fused ("fused until it
/// would overflow"): the `fold` never waits, so every batch passes
/// straight through it in the one task. `cap` defaults to `n`; a smaller
/// one could only drop if the sink waited, and the checksum would say so.
pub fn weir_buffered(n: u64, cap: usize, overflow: weir::stage::Overflow) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let sum = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
            .source(1..=n)
            .map(square)
            .buffer(cap, overflow)
            .fold(0u64, u64::wrapping_add)
            .await
            .expect("the pipeline runs");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The overflow policy numbered `i` on the command line: 0 Backpressure,
/// 1 DropNewest, 2 DropOldest (the default), 3 Fail.
pub fn overflow(i: u64) -> Result<weir::stage::Overflow, String> {
    use weir::stage::Overflow;
    match i {
        0 => Ok(Overflow::Backpressure),
        1 => Ok(Overflow::DropNewest),
        2 => Ok(Overflow::DropOldest),
        3 => Ok(Overflow::Fail),
        _ => Err(format!("overflow policy {i}: 0 to 3")),
    }
}

/// The floor of a hand-off between two tasks with no copy: a producer
/// task squares `1..=n` into `Vec`s of [`HANDOFF`] items and sends each
/// whole `Vec` on an unbounded weir-core channel; the sink sums them. What
/// a `buffer` whose channel queued chunks (instead of items) could cost,
/// measured against [`weir()`] and [`weir_buffered`] (issue 21).
pub fn vec_handoff(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx, rx) = chan::unbounded::<Vec<u64>>();
        tokio::spawn(async move {
            let mut i = 1;
            while i <= n {
                let end = n.min(i + HANDOFF as u64 - 1);
                if tx.send((i..=end).map(square).collect()).await.is_err() {
                    return;
                }
                i = end + 1;
            }
        });
        let mut sum = 0u64;
        while let Some(chunk) = rx.recv().await {
            sum = chunk.into_iter().fold(sum, u64::wrapping_add);
        }
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// Items per chunk in [`vec_handoff`]: a buffer's largest hand-off.
pub const HANDOFF: usize = 8 * BATCH;

/// `gen -> square -> then(identity) -> sum`, with (`buffered`) or without
/// a `buffer(n, Overflow::DropOldest)` before the `then`: where the stage
/// after a buffer has a task of its own, the buffer is that stage's input
/// channel, so it adds no hop at all.
pub fn weir_then(n: u64, buffered: bool) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let p = weir::pipeline::Pipeline::new(&weir::cancel::Context::background());
        let squares = p.source(1..=n).map(square);
        let squares = match buffered {
            true => squares.buffer(
                usize::try_from(n).unwrap_or(usize::MAX),
                weir::stage::Overflow::DropOldest,
            ),
            false => squares,
        };
        let sum = squares
            .then(|x| async move { x })
            .fold(0u64, u64::wrapping_add)
            .await
            .expect("the pipeline runs");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// weir-core's batch API: one task per stage on `chan::bounded(1024)` of
/// `u64`, items moving with `send_all` / `recv_many` of [`BATCH`].
pub fn weir_batch(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx1, rx1) = chan::bounded::<u64>(CAP);
        let (tx2, rx2) = chan::bounded::<u64>(CAP);
        let wg = WaitGroup::new();
        wg.go(async move {
            let mut i = 1;
            while i <= n {
                let end = n.min(i + BATCH as u64 - 1);
                if tx1.send_all((i..=end).collect()).await.is_err() {
                    return;
                }
                i = end + 1;
            }
        });
        wg.go(async move {
            let mut buf = Vec::with_capacity(BATCH);
            while rx1.recv_many(&mut buf, BATCH).await > 0 {
                let out: Vec<u64> = buf.drain(..).map(square).collect();
                if tx2.send_all(out).await.is_err() {
                    return;
                }
            }
        });
        let sink = wg.go(async move {
            let mut buf = Vec::with_capacity(BATCH);
            let mut sum = 0u64;
            while rx2.recv_many(&mut buf, BATCH).await > 0 {
                sum = buf.drain(..).fold(sum, u64::wrapping_add);
            }
            sum
        });
        let sum = sink.await.expect("sink task");
        wg.wait().await.expect("pipeline tasks");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The naive baseline: one tokio task per stage, `flume::bounded(1024)`.
pub fn tokio_flume(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx1, rx1) = flume::bounded::<u64>(CAP);
        let (tx2, rx2) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for i in 1..=n {
                if tx1.send_async(i).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Ok(v) = rx1.recv_async().await {
                if tx2.send_async(square(v)).await.is_err() {
                    return;
                }
            }
        });
        let sink = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = rx2.recv_async().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        let sum = sink.await.expect("sink task");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The floor: a plain sequential loop.
pub fn loop_(n: u64) -> Outcome {
    let t = Instant::now();
    let mut sum = 0u64;
    for i in 1..=black_box(n) {
        sum = sum.wrapping_add(square(i));
    }
    let sum = black_box(sum);
    Outcome {
        elapsed: t.elapsed(),
        check: sum,
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::sum_of_squares;

    #[test]
    fn the_buffer_variants_sum_every_square() {
        // Chunks that end short, and a buffer of room for everything.
        let n = 3 * HANDOFF as u64 + 5;
        assert_eq!(vec_handoff(n).check, sum_of_squares(n));
        assert_eq!(
            weir_buffered(n, HANDOFF * 4, weir::stage::Overflow::DropOldest).check,
            sum_of_squares(n)
        );
        assert_eq!(weir(n).check, sum_of_squares(n));
    }
}
