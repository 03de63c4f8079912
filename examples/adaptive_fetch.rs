//! The fetcher of `fetcher.rs` with no number to guess: `map_unordered`
//! under `Limit::adaptive()` against a simulated service whose capacity
//! changes while it runs (its knee `c*` steps 24 → 8 → 40). The stage
//! measures each fetch's latency and counts the service's "overloaded"
//! refusals, and moves its limit to follow the knee; a fixed limit would
//! have to be guessed once for all three phases.
//!
//! Prints the limit over time against the service's knee as a small text
//! plot, then the pipeline's metrics table (its `limit` column shows the
//! adaptive limit, `~`-marked).
//!
//! The service and the run live on tokio's paused clock (simulated time,
//! as in the tests): the service's 1 ms latency is exact, so the run is
//! the same on a loaded laptop and in CI, and six simulated seconds take
//! a few real ones.
//!
//! ```text
//! adaptive_fetch [--phase SECS]
//! ```
//!
//! Run with `cargo run --release -p weir-examples --example adaptive_fetch`
//! (three phases of 2 s by default).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{Backoff, BoxError, Limit, Policy};
use weir::testing::{block_on_paused, SimError, SimService};

/// The knee's steps: (phase, c*).
const KNEES: [usize; 3] = [24, 8, 40];

fn main() -> ExitCode {
    let mut phase = Duration::from_secs(2);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (
            arg.as_str(),
            args.next().and_then(|v| v.parse::<f64>().ok()),
        ) {
            ("--phase", Some(secs)) if secs > 0.0 && secs <= 60.0 => {
                phase = Duration::from_secs_f64(secs);
            }
            _ => {
                eprintln!("usage: adaptive_fetch [--phase SECS]");
                return ExitCode::from(2);
            }
        }
    }
    block_on_paused(run(phase))
}

/// The fetcher, three phases of `phase` each.
async fn run(phase: Duration) -> ExitCode {
    let service = SimService::builder(KNEES[0])
        .step(phase, KNEES[1])
        .step(phase * 2, KNEES[2])
        .build();
    let run_for = phase * 3;
    let start = Instant::now();
    let p = Pipeline::new(&Context::background());
    let overloaded = |e: &BoxError| {
        e.downcast_ref::<SimError>()
            .is_some_and(SimError::is_overload)
    };
    let fetch = {
        let service = service.clone();
        move |_id: u64| {
            let service = service.clone();
            async move { service.call().await }
        }
    };
    let fetched = p
        // ids for as long as the run lasts
        .source((0u64..).take_while(move |_| start.elapsed() < run_for))
        .retry(
            3,
            Backoff::exponential(Duration::from_millis(1)).max(Duration::from_millis(20)),
        )
        .retry_if(overloaded)
        .overload(overloaded)
        .on_error(Policy::skip())
        .map_unordered(Limit::adaptive().min(1).max(128).initial(4), fetch)
        .named("fetch")
        .count()
        .run();

    // The limit over time, next to the service's knee.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let watcher = {
        let (p, samples, service) = (p.clone(), samples.clone(), service.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(phase / 8).await;
                let limit = p
                    .metrics()
                    .stages
                    .iter()
                    .find(|s| s.name == "fetch")
                    .and_then(|s| s.concurrency_limit);
                if let Some(limit) = limit {
                    let at = start.elapsed();
                    samples.lock().unwrap().push((at, service.knee(), limit));
                }
            }
        })
    };
    let fetches = match fetched.join().await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    watcher.abort();
    let elapsed = start.elapsed();
    println!(
        "{fetches} fetches in {elapsed:.1?} of simulated time ({:.0}/s), the knee stepping {KNEES:?} every {phase:?}\n",
        fetches as f64 / elapsed.as_secs_f64()
    );
    println!("{:>6} {:>4} {:>5}  limit (#), knee (|)", "t", "c*", "limit");
    for (at, knee, limit) in samples.lock().unwrap().iter() {
        println!(
            "{:>5.2}s {knee:>4} {limit:>5}  {}",
            at.as_secs_f64(),
            bar(*limit, *knee)
        );
    }
    println!("\n{}", p.metrics());
    ExitCode::SUCCESS
}

/// `limit` as a bar of `#`, with the knee marked `|` (one column each, up
/// to 64).
fn bar(limit: usize, knee: usize) -> String {
    let width = limit.max(knee).min(64);
    (1..=width)
        .map(|i| match (i == knee, i <= limit) {
            (true, _) => '|',
            (false, true) => '#',
            (false, false) => ' ',
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}
