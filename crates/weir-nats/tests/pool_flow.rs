//! The NATS edges inside `weir` pipelines (through `Flow::through_stage`),
//! and two producers sharing one pool.

use std::time::Duration;

use weir::pipeline::Pipeline;
use weir_cancel::Context;
use weir_nats::testing::{work_queue, NatsServer};
use weir_nats::{Delivery, Json, Order, Pool, Publisher, Source};

/// A hang becomes a deadline error after 60 s (a guard, not a timing
/// assertion).
fn hang_guard() -> Context {
    Context::background().with_timeout(Duration::from_secs(60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_pool_and_publish_as_flow_stages() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("flow").ack_wait(Duration::from_secs(2));
    let (ctx, stop) = Context::background().with_cancel();
    let worker = tokio::spawn({
        let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
        async move {
            weir_nats::serve(&ctx, client, &pool, 4, |n: u64| async move {
                Ok::<_, std::io::Error>(n * n)
            })
            .await
        }
    });

    // source -> remote pool -> keep the values -> publish -> count.
    let client = weir_nats::connect(&url).await.unwrap();
    work_queue(&client, "SQUARES", "squares", "c")
        .await
        .unwrap();
    let remote = pool.remote::<u64, u64>(client.clone()).order(Order::Input);
    let publish = Publisher::<u64, Json>::new(client.clone(), "squares").key(|n| n.to_string());
    let p = Pipeline::new(&hang_guard());
    let published = p
        .source(1..=100u64)
        .through_stage("remote_pool", move |scope, rx| remote.run(scope, rx))
        .map(Result::unwrap)
        .through_stage("publish", move |scope, rx| publish.run(scope, rx))
        .fold(0u64, |n, ack| n + u64::from(!ack.duplicate))
        .await
        .unwrap();
    assert_eq!(published, 100);
    assert!(p.to_mermaid().contains("remote_pool"));

    // Read them back through a durable consumer: a `Source` under the
    // pipeline's scope, acking each once summed.
    let source = Source::<u64, Json>::new(client, "SQUARES", "c");
    // After 100 items the source is told to stop: what it handed out
    // drains, and the pipeline ends.
    let (stop_ctx, stop_source) = Context::background().with_cancel();
    let source = source.stop_on(&stop_ctx);
    let p = Pipeline::new(&hang_guard());
    let mut seen = 0;
    let sum = p
        .source([()])
        .through_stage("consume", move |scope, _unit| Ok(source.run(scope)))
        .map_concurrent(8, |delivery: Delivery<u64>| async move {
            let (n, acker) = delivery.into_parts();
            acker.ack().await.unwrap();
            n
        })
        .inspect(move |_| {
            seen += 1;
            if seen == 100 {
                stop_source.cancel();
            }
        })
        .fold(0, |a, n| a + n)
        .await
        .unwrap();
    assert_eq!(sum, 338_350);

    stop.cancel();
    worker.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_producers_share_one_pool_each_gets_its_own_results() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = Pool::new("shared");
    let (ctx, stop) = Context::background().with_cancel();
    let worker = tokio::spawn({
        let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
        async move {
            weir_nats::serve(&ctx, client, &pool, 4, |n: i64| async move {
                Ok::<_, std::io::Error>(-n)
            })
            .await
        }
    });
    let run = |range: std::ops::Range<i64>| {
        let (url, pool) = (url.clone(), pool.clone());
        async move {
            let client = weir_nats::connect(&url).await.unwrap();
            let remote = pool.remote::<i64, i64>(client);
            Pipeline::new(&hang_guard())
                .source(range)
                .through_stage("remote_pool", move |scope, rx| remote.run(scope, rx))
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .await
                .unwrap()
        }
    };
    let (mut a, mut b) = tokio::join!(run(0..200), run(1000..1200));
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, (-199..=0).collect::<Vec<_>>());
    assert_eq!(b, (-1199..=-1000).collect::<Vec<_>>());
    stop.cancel();
    worker.await.unwrap().unwrap();
}

/// Tasks alive on this (current-thread) runtime: on one thread a task
/// that has ended is gone before anything it woke runs, so the count is
/// exact.
fn tasks_alive() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Polls until the pool's jobs stream holds `n` jobs (no worker takes
/// them): the remote stage and its helpers are then running.
async fn until_jobs_queued(client: &weir_nats::async_nats::Client, pool: &str, n: u64) {
    let js = weir_nats::async_nats::jetstream::new(client.clone());
    let stream = format!("WEIR_POOL_{pool}_JOBS");
    loop {
        if let Ok(mut jobs) = js.get_stream(&stream).await {
            if jobs.info().await.is_ok_and(|info| info.state.messages >= n) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_remote_stage_leaves_no_helper_task_and_none_is_a_stage() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let before = tasks_alive();
    let (ctx, cancel) = hang_guard().with_cancel();
    let scope = weir_stage::Scope::new(&ctx);
    let stats = scope.stats();
    let jobs = weir_stage::generate(&scope.named("numbers"), 1..=3u64);
    let remote = Pool::new("helpers")
        .remote::<u64, u64>(client.clone())
        .no_worker_after(None);
    let results = remote.run(&scope.named("squares"), jobs).unwrap();
    let _sink = weir_stage::for_each(&scope.named("print"), results, |_| {});
    // No worker: the jobs wait while the stage runs, with its helpers (the
    // result reader, its in-progress acks, the lag sampler, the lease).
    until_jobs_queued(&client, "helpers", 3).await;
    let running = tasks_alive() - before;
    assert!(
        running >= 2 + 4,
        "{running} tasks: the stages and 4 helpers"
    );

    cancel.cancel();
    let outcome = scope.wait().await;
    assert!(
        matches!(outcome, Err(weir_stage::Error::Cancelled(_))),
        "{outcome:?}"
    );
    // Every helper has ended (the run's cleanup too: the scope waited for
    // it), and none was counted as a stage.
    assert_eq!(tasks_alive(), before, "tasks left after the scope ended");
    let mut names: Vec<String> = stats.stages().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["numbers", "print", "squares"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_pipeline_with_a_remote_pool_leaves_no_helper_task() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let before = tasks_alive();
    let (ctx, cancel) = hang_guard().with_cancel();
    let remote = Pool::new("piped")
        .remote::<u64, u64>(client.clone())
        .no_worker_after(None);
    let p = Pipeline::new(&ctx);
    let run = p
        .source(1..=3u64)
        .named("numbers")
        .remote_pool(remote)
        .named("squares")
        .for_each(|_| {})
        .run();
    until_jobs_queued(&client, "piped", 3).await;
    cancel.cancel();
    assert!(run.join().await.is_err());
    assert_eq!(tasks_alive(), before, "tasks left after the pipeline ended");
    let names: Vec<String> = p.metrics().stages.into_iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"squares".to_string()), "{names:?}");
}
