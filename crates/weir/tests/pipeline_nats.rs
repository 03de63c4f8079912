//! `Flow::remote_pool` and `Pipeline::from_nats` against a real
//! `nats-server -js` (started per test by `weir_nats::testing`; the tests
//! print SKIPPED and pass where the binary is missing).
#![cfg(feature = "nats")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir::cancel::Context;
use weir::nats::{self, Delivery, Json, Order, Pool, RemoteError, Source};
use weir::pipeline::{Pipeline, StageMetrics};
use weir_nats::testing::{work_queue, NatsServer};

/// A hang becomes a deadline error after 60 s (a guard, not a timing
/// assertion).
fn hang_guard() -> Context {
    Context::background().with_timeout(Duration::from_secs(60))
}

/// Polls `cond` every 10 ms until it holds; panics after 30 s (a hang
/// guard, not a timing assertion).
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `workers` jobs at a time of `f` for `pool` until the returned
/// handle is cancelled; join the task to see the worker's own errors.
async fn worker<F, Fut>(
    url: &str,
    pool: &Pool,
    workers: usize,
    f: F,
) -> (
    weir::cancel::CancelHandle,
    tokio::task::JoinHandle<Result<(), nats::Error>>,
)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u64, String>> + Send + 'static,
{
    let (ctx, stop) = Context::background().with_cancel();
    let client = nats::connect(url).await.unwrap();
    let pool = pool.clone();
    let task = tokio::spawn(async move { nats::serve(&ctx, client, &pool, workers, f).await });
    (stop, task)
}

fn stage<'a>(stages: &'a [StageMetrics], name: &str) -> &'a StageMetrics {
    stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name} in {stages:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_pool_gives_every_result_exactly_once_in_either_order() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("squares").memory();
    let (stop, workers) = worker(&url, &pool, 4, |n| async move { Ok(n * n) }).await;
    let client = nats::connect(&url).await.unwrap();

    // As workers finish: every result once, in any order.
    let p = Pipeline::new(&hang_guard());
    let mut unordered = p
        .source(0..300u64)
        .remote_pool(pool.remote::<u64, u64>(client.clone()))
        .named("squares")
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    unordered.sort_unstable();
    assert_eq!(unordered, (0..300u64).map(|n| n * n).collect::<Vec<_>>());
    let m = p.metrics();
    let remote = stage(&m.stages, "squares");
    assert_eq!(
        (remote.kind, remote.items_in, remote.items_out),
        ("remote_pool", 300, 300)
    );

    // In input order.
    let ordered = Pipeline::new(&hang_guard())
        .source(0..300u64)
        .remote_pool(pool.remote::<u64, u64>(client).order(Order::Input))
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(ordered, (0..300u64).map(|n| n * n).collect::<Vec<_>>());

    stop.cancel();
    workers.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_stage_shows_its_subjects_and_the_pools_lag() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("lagging").memory().max_deliver(1);
    // Job 0 is poison (dead-lettered on its only attempt); the others wait
    // at a gate until the test has seen the lag. More workers than jobs, so
    // that the poison job runs whatever order the jobs come in.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (stop, workers) = worker(&url, &pool, 16, {
        let gate = gate.clone();
        move |n| {
            let gate = gate.clone();
            async move {
                if n == 0 {
                    return Err("poison".to_string());
                }
                drop(gate.acquire().await.unwrap());
                Ok(n)
            }
        }
    })
    .await;

    let client = nats::connect(&url).await.unwrap();
    let remote = pool
        .remote::<u64, u64>(client)
        .lag_every(Duration::from_millis(20));
    let p = Pipeline::with_capacity(&hang_guard(), 4);
    let run = p
        .source(0..10u64)
        .remote_pool(remote)
        .named("remote")
        .collect::<Vec<_>>()
        .run();

    // The server's view, from the pipeline's metrics: one job
    // dead-lettered, nine not yet done, some of them held by workers.
    let lag = || stage(&run.metrics().stages, "remote").lag;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while !lag().is_some_and(|lag| {
        lag.dead_lettered == 1 && lag.ack_pending >= 1 && lag.pending + lag.ack_pending == 9
    }) {
        assert!(
            tokio::time::Instant::now() < give_up,
            "the gated jobs' lag never showed in metrics(): {:?}",
            lag()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let chart = run.to_mermaid();
    assert!(chart.contains("dead-lettered 1"), "{chart}");

    // The subjects label the remote stage's edges, in every export.
    let m = run.metrics();
    let into = m.edges.iter().find(|e| e.to == "remote").unwrap();
    let out_of = m.edges.iter().find(|e| e.from == "remote").unwrap();
    assert_eq!(into.subject.as_deref(), Some("weir.pool.lagging.jobs.*"));
    assert_eq!(
        out_of.subject.as_deref(),
        Some("weir.pool.lagging.results.*")
    );
    assert_eq!(m.edges.iter().filter(|e| e.subject.is_some()).count(), 2);
    for export in [run.to_mermaid(), run.to_dot()] {
        assert!(export.contains("weir.pool.lagging.jobs.* · "), "{export}");
        assert!(
            export.contains("weir.pool.lagging.results.* · "),
            "{export}"
        );
    }

    gate.add_permits(1_000);
    let results = run.join().await.unwrap();
    assert_eq!(results.len(), 10);
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(
        matches!(
            failed[..],
            [Err(RemoteError::Failed {
                job: 0,
                attempts: 1,
                ..
            })]
        ),
        "{failed:?}"
    );
    let mut ok: Vec<u64> = results.into_iter().filter_map(Result::ok).collect();
    ok.sort_unstable();
    assert_eq!(ok, (1..10).collect::<Vec<_>>());
    // The run ended with one more sample: every job handed out (the last
    // ones' acks may still be on their way: a worker acks a job once its
    // result is stored).
    let lag = stage(&p.metrics().stages, "remote").lag.unwrap();
    assert_eq!((lag.pending, lag.dead_lettered), (0, 1), "{lag:?}");

    stop.cancel();
    workers.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_the_remote_pool_and_cancel_reaches_the_workers() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();

    // Graceful: an endless source stops; every job already sent finishes
    // and its result comes out once.
    let pool = Pool::new("endless").memory().in_flight(16);
    let (stop, workers) = worker(&url, &pool, 4, |n| async move { Ok(n + 1) }).await;
    let client = nats::connect(&url).await.unwrap();
    let p = Pipeline::new(&hang_guard());
    let stopper = p.clone();
    let mut seen = 0;
    let mut results = p
        .source(0u64..)
        .remote_pool(pool.remote::<u64, u64>(client.clone()))
        .named("remote")
        .map(Result::unwrap)
        .inspect(move |_| {
            seen += 1;
            if seen == 50 {
                stopper.shutdown();
            }
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(p.cut_short());
    let m = p.metrics();
    let remote = stage(&m.stages, "remote");
    // Every job sent came back, once: the results are 1..=k for the k
    // items the source produced before it stopped.
    results.sort_unstable();
    let sent = remote.items_in;
    assert!(sent >= 50, "{sent}");
    assert_eq!(remote.items_out, sent);
    assert_eq!(results, (1..=sent).collect::<Vec<_>>());
    stop.cancel();
    workers.await.unwrap().unwrap();

    // Hard: cancelling the pipeline stops the jobs running at the workers
    // (the pipeline's context travels with them).
    let pool = Pool::new("cancelled").memory();
    let (started, dropped) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (stop, workers) = worker(&url, &pool, 2, {
        let (started, dropped) = (started.clone(), dropped.clone());
        move |_| {
            let (started, dropped) = (started.clone(), dropped.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                let _on_drop = OnDrop(dropped);
                std::future::pending::<Result<u64, String>>().await
            }
        }
    })
    .await;
    let p = Pipeline::new(&hang_guard());
    let run = p
        .source(0..4u64)
        .remote_pool(pool.remote::<u64, u64>(client))
        .for_each(drop)
        .run();
    eventually("two jobs running at the workers", || {
        started.load(Ordering::SeqCst) >= 2
    })
    .await;
    p.cancel();
    let err = run.join().await.unwrap_err();
    assert!(err.cancelled().is_some(), "{err}");
    eventually("the running jobs dropped at the workers", || {
        dropped.load(Ordering::SeqCst) >= 2
    })
    .await;
    stop.cancel();
    workers.await.unwrap().unwrap();
}

/// Counts its drops.
struct OnDrop(Arc<AtomicU64>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_shutdown_stops_a_nats_source_and_loses_nothing() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = nats::connect(&server.url()).await.unwrap();
    work_queue(&client, "NUMBERS", "numbers", "summer")
        .await
        .unwrap();
    let js = nats::async_nats::jetstream::new(client.clone());
    for n in 0..150u64 {
        js.publish("numbers", n.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let p = Pipeline::new(&hang_guard());
    let stopper = p.clone();
    let mut seen = 0;
    let read = p
        .from_nats(Source::<u64, Json>::new(client, "NUMBERS", "summer").batch(8))
        .named("numbers")
        .then(|delivery: Delivery<u64>| async move {
            let (n, acker) = delivery.into_parts();
            acker.ack().await.map(|()| n)
        })
        .try_map(|acked| acked)
        .inspect(move |_| {
            seen += 1;
            if seen == 100 {
                stopper.shutdown();
            }
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(p.cut_short());
    let mut sorted = read.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), read.len(), "an item read twice");
    assert!(read.len() >= 100, "{}", read.len());
    assert_eq!(
        stage(&p.metrics().stages, "numbers").items_out,
        read.len() as u64
    );

    // Nothing read was left unacked and nothing unread was lost: the
    // stream (a work queue) holds exactly the messages not read, each
    // waiting for the consumer again — pending, or (the rest of the last
    // pull request, never handed out) delivered and due for redelivery
    // after `ack_wait`.
    let mut stream = js.get_stream("NUMBERS").await.unwrap();
    let left = 150 - read.len() as u64;
    let mut state = (u64::MAX, u64::MAX);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while state != (left, left) {
        assert!(
            tokio::time::Instant::now() < give_up,
            "left on the server (messages, waiting): {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        let info = stream.consumer_info("summer").await.unwrap().clone();
        let messages = stream.info().await.unwrap().state.messages;
        state = (messages, info.num_pending + info.num_ack_pending as u64);
    }
}
