//! Programs a newcomer writes from the rustdoc and the guide's "Streams
//! beyond Go" chapter alone, each checked for what the docs promise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream;
use tokio::time::Instant;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::Pipeline;
use weir::stage::{Backoff, Keys, Overflow, Restart, Session, Tumbling};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// A generated access log: `(second, path)`, three paths, one line every
/// 250 ms for three minutes.
fn access_log() -> Vec<(u64, &'static str)> {
    let paths = ["/", "/login", "/api"];
    (0..720u64)
        .map(|i| (i * 250, paths[(i % 3) as usize]))
        .collect()
}

/// Sends each `(at ms, item)` at its time, then closes.
fn at_times<T: Send + 'static>(list: Vec<(u64, T)>) -> chan::Receiver<T> {
    let (tx, rx) = chan::bounded(16);
    let start = Instant::now();
    tokio::spawn(async move {
        for (at, item) in list {
            tokio::time::sleep_until(start + Duration::from_millis(at)).await;
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Count per key per minute, as the guide suggests for windows aligned
/// across keys: one `window_fold(Tumbling::every(1 min))` into a map of
/// counts. Every line is counted once, in the minute it arrived.
#[tokio::test(start_paused = true)]
async fn counts_per_path_per_minute() {
    let start = Instant::now();
    let p = Pipeline::new(&Context::background());
    let minutes = p
        .from_receiver(at_times(access_log()))
        .window_fold(Tumbling::every(60 * SEC), HashMap::new(), |mut m, path| {
            *m.entry(path).or_insert(0u64) += 1;
            m
        })
        .named("per_minute")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let mut expected = HashMap::new();
    for (at, path) in access_log() {
        *expected.entry((path, at / 60_000)).or_insert(0u64) += 1;
    }
    let mut got = HashMap::new();
    for w in &minutes {
        assert_eq!(w.end - w.start, 60 * SEC);
        let minute = (w.start - start).as_secs() / 60;
        for (path, n) in &w.value {
            assert!(
                got.insert((*path, minute), *n).is_none(),
                "one row per path and minute"
            );
        }
    }
    assert_eq!(got, expected);
}

/// Count per key per minute with `group_by` + `window_fold`, as the
/// `group_by` example does: each key's windows start with its first line
/// (documented), and every line is counted exactly once.
#[tokio::test(start_paused = true)]
async fn counts_per_path_per_minute_with_group_by() {
    let start = Instant::now();
    let p = Pipeline::new(&Context::background());
    let rows = p
        .from_receiver(at_times(access_log()))
        .group_by(
            |path| *path,
            Keys::at_most(100),
            move |path, lines| {
                lines
                    .window_fold(Tumbling::every(60 * SEC), 0u64, |n, _| n + 1)
                    .map(move |w| (path, w.start - start, w.end - w.start, w.value))
            },
        )
        .named("per_path")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let first: HashMap<&str, u64> = [("/", 0), ("/login", 250), ("/api", 500)].into();
    let mut totals = HashMap::new();
    for (path, from_start, len, n) in rows {
        assert_eq!(len, 60 * SEC);
        // Windows of a key are aligned to its first line.
        assert_eq!(
            (from_start.as_millis() as u64 - first[path]) % 60_000,
            0,
            "{path}"
        );
        *totals.entry(path).or_insert(0u64) += n;
    }
    assert_eq!(
        totals,
        HashMap::from([("/", 240), ("/login", 240), ("/api", 240)])
    );
    let per_path = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.name == "per_path")
        .unwrap();
    assert_eq!(per_path.items_in, 720);
}

/// A flaky source restarted with backoff that gives up after 3 restarts:
/// the items before each failure get through, the 4th failure ends the
/// pipeline naming the source, and 3 restarts are counted.
#[tokio::test(start_paused = true)]
async fn flaky_feed_restarts_then_gives_up() {
    let p = Pipeline::new(&Context::background());
    let calls = Arc::new(AtomicUsize::new(0));
    let made = calls.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let began = Instant::now();
    let err = p
        .restart_source(
            move || {
                let n = made.fetch_add(1, Ordering::SeqCst) as u32;
                stream::iter(vec![Ok(n * 10), Ok(n * 10 + 1), Err("reset by peer")])
            },
            Restart::new(Backoff::exponential(100 * MS)).max_restarts(3, 60 * SEC),
        )
        .named("feed")
        .for_each(move |n| kept.lock().unwrap().push(n))
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("feed"), "{err}");
    let chain = format!("{err:?}");
    assert!(
        chain.contains("reset by peer"),
        "the last failure is kept: {chain}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "the first try and 3 restarts"
    );
    // Every attempt that was restarted delivered its items; those of the
    // attempt that gave up may be cut short, since the failure cancels
    // the pipeline (as any stage's error does).
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[..6], [0, 1, 10, 11, 20, 21]);
    assert!(
        [0, 1, 10, 11, 20, 21, 30, 31].starts_with(&seen),
        "{seen:?}"
    );
    // The k-th restart waits the k-th delay: 100 + 200 + 400 ms.
    assert!(began.elapsed() >= 700 * MS, "{:?}", began.elapsed());
    let feed = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.name == "feed")
        .unwrap();
    assert_eq!(feed.restarts, 3);
}

/// A slow sink behind `buffer(n, DropOldest)`: the producer is never held
/// up (it finishes long before the sink), the sink sees items in order
/// ending with the newest, and kept + dropped = produced.
#[tokio::test(start_paused = true)]
async fn slow_sink_behind_drop_oldest() {
    let p = Pipeline::new(&Context::background());
    let produced_by = Arc::new(std::sync::Mutex::new(None));
    let mark = produced_by.clone();
    let began = Instant::now();
    let seen = p
        .source(0..10_000u32)
        .inspect(move |n| {
            if *n == 9_999 {
                *mark.lock().unwrap() = Some(began.elapsed());
            }
        })
        .buffer(8, Overflow::DropOldest)
        .named("latest")
        .then(|n| async move {
            tokio::time::sleep(10 * MS).await;
            n
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let produced = produced_by
        .lock()
        .unwrap()
        .expect("the last item was produced");
    assert!(
        produced < 10 * MS,
        "the producer waited for the sink: {produced:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "input order kept");
    assert_eq!(seen.last(), Some(&9_999));
    let latest = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.name == "latest")
        .unwrap();
    assert_eq!(latest.items_out + latest.dropped, 10_000);
    assert_eq!(latest.items_out, seen.len() as u64);
    assert!(latest.dropped > 0);
}

/// A debounced search box: keystrokes 50 ms apart, pauses of 1 s; only the
/// text at each pause is searched, and the last one when typing stops.
#[tokio::test(start_paused = true)]
async fn debounced_search_box() {
    let typed = vec![
        (0, "r"),
        (50, "ru"),
        (100, "rus"),
        (1_100, "rust"),
        (1_150, "rust t"),
        (1_200, "rust tokio"),
    ];
    let searched = Pipeline::new(&Context::background())
        .from_receiver(at_times(typed))
        .debounce(300 * MS)
        .map(|q| q.to_string())
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(searched, ["rus", "rust tokio"]);
}

/// `zip` of two streams of different lengths ends with the shorter, and
/// stops the longer (an endless one too).
#[tokio::test(start_paused = true)]
async fn zip_of_uneven_streams() {
    let p = Pipeline::new(&Context::background());
    let pairs = p
        .source(["a", "b", "c"])
        .zip(p.source(0u64..))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(pairs, [("a", 0), ("b", 1), ("c", 2)]);

    let p = Pipeline::new(&Context::background());
    let pairs = p
        .source(0..10u32)
        .zip(p.source(["x", "y"]))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(pairs, [(0, "x"), (1, "y")]);
}

/// A user session window that is still open when the input ends is sent,
/// with the end it would have had (last item + gap).
#[tokio::test(start_paused = true)]
async fn session_window_closes_at_input_end() {
    let start = Instant::now();
    let clicks = vec![(0, 1u32), (100, 2), (5_000, 3), (5_500, 4)];
    let sessions = Pipeline::new(&Context::background())
        .from_receiver(at_times(clicks))
        .window(Session { gap: 2 * SEC })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let got: Vec<(Vec<u32>, u128, u128)> = sessions
        .into_iter()
        .map(|w| {
            let ms = |t: Instant| (t - start).as_millis();
            (w.items, ms(w.start), ms(w.end))
        })
        .collect();
    assert_eq!(got, [(vec![1, 2], 0, 2_100), (vec![3, 4], 5_000, 7_500)]);
}

/// The small operators together: `enumerate`, `chunks_by`, `interleave`,
/// `concat`, `try_fold` and `map_blocking`.
#[tokio::test(start_paused = true)]
async fn small_operators_as_documented() {
    let p = Pipeline::new(&Context::background());
    let runs = p
        .source(["GET", "GET", "POST", "GET"])
        .chunks_by(|m| *m)
        .enumerate()
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(
        runs,
        [(0, vec!["GET", "GET"]), (1, vec!["POST"]), (2, vec!["GET"])]
    );

    let p = Pipeline::new(&Context::background());
    let mixed = p
        .source([1, 3, 5, 7])
        .interleave(p.source([2, 4]))
        .concat(p.source([100]))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(mixed, [1, 2, 3, 4, 5, 7, 100]);

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(["1", "2", "x", "4"])
        .try_fold(0u64, |sum, s: &str| s.parse::<u64>().map(|n| sum + n))
        .named("sum")
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("sum"));

    let p = Pipeline::new(&Context::background());
    let lens = p
        .source((0..50u64).map(|n| "x".repeat(n as usize)))
        .map_blocking(4, |s: String| s.len())
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(lens, (0..50).collect::<Vec<usize>>(), "input order kept");
}
