//! The distributed pool through a `kill -9` of the server and a restart on
//! the same store: every job's result arrives exactly once and the run
//! completes well inside its hang guard (on the code before issue 20 the
//! producer re-sent the publishes lost in the crash one 5 s timeout at a
//! time, and the run did not finish inside the guard).

mod support;

use std::time::Duration;

use support::{assert_exactly_once, jobs, Job, WorkerProcess};
use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::{NakBackoff, Pool};
use weir_stage::{self as stage, Scope};

fn pool(name: &str) -> Pool {
    Pool::new(name)
        .ack_wait(Duration::from_secs(2))
        .max_deliver(5)
        .backoff(NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ))
}

/// Runs `n` jobs through two worker processes; after `kill_after` results
/// the server is killed (SIGKILL), stays down for `down`, and comes back on
/// the same port and store. Returns every result the producer output.
async fn run_through_a_restart(
    name: &str,
    n: u64,
    kill_after: usize,
    down: Duration,
) -> Vec<Result<u64, weir_nats::RemoteError>> {
    let mut server = NatsServer::start().expect("nats-server");
    let url = server.url();
    let _workers = [
        WorkerProcess::spawn(&url, name, 8, 2_000, 5),
        WorkerProcess::spawn(&url, name, 8, 2_000, 5),
    ];
    let client = weir_nats::connect(&url).await.unwrap();
    // A hang guard, not a timing assertion: the crawl this test catches
    // takes minutes; a run back at full speed takes seconds.
    let guard = Context::background().with_timeout(Duration::from_secs(45));
    let scope = Scope::new(&guard);
    let input = stage::generate(&scope, jobs(n, 1));
    let results = pool(name)
        .remote::<Job, u64>(client)
        .run(&scope, input)
        .unwrap();
    let mut all = Vec::new();
    let mut server = Some(&mut server);
    while let Some(r) = results.recv().await {
        all.push(r);
        if all.len() == kill_after {
            let s = server.take().expect("killed once");
            s.kill();
            // The downtime under test (not a wait for something).
            tokio::time::sleep(down).await;
            tokio::task::block_in_place(|| s.restart()).unwrap();
        }
        if all.len() as u64 == n {
            break;
        }
    }
    drop(results);
    let _ = tokio::time::timeout(Duration::from_secs(10), scope.wait()).await;
    all
}

fn installed() -> bool {
    if NatsServer::installed() {
        return true;
    }
    eprintln!("nats-server not installed: skipping");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_back_after_1s_every_result_once_and_the_run_completes() {
    if !installed() {
        return;
    }
    let all = run_through_a_restart("restart1", 3_000, 300, Duration::from_secs(1)).await;
    assert_exactly_once(&all, 3_000, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_back_after_5s_every_result_once_and_the_run_completes() {
    if !installed() {
        return;
    }
    let all = run_through_a_restart("restart5", 3_000, 300, Duration::from_secs(5)).await;
    assert_exactly_once(&all, 3_000, &[]);
}
