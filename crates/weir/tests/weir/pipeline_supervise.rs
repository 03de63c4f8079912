//! Supervision in the builder: `Pipeline::restart_source` and
//! `Flow::restart`, on tokio's paused clock; restarts show in `metrics()`
//! (which the graph and Prometheus exports read).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream;
use tokio::time::Instant;
use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{Backoff, Restart, TooManyRestarts};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn a_source_failing_twice_is_restarted_with_the_backoff_delays() {
    let p = Pipeline::new(&Context::background());
    let made = Arc::new(Mutex::new(Vec::new()));
    let log = made.clone();
    let feed = p.restart_source(
        move || {
            let mut log = log.lock().unwrap();
            log.push(Instant::now());
            let items = match log.len() {
                1 => vec![Ok(1), Err("reset")],
                2 => vec![Err("refused")],
                _ => vec![Ok(2), Ok(3)],
            };
            stream::iter(items)
        },
        Backoff::exponential(50 * MS),
    );
    let got = feed
        .named("feed")
        .map(|n| n * 10)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(got, [10, 20, 30]);
    let made = made.lock().unwrap();
    let gaps: Vec<_> = made.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [50 * MS, 100 * MS]);
    let m = p.metrics();
    let feed = m.stages.iter().find(|s| s.name == "feed").unwrap();
    assert_eq!(
        (feed.kind, feed.restarts, feed.items_out),
        ("restart_source", 2, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn max_restarts_exceeded_fails_the_pipeline_naming_the_stage() {
    let p = Pipeline::new(&Context::background());
    let restart = Restart::new(Backoff::fixed(MS)).max_restarts(2, Duration::from_secs(10));
    let err = p
        .restart_source(|| stream::iter([Err::<u8, _>("down")]), restart)
        .named("feed")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "stage `feed` failed");
    let cause = std::error::Error::source(&err).unwrap();
    assert!(cause.is::<TooManyRestarts>(), "{cause}");
}

#[tokio::test]
async fn a_zero_restart_window_is_an_error_before_anything_runs() {
    let made = Arc::new(AtomicBool::new(false));
    let m = made.clone();
    let p = Pipeline::new(&Context::background());
    let restart = Restart::new(Backoff::none()).max_restarts(3, Duration::ZERO);
    let err = p
        .restart_source(
            move || {
                m.store(true, Ordering::SeqCst);
                stream::iter([Ok::<u8, &str>(1)])
            },
            restart,
        )
        .named("feed")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("restart window"), "{err}");
    assert!(!made.load(Ordering::SeqCst), "the factory never ran");
}

#[tokio::test(start_paused = true)]
async fn a_restarted_sub_flow_loses_the_failing_item_only_with_one_at_a_time_input() {
    // Capacity 0 and a `then` stage in front hand the sub-flow one item
    // at a time, so what the failed sub-flow held is just the failing item.
    let p = Pipeline::with_capacity(&Context::background(), 0);
    let failed = Arc::new(AtomicBool::new(false));
    let got = p
        .source(0..10u32)
        .then(|n| async move { n })
        .restart(
            move |lines| {
                let failed = failed.clone();
                lines.try_map(move |n: u32| {
                    if n == 4 && !failed.swap(true, Ordering::SeqCst) {
                        Err("poison")
                    } else {
                        Ok(n)
                    }
                })
            },
            Backoff::fixed(5 * MS),
        )
        .named("guarded")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(!got.contains(&4), "{got:?}");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    assert!(
        got.starts_with(&[0, 1, 2, 3]) && got.ends_with(&[9]),
        "{got:?}"
    );
    let m = p.metrics();
    let guarded = m.stages.iter().find(|s| s.name == "guarded").unwrap();
    assert_eq!((guarded.kind, guarded.restarts), ("restart", 1));
}

#[tokio::test(start_paused = true)]
async fn shutdown_drains_a_restarted_source_and_marks_the_run_cut_short() {
    use futures::StreamExt;
    let p = Pipeline::new(&Context::background());
    // Two items, then a feed that stays open: only `shutdown` ends it.
    let feed = p.restart_source(
        || stream::iter([Ok::<u8, &str>(1), Ok(2)]).chain(stream::pending()),
        Backoff::fixed(MS),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let run = feed.for_each(move |n| s.lock().unwrap().push(n)).run();
    for _ in 0..1000 {
        if seen.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(MS).await;
    }
    assert!(!p.cut_short());
    p.shutdown();
    run.join().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2]);
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn a_misbuilt_sub_flow_fails_at_once_instead_of_restarting() {
    let built = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let b = built.clone();
    let err = Pipeline::new(&Context::background())
        .source(0..10u32)
        .restart(
            move |flow| {
                b.fetch_add(1, Ordering::SeqCst);
                flow.map_blocking(0, |n: u32| n).named("cpu")
            },
            Backoff::fixed(MS),
        )
        .named("guarded")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "stage `guarded` failed");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        cause.contains("cpu") && cause.contains("concurrency"),
        "{cause}"
    );
    assert_eq!(built.load(Ordering::SeqCst), 1, "not rebuilt");
}

/// A zero backoff whose limit a source failing at once never reaches is
/// refused before anything runs, for `restart_source` and `restart`, on
/// a multi-thread runtime too: no factory runs, no item is pulled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_backoff_without_a_limit_that_runs_out_is_refused_before_anything_runs() {
    let forever = Restart::new(Backoff::none()).max_restarts(usize::MAX, Duration::from_secs(60));
    let made = Arc::new(AtomicBool::new(false));
    for _ in 0..20 {
        let m = made.clone();
        let p = Pipeline::new(&Context::background());
        let err = p
            .restart_source(
                move || {
                    m.store(true, Ordering::SeqCst);
                    stream::iter([Err::<u8, &str>("down")])
                },
                forever,
            )
            .named("feed")
            .count()
            .await
            .unwrap_err();
        assert_eq!(err.stage(), Some("feed"));
        assert!(err.to_string().contains("zero restart backoff"), "{err}");

        let pulled = made.clone();
        let p = Pipeline::new(&Context::background());
        let err = p
            .source((0..10u8).inspect(move |_| pulled.store(true, Ordering::SeqCst)))
            .restart(|f| f.map(|n| n), forever)
            .named("parse")
            .count()
            .await
            .unwrap_err();
        assert_eq!(err.stage(), Some("parse"));
    }
    tokio::task::yield_now().await;
    assert!(!made.load(Ordering::SeqCst), "something ran");
}

/// A zero backoff with a limit: the restarts come `Restart::MIN_DELAY`
/// apart, are counted in the metrics, and the pipeline fails once they
/// are used up.
#[tokio::test(start_paused = true)]
async fn a_zero_backoff_with_a_limit_restarts_a_millisecond_apart_and_counts_them() {
    let p = Pipeline::new(&Context::background());
    let restart = Restart::new(Backoff::none())
        .max_restarts(4, Duration::from_secs(1))
        .on_end(true);
    let began = Instant::now();
    let err = p
        .restart_source(|| stream::iter(Vec::<Result<u8, &str>>::new()), restart)
        .named("feed")
        .for_each(drop)
        .await
        .unwrap_err();
    assert!(std::error::Error::source(&err)
        .unwrap()
        .is::<TooManyRestarts>());
    assert_eq!(began.elapsed(), 4 * Restart::MIN_DELAY);
    let m = p.metrics();
    assert_eq!(
        m.stages.iter().find(|s| s.name == "feed").unwrap().restarts,
        4
    );
}
