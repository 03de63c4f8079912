//! Telemetry that must not block: an access log of a million lines from a
//! feed that drops its connection (restarted with a backoff), parsed,
//! looked up with a per-item timeout, counted per path per minute, and
//! shipped to a slow sink behind a buffer that drops the oldest lines —
//! then the metrics table and the graph.
//!
//! ```text
//! telemetry [LINES]
//! ```
//!
//! The logic is in `access_log.rs`, tested by `tests/telemetry.rs`.
//! Run with `cargo run --release -p weir-examples --example telemetry`.

use std::process::ExitCode;
use std::sync::Arc;

use weir_examples::access_log::{self, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: telemetry [LINES]: {e}");
            return ExitCode::from(2);
        }
    };
    let lines: Arc<Vec<String>> =
        Arc::new((0..n).map(|i| access_log::sample_line(i, 10_000)).collect());
    println!("generated an access log of {n} lines (one lookup in 10,000 hangs for 200 ms)");
    let settings = Settings {
        drop_at: Some(n * 3 / 10),
        ..Settings::default()
    };
    let started = std::time::Instant::now();
    let report = match access_log::run(lines, &settings).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("telemetry failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("done in {:.2?}\n", started.elapsed());
    print!("{}", report.table());
    println!(
        "\ncounted {} requests; shipped {} of {n} lines (the rest dropped by the buffer)\n",
        report.counted(),
        report.shipped
    );
    println!("{}\n", report.metrics);
    println!("{}", report.mermaid);
    ExitCode::SUCCESS
}
