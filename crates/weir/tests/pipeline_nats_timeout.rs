//! `remote_pool` under weir's recovery (`flow.timeout(d).retry(…)
//! .on_error(…).remote_pool(remote)`) against a real `nats-server -js`
//! (started per test by `weir_nats::testing`; the tests print SKIPPED and
//! pass where the binary is missing). A worker that never answers one
//! item: the producer gives up on it after the timeout, counts it, retries
//! it, and hands it to the policy; the other items are not held up.
#![cfg(feature = "nats")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir::cancel::Context;
use weir::chan;
use weir::nats::{self, Order, Pool};
use weir::pipeline::{Pipeline, StageMetrics};
use weir::stage::{Backoff, ConfigError, Policy, TimedOut};
use weir_nats::testing::NatsServer;

/// The per-attempt limit: long enough that a job a worker does answer
/// never reaches it on a loaded machine; the one that hangs always does.
const LIMIT: Duration = Duration::from_secs(3);

/// The item the workers never answer.
const HANGS: u64 = 7;

/// A hang becomes a deadline error after 120 s (a guard, not a timing
/// assertion).
fn hang_guard() -> Context {
    Context::background().with_timeout(Duration::from_secs(120))
}

/// Workers (4 at a time) that square every item but [`HANGS`], on which
/// they wait for ever; counts the jobs they were given.
async fn workers(
    url: &str,
    pool: &Pool,
    given: Arc<AtomicU64>,
) -> (
    weir::cancel::CancelHandle,
    tokio::task::JoinHandle<Result<(), nats::Error>>,
) {
    let (ctx, stop) = Context::background().with_cancel();
    let client = nats::connect(url).await.unwrap();
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        nats::serve(&ctx, client, &pool, 4, move |n: u64| {
            given.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == HANGS {
                    std::future::pending::<()>().await;
                }
                Ok::<_, String>(n * n)
            }
        })
        .await
    });
    (stop, task)
}

fn stage(stages: Vec<StageMetrics>, name: &str) -> StageMetrics {
    stages
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

/// Two attempts of the hanging item time out (`TimedOut` naming the
/// stage, counted twice in `timeouts`, one retry), then it is
/// dead-lettered; every other item's square comes out, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_no_worker_answers_times_out_through_retry_then_dead_letter() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("hangs").memory();
    let given = Arc::new(AtomicU64::new(0));
    let (stop, serving) = workers(&url, &pool, given.clone()).await;
    let client = nats::connect(&url).await.unwrap();

    let (dead_tx, dead_rx) = chan::unbounded();
    let p = Pipeline::new(&hang_guard());
    let mut squares = p
        .source(0..40u64)
        .timeout(LIMIT)
        .retry(2, Backoff::fixed(Duration::from_millis(50)))
        .on_error(Policy::dead_letter(dead_tx))
        .remote_pool(pool.remote::<u64, u64>(client))
        .named("squares")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    squares.sort_unstable();
    let expected: Vec<u64> = (0..40u64).filter(|&n| n != HANGS).map(|n| n * n).collect();
    assert_eq!(squares, expected);

    let (item, why) = dead_rx.recv().await.unwrap();
    assert_eq!(item, HANGS);
    let timed_out = why.downcast_ref::<TimedOut>().expect("a TimedOut");
    assert_eq!((&*timed_out.stage, timed_out.after), ("squares", LIMIT));
    assert!(dead_rx.try_recv().is_err(), "one dead letter");

    let m = stage(p.metrics().stages, "squares");
    assert_eq!(m.kind, "remote_pool");
    assert_eq!(
        (m.timeouts, m.retries, m.dead_lettered, m.errors),
        (2, 1, 1, 0)
    );
    assert_eq!((m.items_in, m.items_out), (40, 39));
    // Each attempt was a job of its own: 39 answered, 2 that hung.
    assert_eq!(given.load(Ordering::SeqCst), 41);

    stop.cancel();
    serving.await.unwrap().unwrap();
}

/// In input order, with one attempt and `Policy::skip`: the hanging item
/// is skipped after one timeout, and the items after it come out, in
/// order; under the default policy the timeout fails the pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_input_order_a_job_no_worker_answers_is_skipped_after_one_timeout() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("hangs_in_order").memory();
    let (stop, serving) = workers(&url, &pool, Arc::new(AtomicU64::new(0))).await;
    let client = nats::connect(&url).await.unwrap();

    let p = Pipeline::new(&hang_guard());
    let squares = p
        .source(0..20u64)
        .timeout(LIMIT)
        .on_error(Policy::skip())
        .remote_pool(pool.remote::<u64, u64>(client).order(Order::Input))
        .named("squares")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u64> = (0..20u64).filter(|&n| n != HANGS).map(|n| n * n).collect();
    assert_eq!(squares, expected);
    let m = stage(p.metrics().stages, "squares");
    assert_eq!((m.timeouts, m.retries, m.skipped, m.errors), (1, 0, 1, 0));

    // Under the default policy, the timeout fails the pipeline, naming
    // the stage.
    let client = nats::connect(&url).await.unwrap();
    let err = Pipeline::new(&hang_guard())
        .source([HANGS])
        .timeout(LIMIT)
        .remote_pool(pool.remote::<u64, u64>(client))
        .named("squares")
        .count()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("squares"));
    assert!(
        std::error::Error::source(&err).unwrap().is::<TimedOut>(),
        "{err}"
    );

    stop.cancel();
    serving.await.unwrap().unwrap();
}

/// A zero timeout, or no attempt, is a `ConfigError` naming the stage
/// before anything runs: no item is pulled from the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_timeout_or_no_attempt_is_refused_before_anything_runs() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = nats::connect(&server.url()).await.unwrap();
    let pool = Pool::new("refused").memory();
    let pulled = Arc::new(AtomicU64::new(0));
    for zero_timeout in [true, false] {
        let p = Pipeline::new(&hang_guard());
        let seen = pulled.clone();
        let source = p.source((0..10u64).inspect(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        let guarded = if zero_timeout {
            source.timeout(Duration::ZERO)
        } else {
            source.retry(0, Backoff::none())
        };
        let err = guarded
            .remote_pool(pool.remote::<u64, u64>(client.clone()))
            .named("squares")
            .count()
            .await
            .unwrap_err();
        match err {
            weir::Error::Stage(weir::stage::Error::Config(
                ConfigError::Invalid { ref stage, .. } | ConfigError::Zero { ref stage, .. },
            )) => assert_eq!(&**stage, "squares"),
            other => panic!("not a ConfigError: {other:?}"),
        }
    }
    tokio::task::yield_now().await;
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "a source was read");
}
