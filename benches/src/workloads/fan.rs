//! Workload 4, the seed's fan-out / fan-in: `gen(1..=N)`, four squaring
//! workers reading the same input, merged, summed.

use std::time::Instant;

use crate::work::{runtime, square, CAP};
use crate::Outcome;

/// Number of squaring workers.
pub const WORKERS: usize = 4;

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
