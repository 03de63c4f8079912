//! The distributed pool against a real `nats-server -js`, through the
//! failures it promises to survive. Each test checks that every job's
//! result reaches the sink exactly once.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{assert_exactly_once, eventually, hang_guard, jobs, Job, WorkerProcess};
use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::{NakBackoff, Order, Pool, RemoteError};
use weir_stage::{self as stage, Scope};

fn pool(name: &str, ack_wait_ms: u64, max_deliver: u64) -> Pool {
    Pool::new(name)
        .ack_wait(Duration::from_millis(ack_wait_ms))
        .max_deliver(max_deliver)
        .backoff(NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ))
}

/// Runs `f` as an in-process worker "process" until the returned handle
/// is cancelled.
async fn worker<F, Fut>(
    url: &str,
    pool: &Pool,
    n: usize,
    f: F,
) -> (
    weir_cancel::CancelHandle,
    tokio::task::JoinHandle<Result<(), weir_nats::Error>>,
)
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u64, String>> + Send + 'static,
{
    let client = weir_nats::connect(url).await.unwrap();
    let (ctx, stop) = Context::background().with_cancel();
    let pool = pool.clone();
    let task = tokio::spawn(async move { weir_nats::serve(&ctx, client, &pool, n, f).await });
    (stop, task)
}

async fn sleep_job(job: Job) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(job.sleep_ms)).await;
    if job.fail {
        return Err(format!("job {} is poison", job.n));
    }
    Ok(job.n * 2)
}

/// Produces `jobs` through the pool and collects every result.
async fn produce(
    url: &str,
    pool: &Pool,
    jobs: Vec<Job>,
    order: Order,
) -> Vec<Result<u64, RemoteError>> {
    let client = weir_nats::connect(url).await.unwrap();
    let scope = Scope::new(&hang_guard());
    let input = stage::generate(&scope, jobs);
    let results = pool
        .remote::<Job, u64>(client)
        .order(order)
        .run(&scope, input)
        .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    all.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_job_is_dead_lettered_after_max_deliver_others_unaffected() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("poison", 2_000, 3);
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let (stop, task) = worker(&url, &pool, 4, move |job: Job| {
        if job.fail {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        sleep_job(job)
    })
    .await;
    let mut input = jobs(40, 1);
    input[13].fail = true;
    let results = produce(&url, &pool, input, Order::Completion).await;
    assert_exactly_once(&results, 40, &[13]);
    let err = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(
        err,
        &RemoteError::Failed {
            job: 13,
            message: "job 13 is poison".into(),
            attempts: 3
        }
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // The job sits in the pool's dead-letter stream (the worker puts it
    // there right after publishing its result).
    let client = weir_nats::connect(&url).await.unwrap();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let lag = pool.lag(&client).await.unwrap();
        if lag.dead_lettered == 1 && lag.ack_pending == 0 {
            assert_eq!((lag.pending, lag.redelivered), (0, 0), "{lag:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "not dead-lettered: {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_in_input_order_and_job_deadlines() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("ordered", 2_000, 3);
    let (stop, task) = worker(&url, &pool, 8, sleep_job).await;
    // Later jobs finish first; the output is still in input order.
    let input: Vec<Job> = (0..30)
        .map(|n| Job {
            n,
            sleep_ms: 30 - n,
            fail: false,
        })
        .collect();
    let results = produce(&url, &pool, input, Order::Input).await;
    assert_eq!(results, (0..30).map(|n| Ok(n * 2)).collect::<Vec<_>>());

    // A job past its deadline is an error, reported once.
    let client = weir_nats::connect(&url).await.unwrap();
    let scope = Scope::new(&hang_guard());
    let input = stage::generate(
        &scope,
        [
            Job {
                n: 1,
                sleep_ms: 60_000,
                fail: false,
            },
            Job {
                n: 2,
                sleep_ms: 0,
                fail: false,
            },
        ],
    );
    let results = pool
        .remote::<Job, u64>(client)
        .job_timeout(Duration::from_millis(300))
        .order(Order::Input)
        .run(&scope, input)
        .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    let stats = scope.stats();
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        [Err(RemoteError::DeadlineExceeded { job: 0 }), Ok(4)]
    );
    // The stage counts it as a timeout (its metrics' `timeouts`).
    let remote = stats
        .stages()
        .into_iter()
        .find(|s| s.name.starts_with("nats remote_pool"))
        .expect("the remote stage's record");
    assert_eq!(remote.timeouts, 1, "{remote:?}");
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process_killed_mid_job_its_jobs_finish_elsewhere() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("killed", 1_000, 5);
    let mut doomed = WorkerProcess::spawn(&url, "killed", 4, 1_000, 5);
    let producer = tokio::spawn({
        let (url, pool) = (url.clone(), pool.clone());
        async move { produce(&url, &pool, jobs(24, 200), Order::Completion).await }
    });
    // Kill the first worker while it runs jobs (before the second starts,
    // so it surely holds some).
    eventually(
        "the doomed worker runs jobs",
        Duration::from_secs(30),
        || doomed.running().len() >= 2,
    )
    .await;
    doomed.kill();
    // Started and never finished: cut off mid-job.
    let held = doomed.running();
    assert!(!held.is_empty());
    let survivor = WorkerProcess::spawn(&url, "killed", 4, 1_000, 5);
    let results = tokio::time::timeout(Duration::from_secs(60), producer)
        .await
        .unwrap()
        .unwrap();
    assert_exactly_once(&results, 24, &[]);
    // The jobs the killed worker held were run again by the survivor.
    let redone: Vec<u64> = survivor
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("finished ").map(|n| n.parse().unwrap()))
        .collect();
    assert!(
        held.iter().all(|n| redone.contains(n)),
        "held {held:?}, survivor finished {redone:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restarted_mid_run_producer_and_workers_reconnect() {
    let Some(mut server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("restart", 2_000, 5);
    let _worker = WorkerProcess::spawn(&url, "restart", 4, 2_000, 5);
    let client = weir_nats::connect(&url).await.unwrap();
    let scope = Scope::new(&hang_guard());
    let input = stage::generate(&scope, jobs(120, 10));
    let results = pool.remote::<Job, u64>(client).run(&scope, input).unwrap();
    let mut all = Vec::new();
    while let Some(r) = results.recv().await {
        all.push(r);
        if all.len() == 30 {
            server = tokio::task::spawn_blocking(move || {
                server.restart().unwrap();
                server
            })
            .await
            .unwrap();
        }
        if all.len() == 120 {
            break;
        }
    }
    drop(results);
    let _ = tokio::time::timeout(Duration::from_secs(10), scope.wait()).await;
    assert_exactly_once(&all, 120, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_workers_stay_within_max_ack_pending_and_the_producer_within_in_flight() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("slow", 2_000, 3)
        .max_ack_pending(4)
        .in_flight(10)
        .batch(8);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    // Two "processes" of 8 workers each: 16 could run, the server lets 4.
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (running, most) = (running.clone(), most.clone());
        workers.push(
            worker(&url, &pool, 8, move |job: Job| {
                let (running, most) = (running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let r = sleep_job(job).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    r
                }
            })
            .await,
        );
    }
    let client = weir_nats::connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    let scope = Scope::new(&hang_guard());
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = taken.clone();
    let input = stage::generate(&scope, jobs(60, 20));
    let input = stage::inspect(&scope, input, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let results = pool.remote::<Job, u64>(client).run(&scope, input).unwrap();
    let mut all = Vec::new();
    let mut queued_most = 0;
    while let Some(r) = results.recv().await {
        all.push(r);
        // Jobs the producer took but has not output: bounded by in_flight
        // plus what the channels around it hold.
        let outstanding = taken.load(Ordering::SeqCst) - all.len();
        assert!(outstanding <= 10 + 2 * 64, "{outstanding} jobs outstanding");
        let mut jobs = js.get_stream("WEIR_POOL_slow_JOBS").await.unwrap();
        queued_most = queued_most.max(jobs.info().await.unwrap().state.messages);
    }
    scope.wait().await.unwrap();
    assert_exactly_once(&all, 60, &[]);
    assert!(
        most.load(Ordering::SeqCst) <= 4,
        "{} jobs ran at once",
        most.load(Ordering::SeqCst)
    );
    // A job leaves the stream when its worker's ack lands, which may be
    // just after its result let the producer submit the next one: at most
    // `max_ack_pending` such jobs on top of `in_flight`.
    assert!(
        queued_most <= 10 + 4,
        "{queued_most} jobs queued on the server"
    );
    for (stop, task) in workers {
        stop.cancel();
        task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_cancelled_workers_stop_running_jobs() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("cancelled", 2_000, 3);
    struct Running(Arc<AtomicUsize>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let running = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let (r, s) = (running.clone(), started.clone());
    let (stop, task) = worker(&url, &pool, 4, move |_job: Job| {
        r.fetch_add(1, Ordering::SeqCst);
        s.fetch_add(1, Ordering::SeqCst);
        let guard = Running(r.clone());
        async move {
            let _guard = guard;
            // Runs until cancelled.
            std::future::pending::<()>().await;
            Ok(0)
        }
    })
    .await;
    let client = weir_nats::connect(&url).await.unwrap();
    let (ctx, cancel) = hang_guard().with_cancel();
    let scope = Scope::new(&ctx);
    let input = stage::generate(&scope, jobs(20, 0));
    let results = pool.remote::<Job, u64>(client).run(&scope, input).unwrap();
    let _sink = stage::for_each(&scope, results, |_| {});
    eventually("4 jobs running", Duration::from_secs(20), || {
        running.load(Ordering::SeqCst) == 4
    })
    .await;
    cancel.cancel();
    assert!(scope
        .wait()
        .await
        .unwrap_err()
        .to_string()
        .contains("canceled"));
    // The running jobs are dropped, the queued ones purged: none starts.
    eventually("running jobs stopped", Duration::from_secs(10), || {
        running.load(Ordering::SeqCst) == 0
    })
    .await;
    let client = weir_nats::connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut jobs = js.get_stream("WEIR_POOL_cancelled_JOBS").await.unwrap();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    while jobs.info().await.unwrap().state.messages > 0 {
        assert!(
            tokio::time::Instant::now() < give_up,
            "queued jobs were not purged"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(started.load(Ordering::SeqCst), 4);
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_job_is_dead_lettered_at_once_with_a_decode_result() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let pool = pool("undecodable", 2_000, 5);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let (stop, task) = worker(&url, &pool, 2, move |job: Job| {
        seen.fetch_add(1, Ordering::SeqCst);
        sleep_job(job)
    })
    .await;
    // A producer speaking the protocol with a payload that is not a `Job`.
    let client = weir_nats::connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    let results = js
        .get_stream("WEIR_POOL_undecodable_RESULTS")
        .await
        .unwrap()
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("probe".into()),
            filter_subject: "weir.pool.undecodable.results.probe".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Weir-Job", "0");
    headers.insert("Weir-Run", "probe");
    headers.insert("Weir-Nonce", "00000000000000aa");
    // The run's lease, as its producer would keep it.
    let beat = tokio::spawn({
        let client = client.clone();
        async move {
            loop {
                let _ = client
                    .publish("weir.pool.undecodable.control.probe", "alive".into())
                    .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    js.publish_with_headers(
        "weir.pool.undecodable.jobs.probe",
        headers,
        "not a job".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let mut batch = results
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(20))
        .messages()
        .await
        .unwrap();
    let result = futures::StreamExt::next(&mut batch).await.unwrap().unwrap();
    let status = result
        .headers
        .as_ref()
        .unwrap()
        .get("Weir-Status")
        .unwrap()
        .as_str()
        .to_owned();
    assert_eq!(status, "decode");
    result.ack().await.unwrap();
    // The worker dead-letters the job right after publishing its result.
    let mut dead = js.get_stream("WEIR_POOL_undecodable_DEAD").await.unwrap();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let lag = pool.lag(&client).await.unwrap();
        let dead_now = dead.info().await.unwrap().state.messages;
        if dead_now == 1 && lag.ack_pending == 0 {
            assert_eq!(lag.pending, 0, "not retried: {lag:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "not dead-lettered: {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    beat.abort();
    stop.cancel();
    task.await.unwrap().unwrap();
}
