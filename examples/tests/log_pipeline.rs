//! The `log_pipeline` example's logic (`log_stats`): a real file read on a
//! blocking thread, parse → filter → CPU pool → aggregate, progress, and a
//! drain that returns a partial summary instead of an error.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir::cancel::Context;
use weir_examples::log_stats::{self, parse_line, score, Level, Settings, Summary};

/// A sample log in the temporary directory, removed when dropped.
struct SampleLog(PathBuf);

impl SampleLog {
    fn new(name: &str, lines: u64) -> SampleLog {
        let path = std::env::temp_dir().join(format!("weir-{name}-{}.log", std::process::id()));
        log_stats::write_sample_log(&path, lines).unwrap();
        SampleLog(path)
    }

    fn open(&self) -> File {
        File::open(&self.0).unwrap()
    }

    /// The summary computed without a pipeline.
    fn expected(&self, rounds: u32) -> Summary {
        let text = std::fs::read_to_string(&self.0).unwrap();
        let mut s = Summary::default();
        for entry in text
            .lines()
            .filter_map(parse_line)
            .filter(|e| e.level != Level::Debug)
        {
            s.entries += 1;
            *s.by_level.entry(format!("{:?}", entry.level)).or_default() += 1;
            let service = s.by_service.entry(entry.service.clone()).or_default();
            service.0 += 1;
            service.1 += u64::from(entry.latency_ms);
            s.max_latency_ms = s.max_latency_ms.max(entry.latency_ms);
            s.checksum ^= score(&entry, rounds);
        }
        s
    }
}

impl Drop for SampleLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn settings() -> Settings {
    Settings {
        workers: 3,
        rounds: 2,
        progress_every: Duration::from_millis(1),
    }
}

#[test]
fn lines_parse_and_junk_does_not() {
    let e = parse_line("2026-12-03T10:00:01Z ERROR billing 42ms card declined").unwrap();
    assert_eq!(
        (e.level, e.service.as_str(), e.latency_ms),
        (Level::Error, "billing", 42)
    );
    assert_eq!(e.message, "card declined");
    assert!(parse_line("-- rotated --").is_none());
    assert!(parse_line("2026-12-03T10:00:01Z TRACE api 1ms x").is_none());
    assert!(parse_line("2026-12-03T10:00:01Z INFO api fast x").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_file_is_aggregated_as_a_plain_loop_would() {
    let log = SampleLog::new("whole", 20_000);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let report = log_stats::run(log.open(), &Context::background(), &settings(), move |m| {
        seen.lock().unwrap().push(log_stats::progress_line(m));
    })
    .await
    .unwrap();
    assert!(!report.cut_short);
    assert_eq!(report.lines_read, 20_000);
    assert_eq!(report.summary, log.expected(2));
    assert!(!report.summary.by_level.contains_key("Debug"));
    let score = report
        .metrics
        .stages
        .iter()
        .find(|s| s.name == "score")
        .unwrap();
    assert_eq!(
        (score.kind, score.items_out),
        ("worker_pool", report.summary.entries)
    );
    // Progress lines name the counts (how many depends on the machine).
    assert!(progress
        .lock()
        .unwrap()
        .iter()
        .all(|l| l.starts_with("read ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_returns_the_partial_summary_not_an_error() {
    let log = SampleLog::new("drain", 200_000);
    // Cancelled before the run: as if Ctrl-C came at once.
    let (drain, stop) = Context::background().with_cancel();
    stop.cancel();
    let report = log_stats::run(log.open(), &drain, &settings(), |_| {})
        .await
        .unwrap();
    assert!(report.cut_short);
    let full = log.expected(2);
    assert!(report.summary.entries < full.entries);
    // What was aggregated is consistent: the per-level counts add up.
    let by_level: u64 = report.summary.by_level.values().sum();
    assert_eq!(by_level, report.summary.entries);
    assert!(report.lines_read < 200_000);
}
