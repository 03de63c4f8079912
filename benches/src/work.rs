//! The work functions and helpers shared by every Rust implementation (and
//! mirrored exactly by `benches/go/main.go`).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Capacity of every buffered channel in the workloads (Go's buffered
/// variant, tokio + flume, weir-core).
pub const CAP: usize = 1024;

/// Multiplier of the mixing step in [`spin`] (splitmix64's first one).
pub const SPIN_MUL: u64 = 0xbf58_476d_1ce4_e5b9;

/// The CPU work of one job: `k` rounds of `x = (x ^ (x >> 31)) * M + 1`, a
/// dependent, non-linear chain (xor-shift then multiply) that no compiler
/// can vectorise, reassociate or fold — a plain LCG is not safe here: LLVM
/// unrolls it and folds eight steps into one multiply-add, Go does not.
/// Go's `spin` in `benches/go/main.go` is the same function; both sides get
/// the same `k`.
#[inline]
pub fn spin(x: u64, k: u32) -> u64 {
    let mut x = x;
    for _ in 0..k {
        x = (x ^ (x >> 31)).wrapping_mul(SPIN_MUL).wrapping_add(1);
    }
    x
}

/// The seed's `square` stage on `u64`, wrapping like Go's `int`.
#[inline]
pub fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// Peak resident set size of this process in kB (`VmHWM` in
/// `/proc/self/status`), or 0 where that file does not exist.
pub fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Voluntary context switches of this whole process so far: the sum of
/// `voluntary_ctxt_switches` over every thread in `/proc/self/task/*/status`
/// (0 where those files do not exist).
///
/// This is `ru_nvcsw` of `getrusage(RUSAGE_SELF)` minus what threads that
/// already ended made; calling `getrusage` would need `unsafe`, which the
/// workspace forbids. Take the difference of two calls made while the same
/// threads are alive (a runtime's workers live as long as the runtime).
pub fn voluntary_csw() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// The 50th and 99th percentiles of `samples` (nearest rank, as in Go).
pub fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    samples.sort_unstable();
    let idx = |p: f64| {
        let i = (p * samples.len() as f64 + 0.5) as usize;
        i.saturating_sub(1).min(samples.len() - 1)
    };
    (samples[idx(0.50)], samples[idx(0.99)])
}

/// The runtime every async implementation runs on: tokio's multi-thread
/// runtime with its defaults (one worker per core), as `#[tokio::main]`
/// builds it.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

/// Sleeps the calling (non-runtime) thread for about `d`, yielding the core.
pub fn pause(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::thread::sleep(Duration::from_micros(5));
    }
}

/// Sum of `square(i)` for `i` in `1..=n`, wrapping: the expected checksum
/// of the pipeline and fan-out/fan-in workloads.
pub fn sum_of_squares(n: u64) -> u64 {
    (1..=black_box(n)).fold(0u64, |acc, i| acc.wrapping_add(square(i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_matches_go() {
        // The same step as Go's spin.
        let step = |x: u64| (x ^ (x >> 31)).wrapping_mul(SPIN_MUL).wrapping_add(1);
        assert_eq!(spin(3, 2), step(step(3)));
        assert_eq!(spin(3, 1), 3u64.wrapping_mul(SPIN_MUL) + 1);
        assert_eq!(spin(9, 0), 9);
    }

    /// One try: a thread that sleeps 5 times while it is alive between two
    /// readings. Returns (before, after).
    fn sleeping_thread_between_readings() -> (u64, u64) {
        let before = voluntary_csw();
        // A thread that sleeps switches out voluntarily; its switches count
        // while it is alive (it is joined only after the second reading).
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (counted_tx, counted_rx) = std::sync::mpsc::channel::<u64>();
        let t = std::thread::spawn(move || {
            for _ in 0..5 {
                std::thread::sleep(Duration::from_millis(1));
            }
            done_tx.send(()).unwrap();
            counted_rx.recv().unwrap()
        });
        done_rx.recv().unwrap();
        let after = voluntary_csw();
        counted_tx.send(after).unwrap();
        t.join().unwrap();
        (before, after)
    }

    #[test]
    fn voluntary_csw_counts_every_thread() {
        if !std::path::Path::new("/proc/self/task").exists() {
            return; // not Linux: nothing to count
        }
        // Other tests run in this process at the same time, and a thread of
        // theirs that ends between the two readings takes its switches out
        // of the sum: so a try may come out short, but not ten in a row
        // unless the sleeping thread's switches are not counted.
        let tries: Vec<(u64, u64)> = (0..10)
            .map(|_| sleeping_thread_between_readings())
            .take_while(|&(before, after)| after < before + 5)
            .collect();
        assert!(tries.len() < 10, "never counted 5 switches: {tries:?}");
    }

    #[test]
    fn percentiles_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_nanos).collect();
        assert_eq!(
            percentiles(&mut v),
            (Duration::from_nanos(50), Duration::from_nanos(99))
        );
    }
}
