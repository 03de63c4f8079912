//! Workload 3, the seed's worker pool (`processJobs`): `n` jobs of
//! `spin(job, k)` over `w` workers; the results channel closes exactly when
//! every worker is done.

use std::hint::black_box;
use std::time::Instant;

use crate::work::{runtime, spin, CAP};
use crate::Outcome;

/// weir, as a user writes it: `Pipeline::worker_pool(w, job)` between a
/// source of job numbers and a sum.
pub fn weir(n: u64, w: usize, k: u32) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let sum = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
            .source(0..n)
            .worker_pool(w, move |job| async move {
                Ok::<_, std::convert::Infallible>(spin(job, k))
            })
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

/// The naive baseline: the seed's `processJobs` ported to tokio tasks and
/// `flume::bounded(1024)` channels, one job per message.
pub fn tokio_flume(n: u64, w: usize, k: u32) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (jobs_tx, jobs) = flume::bounded::<u64>(CAP);
        let (results_tx, results) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for i in 0..n {
                if jobs_tx.send_async(i).await.is_err() {
                    return;
                }
            }
        });
        for _ in 0..w {
            let (jobs, results_tx) = (jobs.clone(), results_tx.clone());
            tokio::spawn(async move {
                while let Ok(job) = jobs.recv_async().await {
                    if results_tx.send_async(spin(job, k)).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop((jobs, results_tx));
        let sink = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Ok(r) = results.recv_async().await {
                sum = sum.wrapping_add(r);
            }
            sum
        });
        let sum = sink.await.expect("results consumer");
        Outcome {
            elapsed: t.elapsed(),
            check: sum,
            ..Outcome::default()
        }
    })
}

/// The floor: every job in a sequential loop.
pub fn loop_(n: u64, k: u32) -> Outcome {
    let t = Instant::now();
    let mut sum = 0u64;
    for i in 0..black_box(n) {
        sum = sum.wrapping_add(spin(i, black_box(k)));
    }
    Outcome {
        elapsed: t.elapsed(),
        check: black_box(sum),
        ..Outcome::default()
    }
}
