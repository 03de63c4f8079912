//! Randomized stress: 10,000 small pipelines, each with a random fault — a
//! panic, an error or a cancel inside a random stage, or a cancel or a
//! dropped pipeline at a random moment from outside — all on one
//! multi-thread runtime, each checked against every promise
//! (`support::check`) and each under a watchdog, so a hang fails the test
//! (naming the trial) instead of stalling CI.
//!
//! Reproducible: trial `i` is generated from `seed + i` alone. The seed is
//! fixed unless `WEIR_STRESS_SEED` is set; a failure prints the seed and
//! trial, and `WEIR_STRESS_TRIAL=i` reruns just that one. The run also
//! stops by itself after a time budget (`WEIR_STRESS_BUDGET_SECS`,
//! default 60), saying how many trials it got through.
//!
//! All 10,000 trials run with `WEIR_LONG_TESTS=1` (as `.ci/run` sets it);
//! plain `cargo test` runs the first 300, a quick check of the same code.

use crate::support;

use std::time::{Duration, Instant};

use support::{Action, Fault, Middle, Op, Site, Spec};

const TRIALS: u64 = 10_000;
/// The trials run without `WEIR_LONG_TESTS=1`.
const QUICK_TRIALS: u64 = 300;
const DEFAULT_SEED: u64 = 0x5EED_F00D;

/// SplitMix64: a tiny, well-mixed generator, enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn usize(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

fn op(rng: &mut Rng) -> Op {
    match rng.below(4) {
        0 => Op::Map(rng.below(100)),
        1 => Op::Filter(2 + rng.below(4)),
        2 => Op::TryMap(rng.below(100)),
        _ => Op::Inspect,
    }
}

fn spec(rng: &mut Rng) -> Spec {
    let before = (0..rng.usize(3)).map(|_| op(rng)).collect();
    let after = (0..rng.usize(3)).map(|_| op(rng)).collect();
    let n = 1 + rng.usize(4);
    let middle = match rng.below(6) {
        0 => Middle::None,
        1 => Middle::WorkerPool(n),
        2 => Middle::MapConcurrent(n),
        3 => Middle::FanOut(n),
        4 => Middle::Balance(n),
        _ => Middle::Partition(n),
    };
    let site = match rng.below(5) {
        0 => Site::Source,
        1 => Site::Before(rng.usize(4)),
        2 => Site::Middle,
        3 => Site::After(rng.usize(4)),
        _ => Site::Sink,
    };
    let action = match rng.below(5) {
        0 => Action::Panic,
        1 => Action::Error,
        2 => Action::Cancel,
        3 => Action::CancelFromOutside,
        _ => Action::DropHandle,
    };
    let fault = Fault {
        site,
        action,
        at: rng.usize(120),
    };
    Spec {
        input: rng.below(200),
        capacity: rng.usize(5),
        before,
        middle,
        after,
        fault: Some(fault).filter(|_| rng.below(10) != 0),
    }
    .normalized()
}

fn env(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

#[test]
fn ten_thousand_random_faults_never_hang_leak_or_lose_an_item() {
    support::quiet_injected_panics();
    let seed = env("WEIR_STRESS_SEED").unwrap_or(DEFAULT_SEED);
    let long = std::env::var_os("WEIR_LONG_TESTS").is_some_and(|v| v != "0");
    let trials = match env("WEIR_STRESS_TRIAL") {
        Some(only) => only..only + 1,
        None if long => 0..TRIALS,
        None => {
            eprintln!("stress: the first {QUICK_TRIALS} trials (WEIR_LONG_TESTS=1 runs {TRIALS})");
            0..QUICK_TRIALS
        }
    };
    let budget = Duration::from_secs(env("WEIR_STRESS_BUDGET_SECS").unwrap_or(60));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut done = 0;
    for trial in trials {
        if started.elapsed() > budget {
            eprintln!("stress: time budget of {budget:?} used after {done} trials (seed {seed})");
            break;
        }
        let spec = spec(&mut Rng(seed.wrapping_add(trial)));
        let out = runtime.block_on(support::run(&spec, Duration::from_secs(20)));
        if let Err(broken) = support::check(&spec, &out) {
            panic!("stress trial {trial} (WEIR_STRESS_SEED={seed} WEIR_STRESS_TRIAL={trial}): {broken}");
        }
        done += 1;
    }
    eprintln!(
        "stress: {done} trials in {:?} (seed {seed})",
        started.elapsed()
    );
}
