//! The builder's `window`, `window_fold` and `group_by`: counts per key
//! per minute on a paused clock, shutdown flushing, errors and metrics.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::Pipeline;
use weir::stage::{Keys, Session, TooManyKeys, Tumbling};

const SEC: Duration = Duration::from_secs(1);

/// Sends `(at seconds, key)` events at their times, then closes.
fn events(list: Vec<(u64, &'static str)>) -> chan::Receiver<&'static str> {
    let (tx, rx) = chan::bounded(64);
    let start = Instant::now();
    tokio::spawn(async move {
        for (at, key) in list {
            tokio::time::sleep_until(start + Duration::from_secs(at)).await;
            tx.send(key).await.unwrap();
        }
    });
    rx
}

fn minutes() -> Vec<(u64, &'static str)> {
    vec![
        (0, "a"),
        (0, "b"),
        (10, "a"),
        (59, "a"),
        (60, "a"),
        (60, "b"),
        (119, "b"),
        (125, "c"),
    ]
}

#[tokio::test(start_paused = true)]
async fn count_per_key_per_minute_with_group_by_and_window_fold() {
    let start = Instant::now();
    let p = Pipeline::new(&Context::background());
    let mut counts = p
        .from_receiver(events(minutes()))
        .group_by(
            |k| *k,
            10,
            move |key, flow| {
                flow.window_fold(Tumbling::every(60 * SEC), 0u32, |n, _| n + 1)
                    .map(move |w| (key, (w.start - start).as_secs() / 60, w.value))
            },
        )
        .named("per_key")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    counts.sort_unstable();
    assert_eq!(
        counts,
        [
            ("a", 0, 3),
            ("a", 1, 1),
            ("b", 0, 1),
            ("b", 1, 2),
            ("c", 2, 1)
        ]
    );
    let m = p.metrics();
    let group = m.stages.iter().find(|s| s.name == "per_key").unwrap();
    assert_eq!(group.kind, "group_by");
    assert_eq!((group.items_in, group.items_out), (8, 5));
}

#[tokio::test(start_paused = true)]
async fn count_per_key_per_minute_with_one_window_fold() {
    let p = Pipeline::new(&Context::background());
    let per_minute = p
        .from_receiver(events(minutes()))
        .window_fold(Tumbling::every(60 * SEC), HashMap::new(), |mut m, k| {
            *m.entry(k).or_insert(0u32) += 1;
            m
        })
        .named("minutes")
        .map(|w| w.value)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(
        per_minute,
        [
            HashMap::from([("a", 3), ("b", 1)]),
            HashMap::from([("a", 1), ("b", 2)]),
            HashMap::from([("c", 1)]),
        ]
    );
    let m = p.metrics();
    let stage = m.stages.iter().find(|s| s.name == "minutes").unwrap();
    assert_eq!(
        (stage.kind, stage.items_in, stage.items_out),
        ("window_fold", 8, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_open_windows_to_the_sink() {
    let p = Pipeline::new(&Context::background());
    let run = p
        .source(0u64..)
        .window(Tumbling::every(3600 * SEC))
        .collect::<Vec<_>>()
        .run();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    p.shutdown();
    let windows = run.join().await.unwrap();
    assert_eq!(windows.len(), 1);
    let n = windows[0].items.len() as u64;
    assert!(n > 0);
    assert_eq!(windows[0].items, (0..n).collect::<Vec<_>>());
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_the_windows_inside_group_by() {
    let (tx, rx) = chan::bounded(8);
    let p = Pipeline::new(&Context::background());
    let run = p
        .from_receiver(rx)
        .group_by(
            |k: &u8| *k,
            4,
            |key, flow| {
                flow.window(Session { gap: 3600 * SEC })
                    .map(move |w| (key, w.items.len()))
            },
        )
        .collect::<Vec<_>>()
        .run();
    for k in [1, 2, 1] {
        tx.send(k).await.unwrap();
    }
    tokio::time::sleep(SEC).await;
    p.shutdown();
    let mut got = run.join().await.unwrap();
    got.sort_unstable();
    assert_eq!(got, [(1, 2), (2, 1)]);
    drop(tx);
}

#[tokio::test]
async fn bad_specs_fail_from_the_sink_naming_the_stage() {
    let err = Pipeline::new(&Context::background())
        .source(0..3)
        .window(Tumbling::count(0))
        .named("w")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("w"));
    let err = Pipeline::new(&Context::background())
        .source(0..3)
        .group_by(|n| *n, Keys::at_most(0), |_, flow| flow)
        .named("g")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("g"));
}

#[tokio::test]
async fn too_many_keys_fails_the_pipeline_naming_group_by() {
    let err = Pipeline::new(&Context::background())
        .source(0..100u32)
        .group_by(|n| n % 10, 3, |_, flow| flow)
        .named("keyed")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("keyed"));
    let cause = std::error::Error::source(&err).unwrap();
    assert!(cause.downcast_ref::<TooManyKeys>().is_some(), "{cause}");
}

#[tokio::test]
async fn an_error_in_a_sub_flow_fails_the_pipeline_naming_its_stage() {
    let err = Pipeline::new(&Context::background())
        .source(["1", "2", "x"])
        .group_by(
            |s| s.len(),
            3,
            |_, flow| flow.try_map(str::parse::<u8>).named("parse"),
        )
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("parse"));
}
