//! Stopping pipelines: cancel, deadlines, dropping handles and futures
//! (no task left behind), and diagnosing a stage that will not stop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir::cancel::{Context, ContextError};
use weir::pipeline::{Flow, Pipeline, Sink};
use weir::stage::Error as StageError;
use weir::Error;

/// Yields until `cond` holds; fails the test if it never does.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never: {what}");
}

fn alive() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until the runtime has no more tasks alive than `baseline`.
async fn no_task_left(baseline: usize) {
    until("every pipeline task ended", || alive() == baseline).await;
}

/// An endless pipeline with tasks of every kind (fused segment, worker
/// pool, fan-out branches, merge, sink), counting what reaches the sink.
fn endless(p: &Pipeline) -> (Arc<AtomicUsize>, Sink<()>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let sink = p
        .source(0u64..)
        .map(|n| n.wrapping_mul(3))
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n + 1) })
        .fan_out(2, |b| b.filter(|n| n % 2 == 0))
        .for_each(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
    (seen, sink)
}

#[track_caller]
fn assert_cancelled(err: &Error, why: ContextError) {
    match err {
        Error::Stage(StageError::Cancelled(e)) => assert_eq!(*e, why),
        other => panic!("expected a cancel ({why:?}), got {other:?}"),
    }
    assert_eq!(err.stage(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn pipeline_cancel_stops_an_endless_pipeline() {
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    p.cancel();
    let err = run.join().await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_handle_cancel_stops_an_endless_pipeline() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    run.cancel();
    let err = run.join().await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn pipeline_cancel_stops_an_awaited_sink() {
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let canceller = p.clone();
    let watcher = tokio::spawn(async move {
        until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
        canceller.cancel();
    });
    let err = sink.await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);
    watcher.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn cancelling_the_parent_context_stops_the_pipeline() {
    // Go: cancelling a parent context stops everything derived from it.
    let (ctx, cancel) = Context::background().with_cancel();
    let p = Pipeline::new(&ctx);
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    cancel.cancel();
    let err = run.join().await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);
}

#[tokio::test(flavor = "current_thread")]
async fn a_pipeline_cancelled_before_it_starts_does_not_run() {
    let p = Pipeline::new(&Context::background());
    let sink = p
        .source(std::iter::from_fn(|| -> Option<u64> {
            panic!("source ran")
        }))
        .for_each(drop);
    p.cancel();
    let err = sink.await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);
}

#[tokio::test(flavor = "current_thread")]
async fn a_deadline_stops_an_endless_pipeline() {
    // Go's context.WithTimeout: the endless pipeline always outlives the
    // deadline, so the outcome does not depend on timing.
    let ctx = Context::background().with_timeout(Duration::from_millis(20));
    let p = Pipeline::new(&ctx);
    let (_, sink) = endless(&p);
    let err = sink.await.unwrap_err();
    assert_cancelled(&err, ContextError::DeadlineExceeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_stops_a_fused_endless_pipeline() {
    let baseline = alive();
    let ctx = Context::background().with_timeout(Duration::from_millis(20));
    let err = Pipeline::new(&ctx)
        .source(0u64..)
        .square()
        .filter(|n| n % 3 == 0)
        .for_each(drop)
        .await
        .unwrap_err();
    assert_cancelled(&err, ContextError::DeadlineExceeded);
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_a_run_handle_leaves_no_task_alive() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    assert!(alive() > baseline);
    drop(run);
    no_task_left(baseline).await;
}

/// What the rustdoc of `RunHandle::join` (and docs/guide.md,
/// docs/observability.md, docs/cancel-safety.md) say: a `join` future
/// dropped after it was polled cancels the pipeline, and no task is left.
#[tokio::test(flavor = "current_thread")]
async fn dropping_a_polled_join_cancels_the_pipeline() {
    for timeout in [None, Some(Duration::from_secs(3600))] {
        let baseline = alive();
        let p = Pipeline::new(&Context::background());
        let (seen, sink) = endless(&p);
        let run = sink.run();
        let mut join = Box::pin(match timeout {
            None => run.join(),
            Some(t) => run.join_timeout(t),
        });
        assert!(weir::testing::poll_once(&mut join.as_mut())
            .await
            .is_pending());
        until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
        drop(join);
        no_task_left(baseline).await;
        assert!(p.metrics().stages.iter().all(|s| !s.running));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_handle_leaves_no_task_alive_multi_thread() {
    let baseline = alive();
    let p = Pipeline::with_capacity(&Context::background(), 0);
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    drop(run);
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_a_run_handle_before_it_is_polled_leaves_no_task_alive() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (_, sink) = endless(&p);
    drop(sink.run());
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_future_of_an_awaited_sink_leaves_no_task_alive() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let count = seen.clone();
    tokio::select! {
        biased;
        _ = until("items flow", move || count.load(Ordering::Relaxed) > 0) => {}
        _ = sink => panic!("an endless pipeline ended"),
    }
    // The sink's future was dropped by `select!`.
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_of_an_awaited_sink_leaves_no_task_alive_multi_thread() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let count = seen.clone();
    tokio::select! {
        biased;
        _ = until("items flow", move || count.load(Ordering::Relaxed) > 0) => {}
        _ = sink => panic!("an endless pipeline ended"),
    }
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_join_future_leaves_no_task_alive() {
    let baseline = alive();
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let run = sink.run();
    let count = seen.clone();
    tokio::select! {
        biased;
        _ = until("items flow", move || count.load(Ordering::Relaxed) > 0) => {}
        _ = run.join() => panic!("an endless pipeline ended"),
    }
    no_task_left(baseline).await;
}

#[tokio::test(flavor = "current_thread")]
async fn join_timeout_of_a_pipeline_that_stops_returns_its_outcome() {
    let p = Pipeline::new(&Context::background());
    let (seen, sink) = endless(&p);
    let run = sink.run();
    until("items flow", || seen.load(Ordering::Relaxed) > 0).await;
    run.cancel();
    // The timeout is an upper bound only: a cancelled pipeline stops at once.
    let err = run.join_timeout(Duration::from_secs(60)).await.unwrap_err();
    assert_cancelled(&err, ContextError::Canceled);

    let run = Pipeline::new(&Context::background())
        .source(1..=10u64)
        .fold(0, |a, n| a + n)
        .run();
    assert_eq!(run.join_timeout(Duration::from_secs(60)).await.unwrap(), 55);
}

/// Runs `build`'s pipeline, whose stage "spin" never yields until released,
/// and returns what `join_timeout` says after a cancel.
async fn stuck(build: impl FnOnce(Flow<u64>) -> Sink<()>) -> Error {
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (entered2, release2) = (entered.clone(), release.clone());
    let p = Pipeline::new(&Context::background());
    let spin = p
        .source(0u64..)
        .map(move |n| {
            entered2.store(true, Ordering::SeqCst);
            while !release2.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            n
        })
        .named("spin");
    let run = build(spin).run();
    until("the stage spins", || entered.load(Ordering::SeqCst)).await;
    run.cancel();
    // A bound on waiting for something that never happens: the stage
    // cannot see the cancel until it is released.
    let outcome = run.join_timeout(Duration::from_millis(200)).await;
    release.store(true, Ordering::SeqCst);
    outcome.unwrap_err()
}

#[track_caller]
fn assert_stuck_in(err: &Error, stage: &str) {
    match err {
        Error::Stuck { timeout, diagnosis } => {
            assert_eq!(*timeout, Duration::from_millis(200));
            assert!(
                diagnosis.running.iter().any(|s| s == stage),
                "`{stage}` not among the running stages: {diagnosis}"
            );
            let shown = err.to_string();
            assert!(
                shown.starts_with("pipeline did not stop within 200ms: still running: "),
                "{shown}"
            );
            assert!(shown.contains(stage), "{shown}");
        }
        other => panic!("expected Stuck, got {other:?}"),
    }
    assert_eq!(err.stage(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_timeout_names_a_stuck_stage_before_a_channel() {
    let err = stuck(|spin| {
        spin.worker_pool(1, |n| async move { Ok::<_, std::io::Error>(n) })
            .for_each(drop)
    })
    .await;
    assert_stuck_in(&err, "spin");
    if let Error::Stuck { diagnosis, .. } = &err {
        // The edge out of the stuck stage is listed with its queue.
        assert!(
            diagnosis.edges.iter().any(|e| e.from == "spin"),
            "{diagnosis}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_timeout_names_a_stuck_stage_fused_into_the_sink() {
    let err = stuck(|spin| spin.for_each(drop)).await;
    assert_stuck_in(&err, "spin");
}
