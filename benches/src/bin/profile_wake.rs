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
//!   workers park on a condvar, not in `epoll_wait`);
//! * `… mt-spawn`: the multi-thread runtime with the driver (the loop that
//!   idles, cancels or sends, and waits) in one spawned task, as Go's main
//!   goroutine (`compare`'s "driver in a spawned task" rows).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use weir_benches::work::percentiles;
use weir_benches::workloads::driver::Driver;
use weir_benches::workloads::{cancel, latency};

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
    print_percentiles(what, p50, p99);
}

fn print_percentiles(what: &str, p50: Duration, p99: Duration) {
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

fn main() {
    let trials: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    report("thread wake", &mut thread_wake(trials));
    // Workloads 5 and 7, exactly as `compare` runs them, on each runtime.
    for (name, flavor) in [
        ("mt", Flavor::Mt),
        ("mt-noio", Flavor::MtNoIo),
        ("ct", Flavor::Ct),
    ] {
        let out = cancel::weir_on(&rt(flavor), trials, 128, Driver::BlockOn);
        print_percentiles(&format!("cancel {name}"), out.p50, out.p99);
    }
    let out = cancel::weir_on(&rt(Flavor::Mt), trials, 128, Driver::Spawned);
    print_percentiles("cancel mt-spawn", out.p50, out.p99);
    for (name, flavor) in [
        ("mt", Flavor::Mt),
        ("mt-noio", Flavor::MtNoIo),
        ("ct", Flavor::Ct),
    ] {
        let out = latency::weir_on(&rt(flavor), trials, Driver::BlockOn);
        print_percentiles(&format!("latency {name}"), out.p50, out.p99);
    }
    let out = latency::weir_on(&rt(Flavor::Mt), trials, Driver::Spawned);
    print_percentiles("latency mt-spawn", out.p50, out.p99);
}
