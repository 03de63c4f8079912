//! 10,000 simulated fetches, at most 50 in flight: transient errors (503,
//! timeouts) are retried with jittered exponential backoff, permanent ones
//! (404) and the fetches that ran out of attempts go to a dead-letter
//! channel, counted in the metrics; pages come out in input order; and a
//! deadline stops starting new fetches, lets the ones in flight finish,
//! and returns what finished.
//!
//! Order has a price: `map_concurrent` holds a finished page until every
//! page before it is out, so a fetch that retries holds back the ones
//! behind it and fewer than 50 are really in flight meanwhile (compare
//! `map_unordered`). The metrics table shows the retries and dead letters
//! of the `fetch` stage.
//!
//! ```text
//! fetcher [--deadline SECS]
//! ```
//!
//! The logic is in `fetch_sim.rs`, tested by `tests/fetcher.rs`.
//!
//! Run with `cargo run --release -p weir-examples --example fetcher -- --deadline 2`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_examples::fetch_sim::{self, Server, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let mut settings = Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (
            arg.as_str(),
            args.next().and_then(|v| v.parse::<f64>().ok()),
        ) {
            ("--deadline", Some(secs)) if secs > 0.0 => {
                settings.deadline = Some(Duration::from_secs_f64(secs));
            }
            _ => {
                eprintln!("usage: fetcher [--deadline SECS]");
                return ExitCode::from(2);
            }
        }
    }
    let server = Arc::new(Server::new(settings.fetches));
    let start = Instant::now();
    let report = match fetch_sim::run(&settings, server.clone()).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let in_order = report.pages.windows(2).all(|w| w[0].id < w[1].id);
    println!(
        "fetched {} of {} pages in {:.1?} (in input order: {in_order}), at most {} in flight",
        report.pages.len(),
        settings.fetches,
        start.elapsed(),
        server.peak_in_flight(),
    );
    if report.cut_short {
        println!("the deadline passed: these are the fetches that finished");
    }
    let not_found = report
        .dead
        .iter()
        .filter(|(_, e)| e.starts_with("404"))
        .count();
    println!(
        "dead letters: {} ({not_found} not found, {} out of attempts)",
        report.dead.len(),
        report.dead.len() - not_found
    );
    println!("\n{}", report.metrics);
    ExitCode::SUCCESS
}
