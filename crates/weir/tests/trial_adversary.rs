//! An adversary's trial of the stream operators: bad settings, huge
//! values, panics in user closures, cancel and shutdown at awkward
//! moments, a downstream that goes away, and leaked tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream;
use tokio::time::Instant;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Flow, Pipeline};
use weir::stage::{
    self as stage, Backoff, ConfigError, Keys, Overflow, Restart, Scope, Session, Sliding, Tumbling,
};
use weir::testing::assert_no_leaked_tasks;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// A pipeline whose source counts the items pulled from it.
fn counted() -> (Pipeline, Flow<u32>, Arc<AtomicUsize>) {
    let p = Pipeline::new(&Context::background());
    let pulled = Arc::new(AtomicUsize::new(0));
    let seen = pulled.clone();
    let flow = p.source((0..100u32).inspect(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    }));
    (p, flow, pulled)
}

/// The stage named in a `ConfigError`, or a panic naming what came.
fn config_stage(err: &weir::Error) -> String {
    match err {
        weir::Error::Stage(stage::Error::Config(
            ConfigError::Zero { stage, .. } | ConfigError::Invalid { stage, .. },
        )) => stage.to_string(),
        other => panic!("not a ConfigError: {other:?}"),
    }
}

/// Each bad setting is refused with a `ConfigError` naming the stage, and
/// the source was never read.
macro_rules! refused {
    ($label:literal, |$flow:ident| $build:expr) => {{
        let (_p, $flow, pulled) = counted();
        let err = $build.named("bad").count().await.expect_err($label);
        assert_eq!(config_stage(&err), "bad", "{}: {err}", $label);
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            0,
            "{}: the source ran",
            $label
        );
    }};
}

#[tokio::test(start_paused = true)]
async fn bad_settings_are_config_errors_before_anything_runs() {
    let restart = |n, within| Restart::new(Backoff::fixed(MS)).max_restarts(n, within);
    refused!("buffer 0", |f| f.buffer(0, Overflow::DropOldest));
    refused!("debounce 0", |f| f.debounce(Duration::ZERO));
    refused!("sample 0", |f| f.sample(Duration::ZERO));
    refused!("every 0", |f| f.window(Tumbling::every(Duration::ZERO)));
    refused!("count 0", |f| f.window(Tumbling::count(0)));
    refused!("session 0", |f| f.window(Session {
        gap: Duration::ZERO
    }));
    refused!("sliding step 0", |f| f.window(Sliding {
        size: SEC,
        step: Duration::ZERO
    }));
    refused!("sliding size 0", |f| f.window(Sliding {
        size: Duration::ZERO,
        step: SEC
    }));
    refused!("sliding step > size", |f| f.window(Sliding {
        size: SEC,
        step: 2 * SEC
    }));
    refused!("fold count 0", |f| f.window_fold(
        Tumbling::count(0),
        0,
        |a, _| a
    ));
    refused!("max_keys 0", |f| f.group_by(
        |n| *n,
        Keys::at_most(0),
        |_, f| f
    ));
    refused!("idle 0", |f| f.group_by(
        |n| *n,
        Keys::at_most(4).idle_after(Duration::ZERO),
        |_, f| f
    ));
    refused!("restart 0", |f| f
        .restart(|f| f.map(|n| n), restart(0, SEC)));
    refused!("restart within 0", |f| f
        .restart(|f| f.map(|n| n), restart(3, Duration::ZERO)));
    refused!("map_blocking 0", |f| f.map_blocking(0, |n| n));
    refused!("timeout 0", |f| f
        .timeout(Duration::ZERO)
        .then(|n| async move { Ok::<_, std::io::Error>(n) }));

    let p = Pipeline::new(&Context::background());
    let calls = Arc::new(AtomicUsize::new(0));
    let made = calls.clone();
    let err = p
        .restart_source(
            move || {
                made.fetch_add(1, Ordering::SeqCst);
                stream::iter([Ok::<u32, std::io::Error>(1)])
            },
            restart(0, SEC),
        )
        .named("bad")
        .count()
        .await
        .unwrap_err();
    assert_eq!(config_stage(&err), "bad");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the factory ran");
}

/// A sliding window whose step is a tiny fraction of its size would put
/// each item in billions of windows (and hang the stage or exhaust
/// memory): it is refused as a `ConfigError` instead.
#[tokio::test(start_paused = true)]
async fn a_sliding_window_of_billions_of_windows_per_item_is_refused() {
    refused!("sliding 1 h / 1 ns", |f| f.window(Sliding {
        size: HOUR,
        step: Duration::from_nanos(1)
    }));
    refused!("sliding fold MAX / 1 s", |f| f.window_fold(
        Sliding {
            size: Duration::MAX,
            step: SEC
        },
        0u32,
        |a, _| a + 1
    ));
    // The stage function refuses it too.
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u32>(1);
    let spec = Sliding {
        size: SEC,
        step: Duration::from_nanos(1),
    };
    assert!(stage::window(&scope, rx, spec).is_err());
    // A fine step that is still reasonable works.
    let p = Pipeline::new(&Context::background());
    let windows = p
        .source([1u32])
        .window_fold(
            Sliding {
                size: HOUR,
                step: SEC,
            },
            0u32,
            |a, _| a + 1,
        )
        .count()
        .await
        .unwrap();
    assert_eq!(windows, 3600);
}

/// Huge sizes and durations are accepted and behave as "never": no panic,
/// no hang, and what is open at the end of the input is delivered.
#[tokio::test(start_paused = true)]
async fn huge_settings_mean_never_not_a_panic() {
    let p = Pipeline::new(&Context::background());
    let all = p
        .source(1..=5u32)
        .buffer(usize::MAX, Overflow::DropOldest)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all, [1, 2, 3, 4, 5]);

    let p = Pipeline::new(&Context::background());
    let last = p
        .source(1..=5u32)
        .debounce(Duration::MAX)
        .collect::<Vec<_>>();
    assert_eq!(last.await.unwrap(), [5]);
    let p = Pipeline::new(&Context::background());
    let last = p.source(1..=5u32).sample(Duration::MAX).collect::<Vec<_>>();
    assert_eq!(last.await.unwrap(), [5]);

    for (label, windows) in [
        ("every MAX", {
            let p = Pipeline::new(&Context::background());
            p.source(1..=5u32)
                .window(Tumbling::every(Duration::MAX))
                .collect::<Vec<_>>()
                .await
        }),
        ("count MAX", {
            let p = Pipeline::new(&Context::background());
            p.source(1..=5u32)
                .window(Tumbling::count(usize::MAX))
                .collect::<Vec<_>>()
                .await
        }),
        ("session MAX", {
            let p = Pipeline::new(&Context::background());
            p.source(1..=5u32)
                .window(Session { gap: Duration::MAX })
                .collect::<Vec<_>>()
                .await
        }),
        ("sliding MAX", {
            let p = Pipeline::new(&Context::background());
            let spec = Sliding {
                size: Duration::MAX,
                step: Duration::MAX,
            };
            p.source(1..=5u32).window(spec).collect::<Vec<_>>().await
        }),
    ] {
        let windows = windows.unwrap_or_else(|e| panic!("{label}: {e}"));
        let items: Vec<Vec<u32>> = windows.into_iter().map(|w| w.items).collect();
        assert_eq!(items, [vec![1, 2, 3, 4, 5]], "{label}");
    }

    // An idle timeout of "never" on group_by.
    let p = Pipeline::new(&Context::background());
    let mut all = p
        .source(1..=6u32)
        .group_by(
            |n| n % 2,
            Keys::at_most(usize::MAX).idle_after(Duration::MAX),
            |_, f| f,
        )
        .named("groups")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3, 4, 5, 6]);

    let p = Pipeline::new(&Context::background());
    let all = p
        .source(1..=5u32)
        .map_blocking(usize::MAX, |n| n * 2)
        .collect::<Vec<_>>();
    assert_eq!(all.await.unwrap(), [2, 4, 6, 8, 10]);

    // Restarts without a practical limit, with a backoff that doubles far
    // past what a Duration holds: the delays saturate instead of panicking.
    let p = Pipeline::new(&Context::background());
    let mut attempt = 0u32;
    let feed = p.restart_source(
        move || {
            attempt += 1;
            let item = if attempt <= 70 {
                Err("flaky")
            } else {
                Ok(attempt)
            };
            stream::iter([item])
        },
        Restart::new(Backoff::exponential(Duration::from_nanos(1)))
            .max_restarts(usize::MAX, Duration::from_nanos(1)),
    );
    assert_eq!(feed.collect::<Vec<_>>().await.unwrap(), [71]);
}

/// The error a pipeline ended with must be a panic naming `stage`.
fn assert_panicked(err: &weir::Error, stage: &str, what: &str) {
    match err {
        weir::Error::Stage(stage::Error::Panicked { stage: s, message }) => {
            assert_eq!(&**s, stage, "{what}: {err}");
            assert!(message.contains("boom"), "{what}: {message}");
        }
        other => panic!("{what}: not a panic naming `{stage}`: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn panics_in_user_closures_name_their_stage() {
    let boom = |n: u32| -> u32 {
        if n == 3 {
            panic!("boom");
        }
        n
    };

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .group_by(move |n| boom(*n) % 2, 8, |_, f| f)
        .named("keyed")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "keyed", "group_by key fn");

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .window_fold(Tumbling::count(4), 0u32, move |a, n| a + boom(n))
        .named("folded")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "folded", "window_fold fn");

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .conflate(boom, move |a, n| a + boom(n))
        .named("merged")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "merged", "conflate seed/merge");

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .chunks_by(move |n| boom(*n) / 2)
        .named("runs")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "runs", "chunks_by key fn");

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .map_blocking(2, boom)
        .named("blocking")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "blocking", "map_blocking fn");

    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .try_fold(0u32, move |a, n| Ok::<_, std::io::Error>(a + boom(n)))
        .named("total")
        .await
        .unwrap_err();
    assert_panicked(&err, "total", "try_fold fn");

    // The restart factory panics on its second call (the first restart).
    let p = Pipeline::new(&Context::background());
    let mut calls = 0u32;
    let err = p
        .restart_source(
            move || {
                calls += 1;
                boom(calls + 1);
                stream::iter([Ok(1u32), Err("reset")])
            },
            Backoff::fixed(MS),
        )
        .named("feed")
        .count()
        .await
        .unwrap_err();
    assert_panicked(&err, "feed", "restart_source factory");
}

/// Feeds `items` into a channel whose sender stays open (an endless,
/// idle input) and hands back the receiver.
fn open_input(items: Vec<u32>) -> (chan::Sender<u32>, chan::Receiver<u32>) {
    let (tx, rx) = chan::bounded(64);
    for n in items {
        tx.try_send(n).unwrap();
    }
    (tx, rx)
}

/// `shutdown` mid-window flushes the open window at once (not at its end),
/// mid-debounce sends the waiting item at once, and the ends are prompt.
#[tokio::test(start_paused = true)]
async fn shutdown_flushes_open_windows_and_the_debounced_item_at_once() {
    assert_no_leaked_tasks(async {
        let began = Instant::now();
        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3]);
        let run = p
            .from_receiver(rx)
            .window(Tumbling::every(HOUR))
            .map(|w| w.items)
            .collect::<Vec<_>>()
            .run();
        tokio::time::sleep(10 * SEC).await;
        run.shutdown();
        assert_eq!(run.join().await.unwrap(), [vec![1, 2, 3]]);
        assert!(
            began.elapsed() < 11 * SEC,
            "waited for the window: {:?}",
            began.elapsed()
        );

        let began = Instant::now();
        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3]);
        let run = p.from_receiver(rx).debounce(HOUR).collect::<Vec<_>>().run();
        tokio::time::sleep(SEC).await;
        run.shutdown();
        assert_eq!(run.join().await.unwrap(), [3]);
        assert!(
            began.elapsed() < 2 * SEC,
            "waited for the quiet: {:?}",
            began.elapsed()
        );

        // Per key windows inside group_by are flushed too.
        let began = Instant::now();
        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3, 4, 5]);
        let run = p
            .from_receiver(rx)
            .group_by(
                |n| n % 2,
                8,
                |_, f| f.window_fold(Session { gap: HOUR }, 0u32, |a, _| a + 1),
            )
            .map(|w| w.value)
            .collect::<Vec<_>>()
            .run();
        tokio::time::sleep(SEC).await;
        run.shutdown();
        let mut counts = run.join().await.unwrap();
        counts.sort_unstable();
        assert_eq!(counts, [2, 3]);
        assert!(began.elapsed() < 2 * SEC, "{:?}", began.elapsed());
    })
    .await;
}

/// A source waiting out an hour's restart backoff ends at once on
/// `shutdown` (keeping what it sent) and on `cancel` (as cancelled).
#[tokio::test(start_paused = true)]
async fn shutdown_and_cancel_mid_restart_backoff_end_at_once() {
    assert_no_leaked_tasks(async {
        for cancel in [false, true] {
            let began = Instant::now();
            let p = Pipeline::new(&Context::background());
            let run = p
                .restart_source(
                    || stream::iter([Ok(7u32), Err("reset")]),
                    Restart::new(Backoff::fixed(HOUR)),
                )
                .collect::<Vec<_>>()
                .run();
            tokio::time::sleep(SEC).await;
            if cancel {
                run.cancel();
                let err = run.join().await.unwrap_err();
                assert!(
                    matches!(err, weir::Error::Stage(stage::Error::Cancelled(_))),
                    "{err}"
                );
            } else {
                run.shutdown();
                assert_eq!(run.join().await.unwrap(), [7]);
            }
            assert!(
                began.elapsed() < 2 * SEC,
                "waited for the backoff: {:?}",
                began.elapsed()
            );
        }
    })
    .await;
}

/// Cancel mid-window, mid-debounce and mid-sample ends at once.
#[tokio::test(start_paused = true)]
async fn cancel_mid_time_operators_ends_at_once() {
    assert_no_leaked_tasks(async {
        for which in 0..4 {
            let began = Instant::now();
            let p = Pipeline::new(&Context::background());
            let (_tx, rx) = open_input(vec![1, 2, 3]);
            let flow = p.from_receiver(rx);
            let run = match which {
                0 => flow.window(Tumbling::every(HOUR)).map(|_| 0).count().run(),
                1 => flow.debounce(HOUR).count().run(),
                2 => flow.sample(HOUR).count().run(),
                _ => flow
                    .window(Sliding {
                        size: HOUR,
                        step: 60 * SEC,
                    })
                    .count()
                    .run(),
            };
            tokio::time::sleep(SEC).await;
            run.cancel();
            let err = run.join().await.unwrap_err();
            assert!(
                matches!(err, weir::Error::Stage(stage::Error::Cancelled(_))),
                "{which}: {err}"
            );
            assert!(began.elapsed() < 2 * SEC, "{which}: {:?}", began.elapsed());
        }
    })
    .await;
}

/// Waits (on the paused clock, at most a virtual minute) until `tx`'s
/// receiver is gone.
async fn until_closed(tx: &chan::Sender<u32>, what: &str) {
    let closed = tokio::time::timeout(60 * SEC, async {
        while !tx.is_closed() {
            tokio::time::sleep(MS).await;
        }
    });
    assert!(closed.await.is_ok(), "{what}: the upstream was not stopped");
}

/// A downstream that drops its receiver stops each stage, even while its
/// input is idle and it waits for a timer, and that stops the upstream.
#[tokio::test(start_paused = true)]
async fn a_dropped_receiver_stops_the_upstream() {
    assert_no_leaked_tasks(async {
        for which in 0..9 {
            let scope = Scope::new(&Context::background());
            let (tx, rx) = open_input(vec![1, 2, 3]);
            let out: chan::Receiver<()> = match which {
                0 => stage::map(
                    &scope,
                    stage::window(&scope, rx, Tumbling::every(HOUR)).unwrap(),
                    |_| (),
                ),
                1 => stage::map(&scope, stage::debounce(&scope, rx, HOUR).unwrap(), |_| ()),
                2 => stage::map(&scope, stage::sample(&scope, rx, HOUR).unwrap(), |_| ()),
                3 => stage::map(
                    &scope,
                    stage::conflate(&scope, rx, |n| n, |a, n| a + n),
                    |_| (),
                ),
                4 => stage::map(
                    &scope,
                    stage::buffer(&scope, rx, 2, Overflow::DropOldest).unwrap(),
                    |_| (),
                ),
                5 => stage::map(
                    &scope,
                    stage::group_by(&scope, rx, |n| n % 2, 4, |_, rx, _| rx).unwrap(),
                    |_| (),
                ),
                6 => stage::map(
                    &scope,
                    stage::window(&scope, rx, Session { gap: HOUR }).unwrap(),
                    |_| (),
                ),
                7 => stage::map(&scope, stage::chunks_by(&scope, rx, |n| *n < 10), |_| ()),
                _ => stage::map(&scope, stage::enumerate(&scope, rx), |_| ()),
            };
            tokio::time::sleep(SEC).await;
            drop(out);
            until_closed(&tx, &format!("stage {which}")).await;
            scope.wait().await.unwrap();
        }

        // A restarted source mid-backoff stops when its output goes.
        let scope = Scope::new(&Context::background());
        let out = stage::restart_source(
            &scope,
            || stream::iter([Ok::<u32, &str>(1), Err("reset")]),
            Restart::new(Backoff::fixed(HOUR)),
        )
        .unwrap();
        let began = Instant::now();
        assert_eq!(out.recv().await, Some(1));
        drop(out);
        scope.wait().await.unwrap();
        assert!(
            began.elapsed() < SEC,
            "waited for the backoff: {:?}",
            began.elapsed()
        );
    })
    .await;
}

/// On a multi-thread runtime too, a bad setting of a stage with a task of
/// its own is refused before any stage is spawned: no restarted source's
/// factory is called and no item is pulled from a source (before the
/// settings were checked as the flow is built, the stages before it were
/// already running when the refusal came: the factory ran in 35 of 100
/// rounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pipeline_runs_nothing_on_a_multi_thread_runtime() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pulled = Arc::new(AtomicUsize::new(0));
    for round in 0..100 {
        let p = Pipeline::new(&Context::background());
        let made = calls.clone();
        let feed = p.restart_source(
            move || {
                made.fetch_add(1, Ordering::SeqCst);
                stream::iter([Ok::<u32, &str>(1)])
            },
            Backoff::fixed(MS),
        );
        let bad = match round % 8 {
            0 => feed.window(Tumbling::count(0)).map(|_| 0).count(),
            1 => feed
                .window_fold(
                    Session {
                        gap: Duration::ZERO,
                    },
                    0,
                    |a, _| a,
                )
                .map(|_| 0)
                .count(),
            2 => feed.debounce(Duration::ZERO).count(),
            3 => feed.sample(Duration::ZERO).count(),
            4 => feed.group_by(|n| *n, Keys::at_most(0), |_, f| f).count(),
            5 => feed
                .timeout(Duration::ZERO)
                .then(|n| async move { Ok::<_, &str>(n) })
                .count(),
            6 => feed
                .retry(0, Backoff::none())
                .map_unordered(4, |n| async move { Ok::<_, &str>(n) })
                .count(),
            _ => feed
                .timeout(Duration::ZERO)
                .worker_pool(2, |n| async move { Ok::<_, &str>(n) })
                .count(),
        };
        config_stage(&bad.await.unwrap_err());

        let p = Pipeline::new(&Context::background());
        let seen = pulled.clone();
        let source = p.source((0..100u32).inspect(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        let bad = source.window(Sliding {
            size: HOUR,
            step: Duration::from_nanos(1),
        });
        config_stage(&bad.count().await.unwrap_err());
    }
    // Give any task that did start time to run (it would have been
    // spawned before the sink returned).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a restart_source factory ran"
    );
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "a source was read");
}

/// A graceful `shutdown` delivers what a buffer holds to a slow sink, and
/// the summary a conflate holds and the item a sample holds.
#[tokio::test(start_paused = true)]
async fn shutdown_delivers_what_buffers_hold() {
    assert_no_leaked_tasks(async {
        for overflow in [
            Overflow::Backpressure,
            Overflow::DropNewest,
            Overflow::DropOldest,
        ] {
            let p = Pipeline::new(&Context::background());
            let (_tx, rx) = open_input((0..8).collect());
            let run = p
                .from_receiver(rx)
                .buffer(4, overflow)
                .named("buf")
                .then(|n| async move {
                    tokio::time::sleep(SEC).await;
                    n
                })
                .collect::<Vec<_>>()
                .run();
            tokio::time::sleep(1500 * MS).await;
            run.shutdown();
            let got = run.join().await.unwrap();
            let buf = p
                .metrics()
                .stages
                .into_iter()
                .find(|s| s.name == "buf")
                .unwrap();
            // Nothing taken in is lost but what the policy dropped.
            assert_eq!(
                got.len() as u64 + buf.dropped,
                buf.items_in,
                "{overflow:?}: {got:?}"
            );
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{overflow:?}: {got:?}");
        }

        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3]);
        let run = p.from_receiver(rx).sample(HOUR).collect::<Vec<_>>().run();
        tokio::time::sleep(SEC).await;
        run.shutdown();
        assert_eq!(run.join().await.unwrap(), [3]);

        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3]);
        let run = p
            .from_receiver(rx)
            .conflate(|n| n, |a, n| a + n)
            .collect::<Vec<u32>>()
            .run();
        tokio::time::sleep(SEC).await;
        run.shutdown();
        assert_eq!(run.join().await.unwrap().iter().sum::<u32>(), 6);
    })
    .await;
}

/// An idle key is closed after its timeout, which flushes its sub-flow's
/// open window then, not at the end of the input; a key that comes back
/// gets a new sub-flow.
#[tokio::test(start_paused = true)]
async fn an_idle_key_flushes_its_window_when_closed() {
    let start = Instant::now();
    let (tx, rx) = chan::bounded(8);
    tokio::spawn(async move {
        tx.send("a").await.unwrap();
        tokio::time::sleep(10 * SEC).await;
        tx.send("b").await.unwrap();
        tokio::time::sleep(HOUR).await;
        tx.send("a").await.unwrap();
    });
    let p = Pipeline::new(&Context::background());
    let got = p
        .from_receiver(rx)
        .group_by(
            |k| *k,
            Keys::at_most(1).idle_after(5 * SEC),
            move |key, f| {
                f.window(Tumbling::every(HOUR * 24))
                    .map(move |w| (key, w.items.len(), Instant::now() - start))
            },
        )
        .collect::<Vec<_>>()
        .await
        .unwrap();
    // One key at most: "b" could only open because "a" was closed as idle.
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!((got[0].0, got[0].1), ("a", 1));
    assert!(
        got[0].2 <= 10 * SEC,
        "a's window waited for the input end: {:?}",
        got[0].2
    );
    assert_eq!((got[1].0, got[1].1), ("b", 1));
    assert!(
        got[1].2 < HOUR,
        "b's window waited for the input end: {:?}",
        got[1].2
    );
    assert_eq!((got[2].0, got[2].1), ("a", 1));
}

/// `interleave`, `concat` and `zip` stop both their inputs when the
/// downstream goes away (here: `take`), endless inputs included.
#[tokio::test(start_paused = true)]
async fn combinators_stop_endless_inputs_when_downstream_stops() {
    assert_no_leaked_tasks(async {
        let p = Pipeline::new(&Context::background());
        let got = p
            .source(0u64..)
            .interleave(p.source(1000u64..))
            .take(4)
            .collect::<Vec<_>>();
        assert_eq!(got.await.unwrap(), [0, 1000, 1, 1001]);
        let p = Pipeline::new(&Context::background());
        let got = p
            .source(0u64..)
            .concat(p.source(0u64..))
            .take(3)
            .collect::<Vec<_>>();
        assert_eq!(got.await.unwrap(), [0, 1, 2]);
        let p = Pipeline::new(&Context::background());
        let got = p
            .source(0u64..)
            .zip(p.source(0u64..))
            .enumerate()
            .take(2)
            .collect::<Vec<_>>();
        assert_eq!(got.await.unwrap(), [(0, (0, 0)), (1, (1, 1))]);
    })
    .await;
}

/// A bad setting inside a `group_by` sub-flow is found when the first key
/// builds it (as documented): a `ConfigError` fails the pipeline then,
/// with no panic and no hang.
#[tokio::test(start_paused = true)]
async fn a_bad_setting_inside_a_sub_flow_fails_the_pipeline_at_the_first_key() {
    assert_no_leaked_tasks(async {
        let p = Pipeline::new(&Context::background());
        let (_tx, rx) = open_input(vec![1, 2, 3]);
        let err = p
            .from_receiver(rx)
            .group_by(
                |n| n % 2,
                4,
                |_, f| f.debounce(Duration::ZERO).named("quiet"),
            )
            .count()
            .await
            .unwrap_err();
        assert_eq!(config_stage(&err), "quiet");
    })
    .await;
}
