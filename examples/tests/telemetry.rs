//! The `telemetry` example's logic (`access_log`) on tokio's paused clock:
//! the feed is restarted once and loses nothing, every hung lookup is a
//! timeout and only those are missing from the counts, the slow sink's
//! buffer drops what it cannot ship and counts it, and the counts per
//! path are right.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use weir_examples::access_log::{parse_line, run, sample_line, Settings, PATHS};

fn stage<'a>(m: &'a weir::pipeline::Metrics, name: &str) -> &'a weir::pipeline::StageMetrics {
    m.stages.iter().find(|s| s.name == name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_feed_restarts_hung_lookups_time_out_and_the_slow_sink_drops_the_oldest() {
    let n = 20_000;
    let lines: Arc<Vec<String>> = Arc::new((0..n).map(|i| sample_line(i, 1_000)).collect());
    let settings = Settings {
        drop_at: Some(7_000),
        ship_delay: Duration::from_millis(500),
        buffer: 1_024,
        ..Settings::default()
    };
    let report = run(lines.clone(), &settings).await.unwrap();

    // Counts per path, computed without a pipeline, minus the hung lookups.
    let mut expected = BTreeMap::new();
    for line in lines.iter() {
        let hit = parse_line(line).unwrap();
        if hit.lookup_ms == 0 {
            *expected.entry(hit.path).or_insert(0u64) += 1;
        }
    }
    let mut counted = BTreeMap::new();
    for (_, window) in &report.windows {
        for (path, n) in window {
            *counted.entry(path.clone()).or_insert(0u64) += n;
        }
    }
    assert_eq!(counted, expected);
    assert_eq!(counted.len(), PATHS.len());

    let m = &report.metrics;
    let slow = (n - 1) / 1_000; // lines 1000, 2000, … 19000
    assert_eq!(stage(m, "tail").restarts, 1);
    assert_eq!(stage(m, "tail").items_out, n as u64);
    let lookup = stage(m, "geo lookup");
    assert_eq!(
        (lookup.timeouts, lookup.skipped),
        (slow as u64, slow as u64)
    );
    let buffer = stage(m, "ship buffer");
    assert!(buffer.dropped > 0, "the sink is slower than the feed: {m}");
    assert_eq!(report.shipped + buffer.dropped, n as u64, "{m}");
}

#[tokio::test(start_paused = true)]
async fn a_fast_enough_sink_drops_nothing() {
    let n = 5_000;
    let lines: Arc<Vec<String>> = Arc::new((0..n).map(|i| sample_line(i, 0)).collect());
    let settings = Settings {
        drop_at: None,
        ship_delay: Duration::ZERO,
        buffer: n,
        ..Settings::default()
    };
    let report = run(lines, &settings).await.unwrap();
    assert_eq!(report.counted(), n as u64);
    assert_eq!(report.shipped, n as u64);
    assert_eq!(stage(&report.metrics, "ship buffer").dropped, 0);
    assert_eq!(stage(&report.metrics, "tail").restarts, 0);
}
