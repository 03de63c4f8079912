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

/// The rows of a `group_by`'s sub-flow stages in the parent's metrics:
/// those named `<prefix>…`.
fn sub_rows(m: &weir::pipeline::Metrics, prefix: &str) -> Vec<(String, &'static str, u64, u64)> {
    m.stages
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .map(|s| (s.name.clone(), s.kind, s.items_in, s.items_out))
        .collect()
}

#[tokio::test]
async fn group_by_sub_flow_stages_are_summed_once_per_shape_over_10k_keys() {
    let p = Pipeline::new(&Context::background());
    let n = p
        .source(0..20_000u32)
        .group_by(
            |n| n % 10_000,
            10_000,
            |_, flow| {
                flow.filter(|n| n % 4 == 0)
                    .named("quarter")
                    .map(|n| n + 1)
                    .named("plus_one")
            },
        )
        .named("keyed")
        .count()
        .await
        .unwrap();
    assert_eq!(n, 5_000);
    let m = p.metrics();
    let group = m.stages.iter().find(|s| s.name == "keyed").unwrap();
    assert_eq!((group.items_in, group.items_out), (20_000, 5_000));
    // One row per sub-flow stage, however many keys ran it: the counts
    // of 10,000 sub-flows add up to the items that went in.
    let rows = sub_rows(&m, "keyed/");
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names.len(), 4, "{rows:?}");
    assert!(names.contains(&"keyed/quarter") && names.contains(&"keyed/plus_one"));
    let row = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().clone();
    assert_eq!(
        row("keyed/quarter"),
        ("keyed/quarter".into(), "filter", 20_000, 5_000)
    );
    assert_eq!(
        row("keyed/plus_one"),
        ("keyed/plus_one".into(), "map", 5_000, 5_000)
    );
    let ids: std::collections::HashSet<_> = m.stages.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), m.stages.len(), "every row has an id of its own");
    assert!(m.stages.iter().all(|s| !s.running));
}

#[tokio::test(start_paused = true)]
async fn group_by_sub_flow_rows_count_running_sub_flows_and_each_shape_apart() {
    let (tx, rx) = chan::bounded(8);
    let p = Pipeline::new(&Context::background());
    let run = p
        .from_receiver(rx)
        .group_by(
            |n: &u32| n % 2,
            2,
            |key, flow| match key {
                0 => flow.map(|n| n * 10).named("evens"),
                _ => flow.filter(|_| false).named("odds"),
            },
        )
        .named("g")
        .collect::<Vec<_>>()
        .run();
    for n in 0..6u32 {
        tx.send(n).await.unwrap();
    }
    // Both sub-flows still run (their input is open): their rows are read
    // live, once every item has gone through.
    let mut polls = 0;
    let evens = loop {
        let m = p.metrics();
        let rows = sub_rows(&m, "g/");
        let seen = |name: &str| rows.iter().find(|r| r.0 == name).map(|r| r.2);
        if seen("g/evens") == Some(3) && seen("g/odds") == Some(3) {
            break rows;
        }
        polls += 1;
        assert!(
            polls < 10_000,
            "the running sub-flows are not counted: {rows:?}"
        );
        tokio::task::yield_now().await;
    };
    let live = p.metrics();
    assert!(live.stages.iter().any(|s| s.name == "g/evens" && s.running));
    drop(tx);
    let out = run.join().await.unwrap();
    assert_eq!(out, [0, 20, 40]);
    let end = sub_rows(&p.metrics(), "g/");
    assert_eq!(end.len(), evens.len(), "no row added at the end: {end:?}");
    let row = |name: &str| end.iter().find(|r| r.0 == name).unwrap().clone();
    assert_eq!(row("g/evens"), ("g/evens".into(), "map", 3, 3));
    assert_eq!(row("g/odds"), ("g/odds".into(), "filter", 3, 0));
}
