//! Workload 6, a million workers: `n` workers blocked on one shared jobs
//! channel; time to spawn them all (until every one is running) plus the
//! time to shut them down (close the channel, wait for all), and peak RSS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;
use weir_core::{chan, Latch, WaitGroup};

use crate::work::{runtime, spin, CAP};
use crate::Outcome;

/// weir-core: `n` workers on one `bounded(1024)` jobs channel, a `Latch`
/// to know they all run, a `WaitGroup` to wait for them.
pub fn weir(n: usize) -> Outcome {
    let rt = runtime();
    let outcome = rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            let (jobs_tx, jobs) = chan::bounded::<u64>(CAP);
            let ready = Latch::new(n);
            let wg = WaitGroup::new();
            for _ in 0..n {
                let (jobs, ready) = (jobs.clone(), ready.clone());
                wg.go(async move {
                    ready.count_down();
                    while let Some(job) = jobs.recv().await {
                        std::hint::black_box(spin(job, 1));
                    }
                });
            }
            drop(jobs);
            ready.wait().await;
            let t0 = Instant::now();
            drop(jobs_tx);
            wg.wait().await.expect("workers");
            Outcome {
                elapsed: start.elapsed(),
                shutdown: t0.elapsed(),
                check: n as u64,
                ..Outcome::default()
            }
        })
        .await
        .expect("million task")
    });
    outcome
}

/// The naive baseline: `n` tokio tasks on one `flume::bounded(1024)`
/// channel (`recv_async`), an atomic counter + `Notify` to know they all
/// run, and their `JoinHandle`s awaited.
pub fn tokio_flume(n: usize) -> Outcome {
    let rt = runtime();
    let outcome = rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            let (jobs_tx, jobs) = flume::bounded::<u64>(CAP);
            let started = Arc::new((AtomicUsize::new(0), Notify::new()));
            let mut handles = Vec::with_capacity(n);
            for _ in 0..n {
                let (jobs, started) = (jobs.clone(), started.clone());
                handles.push(tokio::spawn(async move {
                    if started.0.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        started.1.notify_one();
                    }
                    while let Ok(job) = jobs.recv_async().await {
                        std::hint::black_box(spin(job, 1));
                    }
                }));
            }
            drop(jobs);
            if n > 0 {
                started.1.notified().await;
            }
            let t0 = Instant::now();
            drop(jobs_tx);
            for h in handles {
                h.await.expect("worker");
            }
            Outcome {
                elapsed: start.elapsed(),
                shutdown: t0.elapsed(),
                check: started.0.load(Ordering::Acquire) as u64,
                ..Outcome::default()
            }
        })
        .await
        .expect("million task")
    });
    outcome
}
