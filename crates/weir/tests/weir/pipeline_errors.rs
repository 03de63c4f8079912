//! Errors name their stage; bad settings and unconnected outputs are refused
//! before anything runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir::cancel::Context;
use weir::pipeline::{Flow, Pipeline};
use weir::stage::{ConfigError, Error as StageError};
use weir::Error;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

/// A source that panics if anything pulls from it: proves nothing ran.
fn untouchable() -> impl Iterator<Item = u64> + Send + 'static {
    std::iter::from_fn(|| panic!("the pipeline ran"))
}

/// Stands for a value in a closure that must never be called.
fn ran<T>(what: &str) -> T {
    panic!("{what} ran")
}

#[track_caller]
fn assert_panicked(err: &Error, stage: &str, message: &str) {
    match err {
        Error::Stage(StageError::Panicked {
            stage: s,
            message: m,
        }) => {
            assert_eq!(&**s, stage);
            assert!(m.contains(message), "panic message {m:?}");
        }
        other => panic!("expected a panic of `{stage}`, got {other:?}"),
    }
    assert_eq!(err.stage(), Some(stage));
}

#[track_caller]
fn assert_zero(err: &Error, stage: &str, what: &str) {
    match err {
        Error::Stage(StageError::Config(ConfigError::Zero { stage: s, what: w })) => {
            assert_eq!(&**s, stage);
            assert_eq!(*w, what);
        }
        other => panic!("expected a zero-setting error of `{stage}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_unconnected(err: &Error, stage: &str) {
    match err {
        Error::Stage(StageError::Config(ConfigError::Invalid { stage: s, what })) => {
            assert_eq!(&**s, stage);
            assert!(what.contains("not connected"), "{what}");
        }
        other => panic!("expected an unconnected output of `{stage}`, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_a_fused_stage_names_it() {
    let err = pipeline()
        .source(0..2_000u64)
        .map(|n| n + 1)
        .map(|n| if n == 1_500 { panic!("boom at {n}") } else { n })
        .named("explode")
        .filter(|_| true)
        .for_each(drop)
        .await
        .unwrap_err();
    assert_panicked(&err, "explode", "boom at 1500");
    assert_eq!(err.to_string(), "stage `explode` panicked: boom at 1500");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_each_kind_of_fused_stage_names_it() {
    async fn check(name: &str, flow: impl FnOnce(Flow<u64>) -> Flow<u64>) {
        let p = pipeline();
        let err = flow(p.source(0..10u64)).for_each(drop).await.unwrap_err();
        assert_panicked(&err, name, "no");
    }
    check("map", |f| f.map(|_| panic!("no")).named("map")).await;
    check("filter", |f| f.filter(|_| panic!("no")).named("filter")).await;
    check("filter_map", |f| {
        f.filter_map(|_| -> Option<u64> { panic!("no") })
            .named("filter_map")
    })
    .await;
    check("inspect", |f| f.inspect(|_| panic!("no")).named("inspect")).await;
    check("try_map", |f| {
        f.try_map(|_| -> Result<u64, std::io::Error> { panic!("no") })
            .named("try_map")
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_square_names_it() {
    // `n * n` overflows: a panic in debug builds, reported naming `square`.
    if !cfg!(debug_assertions) {
        return;
    }
    let err = pipeline()
        .source([2u8, 200])
        .square()
        .named("sq")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_panicked(&err, "sq", "overflow");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_the_source_iterator_names_the_source() {
    let err = pipeline()
        .source((0..10u64).map(|n| if n == 5 { panic!("bad input") } else { n }))
        .named("gen")
        .map(|n| n)
        .for_each(drop)
        .await
        .unwrap_err();
    assert_panicked(&err, "gen", "bad input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_fused_stage_after_a_channel_names_it() {
    let err = pipeline()
        .source(0..1_000u64)
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .map(|n| n)
        .named("after-pool")
        .map(|n| if n == 999 { panic!("late") } else { n })
        .named("late")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_panicked(&err, "late", "late");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_a_sink_names_it() {
    let err = pipeline()
        .source(0..10u64)
        .for_each(|n| assert!(n < 5, "too big"))
        .await
        .unwrap_err();
    assert_panicked(&err, "for_each#1", "too big");
}

#[tokio::test(flavor = "current_thread")]
async fn a_try_map_error_names_the_stage_and_keeps_the_source() {
    let err = pipeline()
        .source(["1", "2", "x", "4"])
        .try_map(str::parse::<u32>)
        .named("parse")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("parse"));
    assert_eq!(err.to_string(), "stage `parse` failed");
    assert_eq!(
        report(&err),
        "stage `parse` failed: invalid digit found in string",
        "a reporter walking the sources prints the cause once"
    );
    match err {
        Error::Stage(StageError::Failed { stage, source }) => {
            assert_eq!(&*stage, "parse");
            assert!(source.downcast_ref::<std::num::ParseIntError>().is_some());
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_try_map_error_stops_the_stages_after_it() {
    let after = Arc::new(AtomicUsize::new(0));
    let seen = after.clone();
    let err = pipeline()
        .source(0..10_000u64)
        .try_map(|n| if n == 3 { Err("three") } else { Ok(n) })
        .inspect(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("try_map#1"));
    // Items after the failing one never reach the next stage.
    assert!(after.load(Ordering::SeqCst) <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pool_job_error_names_the_pool() {
    let err = pipeline()
        .source(0..100u64)
        .worker_pool(3, |n| async move {
            if n == 42 {
                Err(std::io::Error::other("job 42 failed"))
            } else {
                Ok(n)
            }
        })
        .named("pool")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("pool"));
    match &err {
        Error::Stage(StageError::Failed { source, .. }) => {
            assert_eq!(source.to_string(), "job 42 failed");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pool_job_panic_names_the_pool() {
    let err = pipeline()
        .source(0..100u64)
        .worker_pool(3, |n| async move {
            assert_ne!(n, 42, "job panicked");
            Ok::<_, std::io::Error>(n)
        })
        .named("pool")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_panicked(&err, "pool", "job panicked");
}

#[tokio::test(flavor = "current_thread")]
async fn zero_workers_is_refused_before_anything_runs() {
    let err = pipeline()
        .source(untouchable())
        .worker_pool(
            0,
            |_: u64| async move { Ok::<u64, std::io::Error>(ran("job")) },
        )
        .named("pool")
        .for_each(|_| panic!("sink ran"))
        .await
        .unwrap_err();
    assert_zero(&err, "pool", "workers");
    assert_eq!(err.stage(), Some("pool"));
}

#[tokio::test(flavor = "current_thread")]
async fn zero_fan_out_branches_is_refused_before_anything_runs() {
    let err = pipeline()
        .source(untouchable())
        .fan_out(0, |b| b.map(|_: u64| -> u64 { panic!("branch ran") }))
        .named("fan")
        .for_each(|_| panic!("sink ran"))
        .await
        .unwrap_err();
    assert_zero(&err, "fan", "branches");
}

#[tokio::test(flavor = "current_thread")]
async fn zero_map_concurrent_is_refused_before_anything_runs() {
    let err = pipeline()
        .source(untouchable())
        .map_concurrent(0, |_: u64| async move { ran::<u64>("job") })
        .named("conc")
        .for_each(|_: u64| panic!("sink ran"))
        .await
        .unwrap_err();
    assert_zero(&err, "conc", "concurrency");
}

#[tokio::test(flavor = "current_thread")]
async fn zero_split_branches_are_refused_before_anything_runs() {
    // balance, partition and broadcast into no branch at all; the pipeline
    // is started through a second, healthy sink, which must not run either.
    let p = pipeline();
    let branches = p.source(untouchable()).partition_n(0, |n| *n);
    assert!(branches.is_empty());
    let err = p.source(untouchable()).for_each(drop).await.unwrap_err();
    assert_zero(&err, "partition#1", "branches");

    let p = pipeline();
    let branches = p.source(untouchable()).broadcast_n(0);
    assert!(branches.is_empty());
    let err = p.source(untouchable()).for_each(drop).await.unwrap_err();
    assert_zero(&err, "broadcast#1", "branches");

    let p = pipeline();
    let branches = p.source(untouchable()).balance_n(0);
    assert!(branches.is_empty());
    let err = p.source(untouchable()).for_each(drop).await.unwrap_err();
    assert_zero(&err, "balance#1", "branches");
}

#[tokio::test(flavor = "current_thread")]
async fn a_config_error_from_through_stage_is_reported() {
    let p = pipeline();
    let err =
        p.source(0..10u64)
            .through_stage("pool", |scope, rx| {
                weir::stage::worker_pool(scope, rx, 0, |n: u64| async move {
                    Ok::<_, std::io::Error>(n)
                })
            })
            .named("custom")
            .for_each(drop)
            .await
            .unwrap_err();
    assert!(
        matches!(err, Error::Stage(StageError::Config(_))),
        "{err:?}"
    );
    assert_eq!(err.stage(), Some("custom"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_branch_is_an_unconnected_output() {
    let p = pipeline();
    let [a, b] = p.source(untouchable()).balance();
    let a = a.name_split("split");
    drop(b);
    let err = a.for_each(|_| panic!("sink ran")).await.unwrap_err();
    assert_unconnected(&err, "split");
    assert_eq!(err.stage(), Some("split"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_flow_is_an_unconnected_output_naming_its_last_stage() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let p = pipeline();
    let orphan = p
        .source(untouchable())
        .map(move |n| {
            count.fetch_add(1, Ordering::SeqCst);
            n
        })
        .named("orphan");
    drop(orphan);
    let err = p
        .source(untouchable())
        .for_each(|_| panic!("sink ran"))
        .await
        .unwrap_err();
    assert_unconnected(&err, "orphan");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_flow_still_alive_when_the_pipeline_starts_is_unconnected() {
    // Not dropped, just never given a sink: the run is refused all the same.
    let p = pipeline();
    let pending = p.source(untouchable()).named("pending");
    let err = p.source(untouchable()).for_each(drop).await.unwrap_err();
    // It names the stage whose output is open.
    assert_unconnected(&err, "pending");
    drop(pending);
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_pipeline_resolves_its_other_sinks() {
    // After a refused start, the other sinks of the pipeline do not hang.
    let p = pipeline();
    let [a, b] = p.source(untouchable()).broadcast();
    let orphan = p.source(untouchable());
    drop(orphan);
    let a = a.for_each(drop);
    let b = b.for_each(drop);
    assert_unconnected(&a.await.unwrap_err(), "source#2");
    // A hang guard only: `b` resolves at once, or never.
    let b = tokio::time::timeout(std::time::Duration::from_secs(10), b).await;
    let err = b
        .expect("the second sink of a refused pipeline hangs")
        .unwrap_err();
    // Every sink of a refused pipeline reports the same reason.
    assert_unconnected(&err, "source#2");
}

#[tokio::test(flavor = "current_thread")]
async fn a_second_run_of_a_finished_pipeline_is_refused() {
    let p = pipeline();
    assert_eq!(p.source(0..3u64).fold(0, |a, n| a + n).await.unwrap(), 3);
    // A hang guard only: the second sink resolves at once, or never.
    let second = p.source(untouchable()).for_each(drop);
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), second)
        .await
        .expect("a sink added after the pipeline ran hangs")
        .unwrap_err();
    match &err {
        Error::Stage(StageError::Config(ConfigError::Invalid { stage, what })) => {
            assert_eq!(&**stage, "pipeline");
            assert_eq!(what, "already started");
        }
        other => panic!("expected `already started`, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn running_a_second_sink_after_the_first_started_gets_its_own_result() {
    // `Sink::run` starts the whole pipeline; running another sink of the same
    // pipeline does not start it again: it just waits for that sink's result.
    let p = pipeline();
    let [a, b] = p.source(0..100u64).broadcast();
    let first = a.fold(0, |s, n| s + n);
    let second = b.collect::<Vec<_>>();
    let first = first.run();
    let all = second.run().join().await.unwrap();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    assert_eq!(first.join().await.unwrap(), 4_950);
}

#[tokio::test(flavor = "current_thread")]
async fn awaiting_a_second_sink_after_the_first_started_gives_its_result() {
    let p = pipeline();
    let [a, b] = p.source(0..100u64).broadcast();
    let first = a.fold(0, |s, n| s + n);
    let second = b.collect::<Vec<_>>();
    let first = first.run();
    assert_eq!(first.join().await.unwrap(), 4_950);
    assert_eq!(second.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn the_first_error_wins() {
    // The first stage to fail stops the others: the error names it, not a
    // stage that merely saw its input end early.
    let err = pipeline()
        .source(0..10_000u64)
        .try_map(|n| if n == 10 { Err("first") } else { Ok(n) })
        .named("first")
        .map(|n| n)
        .try_map(|n| if n >= 20 { Err("second") } else { Ok(n) })
        .named("second")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("first"));
}

/// What an error reporter (anyhow, eyre, a `main` returning an error)
/// prints: the error, then each source.
fn report(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(&format!(": {e}"));
        source = e.source();
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn every_error_reports_its_cause_once() {
    let failed = pipeline()
        .source(["x"])
        .try_map(str::parse::<u32>)
        .for_each(drop)
        .await
        .unwrap_err();
    let ctx = weir::cancel::Context::background();
    let p = weir::pipeline::Pipeline::new(&ctx);
    p.cancel();
    let cancelled = p.source(0u64..).for_each(drop).await.unwrap_err();
    let panicked = pipeline()
        .source([1])
        .map(|_: i32| -> i32 { panic!("boom") })
        .for_each(drop)
        .await
        .unwrap_err();
    for (err, cause) in [
        (&failed, "invalid digit found in string"),
        (&cancelled, "context canceled"),
        (&panicked, "boom"),
    ] {
        let report = report(err);
        assert_eq!(report.matches(cause).count(), 1, "{report}");
    }
}

#[test]
fn multiple_errors_display_without_panicking_even_when_empty() {
    assert_eq!(StageError::Multiple(vec![]).to_string(), "no stage failed");
    let two = StageError::Multiple(vec![
        StageError::Failed {
            stage: "a".into(),
            source: "bad".into(),
        },
        StageError::Panicked {
            stage: "b".into(),
            message: "boom".into(),
        },
    ]);
    assert_eq!(
        two.to_string(),
        "2 stages failed; first: stage `a` failed: bad"
    );
}
