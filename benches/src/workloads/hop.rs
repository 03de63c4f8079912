//! Workload 2, channel hop: one producer task, one consumer task, a
//! `bounded(1024)` channel, the multi-thread runtime.

use std::hint::black_box;
use std::time::Instant;

use weir_core::{chan, WaitGroup};

use crate::work::{runtime, CAP};
use crate::Outcome;

/// Items per `send_all` / `recv_many` in [`weir_batch`].
pub const BATCH: usize = 256;

/// weir-core, one item per `send` / `recv`.
pub fn weir(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx, rx) = chan::bounded::<u64>(CAP);
        let wg = WaitGroup::new();
        wg.go(async move {
            for i in 0..n {
                if tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        let sink = wg.go(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        let sum = sink.await.expect("consumer task");
        wg.wait().await.expect("hop tasks");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// weir-core's batch API: `send_all` / `recv_many` of [`BATCH`] items.
pub fn weir_batch(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx, rx) = chan::bounded::<u64>(CAP);
        let wg = WaitGroup::new();
        wg.go(async move {
            let mut i = 0;
            while i < n {
                let end = n.min(i + BATCH as u64);
                if tx.send_all((i..end).collect()).await.is_err() {
                    return;
                }
                i = end;
            }
        });
        let sink = wg.go(async move {
            let mut buf = Vec::with_capacity(BATCH);
            let mut sum = 0u64;
            while rx.recv_many(&mut buf, BATCH).await > 0 {
                sum = buf.drain(..).fold(sum, u64::wrapping_add);
            }
            sum
        });
        let sum = sink.await.expect("consumer task");
        wg.wait().await.expect("hop tasks");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// Raw flume: `send_async` / `recv_async` on `flume::bounded(1024)`.
pub fn tokio_flume(n: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx, rx) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for i in 0..n {
                if tx.send_async(i).await.is_err() {
                    return;
                }
            }
        });
        let sink = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = rx.recv_async().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        let sum = sink.await.expect("consumer task");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The floor: summing the items in a loop.
pub fn loop_(n: u64) -> Outcome {
    let t = Instant::now();
    let mut sum = 0u64;
    for i in 0..black_box(n) {
        sum = sum.wrapping_add(black_box(i));
    }
    Outcome {
        elapsed: t.elapsed(),
        check: sum,
        ..Outcome::default()
    }
}
