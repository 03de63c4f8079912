//! `profile_wake`: where the wall-clock time of the cancellation and idle
//! latency workloads goes, when it is not instructions.
//!
//! ```text
//! cargo run --release -p weir-benches --bin profile_wake -- [trials]
//! ```
//!
//! Prints p50 / p99 of:
//! * `thread wake`: one idle OS thread woken by another (`Thread::unpark`),
//!   and back: half the round trip, after the same ~500 µs idle as the
//!   latency workload — the floor of any cross-thread hand-off here;
//! * `cancel mt` / `cancel ct`: workload 5 (10 stages, full buffers of
//!   128, cancel, wait for every task) on the multi-thread runtime, as
//!   measured by `compare`, and on a current-thread runtime (no thread
//!   wake-ups at all: the same channel and cancel work, scheduling only);
//! * `latency mt` / `latency ct`: workload 7 (one item through an idle
//!   3-stage batched pipeline) on both runtimes;
//! * `… mt-noio`: the multi-thread runtime without the I/O driver (idle
//!   workers park on a condvar, not in `epoll_wait`).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use weir_benches::work::{pause, percentiles};
use weir_core::{chan, WaitGroup};

const STAGES: usize = 10;
const IDLE: Duration = Duration::from_micros(500);

/// Which runtime: `Ct` current-thread; `Mt` multi-thread with every driver
/// (`compare`'s runtime); `MtNoIo` multi-thread without the I/O driver, so
/// an idle worker parks on a condvar instead of in `epoll_wait`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Ct,
    Mt,
    MtNoIo,
}

fn rt(flavor: Flavor) -> tokio::runtime::Runtime {
    match flavor {
        Flavor::Ct => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Flavor::Mt => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        Flavor::MtNoIo => tokio::runtime::Builder::new_multi_thread()
            .enable_time()
            .build(),
    }
    .expect("runtime")
}

fn report(what: &str, samples: &mut [Duration]) {
    let (p50, p99) = percentiles(samples);
    println!(
        "{what:<16} p50 {:>7.1} µs  p99 {:>7.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

/// Half the round trip of unpark → unpark-back between two idle threads.
fn thread_wake(trials: usize) -> Vec<Duration> {
    let main = std::thread::current();
    let (tx, rx) = mpsc::channel::<std::thread::Thread>();
    let worker = std::thread::spawn(move || {
        tx.send(std::thread::current()).expect("main alive");
        for _ in 0..trials {
            std::thread::park();
            main.unpark();
        }
    });
    let w = rx.recv().expect("worker thread");
    let mut samples = Vec::with_capacity(trials);
    for _ in 0..trials {
        std::thread::sleep(IDLE);
        let t = Instant::now();
        w.unpark();
        std::thread::park();
        samples.push(t.elapsed() / 2);
    }
    worker.join().expect("worker");
    samples
}

/// Workload 5 (`benches/src/workloads/cancel.rs`, weir side) on either runtime.
fn cancel(trials: usize, flavor: Flavor) -> Vec<Duration> {
    let ct = flavor == Flavor::Ct;
    let rt = rt(flavor);
    let _enter = rt.enter();
    let mut samples = Vec::with_capacity(trials);
    for _ in 0..trials {
        let (token, handle) = weir::cancel::Context::background().with_cancel();
        let wg = WaitGroup::new();
        let (chans_tx, chans_rx): (Vec<_>, Vec<_>) =
            (0..STAGES).map(|_| chan::bounded::<u64>(128)).unzip();
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
        if ct {
            // Nothing runs unless this thread drives the runtime.
            rt.block_on(async {
                while !chans_tx.iter().all(|tx| tx.is_full()) {
                    tokio::task::yield_now().await;
                }
            });
        } else {
            while !chans_tx.iter().all(|tx| tx.is_full()) {
                pause(Duration::from_micros(10));
            }
            pause(Duration::from_micros(100));
        }
        let t0 = Instant::now();
        handle.cancel();
        rt.block_on(wg.wait()).expect("stage tasks");
        samples.push(t0.elapsed());
    }
    samples
}

/// Workload 7 (`benches/src/workloads/latency.rs`, weir side) on either runtime.
fn latency(trials: usize, flavor: Flavor) -> Vec<Duration> {
    let rt = rt(flavor);
    let _enter = rt.enter();
    let wg = WaitGroup::new();
    let (input, mut rx) = chan::bounded::<u64>(1024);
    for _ in 0..3 {
        let (tx, next) = chan::bounded::<u64>(1024);
        wg.go(async move {
            let mut buf = Vec::with_capacity(512);
            while rx.recv_many(&mut buf, 512).await > 0 {
                let out: Vec<u64> = buf.drain(..).map(|v| v + 1).collect();
                if tx.send_all(out).await.is_err() {
                    return;
                }
            }
        });
        rx = next;
    }
    let output = rx;
    let mut samples = Vec::with_capacity(trials);
    for i in 0..trials as u64 {
        std::thread::sleep(IDLE);
        let t0 = Instant::now();
        let v = rt.block_on(async {
            input.send(i).await.expect("pipeline input");
            output.recv().await.expect("pipeline output")
        });
        samples.push(t0.elapsed());
        assert_eq!(v, i + 3);
    }
    drop(input);
    rt.block_on(wg.wait()).expect("stage tasks");
    samples
}

fn main() {
    let trials: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    report("thread wake", &mut thread_wake(trials));
    report("cancel mt", &mut cancel(trials, Flavor::Mt));
    report("cancel mt-noio", &mut cancel(trials, Flavor::MtNoIo));
    report("cancel ct", &mut cancel(trials, Flavor::Ct));
    report("latency mt", &mut latency(trials, Flavor::Mt));
    report("latency mt-noio", &mut latency(trials, Flavor::MtNoIo));
    report("latency ct", &mut latency(trials, Flavor::Ct));
}
