//! Workload 4, the seed's fan-out / fan-in: `gen(1..=N)`, four squaring
//! workers reading the same input, merged, summed.

use std::time::Instant;

use weir_core::{chan, WaitGroup};

use crate::work::{runtime, square, CAP};
use crate::Outcome;

/// Number of squaring workers.
pub const WORKERS: usize = 4;
/// Items per chunk in the weir-core implementation.
pub const CHUNK: usize = 256;
/// Capacity, in chunks, of the weir-core channels (`CHUNKS * CHUNK` = 1024
/// items in flight per channel at most).
pub const CHUNKS: usize = 4;

/// weir, as a user writes it: `Pipeline::fan_out(4, square)` then a sum;
/// each branch is its own task, fed in batches.
pub fn weir(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let sum = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
            .source(1..=n)
            .fan_out(WORKERS, |branch| branch.map(square))
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

/// weir-core by hand: the generator sends `Vec` chunks of [`CHUNK`] items
/// into a shared `chan::bounded(CHUNKS)`; four workers square chunks and
/// send them into one shared output channel (weir channels are MPMC, so the
/// merge needs no forwarding tasks); the sink sums.
pub fn weir_core(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (in_tx, input) = chan::bounded::<Vec<u64>>(CHUNKS);
        let (out_tx, out) = chan::bounded::<Vec<u64>>(CHUNKS);
        let wg = WaitGroup::new();
        wg.go(async move {
            let mut i = 1;
            while i <= n {
                let end = n.min(i + CHUNK as u64 - 1);
                if in_tx.send((i..=end).collect()).await.is_err() {
                    return;
                }
                i = end + 1;
            }
        });
        for _ in 0..WORKERS {
            let (input, out_tx) = (input.clone(), out_tx.clone());
            wg.go(async move {
                while let Some(mut chunk) = input.recv().await {
                    chunk.iter_mut().for_each(|v| *v = square(*v));
                    if out_tx.send(chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop((input, out_tx));
        let sink = wg.go(async move {
            let mut sum = 0u64;
            while let Some(chunk) = out.recv().await {
                sum = chunk.into_iter().fold(sum, u64::wrapping_add);
            }
            sum
        });
        let sum = sink.await.expect("sink task");
        wg.wait().await.expect("fan tasks");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The naive baseline: the seed's `fanOut` / `fanIn` ported line by line —
/// each worker has its own output channel and `fanIn` runs one forwarding
/// task per worker — on tokio tasks and `flume::bounded(1024)`.
pub fn tokio_flume(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (in_tx, input) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for i in 1..=n {
                if in_tx.send_async(i).await.is_err() {
                    return;
                }
            }
        });
        // fanOut: every worker reads the same input.
        let outputs: Vec<flume::Receiver<u64>> = (0..WORKERS)
            .map(|_| {
                let input = input.clone();
                let (tx, rx) = flume::bounded::<u64>(CAP);
                tokio::spawn(async move {
                    while let Ok(v) = input.recv_async().await {
                        if tx.send_async(square(v)).await.is_err() {
                            return;
                        }
                    }
                });
                rx
            })
            .collect();
        drop(input);
        // fanIn: one forwarder per channel; `out` closes with the last one.
        let (out_tx, out) = flume::bounded::<u64>(CAP);
        for c in outputs {
            let out_tx = out_tx.clone();
            tokio::spawn(async move {
                while let Ok(v) = c.recv_async().await {
                    if out_tx.send_async(v).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(out_tx);
        let sink = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = out.recv_async().await {
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

/// The floor: the same sum of squares in a loop.
pub fn loop_(n: u64) -> Outcome {
    super::pipeline::loop_(n)
}
