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
//!
//! Every implementation runs in both [`Driver`] shapes, through the same
//! `drive` loop: only the stages and the way they are told to end differ.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::runtime::{Runtime, RuntimeFlavor};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::{chan, WaitGroup};

use super::driver::{idle, Driver};
use crate::work::{pause, runtime};
use crate::Outcome;

/// Stage tasks in the pipeline (the source included).
pub const STAGES: usize = 10;
/// How often the driver looks whether the buffers are full.
const POLL_FULL: Duration = Duration::from_micros(10);
/// How long it then lets the stages park before it cancels.
const SETTLE: Duration = Duration::from_micros(100);

/// One trial's stages, started and not yet told to end.
trait Trial: Send + 'static {
    /// Whether every stage's output buffer is full.
    fn full(&self) -> bool;
    /// Tells every stage to end (at once, before this returns) and returns
    /// the join: ready when every stage task has ended.
    fn end(&mut self) -> impl Future<Output = ()> + Send + '_;
    /// Items left in the last buffer (the checksum).
    fn check(&self) -> u64;
}

/// `trials` times: start the stages with `start(cap)`, wait until their
/// buffers are full, then time `end()`. `driver` says where this loop runs.
fn drive<T: Trial>(
    rt: &Runtime,
    driver: Driver,
    trials: usize,
    cap: usize,
    start: fn(usize) -> T,
) -> Outcome {
    match driver {
        Driver::BlockOn => on_block_on(rt, trials, cap, start),
        Driver::Spawned => rt
            .block_on(rt.spawn(spawned(trials, cap, start)))
            .expect("the driver task"),
    }
}

/// The driver on the main thread: `#[tokio::main]`'s body.
fn on_block_on<T: Trial>(
    rt: &Runtime,
    trials: usize,
    cap: usize,
    start: fn(usize) -> T,
) -> Outcome {
    let _enter = rt.enter();
    let begin = Instant::now();
    let mut samples = Vec::with_capacity(trials);
    let mut check = 0u64;
    for _ in 0..trials {
        let mut trial = start(cap);
        if rt.handle().runtime_flavor() == RuntimeFlavor::CurrentThread {
            // Nothing runs unless this thread drives it.
            rt.block_on(async {
                while !trial.full() {
                    tokio::task::yield_now().await;
                }
            });
        } else {
            while !trial.full() {
                pause(POLL_FULL);
            }
            pause(SETTLE);
        }
        let t0 = Instant::now();
        rt.block_on(trial.end());
        samples.push(t0.elapsed());
        check += trial.check();
    }
    Outcome::latencies(begin.elapsed(), check, &mut samples)
}

/// The driver as a spawned task: Go's main goroutine.
async fn spawned<T: Trial>(trials: usize, cap: usize, start: fn(usize) -> T) -> Outcome {
    let begin = Instant::now();
    let mut samples = Vec::with_capacity(trials);
    let mut check = 0u64;
    for _ in 0..trials {
        let mut trial = start(cap);
        while !trial.full() {
            idle(POLL_FULL).await;
        }
        idle(SETTLE).await;
        let t0 = Instant::now();
        trial.end().await;
        samples.push(t0.elapsed());
        check += trial.check();
    }
    Outcome::latencies(begin.elapsed(), check, &mut samples)
}

/// weir-core channels, a `WaitGroup` over the stage tasks, and
/// weir-cancel's `Context` as the shared cancel signal.
pub fn weir(trials: usize, cap: usize, driver: Driver) -> Outcome {
    weir_on(&runtime(), trials, cap, driver)
}

/// [`weir()`] on a runtime of the caller's choosing (`profile_wake` compares
/// runtime flavours with it). On a current-thread runtime nothing runs
/// unless this thread drives it, so the buffers are filled inside
/// `block_on`.
pub fn weir_on(rt: &Runtime, trials: usize, cap: usize, driver: Driver) -> Outcome {
    drive(rt, driver, trials, cap, WeirTrial::start)
}

struct WeirTrial {
    handle: weir::cancel::CancelHandle,
    wg: WaitGroup,
    chans: (Vec<chan::Sender<u64>>, Vec<chan::Receiver<u64>>),
}

impl WeirTrial {
    fn start(cap: usize) -> Self {
        let (token, handle) = weir::cancel::Context::background().with_cancel();
        let wg = WaitGroup::new();
        let (chans_tx, chans_rx): (Vec<_>, Vec<_>) =
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
        WeirTrial {
            handle,
            wg,
            chans: (chans_tx, chans_rx),
        }
    }
}

impl Trial for WeirTrial {
    fn full(&self) -> bool {
        self.chans.0.iter().all(|tx| tx.is_full())
    }

    fn end(&mut self) -> impl Future<Output = ()> + Send + '_ {
        self.handle.cancel();
        async move { self.wg.wait().await.expect("stage tasks") }
    }

    fn check(&self) -> u64 {
        self.chans.0[STAGES - 1].len() as u64
    }
}

/// tokio's abort path (issue 24: "cancellation p50 ≤ tokio's `abort`
/// path"): the weir row's ten stages on the same weir-core channels, but
/// with no cancel branch, each a plain `tokio::spawn`; the "cancel" is
/// `JoinHandle::abort` on every task, the join awaits the handles in turn.
/// Only the way the tasks are told to end differs from [`weir()`].
pub fn tokio_abort(trials: usize, cap: usize, driver: Driver) -> Outcome {
    drive(&runtime(), driver, trials, cap, AbortTrial::start)
}

struct AbortTrial {
    handles: Vec<JoinHandle<()>>,
    chans: (Vec<chan::Sender<u64>>, Vec<chan::Receiver<u64>>),
}

impl AbortTrial {
    fn start(cap: usize) -> Self {
        let (chans_tx, chans_rx): (Vec<_>, Vec<_>) =
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
        AbortTrial {
            handles,
            chans: (chans_tx, chans_rx),
        }
    }
}

impl Trial for AbortTrial {
    fn full(&self) -> bool {
        self.chans.0.iter().all(|tx| tx.is_full())
    }

    fn end(&mut self) -> impl Future<Output = ()> + Send + '_ {
        self.handles.iter().for_each(|h| h.abort());
        async move {
            for h in self.handles.drain(..) {
                let ended = h.await;
                assert!(ended.is_err_and(|e| e.is_cancelled()), "aborted");
            }
        }
    }

    fn check(&self) -> u64 {
        self.chans.0[STAGES - 1].len() as u64
    }
}

/// The naive baseline: flume channels, `CancellationToken`, and the stage
/// tasks' `JoinHandle`s awaited one by one.
pub fn tokio_flume(trials: usize, cap: usize, driver: Driver) -> Outcome {
    drive(&runtime(), driver, trials, cap, FlumeTrial::start)
}

struct FlumeTrial {
    token: CancellationToken,
    handles: Vec<JoinHandle<()>>,
    chans: (Vec<flume::Sender<u64>>, Vec<flume::Receiver<u64>>),
}

impl FlumeTrial {
    fn start(cap: usize) -> Self {
        let token = CancellationToken::new();
        let (chans_tx, chans_rx): (Vec<_>, Vec<_>) =
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
        FlumeTrial {
            token,
            handles,
            chans: (chans_tx, chans_rx),
        }
    }
}

impl Trial for FlumeTrial {
    fn full(&self) -> bool {
        self.chans.0.iter().all(|tx| tx.is_full())
    }

    fn end(&mut self) -> impl Future<Output = ()> + Send + '_ {
        self.token.cancel();
        async move {
            for h in self.handles.drain(..) {
                h.await.expect("stage task");
            }
        }
    }

    fn check(&self) -> u64 {
        self.chans.0[STAGES - 1].len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender, in both driver shapes, ends all its stages each
    /// trial with the last buffer full (the join would hang otherwise).
    #[test]
    fn every_contender_ends_every_trial_in_both_shapes() {
        let (trials, cap) = (3, 4);
        for driver in [Driver::BlockOn, Driver::Spawned] {
            let want = (trials * cap) as u64;
            assert_eq!(weir(trials, cap, driver).check, want, "weir {driver:?}");
            assert_eq!(
                tokio_abort(trials, cap, driver).check,
                want,
                "abort {driver:?}"
            );
            assert_eq!(
                tokio_flume(trials, cap, driver).check,
                want,
                "flume {driver:?}"
            );
        }
    }
}
