//! Workload 5, cancellation latency: a 10-stage pipeline (a source and nine
//! forwarding stages) whose buffers are all full because nobody reads the
//! last channel; the time from `cancel()` until every stage task has ended.
//! The channel capacity is an argument (the harness uses 128 everywhere).
//!
//! Each stage waits on its channel operation and the cancel signal at once
//! (Go: `select` with `<-ctx.Done()`; weir: `tokio::select!` with
//! `Context::cancelled()`; tokio+flume: `CancellationToken::cancelled()`).
//! [`tokio_abort`] is tokio's own way to end a task: the same stages with no
//! cancel branch at all, ended by `JoinHandle::abort` (issue 24's baseline).

use std::time::{Duration, Instant};

use tokio::runtime::{Runtime, RuntimeFlavor};
use tokio_util::sync::CancellationToken;
use weir_core::{chan, WaitGroup};

use crate::work::{pause, runtime};
use crate::Outcome;

/// Stage tasks in the pipeline (the source included).
pub const STAGES: usize = 10;

/// Waits (off the runtime) until `full()` holds, then lets the stages park.
fn wait_until_full(full: impl Fn() -> bool) {
    while !full() {
        pause(Duration::from_micros(10));
    }
    pause(Duration::from_micros(100));
}

/// weir-core channels, a `WaitGroup` over the stage tasks, and
/// weir-cancel's `Context` as the shared cancel signal.
pub fn weir(trials: usize, cap: usize) -> Outcome {
    weir_on(&runtime(), trials, cap)
}

/// [`weir()`] on a runtime of the caller's choosing (`profile_wake` compares
/// runtime flavours with it). On a current-thread runtime nothing runs
/// unless this thread drives it, so the buffers are filled inside
/// `block_on`.
pub fn weir_on(rt: &Runtime, trials: usize, cap: usize) -> Outcome {
    let _enter = rt.enter();
    let start = Instant::now();
    let mut samples = Vec::with_capacity(trials);
    let mut check = 0u64;
    for _ in 0..trials {
        let (token, handle) = weir::cancel::Context::background().with_cancel();
        let wg = WaitGroup::new();
        let (chans_tx, mut chans_rx): (Vec<_>, Vec<_>) =
            (0..STAGES).map(|_| chan::bounded::<u64>(cap)).unzip();
        let (tx, tok) = (chans_tx[0].clone(), token.clone());
        wg.go(async move {
            let mut i = 0u64;
            loop {
                tokio::select! {
                    r = tx.send(i) => if r.is_err() { return },
                    _ = tok.cancelled() => return,
                }
                i += 1;
            }
        });
        for s in 1..STAGES {
            let (rx, tx, tok) = (chans_rx[s - 1].clone(), chans_tx[s].clone(), token.clone());
            wg.go(async move {
                loop {
                    let v = tokio::select! {
                        v = rx.recv() => match v { Some(v) => v, None => return },
                        _ = tok.cancelled() => return,
                    };
                    tokio::select! {
                        r = tx.send(v) => if r.is_err() { return },
                        _ = tok.cancelled() => return,
                    }
                }
            });
        }
        let full = || chans_tx.iter().all(|tx| tx.is_full());
        if rt.handle().runtime_flavor() == RuntimeFlavor::CurrentThread {
            rt.block_on(async {
                while !full() {
                    tokio::task::yield_now().await;
                }
            });
        } else {
            wait_until_full(full);
        }
        let t0 = Instant::now();
        handle.cancel();
        rt.block_on(wg.wait()).expect("stage tasks");
        samples.push(t0.elapsed());
        check += chans_tx[STAGES - 1].len() as u64;
        chans_rx.clear();
    }
    Outcome::latencies(start.elapsed(), check, &mut samples)
}

/// tokio's abort path (issue 24: "cancellation p50 ≤ tokio's `abort`
/// path"): the weir row's ten stages on the same weir-core channels, but
/// with no cancel branch, each a plain `tokio::spawn`; the "cancel" is
/// `JoinHandle::abort` on every task, the join awaits the handles in turn.
/// Only the way the tasks are told to end differs from [`weir()`].
pub fn tokio_abort(trials: usize, cap: usize) -> Outcome {
    let rt = runtime();
    let _enter = rt.enter();
    let start = Instant::now();
    let mut samples = Vec::with_capacity(trials);
    let mut check = 0u64;
    for _ in 0..trials {
        let (chans_tx, mut chans_rx): (Vec<_>, Vec<_>) =
            (0..STAGES).map(|_| chan::bounded::<u64>(cap)).unzip();
        let mut handles = Vec::with_capacity(STAGES);
        let tx = chans_tx[0].clone();
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            while tx.send(i).await.is_ok() {
                i += 1;
            }
        }));
        for s in 1..STAGES {
            let (rx, tx) = (chans_rx[s - 1].clone(), chans_tx[s].clone());
            handles.push(tokio::spawn(async move {
                while let Some(v) = rx.recv().await {
                    if tx.send(v).await.is_err() {
                        return;
                    }
                }
            }));
        }
        wait_until_full(|| chans_tx.iter().all(|tx| tx.is_full()));
        let t0 = Instant::now();
        handles.iter().for_each(|h| h.abort());
        rt.block_on(async {
            for h in handles {
                let ended = h.await;
                assert!(ended.is_err_and(|e| e.is_cancelled()), "aborted");
            }
        });
        samples.push(t0.elapsed());
        check += chans_tx[STAGES - 1].len() as u64;
        chans_rx.clear();
    }
    Outcome::latencies(start.elapsed(), check, &mut samples)
}

/// The naive baseline: flume channels, `CancellationToken`, and the stage
/// tasks' `JoinHandle`s awaited one by one.
pub fn tokio_flume(trials: usize, cap: usize) -> Outcome {
    let rt = runtime();
    let _enter = rt.enter();
    let start = Instant::now();
    let mut samples = Vec::with_capacity(trials);
    let mut check = 0u64;
    for _ in 0..trials {
        let token = CancellationToken::new();
        let (chans_tx, mut chans_rx): (Vec<_>, Vec<_>) =
            (0..STAGES).map(|_| flume::bounded::<u64>(cap)).unzip();
        let mut handles = Vec::with_capacity(STAGES);
        let (tx, tok) = (chans_tx[0].clone(), token.clone());
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            loop {
                tokio::select! {
                    r = tx.send_async(i) => if r.is_err() { return },
                    _ = tok.cancelled() => return,
                }
                i += 1;
            }
        }));
        for s in 1..STAGES {
            let (rx, tx, tok) = (chans_rx[s - 1].clone(), chans_tx[s].clone(), token.clone());
            handles.push(tokio::spawn(async move {
                loop {
                    let v = tokio::select! {
                        v = rx.recv_async() => match v { Ok(v) => v, Err(_) => return },
                        _ = tok.cancelled() => return,
                    };
                    tokio::select! {
                        r = tx.send_async(v) => if r.is_err() { return },
                        _ = tok.cancelled() => return,
                    }
                }
            }));
        }
        wait_until_full(|| chans_tx.iter().all(|tx| tx.is_full()));
        let t0 = Instant::now();
        token.cancel();
        rt.block_on(async {
            for h in handles {
                h.await.expect("stage task");
            }
        });
        samples.push(t0.elapsed());
        check += chans_tx[STAGES - 1].len() as u64;
        chans_rx.clear();
    }
    Outcome::latencies(start.elapsed(), check, &mut samples)
}
