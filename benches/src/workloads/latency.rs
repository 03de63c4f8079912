//! Workload 7, latency: one item through an idle 3-stage pipeline
//! (`in -> +1 -> +1 -> +1 -> out`), the pipeline left idle for about a
//! millisecond before each trial.
//!
//! Every implementation runs in both [`Driver`] shapes through the same
//! `trials_through` loop: only the pipeline differs.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use weir_core::{chan, WaitGroup};

use super::driver::{idle, Driver};
use crate::work::{runtime, CAP};
use crate::Outcome;

/// Forwarding stages between the input and the output channel.
pub const STAGES: usize = 3;
/// Idle time before each trial (`std::thread::sleep` on `block_on`,
/// `tokio::time::sleep` in a spawned driver; both round up to about a
/// millisecond, like Go's `time.Sleep`).
pub const IDLE: Duration = Duration::from_micros(500);
/// Batch limit of the weir-core stages: the same batched stage loop as the
/// pipeline workload, to show a batch never waits to fill up.
pub const BATCH: usize = 512;

/// The two ends of a pipeline: one item in, its result out.
trait Ends: Send + 'static {
    /// Sends `v` in and returns what comes out.
    fn through(&self, v: u64) -> impl Future<Output = u64> + Send + '_;
}

impl Ends for (chan::Sender<u64>, chan::Receiver<u64>) {
    async fn through(&self, v: u64) -> u64 {
        self.0.send(v).await.expect("pipeline input");
        self.1.recv().await.expect("pipeline output")
    }
}

impl Ends for (flume::Sender<u64>, flume::Receiver<u64>) {
    async fn through(&self, v: u64) -> u64 {
        self.0.send_async(v).await.expect("pipeline input");
        self.1.recv_async().await.expect("pipeline output")
    }
}

/// weir-core: each stage is the batched loop of the pipeline workload
/// (`recv_many` then `send_all`).
pub fn weir(trials: usize, driver: Driver) -> Outcome {
    weir_on(&runtime(), trials, driver)
}

/// [`weir()`] on a runtime of the caller's choosing (`profile_wake` compares
/// runtime flavours with it).
pub fn weir_on(rt: &Runtime, trials: usize, driver: Driver) -> Outcome {
    let _enter = rt.enter();
    let wg = WaitGroup::new();
    let (input, mut rx) = chan::bounded::<u64>(CAP);
    for _ in 0..STAGES {
        let (tx, next) = chan::bounded::<u64>(CAP);
        wg.go(async move {
            let mut buf = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut buf, BATCH).await > 0 {
                let out: Vec<u64> = buf.drain(..).map(|v| v + 1).collect();
                if tx.send_all(out).await.is_err() {
                    return;
                }
            }
        });
        rx = next;
    }
    let outcome = trials_through(rt, driver, trials, (input, rx));
    rt.block_on(wg.wait()).expect("stage tasks");
    outcome
}

/// The facade as a user writes it: `Pipeline::from_receiver(input)` →
/// three `map(+1)` → `forward(output)`, run with `Sink::run`. The four
/// stages fuse into one engine task, so an item crosses no channel inside
/// the pipeline: one wake-up in (the input channel), one out (the output
/// channel). Issue 24's target: p50 ≤ 2× Go's.
pub fn weir_fused(trials: usize, driver: Driver) -> Outcome {
    let rt = runtime();
    let _enter = rt.enter();
    let (input, rx) = chan::bounded::<u64>(CAP);
    let (tx, output) = chan::bounded::<u64>(CAP);
    let run = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
        .from_receiver(rx)
        .map(|v| v + 1)
        .map(|v| v + 1)
        .map(|v| v + 1)
        .forward(tx)
        .run();
    let outcome = trials_through(&rt, driver, trials, (input, output));
    rt.block_on(run.join()).expect("the pipeline ends");
    outcome
}

/// The three steps fused by hand: one task, `recv` then `send(v + 3)` on
/// weir-core channels, the loop a user writes instead of a pipeline. What
/// the facade's fused engine adds on top of it (its metrics, its scope's
/// cancellation and panic isolation, the output's close) is the difference
/// between this row and [`weir_fused`].
pub fn hand_loop(trials: usize, driver: Driver) -> Outcome {
    let rt = runtime();
    let _enter = rt.enter();
    let (input, rx) = chan::bounded::<u64>(CAP);
    let (tx, output) = chan::bounded::<u64>(CAP);
    let stage = rt.spawn(async move {
        while let Some(v) = rx.recv().await {
            if tx.send(v + STAGES as u64).await.is_err() {
                return;
            }
        }
    });
    let outcome = trials_through(&rt, driver, trials, (input, output));
    rt.block_on(stage).expect("the loop task");
    outcome
}

/// The naive baseline: one task per stage, `recv_async` / `send_async` on
/// `flume::bounded(1024)`.
pub fn tokio_flume(trials: usize, driver: Driver) -> Outcome {
    let rt = runtime();
    let _enter = rt.enter();
    let (input, mut rx) = flume::bounded::<u64>(CAP);
    for _ in 0..STAGES {
        let (tx, next) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            while let Ok(v) = rx.recv_async().await {
                if tx.send_async(v + 1).await.is_err() {
                    return;
                }
            }
        });
        rx = next;
    }
    trials_through(&rt, driver, trials, (input, rx))
}

/// `trials` times: idle for [`IDLE`], then one item through `ends`, timed;
/// `ends` is dropped after the last (closing the input). `driver` says
/// where this loop runs.
fn trials_through<E: Ends>(rt: &Runtime, driver: Driver, trials: usize, ends: E) -> Outcome {
    match driver {
        Driver::BlockOn => {
            let mut samples = Vec::with_capacity(trials);
            let mut check = 0u64;
            let start = Instant::now();
            for i in 0..trials as u64 {
                std::thread::sleep(IDLE);
                let t0 = Instant::now();
                let v = rt.block_on(ends.through(i));
                samples.push(t0.elapsed());
                check += v;
            }
            Outcome::latencies(start.elapsed(), check, &mut samples)
        }
        Driver::Spawned => rt
            .block_on(rt.spawn(async move {
                let mut samples = Vec::with_capacity(trials);
                let mut check = 0u64;
                let start = Instant::now();
                for i in 0..trials as u64 {
                    idle(IDLE).await;
                    let t0 = Instant::now();
                    let v = ends.through(i).await;
                    samples.push(t0.elapsed());
                    check += v;
                }
                Outcome::latencies(start.elapsed(), check, &mut samples)
            }))
            .expect("the driver task"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender, in both driver shapes, returns each item plus the
    /// number of stages, once per trial.
    #[test]
    fn every_contender_answers_every_trial_in_both_shapes() {
        let trials = 4;
        let want: u64 = (0..trials as u64).map(|i| i + STAGES as u64).sum();
        for driver in [Driver::BlockOn, Driver::Spawned] {
            assert_eq!(weir(trials, driver).check, want, "weir {driver:?}");
            assert_eq!(weir_fused(trials, driver).check, want, "fused {driver:?}");
            assert_eq!(tokio_flume(trials, driver).check, want, "flume {driver:?}");
            assert_eq!(hand_loop(trials, driver).check, want, "loop {driver:?}");
        }
    }
}
