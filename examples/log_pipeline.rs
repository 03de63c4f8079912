//! A log pipeline over a real file: read on a blocking thread, parsed,
//! DEBUG filtered out, scored on a pool of CPU workers, aggregated — with
//! progress lines, and Ctrl-C draining gracefully: reading stops, what is
//! in flight is aggregated, and the partial summary is printed.
//!
//! ```text
//! read (blocking thread) ─▶ parse ─▶ not DEBUG ═▶ score (CPU pool) ═▶ aggregate
//! ```
//!
//! ```text
//! log_pipeline [FILE]
//! ```
//!
//! Without `FILE`, it writes a sample log of two million lines to the
//! temporary directory first (and removes it at the end). The logic is in
//! `log_stats.rs`, tested by `tests/log_pipeline.rs`.
//!
//! Run with `cargo run --release -p weir-examples --example log_pipeline`.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use weir::cancel::Context;
use weir_examples::log_stats::{self, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let (path, generated) = match std::env::args_os().nth(1) {
        Some(path) => (PathBuf::from(path), false),
        None => {
            let path = std::env::temp_dir().join(format!("weir-log-{}.log", std::process::id()));
            if let Err(e) = log_stats::write_sample_log(&path, 2_000_000) {
                eprintln!("writing {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote a sample log to {}", path.display());
            (path, true)
        }
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("opening {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };

    // Ctrl-C ends the drain context: the pipeline stops reading and
    // aggregates what is already in flight.
    let (drain, stop) = Context::background().with_cancel();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: draining what is in flight…");
            stop.cancel();
        }
    });

    let settings = Settings::default();
    println!(
        "scoring on {} workers; Ctrl-C to stop early",
        settings.workers
    );
    let report = log_stats::run(file, &drain, &settings, |m| {
        println!("{}", log_stats::progress_line(m));
    })
    .await;
    if generated {
        let _ = std::fs::remove_file(&path);
    }
    match report {
        Ok(report) => {
            let what = if report.cut_short {
                "partial result"
            } else {
                "result"
            };
            println!(
                "\n{what} ({} lines read):\n{}",
                report.lines_read, report.summary
            );
            println!("\n{}", report.metrics);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
