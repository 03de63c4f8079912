//! The `telemetry` example's logic: an access log tailed from a feed that
//! drops its connection, parsed, looked up with a per-item timeout,
//! counted per path per minute, and shipped to a slow sink behind a buffer
//! that drops the oldest lines rather than hold the feed up.
//!
//! ```text
//!                                ┌▶ geo lookup (unordered, timeout, skip) ─▶ per path per minute ─▶ collect
//! tail (restarted) ─▶ parse ─▶ broadcast
//!                                └▶ ship buffer (drop oldest) ─▶ ship (stalls) ─▶ count
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream;
use weir::cancel::Context;
use weir::pipeline::{Metrics, Pipeline};
use weir::stage::{Backoff, Overflow, Policy, Restart, Tumbling};

/// The paths the sample log is made of.
pub const PATHS: [&str; 8] = [
    "/",
    "/login",
    "/search",
    "/cart",
    "/checkout",
    "/api/items",
    "/api/user",
    "/static/app.js",
];

/// One request of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The path asked for.
    pub path: String,
    /// The HTTP status answered.
    pub status: u16,
    /// How long the client's address takes to look up, in milliseconds
    /// (the sample log's way of making some lookups hang).
    pub lookup_ms: u64,
}

/// Line `i` of a deterministic sample access log: one line in
/// `slow_every` has a lookup that takes 200 ms.
///
/// ```
/// use weir_examples::access_log::{parse_line, sample_line};
///
/// let hit = parse_line(&sample_line(3, 1000)).unwrap();
/// assert_eq!((hit.path.as_str(), hit.status, hit.lookup_ms), ("/cart", 200, 0));
/// assert_eq!(parse_line(&sample_line(1000, 1000)).unwrap().lookup_ms, 200);
/// ```
pub fn sample_line(i: usize, slow_every: usize) -> String {
    let path = PATHS[i % PATHS.len()];
    let status = if i % 97 == 0 { 500 } else { 200 };
    let lookup = if slow_every > 0 && i > 0 && i % slow_every == 0 {
        200
    } else {
        0
    };
    format!(
        "10.0.{}.{} - - [07/Dec/2026:10:00:00 +0000] \"GET {path} HTTP/1.1\" {status} 512 lookup={lookup}",
        (i / 256) % 256,
        i % 256
    )
}

/// Parses one access-log line; `None` for a line that is not one.
///
/// ```
/// use weir_examples::access_log::parse_line;
///
/// let hit = parse_line(r#"10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /cart HTTP/1.1" 404 0 lookup=5"#).unwrap();
/// assert_eq!((hit.path.as_str(), hit.status, hit.lookup_ms), ("/cart", 404, 5));
/// assert!(parse_line("garbage").is_none());
/// ```
pub fn parse_line(line: &str) -> Option<Hit> {
    let (_, request) = line.split_once('"')?;
    let (request, rest) = request.split_once('"')?;
    let path = request.split(' ').nth(1)?;
    let mut fields = rest.split_whitespace();
    let status = fields.next()?.parse().ok()?;
    let _bytes = fields.next()?;
    let lookup_ms = fields.next()?.strip_prefix("lookup=")?.parse().ok()?;
    Some(Hit {
        path: path.to_string(),
        status,
        lookup_ms,
    })
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The feed drops its connection once, before this line.
    pub drop_at: Option<usize>,
    /// A lookup slower than this is skipped.
    pub timeout: Duration,
    /// The counting windows.
    pub window: Duration,
    /// The shipping buffer's size.
    pub buffer: usize,
    /// How long the sink stalls after every 1,000 lines it ships.
    pub ship_delay: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            drop_at: Some(300_000),
            timeout: Duration::from_millis(50),
            window: Duration::from_secs(60),
            buffer: 8_192,
            ship_delay: Duration::from_millis(5),
        }
    }
}

/// What a run found.
#[derive(Debug)]
pub struct Report {
    /// Per window (its length from the run's start): requests per path.
    pub windows: Vec<(Duration, BTreeMap<String, u64>)>,
    /// Lines the slow sink shipped.
    pub shipped: u64,
    /// The pipeline's metrics at the end.
    pub metrics: Metrics,
    /// The pipeline's graph, as Mermaid.
    pub mermaid: String,
}

impl Report {
    /// Requests counted in all windows.
    ///
    /// ```
    /// # use weir_examples::access_log::Report;
    /// # let _ = Report::counted;
    /// ```
    pub fn counted(&self) -> u64 {
        self.windows.iter().flat_map(|(_, m)| m.values()).sum()
    }

    /// The counts, one line per window.
    ///
    /// ```
    /// # use weir_examples::access_log::Report;
    /// # let _ = Report::table;
    /// ```
    pub fn table(&self) -> String {
        let mut out = String::new();
        for (i, (len, paths)) in self.windows.iter().enumerate() {
            let _ = write!(out, "window {i} ({len:.1?}):");
            for (path, n) in paths {
                let _ = write!(out, " {path}={n}");
            }
            out.push('\n');
        }
        out
    }
}

/// Runs the pipeline over `lines`.
///
/// # Errors
///
/// The pipeline's error: the feed failing more often than its restart
/// limit allows, or a stage failing.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use weir_examples::access_log::{run, sample_line, Settings};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let lines: Arc<Vec<String>> = Arc::new((0..2_000).map(|i| sample_line(i, 500)).collect());
/// let settings = Settings { drop_at: Some(700), ..Settings::default() };
/// let report = run(lines, &settings).await.unwrap();
/// // Every line counted once, but the three slow lookups (500, 1000, 1500).
/// assert_eq!(report.counted(), 1_997);
/// # }
/// ```
pub async fn run(lines: Arc<Vec<String>>, settings: &Settings) -> Result<Report, weir::Error> {
    let p = Pipeline::new(&Context::background());
    let started = tokio::time::Instant::now();

    // The feed: a stream of the log from where the last one stopped; the
    // first connection drops at `drop_at`.
    let next = Arc::new(AtomicUsize::new(0));
    let mut attempt = 0;
    let drop_at = settings.drop_at;
    let tail = p
        .restart_source(
            move || {
                attempt += 1;
                let fail_at = if attempt == 1 { drop_at } else { None };
                let (lines, next) = (lines.clone(), next.clone());
                let from = next.load(Ordering::Relaxed);
                stream::iter((from..lines.len()).map(move |i| {
                    if Some(i) == fail_at {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            "feed dropped",
                        ));
                    }
                    next.store(i + 1, Ordering::Relaxed);
                    Ok(lines[i].clone())
                }))
            },
            Restart::from(Backoff::exponential(Duration::from_millis(20)).jitter(0.2)),
        )
        .named("tail");
    let hits = tail.filter_map(|line| parse_line(&line)).named("parse");
    let [counted, shipped] = hits.broadcast();

    // Counting: a lookup that hangs is skipped, not waited for.
    let windows = counted
        .timeout(settings.timeout)
        .on_error(Policy::skip())
        .map_unordered(64, |hit: Hit| async move {
            if hit.lookup_ms > 0 {
                tokio::time::sleep(Duration::from_millis(hit.lookup_ms)).await;
            }
            Ok::<_, io::Error>(hit)
        })
        .named("geo lookup")
        .window_fold(
            Tumbling::every(settings.window),
            BTreeMap::new(),
            |mut counts, hit| {
                *counts.entry(hit.path).or_insert(0u64) += 1;
                counts
            },
        )
        .named("per path per minute")
        .map(move |w| (w.end.saturating_duration_since(started), w.value))
        .collect::<Vec<_>>();

    // Shipping: a sink that stalls for `ship_delay` every 1,000 lines, slower
    // than the feed, so the buffer in front of it drops the oldest lines.
    let ship_delay = settings.ship_delay;
    let mut sent = 0u64;
    let shipped = shipped
        .buffer(settings.buffer, Overflow::DropOldest)
        .named("ship buffer")
        .then(move |hit: Hit| {
            sent += 1;
            let stall = sent % 1_000 == 0;
            async move {
                if stall {
                    tokio::time::sleep(ship_delay).await;
                }
                hit
            }
        })
        .named("ship")
        .count();

    let (windows, shipped) = tokio::join!(windows, shipped);
    Ok(Report {
        windows: windows?,
        shipped: shipped?,
        metrics: p.metrics(),
        mermaid: p.to_mermaid(),
    })
}
