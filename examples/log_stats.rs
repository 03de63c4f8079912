//! The `log_pipeline` example's logic: a log file read on a blocking
//! thread, parsed, filtered, scored on a pool of CPU workers and
//! aggregated — with a drain context, so that Ctrl-C (or any cancel) stops
//! reading and returns what was aggregated so far.
//!
//! ```text
//! read (blocking thread) ─▶ parse ─▶ not DEBUG ═▶ score (CPU pool) ═▶ fold into a Summary
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Metrics, Pipeline};

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Chatter, filtered out.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}

/// One parsed line: `<timestamp> <LEVEL> <service> <latency>ms <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its level.
    pub level: Level,
    /// The service that wrote it.
    pub service: String,
    /// The request latency it reports, in milliseconds.
    pub latency_ms: u32,
    /// The rest of the line.
    pub message: String,
}

/// Parses one line; `None` for a line that is not a log entry.
///
/// ```
/// use weir_examples::log_stats::{parse_line, Level};
///
/// let e = parse_line("2026-12-03T10:00:00Z WARN api 120ms slow upstream").unwrap();
/// assert_eq!((e.level, e.service.as_str(), e.latency_ms), (Level::Warn, "api", 120));
/// assert!(parse_line("garbage").is_none());
/// ```
pub fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.splitn(5, ' ');
    let _timestamp = fields.next()?;
    let level = match fields.next()? {
        "DEBUG" => Level::Debug,
        "INFO" => Level::Info,
        "WARN" => Level::Warn,
        "ERROR" => Level::Error,
        _ => return None,
    };
    let service = fields.next()?.to_string();
    let latency_ms = fields.next()?.strip_suffix("ms")?.parse().ok()?;
    let message = fields.next().unwrap_or("").to_string();
    Some(Entry {
        level,
        service,
        latency_ms,
        message,
    })
}

/// The CPU work done on the pool: a checksum of the message, hashed
/// `rounds` times (stands for real work: a regex, a JSON decode, …).
pub fn score(entry: &Entry, rounds: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..rounds {
        for b in entry.message.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What the pipeline aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries aggregated.
    pub entries: u64,
    /// Entries per level.
    pub by_level: BTreeMap<String, u64>,
    /// Entries and total latency per service.
    pub by_service: BTreeMap<String, (u64, u64)>,
    /// The largest latency seen.
    pub max_latency_ms: u32,
    /// XOR of the scores (the CPU work's result, order-free).
    pub checksum: u64,
}

impl Summary {
    fn add(mut self, (entry, score): (Entry, u64)) -> Summary {
        self.entries += 1;
        *self
            .by_level
            .entry(format!("{:?}", entry.level))
            .or_default() += 1;
        let service = self.by_service.entry(entry.service).or_default();
        service.0 += 1;
        service.1 += u64::from(entry.latency_ms);
        self.max_latency_ms = self.max_latency_ms.max(entry.latency_ms);
        self.checksum ^= score;
        self
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} entries (DEBUG filtered out)", self.entries)?;
        for (level, n) in &self.by_level {
            writeln!(f, "  {level:<6} {n}")?;
        }
        for (service, (n, total)) in &self.by_service {
            writeln!(
                f,
                "  {service:<8} {n:>8} entries, mean latency {} ms",
                total / n
            )?;
        }
        write!(
            f,
            "  max latency {} ms, checksum {:016x}",
            self.max_latency_ms, self.checksum
        )
    }
}

/// What a run returns: the summary, and whether a drain cut it short.
#[derive(Debug)]
pub struct Report {
    /// What was aggregated.
    pub summary: Summary,
    /// The drain context ended the run before the file was read to its end.
    pub cut_short: bool,
    /// Lines the reader sent into the pipeline.
    pub lines_read: u64,
    /// The pipeline's metrics at the end.
    pub metrics: Metrics,
}

const SERVICES: [&str; 4] = ["api", "auth", "billing", "search"];
const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];

/// Writes a log of `lines` lines to `path`: every 10th line is not an
/// entry, levels and services cycle, latencies vary.
///
/// # Errors
///
/// The file could not be written.
pub fn write_sample_log(path: &Path, lines: u64) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for i in 0..lines {
        if i % 10 == 9 {
            writeln!(out, "-- rotated --")?;
            continue;
        }
        let level = LEVELS[(i % 7 % 4) as usize];
        let service = SERVICES[(i % 4) as usize];
        let latency = (i * 37) % 500;
        writeln!(
            out,
            "2026-12-03T10:{:02}:{:02}Z {level} {service} {latency}ms request {i} served",
            i / 60 % 60,
            i % 60
        )?;
    }
    out.flush()
}

/// The settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Workers in the CPU pool.
    pub workers: usize,
    /// Hash rounds per entry on the pool.
    pub rounds: u32,
    /// How often `progress` is called.
    pub progress_every: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            rounds: 64,
            progress_every: Duration::from_millis(500),
        }
    }
}

/// Runs the pipeline over `file`. When `drain` ends (Ctrl-C in the
/// example), reading stops, what is in flight drains, and the partial
/// summary is returned with `cut_short` set. `progress` gets the metrics
/// every `settings.progress_every`.
///
/// # Errors
///
/// A stage failed.
pub async fn run(
    file: File,
    drain: &Context,
    settings: &Settings,
    mut progress: impl FnMut(&Metrics) + Send + 'static,
) -> Result<Report, weir::Error> {
    // The reader is a blocking thread: `BufRead::lines` blocks on the
    // disk, so it runs off the runtime and hands lines over a channel.
    let (tx, rx) = chan::bounded::<String>(1024);
    let reader = tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            if tx.send_blocking(line).is_err() {
                break; // the pipeline stopped reading
            }
            sent += 1;
        }
        sent
    });

    let p = Pipeline::new(&Context::background()).drain_on(drain);
    let rounds = settings.rounds;
    let run = p
        .from_receiver(rx)
        .named("read")
        .filter_map(|line: String| parse_line(&line))
        .named("parse")
        .filter(|e| e.level != Level::Debug)
        .named("not debug")
        .worker_pool(settings.workers, move |entry: Entry| async move {
            let s = score(&entry, rounds);
            Ok::<_, std::convert::Infallible>((entry, s))
        })
        .named("score")
        .fold(Summary::default(), Summary::add)
        .run();

    let watched = p.clone();
    let every = settings.progress_every;
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            progress(&watched.metrics());
        }
    });
    let summary = run.join().await;
    ticker.abort();
    let lines_read = reader.await.unwrap_or(0);
    Ok(Report {
        summary: summary?,
        cut_short: p.cut_short(),
        lines_read,
        metrics: p.metrics(),
    })
}

/// One progress line from the metrics: lines read, entries aggregated.
pub fn progress_line(m: &Metrics) -> String {
    let count = |name: &str| {
        m.stages
            .iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.items_out)
    };
    format!(
        "read {:>9} lines, parsed {:>9}, scored {:>9}",
        count("read"),
        count("parse"),
        count("score")
    )
}
