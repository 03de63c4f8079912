//! `Remote::caller`: a pool called job by job. A call whose future is
//! dropped (a per-item timeout giving up) leaves the in-flight window, so
//! it does not hold up the jobs after it nor the end of the run.

use std::time::Duration;

use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::{Order, Pool};
use weir_stage::Scope;

/// The item the worker never answers.
const HANGS: u64 = 7;

/// With a window of one job, a call given up on (its future dropped after
/// a while) frees the window: the next call is answered, and the run ends
/// once the caller is dropped (before the fix it would wait for ever for
/// the abandoned job). Giving up is the caller's: the run counts no
/// timeout of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_call_leaves_the_window_and_the_run_still_ends() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("caller").memory().in_flight(1);
    let (ctx, stop) = Context::background().with_cancel();
    let worker = tokio::spawn({
        let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
        async move {
            weir_nats::serve(&ctx, client, &pool, 2, |n: u64| async move {
                if n == HANGS {
                    std::future::pending::<()>().await;
                }
                Ok::<_, std::io::Error>(n + 1)
            })
            .await
        }
    });

    // A hang guard, not a timing assertion.
    let scope = Scope::new(&Context::background().with_timeout(Duration::from_secs(60)));
    let stats = scope.stats();
    let caller = pool
        .remote::<u64, u64>(weir_nats::connect(&url).await.unwrap())
        .order(Order::Input)
        .caller(&scope.named("calls"))
        .unwrap();
    assert_eq!((caller.order(), caller.in_flight()), (Order::Input, 1));
    assert_eq!(caller.call(1).await.unwrap(), 2);
    let gave_up = tokio::time::timeout(Duration::from_millis(500), caller.call(HANGS)).await;
    assert!(
        gave_up.is_err(),
        "the hanging job was answered: {gave_up:?}"
    );
    // The window holds one job: this is answered only once the abandoned
    // one has left it.
    let next = tokio::time::timeout(Duration::from_secs(30), caller.call(2)).await;
    assert_eq!(next.expect("held up behind the abandoned job").unwrap(), 3);
    let clone = caller.clone();
    assert_eq!(clone.call(3).await.unwrap(), 4);
    drop((caller, clone));
    scope.wait().await.unwrap();
    assert_eq!(stats.stage("calls").unwrap().timeouts, 0);

    stop.cancel();
    worker.await.unwrap().unwrap();
}

/// A call made once the run has stopped (its scope cancelled) is
/// `RemoteError::Stopped`, numbered by the caller's calls; it does not
/// wait for ever on a run that is gone (it did before: `pending()`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_after_the_run_stopped_is_an_error_not_a_hang() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("stopped").memory();
    let (ctx, cancel) = Context::background().with_cancel();
    let scope = Scope::new(&ctx);
    let caller = pool
        .remote::<u64, u64>(weir_nats::connect(&url).await.unwrap())
        .caller(&scope.named("calls"))
        .unwrap();
    cancel.cancel();
    assert!(
        scope.wait().await.is_err(),
        "the cancelled scope reports it"
    );
    // A hang guard, not a timing assertion.
    let first = tokio::time::timeout(Duration::from_secs(30), caller.call(1))
        .await
        .expect("a call on a stopped run resolves");
    assert_eq!(first, Err(weir_nats::RemoteError::Stopped { job: 0 }));
    let second = tokio::time::timeout(Duration::from_secs(30), caller.clone().call(2))
        .await
        .expect("a call on a stopped run resolves");
    assert_eq!(second.unwrap_err().job(), 1);
    assert_eq!(
        weir_nats::RemoteError::Stopped { job: 1 }.to_string(),
        "job 1: the remote pool's run has stopped"
    );
}
